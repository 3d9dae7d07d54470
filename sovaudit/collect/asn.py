"""Team Cymru IP -> ASN over DNS: live origin ASN, prefix, country, registry and AS name.

Queries go to the resolver the scan was given (never the system resolver), with dnspython's
async API, a bounded timeout per query and a bounded number in flight:

- ``<d>.<c>.<b>.<a>.origin.asn.cymru.com TXT`` -> ``"ASN [ASN...] | prefix | CC | registry | date"``
- ``<32 nibbles reversed>.origin6.asn.cymru.com TXT`` -> the same for IPv6
- ``AS<n>.asn.cymru.com TXT`` -> ``"ASN | CC | registry | date | AS name"``

Parsing is pure (``parse_origin_txt``, ``parse_asname_txt``); ipwhois's ``IPASN.parse_fields_dns``
needs an ``ipwhois.net.Net`` (which builds a system resolver) and handles neither several origin
ASNs nor several TXT records, so it is not used here.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype

from sovaudit.collect.cache import Cache, NullCache
from sovaudit.errors import internal_reason

__all__ = [
    "CymruMiss",
    "CymruResult",
    "asname_query_name",
    "cymru_lookup",
    "cymru_lookup_detailed",
    "origin_query_name",
    "parse_asname_txt",
    "parse_origin_txt",
]

ORIGIN_ZONE = "origin.asn.cymru.com"
ORIGIN6_ZONE = "origin6.asn.cymru.com"
ASN_ZONE = "asn.cymru.com"
SOURCE = "Team Cymru IP-to-ASN (DNS)"
# Routing changes slowly; a day keeps repeated scans off the rate-limited service.
CACHE_TTL = 24 * 3600.0
NEGATIVE_CACHE_TTL = 3600.0


@dataclass(frozen=True, slots=True)
class CymruResult:
    """One Team Cymru answer for an address (the most specific prefix if several)."""

    asn: int
    prefix: str
    country: str | None
    registry: str | None
    allocated: str | None
    as_name: str | None
    # Other ASNs announcing the same prefix (multi-origin, e.g. anycast or a transition).
    other_origins: tuple[int, ...] = ()
    # Set when the answer came from the cache: when it was fetched and through which resolver.
    cached: str | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class CymruMiss:
    """Why an address has no Team Cymru answer; ``transient`` failures are worth a retry."""

    reason: str
    transient: bool = False


# -- pure parsing -----------------------------------------------------------------------------


def origin_query_name(ip: str) -> str:
    """The origin(6).asn.cymru.com name to query for ``ip``; ValueError if not an address."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:a.b.c.d is announced as a.b.c.d
    if address.version == 4:
        return ".".join(reversed(str(address).split("."))) + f".{ORIGIN_ZONE}."
    nibbles = address.exploded.replace(":", "")
    return ".".join(reversed(nibbles)) + f".{ORIGIN6_ZONE}."


def asname_query_name(asn: int) -> str:
    """The asn.cymru.com name to query for an AS number."""
    return f"AS{asn}.{ASN_ZONE}."


def _field(value: str) -> str | None:
    value = value.strip().strip('"').strip()
    return value or None


def parse_origin_txt(texts: Sequence[str]) -> CymruResult | None:
    """Parse origin TXT strings; the most specific valid prefix wins. None if none parse."""
    best: tuple[int, CymruResult] | None = None
    for text in texts:
        parts = [p.strip() for p in text.strip().strip('"').split("|")]
        if len(parts) < 3:
            continue
        asns = [int(a) for a in parts[0].split() if a.isdigit()]
        try:
            network = ipaddress.ip_network(parts[1], strict=False)
        except ValueError:
            continue
        if not asns:
            continue
        result = CymruResult(
            asn=asns[0],
            prefix=str(network),
            country=(_field(parts[2]) or "").upper() or None,
            registry=_field(parts[3]) if len(parts) > 3 else None,
            allocated=_field(parts[4]) if len(parts) > 4 else None,
            as_name=None,
            other_origins=tuple(asns[1:]),
        )
        if best is None or network.prefixlen > best[0]:
            best = (network.prefixlen, result)
    return best[1] if best else None


def parse_asname_txt(texts: Sequence[str]) -> str | None:
    """The AS name from ``"ASN | CC | registry | date | NAME"``; None if absent."""
    for text in texts:
        parts = text.strip().strip('"').split("|", 4)
        if len(parts) == 5 and (name := _field(parts[4])):
            return name
    return None


# -- I/O --------------------------------------------------------------------------------------


async def _query_txt(
    name: str, resolver: tuple[str, int], timeout: float
) -> tuple[list[str] | None, CymruMiss | None]:
    """TXT strings at ``name``: ([], None) for NXDOMAIN/NODATA, (None, miss) on failure."""
    query = dns.message.make_query(name, dns.rdatatype.TXT)
    host, port = resolver
    try:
        response, _tcp = await dns.asyncquery.udp_with_fallback(
            query, host, timeout=timeout, port=port
        )
    except dns.exception.Timeout:
        return None, CymruMiss(f"no answer from {host}:{port} within {timeout:g} s", True)
    except (OSError, dns.exception.DNSException) as exc:
        return None, CymruMiss(f"query to {host}:{port} failed: {exc}", True)
    rcode = response.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return [], None
    if rcode != dns.rcode.NOERROR:
        return None, CymruMiss(f"{dns.rcode.to_text(rcode)} for {name}", True)
    texts: list[str] = []
    qname = dns.name.from_text(name)
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.TXT and rrset.name == qname:
            texts.extend(b"".join(r.strings).decode("utf-8", "replace") for r in rrset)
    return texts, None


