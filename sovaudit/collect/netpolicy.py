"""The one address policy of every outbound connection sovaudit makes.

The web probe (every hop), RDAP (IP and domain, and their redirects) and ``data update`` all
connect only to **global unicast** addresses, whether the address came from DNS or from an IP
literal in a URL or a ``Location`` header. Otherwise a hostile zone, web site or registry could
make the auditor's machine a client of internal services (cloud metadata at 169.254.169.254,
RFC 1918 hosts, ``[::1]``, ``0.0.0.0``...) whose answers would then be published in a report.

IPv6 forms that embed an IPv4 address are decoded and the IPv4 address is checked too:
IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16`` and Teredo ``2001::/32`` (client address). The local-use NAT64 prefix
``64:ff9b:1::/48`` (RFC 8215) is never global.

A redirect from ``https`` to plain ``http`` is refused as well (:func:`redirect_refusal`).

Test hook: loopback servers are reached only when the caller passes ``allow_loopback=True``,
which the CLI sets from ``SOVAUDIT_ALLOW_LOOPBACK=1`` (or the older
``SOVAUDIT_WEB_ALLOW_PRIVATE=1``). It opens loopback (127.0.0.0/8, ``::1``) and nothing else:
not RFC 1918, not link-local, not ``0.0.0.0``.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from sovaudit.errors import SovauditError

__all__ = [
    "AddressRefused",
    "address_refusal",
    "allow_loopback_from_env",
    "build_opener",
    "check_address",
    "embedded_ipv4",
    "redirect_refusal",
    "resolve_checked",
]

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_COMPAT = ipaddress.ip_network("::/96")
_LOOPBACK4 = ipaddress.ip_network("127.0.0.0/8")
_LOOPBACK6 = ipaddress.ip_address("::1")
# Special-purpose IPv4 ranges Python 3.11 still calls global (RFC 6598 shared space aside).
_NOT_GLOBAL4 = tuple(
    ipaddress.ip_network(n) for n in ("100.64.0.0/10", "192.0.0.0/24", "192.88.99.0/24")
)


class AddressRefused(SovauditError, OSError):
    """A connection target outside the policy (non-global address, downgrade)."""


def allow_loopback_from_env() -> bool:
    """The explicit test hook: ``SOVAUDIT_ALLOW_LOOPBACK`` or ``SOVAUDIT_WEB_ALLOW_PRIVATE``."""
    for name in ("SOVAUDIT_ALLOW_LOOPBACK", "SOVAUDIT_WEB_ALLOW_PRIVATE"):
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes"):
            return True
    return False


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.teredo is not None:
        return address.teredo[1]
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _COMPAT:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_loopback(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return ip == _LOOPBACK6 or (isinstance(ip, ipaddress.IPv4Address) and ip in _LOOPBACK4)


def _refusal4(ip: ipaddress.IPv4Address, allow_loopback: bool) -> str | None:
    if allow_loopback and ip in _LOOPBACK4:
        return None
    if not ip.is_global or ip.is_multicast or any(ip in n for n in _NOT_GLOBAL4):
        return "non-public address"
    return None


def address_refusal(address: str, *, allow_loopback: bool = False) -> str | None:
    """None when a connection to ``address`` is allowed, else why not (pure).

    ``address`` is an IP literal (brackets and an IPv6 zone are accepted and checked).
    """
    text = address.strip().removeprefix("[").removesuffix("]")
    if "%" in text:
        return "scoped (link-local) IPv6 address"
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return "not an IP address"
    if isinstance(ip, ipaddress.IPv4Address):
        return _refusal4(ip, allow_loopback)
    if allow_loopback and _is_loopback(ip):
        return None
    if ip in _NAT64_LOCAL:
        return "local-use NAT64 address (RFC 8215)"
    inner = embedded_ipv4(ip)
    if inner is not None and ip != _LOOPBACK6 and int(ip) > 1:
        why = _refusal4(inner, allow_loopback=False)
        return f"{why} {inner} embedded in IPv6" if why else None
    if not ip.is_global or ip.is_multicast:
        return "non-public address"
    return None


def check_address(address: str, *, host: str | None = None, allow_loopback: bool = False) -> str:
    """``address`` when allowed; raises :class:`AddressRefused` (naming ``host``) otherwise."""
    why = address_refusal(address, allow_loopback=allow_loopback)
    if why is not None:
        name = f"{host} resolves to" if host and host != address else "refusing"
        raise AddressRefused(f"{name} a {why} ({address}): not connected")
    return address


def redirect_refusal(
    current: str, target: str, *, allow_loopback: bool = False
) -> str | None:
    """Why a redirect from ``current`` to ``target`` must not be followed, or None (pure).

    Refused: another scheme than http(s), a downgrade from https to http, and an IP literal
    host outside the policy (names are checked when they are resolved).
    """
    try:
        parts = urllib.parse.urlsplit(target)
        host = parts.hostname
    except ValueError:
        return "malformed URL"
    if parts.scheme not in ("http", "https") or not host:
        return "not an http(s) URL"
    if urllib.parse.urlsplit(current).scheme == "https" and parts.scheme == "http":
        return "downgrade from https to http"
    if _is_literal(host):
        why = address_refusal(host, allow_loopback=allow_loopback)
        if why is not None:
            return f"{why} ({host})"
    return None


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


def resolve_checked(
    host: str, port: int, *, allow_loopback: bool = False
) -> list[tuple[socket.AddressFamily, str]]:
    """Addresses of ``host`` (system resolver, or the literal itself) that the policy allows.

    Raises :class:`AddressRefused` when there are addresses but none is allowed.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    allowed: list[tuple[socket.AddressFamily, str]] = []
    refused: list[str] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0])
        if address_refusal(address, allow_loopback=allow_loopback) is None:
            if (family, address) not in allowed:
                allowed.append((family, address))
        else:
            refused.append(address)
    if not allowed:
        check_address(refused[0] if refused else host, host=host, allow_loopback=allow_loopback)
    return allowed


