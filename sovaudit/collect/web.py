"""Web probe (opt-in, ``--probe web``): one bounded HTTPS GET of a service's landing page.

What it observes, without a browser and without executing anything:

- the redirect chain (every hop, loops detected, a sign-in host ends the chain unfetched);
- response headers and cookie names that reveal a CDN, a WAF or a host (``web_signals.yaml``,
  read and matched in :mod:`sovaudit.collect.websignals`);
- the TLS certificate (issuer organization and country, names, expiry, chain when the TLS
  library exposes it), kept even when verification fails, since an audit wants to see it;
- identity providers (sign-in hosts on other sites, in redirects, forms, frames, meta refresh);
- third-party hosts the page makes a browser contact (:mod:`sovaudit.collect.htmlrefs`).

Everything is bounded: one total time budget (``asyncio.timeout``: a server trickling one byte a
second cannot hold the scan), the body size, the number of redirects. Every failure ends in a
:class:`WebObservation` with ``error`` set, never an exception: one hostile site must not stop a
scan of hundreds (pip-audit's "skipped with a reason" model).

Name resolution: ``resolve`` is a map (name -> address) or an async function (name -> address
or None, e.g. the scan's own DNS collector). With it the probe connects only to the addresses it
returns and refuses other names, so the resolver the user chose stays the only one used (and
tests never touch DNS). Without it, the system resolver is used: the caller chooses.

``parse_*``/``match_*`` functions are pure; ``probe_web`` does the I/O.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import ssl
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import certifi
import httpcore
import httpx
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from sovaudit import __version__
from sovaudit.collect.htmlrefs import (
    PageRef,
    ThirdParty,
    extract_refs,
    is_same_site,
    site_of,
    third_parties,
    url_host,
)
from sovaudit.collect.names import normalize_name
from sovaudit.collect.netpolicy import AddressRefused, check_address, redirect_refusal
from sovaudit.collect.websignals import (
    WebSignal,
    WebSignals,
    default_web_signals,
    load_web_signals,
    match_ca,
    match_headers,
    match_identity_provider,
)
from sovaudit.collect.websignals import (
    cap as _cap,
)
from sovaudit.errors import SovauditError
from sovaudit.models import to_jsonable

__all__ = [
    "USER_AGENT",
    "valid_host",
    "TlsObservation",
    "ThirdParty",
    "ERROR_KINDS",
    "Resolve",
    "WebObservation",
    "WebSignal",
    "WebSignals",
    "default_web_signals",
    "load_web_signals",
    "match_ca",
    "match_headers",
    "match_identity_provider",
    "observation_from_details",
    "observation_to_details",
    "parse_certificate",
    "probe_web",
]

USER_AGENT = f"sovaudit/{__version__} (+https://github.com/sovaudit/sovaudit)"

# Evidence caps: a hostile server must not bloat every report.
MAX_SANS = 100
MAX_CHAIN = 10
MAX_ERROR = 300
# A DNS label: letters, digits, hyphens (underscores occur in real host names), 1 to 63 chars.
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Kinds of page references through which a page hands the user to a sign-in host.
_IDP_REF_KINDS = frozenset({"form", "frame", "refresh"})


# --------------------------------------------------------------------------- data model


@dataclass(frozen=True, slots=True)
class TlsObservation:
    """The certificate the probed host presented."""

    version: str | None  # negotiated protocol, e.g. "TLSv1.3"
    verified: bool  # False when the chain or the name did not verify (cert still recorded)
    subject: str  # RFC 4514
    issuer: str  # RFC 4514
    issuer_organization: str | None
    issuer_country: str | None  # the issuer's C= as written in the certificate
    subject_alt_names: tuple[str, ...]  # DNS names and IP addresses, capped
    not_before: str  # ISO 8601, UTC
    not_after: str
    serial: str  # hex
    chain_subjects: tuple[str, ...] = ()  # leaf first, as sent by the server (when available)


@dataclass(frozen=True, slots=True)
class WebObservation:
    """What one probe of one host saw. ``error`` says why it is incomplete, if it is."""

    url: str
    final_url: str | None  # URL of the last response received
    status: int | None  # status of that response
    redirects: tuple[str, ...]  # every Location target, in order (followed or not)
    headers: tuple[tuple[str, str], ...]  # revealing headers only, lower-case names, capped
    cdn_signals: tuple[str, ...]  # e.g. "Cloudflare (CF-Ray header)"
    tls: TlsObservation | None
    identity_providers: tuple[str, ...]  # sign-in hosts on other sites
    third_parties: tuple[ThirdParty, ...]
    error: str | None
    error_kind: str | None = None  # one of ERROR_KINDS: a stable key reports translate
    signals: tuple[WebSignal, ...] = ()  # structured form of cdn_signals, IdPs and the CA
    content_type: str | None = None
    truncated: bool = False  # the body exceeded max_bytes; only its beginning was parsed
    elapsed: float | None = None  # seconds


def _name_attr(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    attrs = name.get_attributes_for_oid(oid)
    if not attrs:
        return None
    value = attrs[0].value
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def parse_certificate(
    der: bytes,
    *,
    verified: bool,
    version: str | None = None,
    chain_der: Sequence[bytes] = (),
) -> TlsObservation:
    """Describe a DER certificate (and the chain the server sent, leaf first). Pure."""
    cert = x509.load_der_x509_certificate(der)
    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        san = ext.value
        assert isinstance(san, x509.SubjectAlternativeName)
        names = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        names += [str(a) for a in san.get_values_for_type(x509.IPAddress)]
    except (x509.ExtensionNotFound, ValueError):
        names = []
    chain: list[str] = []
    for item in list(chain_der)[:MAX_CHAIN]:
        try:
            chain.append(x509.load_der_x509_certificate(item).subject.rfc4514_string())
        except ValueError:
            chain.append("(unparsable certificate)")
    return TlsObservation(
        version=version,
        verified=verified,
        subject=_cap(cert.subject.rfc4514_string(), 512),
        issuer=_cap(cert.issuer.rfc4514_string(), 512),
        issuer_organization=_name_attr(cert.issuer, NameOID.ORGANIZATION_NAME),
        issuer_country=_name_attr(cert.issuer, NameOID.COUNTRY_NAME),
        subject_alt_names=tuple(_cap(n, 255) for n in names[:MAX_SANS]),
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=cert.not_valid_after_utc.isoformat(),
        serial=format(cert.serial_number, "x"),
        chain_subjects=tuple(chain),
    )


def ca_signal(tls: TlsObservation, signals: WebSignals) -> WebSignal | None:
    """The CA of a certificate as a signal, with the country that controls it."""
    rule = match_ca(tls.issuer_organization, signals)
    if rule is None:
        return None
    return WebSignal(
        kind="ca",
        provider=rule.name,
        operator=rule.operator,
        evidence=f"certificate issued by {tls.issuer_organization}",
        country=rule.parent_country or rule.country,
    )


# --------------------------------------------------------------------------- JSON


def observation_to_details(obs: WebObservation) -> dict[str, Any]:
    """JSON-ready form of an observation, for ``endpoint.details["web"]``."""
    data: dict[str, Any] = to_jsonable(obs)
    return data


def observation_from_details(d: Mapping[str, Any]) -> WebObservation:
    """Rebuild an observation from :func:`observation_to_details` output (evidence files)."""
    tls = d.get("tls")
    return WebObservation(
        url=d["url"],
        final_url=d.get("final_url"),
        status=d.get("status"),
        redirects=tuple(d.get("redirects") or ()),
        headers=tuple((str(h[0]), str(h[1])) for h in d.get("headers") or ()),
        cdn_signals=tuple(d.get("cdn_signals") or ()),
        tls=None
        if not tls
        else TlsObservation(
            **{
                **tls,
                "subject_alt_names": tuple(tls.get("subject_alt_names") or ()),
                "chain_subjects": tuple(tls.get("chain_subjects") or ()),
            }
        ),
        identity_providers=tuple(d.get("identity_providers") or ()),
        third_parties=tuple(
            ThirdParty(t["host"], tuple(t["kinds"]), t["first_url"])
            for t in d.get("third_parties") or ()
        ),
        error=d.get("error"),
        error_kind=d.get("error_kind"),
        signals=tuple(WebSignal(**s) for s in d.get("signals") or ()),
        content_type=d.get("content_type"),
        truncated=bool(d.get("truncated", False)),
        elapsed=d.get("elapsed"),
    )


# --------------------------------------------------------------------------- transport


# A name -> address map, or an async lookup returning an address or None (unknown name).
Resolve = Mapping[str, str] | Callable[[str], Awaitable[str | None]]


class _NotPinned(httpcore.ConnectError):
    """A name the caller did not pin, while pinning is on."""


class _Refused(_NotPinned):
    """An address outside the address policy (:mod:`sovaudit.collect.netpolicy`)."""


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects pinned names to their given address; with a map, refuses every other name.

    Every address, resolved or literal, passes the address policy before a connection.
    """

    def __init__(self, resolve: Resolve | None, allow_loopback: bool = False) -> None:
        self.allow_loopback = allow_loopback
        self._inner = httpcore.AnyIOBackend()
        self._map: dict[str, str] | None = None
        self._lookup: Callable[[str], Awaitable[str | None]] | None = None
        if isinstance(resolve, Mapping):
            self._map = {normalize_name(k): v for k, v in resolve.items()}
        elif resolve is not None:
            self._lookup = resolve

    async def target(self, host: str) -> str:
        try:
            return check_address(
                await self._target(host), host=host.strip("[]"), allow_loopback=self.allow_loopback
            )
        except AddressRefused as exc:
            raise _Refused(str(exc)) from None

    async def _target(self, host: str) -> str:
        if _is_ip(host):
            return host.strip("[]")
        if self._map is None and self._lookup is None:
            from sovaudit.collect.netpolicy import resolve_checked

            found = await asyncio.to_thread(
                resolve_checked, host, 443, allow_loopback=self.allow_loopback
            )
            return found[0][1]
        name = normalize_name(host)
        if self._map is not None:
            address = self._map.get(name)
        else:
            assert self._lookup is not None
            try:
                address = await self._lookup(name)
            except AddressRefused:
                raise
            except (SovauditError, OSError) as exc:
                raise _NotPinned(f"{host}: lookup failed: {exc}") from exc
        if address is None:
            raise _NotPinned(
                f"{host}: not in the resolve map (the probe connects to pinned addresses only)"
            )
        return address

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_tcp(
            await self.target(host), port, timeout, local_address, socket_options
        )

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the web probe")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _ByteStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class _PinnedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore pool with a pinning network backend.

    httpx's own transport does not accept a network backend; this is the documented httpcore
    extension point, and it keeps SNI and the Host header on the real name.
    """

    def __init__(self, ssl_context: ssl.SSLContext, backend: _PinnedBackend) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            http1=True,
            http2=False,
            retries=0,
            max_connections=4,
            network_backend=backend,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        req = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        resp = await self._pool.handle_async_request(req)
        return httpx.Response(
            status_code=resp.status,
            headers=resp.headers,
            stream=_ByteStream(resp.stream),
            extensions=resp.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def valid_host(host: str) -> bool:
    """True for an IP literal or a syntactically valid DNS host name (after IDNA encoding).

    Checked before connecting, so a malformed name from a hostile Location header is reported
    as such and never reaches a resolver.
    """
    if _is_ip(host):
        return True
    name = normalize_name(host)
    if not name or len(name) > 253 or not name.isascii():
        return False
    return all(_LABEL.fullmatch(label) for label in name.split("."))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _ssl_context(verify: bool | ssl.SSLContext) -> ssl.SSLContext:
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify:
        return ssl.create_default_context(cafile=certifi.where())
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# --------------------------------------------------------------------------- I/O


@dataclass(slots=True)
class _Probe:
    """Mutable state of one probe, so a timeout still reports what was seen before it."""

    url: str
    final_url: str | None = None
    status: int | None = None
    redirects: list[str] = field(default_factory=list)
    raw_headers: list[tuple[str, str]] = field(default_factory=list)
    tls: TlsObservation | None = None
    refs: list[PageRef] = field(default_factory=list)
    idp_hosts: list[tuple[str, str]] = field(default_factory=list)  # (host, how seen)
    content_type: str | None = None
    truncated: bool = False
    error: str | None = None
    error_kind: str | None = None

    def fail(self, kind: str, message: str) -> None:
        self.error_kind = kind
        self.error = _cap(message, MAX_ERROR)


def _tls_from_stream(response: httpx.Response) -> TlsObservation | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if not isinstance(ssl_object, ssl.SSLObject):
        return None
    return _tls_from_ssl_object(
        ssl_object, verified=ssl_object.context.verify_mode != ssl.CERT_NONE
    )


def _tls_from_ssl_object(ssl_object: ssl.SSLObject, *, verified: bool) -> TlsObservation | None:
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    chain: list[bytes] = []
    # Public in Python 3.13 (get_unverified_chain); private on the _sslobj before that.
    getter = getattr(ssl_object, "get_unverified_chain", None) or getattr(
        getattr(ssl_object, "_sslobj", None), "get_unverified_chain", None
    )
    if getter is not None:
        try:
            for item in getter() or ():
                if isinstance(item, bytes):
                    chain.append(item)
                else:
                    pem = item.public_bytes()
                    chain.append(ssl.PEM_cert_to_DER_cert(pem))
        except (ValueError, ssl.SSLError, AttributeError, TypeError):
            chain = []
    try:
        return parse_certificate(
            der, verified=verified, version=ssl_object.version(), chain_der=chain
        )
    except ValueError:
        return None


async def _grab_certificate(host: str, port: int, backend: _PinnedBackend) -> TlsObservation | None:
    """Handshake without verification to record a certificate that failed verification."""
    ctx = _ssl_context(False)
    try:
        address = await backend.target(host)
        _reader, writer = await asyncio.open_connection(
            address, port, ssl=ctx, server_hostname=None if _is_ip(host) else host
        )
    except (OSError, ssl.SSLError, httpcore.ConnectError):
        return None
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        if isinstance(ssl_object, ssl.SSLObject):
            return _tls_from_ssl_object(ssl_object, verified=False)
        return None
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass


def _describe(exc: BaseException) -> str:
    """A one-line reason from an exception and its causes (TLS errors hide in the cause)."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(parts) < 3:
        seen.add(id(current))
        text = str(current).strip() or type(current).__name__
        if text not in parts:
            parts.append(text)
        current = current.__cause__ or current.__context__
    return _cap(": ".join(parts), MAX_ERROR)


