"""RDAP: who registered the network an address belongs to (RFC 9082/9083), through ipwhois.

ipwhois builds its RDAP URLs from module constants (the ARIN bootstrap or a fixed per-registry
URL) and fetches them with its own unbounded opener, so it cannot take another base URL cleanly.
Here the HTTP GET is ours (urllib: bounded size, total time and redirects; base URL overridable
with ``rdap_url`` for tests and mirrors) and the answer is parsed by ipwhois
(``RDAP(Net(ip)).lookup(response=...)``, no further HTTP). The registrant's country is read from
its vCard, which ipwhois does not split out.
"""

from __future__ import annotations

import asyncio
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sovaudit.collect.cache import Cache, NullCache
from sovaudit.collect.jsontext import loads_capped
from sovaudit.collect.netpolicy import AddressRefused, allow_loopback_from_env, build_opener
from sovaudit.errors import SovauditError, internal_reason

__all__ = [
    "DEFAULT_RDAP_URL",
    "RdapError",
    "RdapResult",
    "fetch_json",
    "parse_rdap",
    "rdap_lookup",
    "rdap_lookup_many",
]

# The ARIN bootstrap redirects each query to the registry (ARIN, RIPE, APNIC, LACNIC, AFRINIC)
# that manages the address.
DEFAULT_RDAP_URL = "https://rdap-bootstrap.arin.net/bootstrap"
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 3
# Registrations change rarely; a week keeps repeated scans off rate-limited registries.
CACHE_TTL = 7 * 24 * 3600.0

# vCard country names seen in registry answers (ARIN writes them in full), to ISO 3166 alpha-2.
_COUNTRY_NAMES = {
    "united states": "US", "united states of america": "US", "canada": "CA",
    "united kingdom": "GB", "ireland": "IE", "netherlands": "NL", "the netherlands": "NL",
    "germany": "DE", "france": "FR", "belgium": "BE", "luxembourg": "LU",
    "switzerland": "CH", "sweden": "SE", "finland": "FI", "norway": "NO", "denmark": "DK",
    "spain": "ES", "italy": "IT", "japan": "JP", "china": "CN", "singapore": "SG",
    "australia": "AU", "india": "IN", "brazil": "BR", "israel": "IL", "russia": "RU",
    "russian federation": "RU", "hong kong": "HK", "korea, republic of": "KR",
}  # fmt: skip


class RdapError(SovauditError):
    """An RDAP lookup failed; ``transient`` errors (network, timeout, 5xx) are worth a retry.

    Exit code 2 when one reaches the command line (3 means "incomplete under --strict").
    """

    def __init__(self, message: str, *, url: str | None = None, transient: bool = True) -> None:
        super().__init__(message, path=url)
        self.url = url
        self.transient = transient


@dataclass(frozen=True, slots=True)
class RdapResult:
    """The network an address belongs to and the organization that registered it."""

    network_name: str | None
    network_handle: str | None
    cidr: str | None
    registrant_name: str | None
    registrant_country: str | None  # ISO alpha-2 when known, else as the registry wrote it
    source_url: str
    registrant_handle: str | None = None
    parent_handle: str | None = None
    country: str | None = None  # the network object's own country field (RIPE, APNIC...)


# -- HTTP -------------------------------------------------------------------------------------


def _opener() -> urllib.request.OpenerDirector:
    # The address policy (netpolicy): every hop, redirects included, to a global address only,
    # pinned to the address checked; http(s) only, no https -> http downgrade.
    return build_opener(allow_loopback=allow_loopback_from_env(), max_redirects=MAX_REDIRECTS)