def _pinned_connect(allow_loopback: bool) -> Callable[..., socket.socket]:
    """A ``socket.create_connection`` that connects only to addresses the policy allows."""

    def create_connection(
        address: tuple[str, int], timeout: Any = None, source_address: Any = None, **_kw: Any
    ) -> socket.socket:
        host, port = address
        last: OSError | None = None
        for _family, checked in resolve_checked(host, port, allow_loopback=allow_loopback):
            try:
                # Pinned: the address just checked, never a second resolution.
                return socket.create_connection((checked, port), timeout, source_address)
            except OSError as exc:
                last = exc
        raise last or OSError(f"cannot connect to {host}")

    return create_connection


def _connection_class(base: type[http.client.HTTPConnection], allow_loopback: bool) -> Any:
    class _Checked(base):  # type: ignore[valid-type, misc]
        def __init__(self, *args: Any, **kw: Any) -> None:
            super().__init__(*args, **kw)
            self._create_connection = _pinned_connect(allow_loopback)

    return _Checked


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allow_loopback: bool, max_redirections: int) -> None:
        self.allow_loopback = allow_loopback
        setattr(self, "max_redirections", max_redirections)  # noqa: B010 - a ClassVar in typeshed

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        why = redirect_refusal(req.full_url, newurl, allow_loopback=self.allow_loopback)
        if why is not None:
            raise AddressRefused(f"redirect to {newurl[:100]} refused: {why}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def build_opener(
    *, allow_loopback: bool = False, max_redirects: int = 3, context: ssl.SSLContext | None = None
) -> urllib.request.OpenerDirector:
    """A urllib opener whose every connection and redirect obeys the policy.

    Connections are pinned to the checked address (SNI and ``Host`` keep the name); proxies
    from the environment are not used (a proxy would resolve names itself).
    """
    http_conn = _connection_class(http.client.HTTPConnection, allow_loopback)
    https_conn = _connection_class(http.client.HTTPSConnection, allow_loopback)
    ctx = context or ssl.create_default_context()

    class _Http(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> Any:
            return self.do_open(http_conn, req)

    class _Https(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> Any:
            return self.do_open(https_conn, req, context=ctx)

    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}),
        _Http(),
        _Https(),
        _CheckedRedirects(allow_loopback, max_redirects),
    )