ERROR_KINDS = (
    "timeout",  # the whole probe exceeded its time budget
    "not-pinned",  # a name outside the resolve map (the probe uses pinned addresses only)
    "private-address",  # a name or IP literal (redirects too) of a non-public address: refused
    "downgrade",  # a redirect from https to plain http: not followed
    "connect",  # no TCP connection (refused, unreachable, no address)
    "tls-verify",  # the certificate did not verify (it is still recorded in ``tls``)
    "tls",  # another TLS failure (handshake, protocol version)
    "protocol",  # the server did not speak valid HTTP/1.1
    "bad-url",  # a URL that cannot be requested (bad host name, bad port)
    "bad-redirect",  # a Location header that is not an http(s) URL
    "redirect-loop",
    "too-many-redirects",
    "content-encoding",  # a body compressed in a way the probe does not decode, or corrupt
    "body-incomplete",  # the connection ended before the body did (the part read is parsed)
    "internal",  # a bug in sovaudit while probing (never a network condition)
)


def _error_kind(exc: BaseException) -> str:
    """Classify an exception (and its causes) into one of :data:`ERROR_KINDS`."""
    current: BaseException | None = exc
    for _ in range(5):
        if current is None:
            break
        if isinstance(current, ssl.SSLCertVerificationError):
            return "tls-verify"
        if isinstance(current, _Refused):
            return "private-address"
        if isinstance(current, _NotPinned):
            return "not-pinned"
        current = current.__cause__ or current.__context__
    if isinstance(exc, (httpcore.TimeoutException, httpx.TimeoutException, TimeoutError)):
        return "timeout"
    if isinstance(exc, ssl.SSLError) or isinstance(exc.__cause__ or exc.__context__, ssl.SSLError):
        return "tls"
    if isinstance(exc, (httpcore.ProtocolError, httpx.ProtocolError)):
        return "protocol"
    if isinstance(exc, (httpx.InvalidURL, httpcore.UnsupportedProtocol, UnicodeError)):
        return "bad-url"
    return "connect"