async def cymru_lookup_detailed(
    ips: Sequence[str],
    resolver: tuple[str, int],
    *,
    timeout: float = 2.0,
    concurrency: int = 64,
    cache: Cache | None = None,
) -> dict[str, CymruResult | CymruMiss]:
    """Origin ASN, prefix, country, registry and AS name of each address, or why not.

    Each distinct address and each distinct ASN is queried once; answers (and "no origin"
    answers) are cached, failures are not.
    """
    cache = cache if cache is not None else NullCache()
    limit = asyncio.Semaphore(max(1, concurrency))
    # The resolver is part of every key: an answer obtained through one resolver (perhaps a
    # hostile one) never decides what a scan through another reports (issue 21).
    via = f"{resolver[0]}#{resolver[1]}"
    fetched_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def key(kind: str, value: object) -> str:
        return f"cymru:{via}:{kind}:{value}"

    async def bounded(name: str) -> tuple[list[str] | None, CymruMiss | None]:
        async with limit:
            return await _query_txt(name, resolver, timeout)

    cached_ips: set[str] = set()

    async def origin(ip: str) -> CymruResult | CymruMiss:
        try:
            return await _origin(ip)
        except Exception as exc:  # DNS conditions are CymruMiss: this is a bug
            return CymruMiss(internal_reason(exc))

    async def _origin(ip: str) -> CymruResult | CymruMiss:
        try:
            name = origin_query_name(ip)
        except ValueError:
            return CymruMiss(f"not an IP address: {ip[:60]!r}")
        found, cached = cache.get(key("origin", ip))
        if found:
            cached_ips.add(ip)
            return _from_jsonable(cached) if cached else CymruMiss("no origin announced")
        texts, miss = await bounded(name)
        if miss is not None:
            return miss
        assert texts is not None
        result = parse_origin_txt(texts)
        if result is None:
            if texts:
                return CymruMiss(f"unparsable answer: {texts[0][:80]!r}")
            cache.set(key("origin", ip), None, NEGATIVE_CACHE_TTL)
            return CymruMiss("no origin announced")
        return result

    async def asname(asn: int) -> str | None:
        found, cached = cache.get(key("asname", asn))
        if found:
            return str(cached) if cached is not None else None
        texts, miss = await bounded(asname_query_name(asn))
        if miss is not None or texts is None:
            return None
        name = parse_asname_txt(texts)
        cache.set(key("asname", asn), name, CACHE_TTL)
        return name

    unique = list(dict.fromkeys(ips))
    origins = await asyncio.gather(*(origin(ip) for ip in unique))
    asns = sorted({r.asn for r in origins if isinstance(r, CymruResult) and r.as_name is None})
    names = dict(zip(asns, await asyncio.gather(*(asname(a) for a in asns)), strict=True))
    out: dict[str, CymruResult | CymruMiss] = {}
    for ip, result in zip(unique, origins, strict=True):
        if isinstance(result, CymruResult):
            if result.as_name is None and names.get(result.asn):
                result = CymruResult(
                    result.asn, result.prefix, result.country, result.registry,
                    result.allocated, names[result.asn], result.other_origins, result.cached,
                )  # fmt: skip
            if ip not in cached_ips:
                entry = {**_jsonable(result), "fetched_at": fetched_at, "resolver": via}
                cache.set(key("origin", ip), entry, CACHE_TTL)
        out[ip] = result
    return out


def _jsonable(result: CymruResult) -> dict[str, object]:
    return {
        "asn": result.asn,
        "prefix": result.prefix,
        "country": result.country,
        "registry": result.registry,
        "allocated": result.allocated,
        "as_name": result.as_name,
        "other_origins": list(result.other_origins),
    }


def _from_jsonable(d: dict[str, object]) -> CymruResult | CymruMiss:
    others = d.get("other_origins")
    try:
        return CymruResult(
            asn=int(str(d["asn"])),
            prefix=str(d["prefix"]),
            country=_opt(d.get("country")),
            registry=_opt(d.get("registry")),
            allocated=_opt(d.get("allocated")),
            as_name=_opt(d.get("as_name")),
            other_origins=tuple(int(a) for a in others) if isinstance(others, list) else (),
            cached=f"cached answer of {d.get('fetched_at') or 'an unknown date'} "
            f"via resolver {d.get('resolver') or 'unknown'}",
        )
    except (KeyError, TypeError, ValueError):
        return CymruMiss("corrupt cache entry", transient=True)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


async def cymru_lookup(
    ips: Sequence[str],
    resolver: tuple[str, int],
    *,
    timeout: float = 2.0,
    concurrency: int = 64,
    cache: Cache | None = None,
) -> dict[str, CymruResult | None]:
    """Like :func:`cymru_lookup_detailed`, with None wherever there is no answer."""
    detailed = await cymru_lookup_detailed(
        ips, resolver, timeout=timeout, concurrency=concurrency, cache=cache
    )
    return {ip: r if isinstance(r, CymruResult) else None for ip, r in detailed.items()}