def fetch_json(
    url: str, *, timeout: float = 10.0, max_bytes: int = MAX_RESPONSE_BYTES
) -> tuple[dict[str, Any], str]:
    """GET ``url`` as RDAP JSON within ``timeout`` seconds in all; returns (json, final URL)."""
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(
        url,
        headers={"Accept": "application/rdap+json, application/json", "User-Agent": "sovaudit"},
    )
    try:
        with _opener().open(request, timeout=timeout) as response:
            final_url = response.geturl()
            body = bytearray()
            # read1 returns what has arrived; read(n) would wait for n bytes past the deadline.
            while chunk := response.read1(1 << 14):
                body += chunk
                if len(body) > max_bytes:
                    raise RdapError(f"answer larger than {max_bytes} bytes", url=url)
                if time.monotonic() > deadline:
                    raise RdapError(f"no complete answer within {timeout:g} s", url=url)
    except AddressRefused as exc:
        raise RdapError(f"not fetched: {exc}", url=url, transient=False) from exc
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            # urllib gives up on a loop, too many hops or a non-HTTP target.
            raise RdapError(
                f"HTTP {exc.code}: redirect not followed ({exc.reason})", url=url, transient=False
            ) from exc
        transient = exc.code == 429 or exc.code >= 500
        what = "no RDAP record" if exc.code == 404 else "RDAP server error"
        raise RdapError(f"HTTP {exc.code} ({what})", url=url, transient=transient) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, AddressRefused):
            raise RdapError(f"not fetched: {exc.reason}", url=url, transient=False) from exc
        raise RdapError(f"cannot reach the RDAP server: {exc.reason}", url=url) from exc
    except TimeoutError as exc:
        raise RdapError(f"no answer within {timeout:g} s", url=url) from exc
    except OSError as exc:
        raise RdapError(f"connection failed: {exc}", url=url) from exc
    try:
        # Nesting and number sizes capped before parsing: a hostile registry answering
        # 100,000 nested arrays makes this one lookup unknown, not the scan fail (issue 21).
        data = loads_capped(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RdapError(f"answer is not JSON: {str(exc)[:80]}", url=url,
                        transient=False) from None
    if not isinstance(data, dict):
        raise RdapError("answer is not an RDAP object", url=url, transient=False)
    return data, final_url


# -- parsing ----------------------------------------------------------------------------------


def vcard_properties(entity: Mapping[str, Any]) -> list[list[Any]]:
    """The well-formed properties of an RDAP entity's jCard (RFC 7095); [] when absent."""
    card = entity.get("vcardArray")
    if isinstance(card, list) and len(card) == 2 and isinstance(card[1], list):
        return [p for p in card[1] if isinstance(p, list) and len(p) >= 4]
    return []


def vcard_name(entity: Mapping[str, Any], kinds: tuple[str, ...] = ("fn",)) -> str | None:
    """The first non-empty name property among ``kinds`` (e.g. fn, org)."""
    for prop in vcard_properties(entity):
        if prop[0] in kinds and isinstance(prop[3], str) and prop[3].strip():
            return str(prop[3]).strip()
    return None


def country_code(text: str | None) -> str | None:
    """ISO alpha-2 code for a country written by a registry, or the text itself if unknown."""
    if not text or not text.strip():
        return None
    value = text.strip()
    if re.fullmatch(r"[A-Za-z]{2}", value):
        return value.upper()
    return _COUNTRY_NAMES.get(value.lower(), value)


def vcard_country(entity: Mapping[str, Any]) -> str | None:
    """The country of an entity's address: the ``cc`` parameter (RFC 8605) first, then the
    structured address's country, then the label's last line."""
    for prop in vcard_properties(entity):
        if prop[0] != "adr":
            continue
        params = prop[1] if isinstance(prop[1], dict) else {}
        cc = params.get("cc")
        if isinstance(cc, str) and cc.strip():
            return country_code(cc)
        # Structured value: [pobox, ext, street, locality, region, code, country].
        value = prop[3]
        if isinstance(value, list) and len(value) >= 7 and isinstance(value[6], str):
            if value[6].strip():
                return country_code(value[6])
        label = params.get("label")
        if isinstance(label, str) and label.strip():
            return country_code(label.strip().splitlines()[-1])
    return None


def _registrant(data: dict[str, Any]) -> dict[str, Any] | None:
    entities = [e for e in data.get("entities") or [] if isinstance(e, dict)]
    for entity in entities:
        if "registrant" in (entity.get("roles") or []):
            return entity
    return None


def _network_fields(ip: str, data: dict[str, Any]) -> dict[str, Any]:
    """Network handle, name, CIDR, parent and country, parsed by ipwhois."""
    from ipwhois.exceptions import IPDefinedError
    from ipwhois.net import Net
    from ipwhois.rdap import RDAP

    try:
        net = Net(ip)
    except IPDefinedError as exc:
        raise RdapError(f"{ip} is special-purpose space: {exc}", transient=False) from exc
    except ValueError as exc:
        raise RdapError(f"not an IP address: {ip[:60]!r}", transient=False) from exc
    try:
        # bootstrap=True only stops ipwhois from needing ASN data to build a URL it will not fetch.
        parsed = RDAP(net).lookup(response=data, bootstrap=True, root_ent_check=False)
    except Exception as exc:  # ipwhois raises bare KeyError/TypeError on odd objects too
        raise RdapError(f"not an RDAP network object: {exc}", transient=False) from exc
    network: dict[str, Any] = parsed.get("network") or {}
    return network


def parse_rdap(ip: str, data: dict[str, Any], source_url: str) -> RdapResult:
    """Pure: the :class:`RdapResult` in an RDAP IP network answer."""
    if data.get("errorCode") is not None:
        title = str(data.get("title") or data.get("errorCode"))
        raise RdapError(f"RDAP error: {title[:100]}", url=source_url, transient=False)
    network = _network_fields(ip, data)
    registrant = _registrant(data)
    return RdapResult(
        network_name=network.get("name"),
        network_handle=network.get("handle"),
        cidr=network.get("cidr"),
        registrant_name=vcard_name(registrant) if registrant else None,
        registrant_country=(vcard_country(registrant) if registrant else None)
        or country_code(network.get("country")),
        source_url=source_url,
        registrant_handle=registrant.get("handle") if registrant else None,
        parent_handle=network.get("parent_handle"),
        country=country_code(network.get("country")),
    )


# -- lookups ----------------------------------------------------------------------------------


def rdap_lookup(
    ip: str,
    *,
    rdap_url: str | None = None,
    timeout: float = 10.0,
    cache: Cache | None = None,
    follow_registrant: bool = True,
) -> RdapResult:
    """The registered network of ``ip`` from ``<rdap_url>/ip/<ip>`` (default: ARIN bootstrap).

    When the registrant entity comes without a vCard (RIPE often links it only by handle), it
    is fetched from ``<base>/entity/<handle>`` once. Raises :class:`RdapError`.
    """
    cache = cache if cache is not None else NullCache()
    base = (rdap_url or DEFAULT_RDAP_URL).rstrip("/")
    key = f"rdap:{base}:{ip}"
    found, cached = cache.get(key)
    if found and isinstance(cached, dict):
        try:
            return RdapResult(**cached)
        except TypeError:
            pass  # an entry from an older layout: look it up again
    url = f"{base}/ip/{urllib.parse.quote(ip, safe=':.')}"
    started = time.monotonic()
    data, final_url = fetch_json(url, timeout=timeout)
    result = parse_rdap(ip, data, final_url)
    registrant = _registrant(data)
    remaining = timeout - (time.monotonic() - started)
    if (
        follow_registrant
        and registrant is not None
        and result.registrant_name is None
        and isinstance(registrant.get("handle"), str)
        and remaining > 0
    ):
        # Registries answer entities at <their base>/entity/<handle>; derive it from where the
        # IP answer came from so a bootstrap redirect is followed to the right registry.
        entity_base = final_url.rsplit("/ip/", 1)[0]
        entity_url = f"{entity_base}/entity/{urllib.parse.quote(registrant['handle'])}"
        try:
            entity, _ = fetch_json(entity_url, timeout=remaining)
        except RdapError:
            entity = None  # the network answer is still useful without the registrant's name
        if entity is not None:
            result = RdapResult(
                **{
                    **asdict(result),
                    "registrant_name": vcard_name(entity),
                    "registrant_country": vcard_country(entity) or result.registrant_country,
                }
            )
    # A later hit says it is cached, and since when, in the evidence step's source (issue 21).
    cache.set(key, {**asdict(result), "source_url": cached_label(result.source_url)}, CACHE_TTL)
    return result


def cached_label(source_url: str) -> str:
    """``URL (cached answer of <UTC time>)``: the source of an answer served from the cache."""
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return f"{source_url} (cached answer of {when})"


async def rdap_lookup_many(
    ips: Sequence[str],
    *,
    rdap_url: str | None = None,
    timeout: float = 10.0,
    concurrency: int = 4,
    cache: Cache | None = None,
) -> dict[str, RdapResult | RdapError]:
    """:func:`rdap_lookup` for many addresses in worker threads, a few at a time (registries
    rate-limit hard); each address maps to its result or its error."""
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(ip: str) -> RdapResult | RdapError:
        async with limit:
            try:
                return await asyncio.to_thread(
                    rdap_lookup, ip, rdap_url=rdap_url, timeout=timeout, cache=cache
                )
            except RdapError as exc:
                return exc
            except Exception as exc:  # network conditions are RdapError: this is a bug
                return RdapError(internal_reason(exc), transient=False)

    unique = list(dict.fromkeys(ips))
    results = await asyncio.gather(*(one(ip) for ip in unique))
    return dict(zip(unique, results, strict=True))