def _start_url(host: str, port: int) -> str:
    name = host.strip().rstrip(".")
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"  # IPv6 literal
    elif not _is_ip(name):
        name = normalize_name(name)
    return f"https://{name}/" if port == 443 else f"https://{name}:{port}/"


async def _read_body(response: httpx.Response, max_bytes: int, out: bytearray) -> bool:
    """Append at most ``max_bytes`` of decoded body to ``out``; True when more was available.

    We ask for ``identity``; a server that compresses anyway is decoded with a bounded
    decompressor so a small compressed bomb cannot expand in memory. On a network error ``out``
    keeps what arrived before it.
    """
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 47 if encoding != "deflate" else 15  # 47: gzip or zlib header, auto-detected
        decomp: Any = zlib.decompressobj(wbits)
    elif encoding not in ("", "identity"):
        raise _Unparsable(f"unsupported content-encoding {encoding!r}: page not parsed")
    else:
        decomp = None
    async for chunk in response.aiter_raw():
        if decomp is not None:
            try:
                chunk = decomp.decompress(chunk, max_bytes + 1 - len(out))
            except zlib.error as exc:
                raise _Unparsable(f"corrupt {encoding} body: {exc}") from None
        out += chunk
        if len(out) > max_bytes:
            del out[max_bytes:]
            return True
    return False


