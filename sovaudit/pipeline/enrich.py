"""Network sources for attribution beyond the offline table: Team Cymru over DNS and RDAP.

Both are opt-in (``--asn-source cymru``, ``--asn-source rdap``): a plain scan sends only the DNS
questions of the endpoints themselves. Cymru goes through the scan's own resolvers; RDAP through
the registries' bootstrap or ``--rdap-url``. Answers are cached (``--no-cache`` disables it).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sovaudit.attribute.asntable import AsnTable
from sovaudit.attribute.registry import default_registry
from sovaudit.collect.asn import CymruResult, cymru_lookup_detailed
from sovaudit.collect.cache import Cache
from sovaudit.collect.dns import ResolverAddress
from sovaudit.collect.domain_rdap import domain_rdap_lookup_many
from sovaudit.collect.rdap import RdapResult, rdap_lookup_many
from sovaudit.errors import SovauditError, UserError, is_internal_reason
from sovaudit.models import Endpoint, Layer

ASN_SOURCES = ("offline", "cymru", "rdap")


def check_sources(sources: Sequence[str]) -> tuple[str, ...]:
    """Validate ``--asn-source`` values (ordered, no duplicates); default: offline only."""
    out: list[str] = []
    for s in sources:
        if s not in ASN_SOURCES:
            raise UserError(f"--asn-source: unknown source {s!r} (valid: {', '.join(ASN_SOURCES)})")
        if s not in out:
            out.append(s)
    return tuple(out) or ("offline",)


@dataclass(frozen=True, slots=True)
class NetworkAnswers:
    cymru: Mapping[str, object]
    rdap: Mapping[str, object]
    domain_rdap: Mapping[str, Any] = field(default_factory=dict)  # domain -> registrar answer
    # address or domain -> "internal error in ..." for a lookup that hit a bug in sovaudit
    internal: Mapping[str, str] = field(default_factory=dict)


def public_addresses(endpoints: Sequence[Endpoint]) -> list[str]:
    """Every distinct global unicast address of the scan, in a stable order."""
    seen: dict[str, None] = {}
    for e in endpoints:
        for a in e.addresses:
            try:
                if ipaddress.ip_address(a).is_global:
                    seen.setdefault(a, None)
            except ValueError:
                continue
    return sorted(seen)


def fetch(
    endpoints: Sequence[Endpoint],
    sources: Sequence[str],
    *,
    resolver: ResolverAddress,
    timeout: float,
    rdap_url: str | None,
    cache: Cache | None,
    registrars: bool = False,
) -> NetworkAnswers:
    """Ask the network sources named in ``sources`` about the scan's addresses."""
    addresses = public_addresses(endpoints)
    table = AsnTable.default()
    cymru: dict[str, object] = {}
    internal: dict[str, str] = {}
    sources = tuple(sources)
    if "cymru" in sources and addresses:
        # Cymru first in the order: ask for everything; after offline: only what it missed.
        first = sources.index("cymru") < sources.index("offline") if "offline" in sources else True
        wanted = addresses if first else [a for a in addresses if table.lookup(a) is None]
        if wanted:
            answers = asyncio.run(
                cymru_lookup_detailed(
                    wanted, (resolver.host, resolver.port), timeout=timeout, cache=cache
                )
            )
            cymru = {ip: r for ip, r in answers.items() if isinstance(r, CymruResult)}
            internal.update(
                (ip, r.reason)
                for ip, r in answers.items()
                if not isinstance(r, CymruResult) and is_internal_reason(r.reason)
            )
    rdap: dict[str, object] = {}
    if "rdap" in sources and addresses:
        registry = default_registry()

        def known(ip: str) -> bool:
            match = table.lookup(ip)
            asn = getattr(cymru.get(ip), "asn", None) or (match.asn if match else None)
            return asn is not None and registry.by_asn(int(asn)) is not None

        wanted = [a for a in addresses if not known(a)]
        if wanted:
            answers_rdap = asyncio.run(
                rdap_lookup_many(wanted, rdap_url=rdap_url, timeout=max(timeout, 5.0), cache=cache)
            )
            rdap = {ip: r for ip, r in answers_rdap.items() if isinstance(r, RdapResult)}
            internal.update(
                (ip, r.message)
                for ip, r in answers_rdap.items()
                if not isinstance(r, RdapResult) and is_internal_reason(r.message)
            )
    domain_rdap: dict[str, Any] = {}
    if registrars:
        domains = sorted({e.host for e in endpoints if e.layer is Layer.DOMAIN})
        if domains:
            # Errors are kept: the registrar then becomes "unknown" with the reason.
            domain_rdap = dict(
                asyncio.run(
                    domain_rdap_lookup_many(
                        domains, rdap_url=rdap_url, timeout=max(timeout, 5.0), cache=cache
                    )
                )
            )
            internal.update(
                (d, r.message)
                for d, r in domain_rdap.items()
                if isinstance(r, SovauditError) and is_internal_reason(r.message)
            )
    return NetworkAnswers(cymru=cymru, rdap=rdap, domain_rdap=domain_rdap, internal=internal)
