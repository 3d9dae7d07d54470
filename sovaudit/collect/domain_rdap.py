"""Domain RDAP (RFC 9082/9083, RFC 9224 bootstrap): which registrar holds a name.

Client choice: bounded urllib, through :func:`sovaudit.collect.rdap.fetch_json` (size, total
time and redirect limits, http/https only). ipwhois does not do domains; ``whoisit`` (4.x) does,
but it always starts from the IANA bootstrap with its own unbounded ``requests``/``httpx``
session, has no base-URL override for tests or mirrors, and would add three dependencies.

URLs: ``<rdap_url>/domain/<name>`` when ``rdap_url`` is given (tests, mirrors); otherwise the
registry's base URL from the IANA bootstrap file (``bootstrap_url``, cached one day).

Only the registry's answer is read: its ``registrar`` entity gives the name, the IANA id
(``publicIds``) and, when its vCard has an address, the country. Thin registries (.com, .net)
often give no country; the registrar table in ``tld_registries.yaml`` fills that in.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sovaudit.collect.cache import Cache, NullCache
from sovaudit.collect.rdap import (
    RdapError,
    cached_label,
    fetch_json,
    vcard_country,
    vcard_name,
)
from sovaudit.errors import internal_reason

__all__ = [
    "IANA_BOOTSTRAP_URL",
    "DomainRdapResult",
    "bootstrap_base",
    "domain_rdap_lookup",
    "domain_rdap_lookup_many",
    "parse_domain_rdap",
]

IANA_BOOTSTRAP_URL = "https://data.iana.org/rdap/dns.json"
# Registrars of a name change rarely; a week keeps repeated scans off rate-limited registries.
CACHE_TTL = 7 * 24 * 3600.0
BOOTSTRAP_TTL = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class DomainRdapResult:
    """The registrar of a domain as the registry's RDAP answer gives it."""

    domain: str
    registrar_name: str | None
    registrar_iana_id: str | None
    registrar_country: str | None  # ISO alpha-2 when known, else as the registry wrote it
    source_url: str
    registrar_handle: str | None = None
    registered: str | None = None  # "registration" event date, as given
    expires: str | None = None  # "expiration" event date, as given
    statuses: tuple[str, ...] = ()


# -- parsing ----------------------------------------------------------------------------------


def _iana_id(entity: Mapping[str, Any]) -> str | None:
    for pid in entity.get("publicIds") or []:
        if not isinstance(pid, dict):
            continue
        kind = str(pid.get("type") or "").lower()
        ident = str(pid.get("identifier") or "").strip()
        if "iana" in kind and ident.isdigit():
            return ident
    return None


def _event(data: Mapping[str, Any], action: str) -> str | None:
    for ev in data.get("events") or []:
        if isinstance(ev, dict) and ev.get("eventAction") == action:
            date = ev.get("eventDate")
            return str(date) if date else None
    return None


def parse_domain_rdap(domain: str, data: Mapping[str, Any], source_url: str) -> DomainRdapResult:
    """Pure: the :class:`DomainRdapResult` in an RDAP domain answer. Raises :class:`RdapError`
    on an RDAP error object or an answer that is not a domain object."""
    if data.get("errorCode") is not None:
        title = str(data.get("title") or data.get("errorCode"))
        raise RdapError(f"RDAP error: {title[:100]}", url=source_url, transient=False)
    if data.get("objectClassName") not in (None, "domain"):
        kind = str(data.get("objectClassName"))[:40]
        raise RdapError(f"not an RDAP domain object ({kind})", url=source_url, transient=False)
    registrar: Mapping[str, Any] | None = None
    for entity in data.get("entities") or []:
        if isinstance(entity, dict) and "registrar" in (entity.get("roles") or []):
            registrar = entity
            break
    statuses = tuple(str(s) for s in data.get("status") or [] if isinstance(s, str))
    return DomainRdapResult(
        domain=str(data.get("ldhName") or domain).lower().rstrip("."),
        registrar_name=vcard_name(registrar, ("fn", "org")) if registrar else None,
        registrar_iana_id=_iana_id(registrar) if registrar else None,
        registrar_country=vcard_country(registrar) if registrar else None,
        source_url=source_url,
        registrar_handle=str(registrar["handle"])
        if registrar and registrar.get("handle")
        else None,
        registered=_event(data, "registration"),
        expires=_event(data, "expiration"),
        statuses=statuses,
    )