# What the network and a hostile server can raise. httpcore errors arrive unmapped because our
# transport talks to httpcore directly; InvalidURL and UnicodeError come from odd Location values.
_FETCH_ERRORS = (
    httpx.HTTPError,
    httpx.InvalidURL,
    httpcore.ConnectError,
    httpcore.NetworkError,
    httpcore.TimeoutException,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    ssl.SSLError,
    OSError,
    UnicodeError,
)


class _Unparsable(Exception):
    """The body cannot be read as a page; the rest of the observation stands."""


async def _run(
    state: _Probe,
    client: httpx.AsyncClient,
    transport: httpx.AsyncBaseTransport,
    backend: _PinnedBackend,
    *,
    port: int,
    max_bytes: int,
    max_redirects: int,
    signals: WebSignals,
    own_sites: set[str],
) -> None:
    url = state.url
    seen = {url}
    first = True
    while True:
        try:
            request = client.build_request("GET", url)
            # Straight to the transport: AsyncClient.send parses every Location header even
            # when not following it, and a malformed one would cost us the whole response.
            response = await transport.handle_async_request(request)
            response.request = request
        except _FETCH_ERRORS as exc:
            state.fail(_error_kind(exc), f"{url}: {_describe(exc)}")
            host = url_host(url)
            if first and host:
                # The certificate is evidence on its own (who issued it, for which names), even
                # when it does not verify or the server then answers garbage.
                state.tls = await _grab_certificate(host, port, backend)
            return
        try:
            # Cookies are carried across hops as a browser would (consent or session redirects).
            client.cookies.extract_cookies(response)
            if first:
                state.tls = _tls_from_stream(response)
                first = False
            state.final_url = url
            state.status = response.status_code
            state.raw_headers.extend(response.headers.multi_items())
            location = response.headers.get("location")
            if response.status_code in _REDIRECT_STATUSES and location:
                target = _absolute_redirect(url, location)
                if target is None:
                    state.fail(
                        "bad-redirect", f"redirect to an unsupported or malformed URL: {location!r}"
                    )
                    return
                state.redirects.append(target)
                host = url_host(target) or ""
                refusal = redirect_refusal(url, target, allow_loopback=backend.allow_loopback)
                if refusal is not None:
                    # netpolicy: no downgrade, no redirect to a non-public IP literal.
                    kind = "downgrade" if refusal.startswith("downgrade") else "private-address"
                    state.fail(kind, f"redirect to {target} not followed: {refusal}")
                    return
                if not is_same_site(host, own_sites) and match_identity_provider(host, signals):
                    # A sign-in page is the answer we wanted; fetching it only talks to the IdP.
                    state.idp_hosts.append((host, "redirect"))
                    return
                if target in seen:
                    chain = " -> ".join([state.url, *state.redirects])
                    state.fail("redirect-loop", f"redirect loop: {chain}")
                    return
                if len(state.redirects) > max_redirects:
                    state.fail(
                        "too-many-redirects", f"too many redirects (more than {max_redirects})"
                    )
                    return
                seen.add(target)
                url = target
                continue
            await _read_page(state, response, url, max_bytes)
            return
        finally:
            await response.aclose()


async def _read_page(state: _Probe, response: httpx.Response, url: str, max_bytes: int) -> None:
    content_type = response.headers.get("content-type", "")
    state.content_type = _cap(content_type, 100) or None
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime not in _HTML_TYPES:
        return  # an image, a JSON API, a PDF: nothing a browser would load from it
    body = bytearray()
    try:
        state.truncated = await _read_body(response, max_bytes, body)
    except _Unparsable as exc:
        state.fail("content-encoding", str(exc))
        return
    except _FETCH_ERRORS as exc:
        # A connection cut mid-body: the part that arrived is still worth parsing.
        state.fail("body-incomplete", f"body incomplete: {_describe(exc)}")
    # The HTTP charset wins over the page's <meta charset>, as in browsers; lxml sniffs if absent.
    state.refs = list(extract_refs(bytes(body), url, encoding=response.charset_encoding))


def _absolute_redirect(base: str, location: str) -> str | None:
    try:
        target = urljoin(base, location.strip())
        parts = urlsplit(target)
        _ = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    if not valid_host(parts.hostname):
        return None
    return target


def _finish(
    state: _Probe, signals: WebSignals, own_sites: set[str], elapsed: float
) -> WebObservation:
    # The page's own site is the site that served it, as well as the one we were asked about.
    page_sites = set(own_sites)
    if state.final_url and (final_host := url_host(state.final_url)):
        page_sites.add(site_of(final_host))
    headers, header_signals = match_headers(state.raw_headers, signals)
    found: list[WebSignal] = list(header_signals)
    idp_hosts: list[str] = []
    for seen_host, _how in state.idp_hosts:
        if seen_host not in idp_hosts:
            idp_hosts.append(seen_host)
    for ref in state.refs:
        ref_host = url_host(ref.url)
        if ref.kind in _IDP_REF_KINDS and ref_host and not is_same_site(ref_host, page_sites):
            if match_identity_provider(ref_host, signals) and ref_host not in idp_hosts:
                idp_hosts.append(ref_host)
                state.idp_hosts.append((ref_host, ref.kind))
    for host, how in state.idp_hosts:
        rule = match_identity_provider(host, signals)
        if rule is not None:
            evidence = f"{'redirect to' if how == 'redirect' else how + ' to'} {host}"
            found.append(WebSignal("identity-provider", rule.provider, rule.operator, evidence))
    if state.tls is not None:
        ca = ca_signal(state.tls, signals)
        if ca is not None:
            found.append(ca)
    cdn = tuple(
        f"{s.provider} ({s.evidence})" for s in header_signals if s.kind in ("cdn", "waf", "host")
    )
    return WebObservation(
        url=state.url,
        final_url=state.final_url,
        status=state.status,
        redirects=tuple(state.redirects),
        headers=headers,
        cdn_signals=cdn,
        tls=state.tls,
        identity_providers=tuple(idp_hosts),
        third_parties=third_parties(state.refs, page_sites),
        error=state.error,
        error_kind=state.error_kind,
        signals=tuple(found),
        content_type=state.content_type,
        truncated=state.truncated,
        elapsed=round(elapsed, 3),
    )