def bootstrap_base(domain: str, bootstrap: Mapping[str, Any]) -> str | None:
    """Pure: the RDAP base URL the IANA bootstrap (RFC 9224) gives for ``domain``'s longest
    listed suffix, preferring https; None when no service is listed."""
    labels = domain.lower().rstrip(".").split(".")
    services: dict[str, list[str]] = {}
    for service in bootstrap.get("services") or []:
        if not (isinstance(service, list) and len(service) == 2):
            continue
        suffixes, urls = service
        if not isinstance(suffixes, list) or not isinstance(urls, list):
            continue
        for s in suffixes:
            if isinstance(s, str):
                services[s.lower()] = [u for u in urls if isinstance(u, str)]
    for i in range(len(labels)):
        urls = services.get(".".join(labels[i:]))
        if urls:
            https = [u for u in urls if u.startswith("https://")]
            return (https or urls)[0]
    return None


# -- lookups ----------------------------------------------------------------------------------


def _base_for(domain: str, bootstrap_url: str, timeout: float, cache: Cache) -> str:
    key = f"rdap-bootstrap:{bootstrap_url}"
    found, cached = cache.get(key)
    if not (found and isinstance(cached, dict)):
        cached, _ = fetch_json(bootstrap_url, timeout=timeout)
        cache.set(key, cached, BOOTSTRAP_TTL)
    base = bootstrap_base(domain, cached)
    if base is None:
        tld = domain.rsplit(".", 1)[-1]
        raise RdapError(f"no RDAP service for .{tld} in the IANA bootstrap", transient=False)
    return base


def domain_rdap_lookup(
    domain: str,
    *,
    rdap_url: str | None = None,
    bootstrap_url: str = IANA_BOOTSTRAP_URL,
    timeout: float = 10.0,
    cache: Cache | None = None,
) -> DomainRdapResult:
    """The registrar of ``domain`` from ``<base>/domain/<name>``; ``base`` is ``rdap_url`` or
    the registry's service in the IANA bootstrap. ``timeout`` bounds the whole lookup.
    Raises :class:`RdapError`."""
    cache = cache if cache is not None else NullCache()
    name = domain.strip().lower().rstrip(".")
    if name and not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise RdapError(f"not a domain name: {domain[:60]!r}", transient=False) from exc
    if not name or "/" in name or "?" in name or "#" in name:
        raise RdapError(f"not a domain name: {domain[:60]!r}", transient=False)
    started = time.monotonic()
    base = rdap_url or _base_for(name, bootstrap_url, timeout, cache)
    base = base.rstrip("/")
    key = f"rdap-domain:{base}:{name}"
    found, cached = cache.get(key)
    if found and isinstance(cached, dict):
        try:
            return DomainRdapResult(**{**cached, "statuses": tuple(cached.get("statuses") or ())})
        except TypeError:
            pass  # an entry from an older layout: look it up again
    remaining = timeout - (time.monotonic() - started)
    if remaining <= 0:
        raise RdapError(f"no answer within {timeout:g} s", url=base)
    url = f"{base}/domain/{urllib.parse.quote(name, safe='.-')}"
    data, final_url = fetch_json(url, timeout=remaining)
    result = parse_domain_rdap(name, data, final_url)
    # A later hit says it is cached, and since when, in the evidence step's source (issue 21).
    cache.set(key, {**asdict(result), "source_url": cached_label(result.source_url)}, CACHE_TTL)
    return result


async def domain_rdap_lookup_many(
    domains: Sequence[str],
    *,
    rdap_url: str | None = None,
    bootstrap_url: str = IANA_BOOTSTRAP_URL,
    timeout: float = 10.0,
    concurrency: int = 4,
    cache: Cache | None = None,
) -> dict[str, DomainRdapResult | RdapError]:
    """:func:`domain_rdap_lookup` for many domains in worker threads, a few at a time
    (registries rate-limit hard); each domain maps to its result or its error."""
    limit = asyncio.Semaphore(max(1, concurrency))

    async def one(domain: str) -> DomainRdapResult | RdapError:
        async with limit:
            try:
                return await asyncio.to_thread(
                    domain_rdap_lookup,
                    domain,
                    rdap_url=rdap_url,
                    bootstrap_url=bootstrap_url,
                    timeout=timeout,
                    cache=cache,
                )
            except RdapError as exc:
                return exc
            except Exception as exc:  # network conditions are RdapError: this is a bug
                return RdapError(internal_reason(exc), transient=False)

    unique = list(dict.fromkeys(domains))
    results = await asyncio.gather(*(one(d) for d in unique))
    return dict(zip(unique, results, strict=True))