async def probe_web(
    host: str,
    *,
    port: int = 443,
    timeout: float = 5.0,
    max_bytes: int = 2_000_000,
    max_redirects: int = 5,
    verify: bool | ssl.SSLContext = True,
    resolve: Resolve | None = None,
    signals: WebSignals | None = None,
    allow_loopback: bool = False,
) -> WebObservation:
    """GET ``https://host[:port]/`` once (following redirects) and describe what it reveals.

    ``timeout`` bounds the whole probe (every hop, the TLS fallback, the body), not each read.
    ``resolve`` pins names to addresses (a map, or an async function returning an address or
    None); when given, no other name is connected to. Every address, on every hop, must pass
    the address policy (:mod:`sovaudit.collect.netpolicy`; ``allow_loopback`` is the test hook)
    or the probe ends with ``error_kind: private-address``. Never
    raises for network or content problems: the observation's ``error`` says what went wrong.
    """
    signals = signals or default_web_signals()
    state = _Probe(url=_start_url(host, port))
    own_sites = {site_of(url_host(state.url) or host)}
    if not valid_host(host.strip().rstrip(".").removeprefix("[").removesuffix("]")):
        state.fail("bad-url", f"{host!r}: not a valid host name")
        return _finish(state, signals, own_sites, 0.0)
    backend = _PinnedBackend(resolve, allow_loopback)
    transport = _PinnedTransport(_ssl_context(verify), backend)
    loop = asyncio.get_running_loop()
    started = loop.time()
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
        "Accept-Encoding": "identity",
    }
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(
                transport=transport,
                headers=headers,
                timeout=httpx.Timeout(timeout),
                follow_redirects=False,
                trust_env=False,  # no proxy or netrc picked up from the environment
            ) as client,
        ):
            await _run(
                state,
                client,
                transport,
                backend,
                port=port,
                max_bytes=max_bytes,
                max_redirects=max_redirects,
                signals=signals,
                own_sites=own_sites,
            )
    except TimeoutError:
        state.fail("timeout", f"timed out after {timeout:g} s")
    except _FETCH_ERRORS as exc:
        # Raised while reading a body or closing: keep what was seen before.
        state.fail(_error_kind(exc), _describe(exc))
    return _finish(state, signals, own_sites, loop.time() - started)
