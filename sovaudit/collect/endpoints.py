"""From a target to an endpoint: the DNS questions each layer asks, recorded as evidence.

- web: A/AAAA of the host with its whole CNAME chain;
- mail: MX targets and their addresses, the SPF include tree, ``autodiscover.`` and apex TXT;
- dns: NS hosts and their addresses, apex TXT (kept for SaaS detection).

A failure never stops the scan: the endpoint gets ``status: unknown`` and the reason. A name that
does not exist is ``skipped`` when it came from a domain's expansion (there is nothing to audit)
and ``unknown`` when the user listed it as a service (the service should be there).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from sovaudit.collect.dns import MAX_ANSWER_TEXT, Answer, ChainResult, DnsClient, txt_string
from sovaudit.collect.spf import expand_spf, find_spf
from sovaudit.models import DnsRecord, Endpoint, Layer, Status, Target

MAX_MX_HOSTS = 10
MAX_NS_HOSTS = 16
MAX_TXT_KEPT = 64


class _Evidence:
    """Accumulates records without duplicates, in the order they were seen."""

    def __init__(self) -> None:
        self.records: list[DnsRecord] = []
        self._seen: set[DnsRecord] = set()

    def add(self, records: Sequence[DnsRecord]) -> None:
        for rec in records:
            if rec not in self._seen:
                self._seen.add(rec)
                self.records.append(rec)


def _endpoint(
    target: Target,
    status: Status,
    reason: str | None,
    evidence: _Evidence,
    *,
    addresses: Sequence[str] = (),
    names: Sequence[str] = (),
    details: dict[str, Any] | None = None,
) -> Endpoint:
    return Endpoint(
        organization=target.organization,
        organization_name=target.organization_name,
        service=target.service,
        host=target.host,
        layer=target.layer,
        data_classes=target.data_classes,
        status=status,
        reason=reason,
        records=tuple(evidence.records),
        addresses=tuple(dict.fromkeys(addresses)),
        names=tuple(dict.fromkeys(names)),
        source=target.source,
        details=details or {},
    )


def _missing(target: Target, what: str) -> tuple[Status, str]:
    if target.origin == "domain":
        return Status.SKIPPED, what
    return Status.UNKNOWN, f"{what}, but the inventory lists this service"


async def _txt(client: DnsClient, name: str) -> tuple[Answer, list[str]]:
    answer = await client.query(name, "TXT")
    return answer, [txt_string(rd) for rd in answer.rdatas(name, "TXT")]


def _kept_txt(strings: list[str]) -> list[str]:
    kept = [s if len(s) <= MAX_ANSWER_TEXT else s[:MAX_ANSWER_TEXT] + "…[truncated]"
            for s in strings]
    return sorted(kept)[:MAX_TXT_KEPT]


async def collect_web(client: DnsClient, target: Target) -> Endpoint:
    ev = _Evidence()
    chain = await client.resolve_chain(target.host)
    ev.add(chain.records())
    details = {"cname_chain": chain.chain}
    if chain.errors:
        return _endpoint(
            target,
            Status.UNKNOWN,
            "; ".join(chain.errors),
            ev,
            addresses=chain.addresses,
            names=chain.chain,
            details=details,
        )
    if not chain.addresses:
        what = "name does not exist (NXDOMAIN)" if chain.nxdomain else "no A or AAAA record"
        status, reason = _missing(target, what)
        return _endpoint(target, status, reason, ev, names=chain.chain, details=details)
    return _endpoint(
        target, Status.OK, None, ev, addresses=chain.addresses, names=chain.chain, details=details
    )


def _chain_dict(host: str, chain: ChainResult) -> dict[str, Any]:
    return {"host": host, "cname_chain": chain.chain, "addresses": chain.addresses}


async def collect_mail(client: DnsClient, target: Target) -> Endpoint:
    ev = _Evidence()
    domain = target.host
    mx_answer, (txt_answer, txt) = await asyncio.gather(
        client.query(domain, "MX"), _txt(client, domain)
    )
    ev.add(mx_answer.records())
    ev.add(txt_answer.records())
    details: dict[str, Any] = {"mx": [], "spf": None, "autodiscover": None, "txt": _kept_txt(txt)}
    if not mx_answer.ok:
        return _endpoint(target, Status.UNKNOWN, mx_answer.describe(), ev, details=details)
    mx_rdatas = sorted(
        mx_answer.rdatas(domain, "MX"),
        key=lambda rd: (rd.preference, rd.exchange.to_text().lower()),
    )
    errors: list[str] = []
    if not txt_answer.ok:
        errors.append(txt_answer.describe())

    hosts = [
        (int(rd.preference), rd.exchange.to_text(omit_final_dot=True).lower())
        for rd in mx_rdatas[:MAX_MX_HOSTS]
    ]
    null_mx = len(hosts) == 1 and hosts[0][1] in ("", ".")
    chains = await asyncio.gather(
        *(client.resolve_chain(h) for _p, h in hosts if h not in ("", "."))
    )
    addresses: list[str] = []
    names: list[str] = []
    for (pref, host), chain in zip(
        [(p, h) for p, h in hosts if h not in ("", ".")], chains, strict=True
    ):
        ev.add(chain.records())
        errors.extend(chain.errors)
        details["mx"].append({"preference": pref, **_chain_dict(host, chain)})
        names.extend([host, *chain.chain])
        addresses.extend(chain.addresses)

    spf_record, spf_error = find_spf(txt)

    async def fetch_txt(name: str) -> tuple[list[str] | None, str | None]:
        answer, strings = await _txt(client, name)
        ev.add(answer.records())
        if not answer.ok:
            return None, answer.describe()
        return strings, None

    spf = await expand_spf(domain, spf_record, fetch_txt)
    if spf_error and spf.error is None:
        spf.error = spf_error
    details["spf"] = spf.as_dict()

    auto_host = f"autodiscover.{domain}"
    auto = await client.resolve_chain(auto_host)
    ev.add(auto.records())
    if auto.addresses or auto.chain:
        details["autodiscover"] = _chain_dict(auto_host, auto)
    elif auto.errors:
        details["autodiscover"] = {**_chain_dict(auto_host, auto), "error": "; ".join(auto.errors)}

    if null_mx:
        return _endpoint(
            target,
            Status.SKIPPED,
            "null MX (RFC 7505): the domain accepts no mail",
            ev,
            details=details,
        )
    if errors:
        return _endpoint(
            target,
            Status.UNKNOWN,
            "; ".join(errors),
            ev,
            addresses=addresses,
            names=names,
            details=details,
        )
    if not hosts:
        nx = mx_answer.rcode == "NXDOMAIN"
        what = "domain does not exist (NXDOMAIN)" if nx else "no MX record"
        status, reason = _missing(target, what)
        return _endpoint(target, status, reason, ev, details=details)
    return _endpoint(target, Status.OK, None, ev, addresses=addresses, names=names, details=details)


async def collect_dns(client: DnsClient, target: Target) -> Endpoint:
    ev = _Evidence()
    domain = target.host
    ns_answer, (txt_answer, txt) = await asyncio.gather(
        client.query(domain, "NS"), _txt(client, domain)
    )
    ev.add(ns_answer.records())
    ev.add(txt_answer.records())
    details: dict[str, Any] = {"ns": [], "txt": _kept_txt(txt)}
    if not ns_answer.ok:
        return _endpoint(target, Status.UNKNOWN, ns_answer.describe(), ev, details=details)
    hosts = sorted(
        {rd.target.to_text(omit_final_dot=True).lower() for rd in ns_answer.rdatas(domain, "NS")}
    )[:MAX_NS_HOSTS]
    if not hosts:
        what = (
            "domain does not exist (NXDOMAIN)"
            if ns_answer.rcode == "NXDOMAIN"
            else "no NS record (not a zone apex)"
        )
        status, reason = _missing(target, what)
        return _endpoint(target, status, reason, ev, details=details)
    chains = await asyncio.gather(*(client.resolve_chain(h) for h in hosts))
    addresses: list[str] = []
    errors: list[str] = []
    for host, chain in zip(hosts, chains, strict=True):
        ev.add(chain.records())
        errors.extend(chain.errors)
        details["ns"].append(_chain_dict(host, chain))
        addresses.extend(chain.addresses)
    status = Status.UNKNOWN if errors else Status.OK
    return _endpoint(
        target,
        status,
        "; ".join(errors) or None,
        ev,
        addresses=addresses,
        names=hosts,
        details=details,
    )


_COLLECTORS = {Layer.WEB: collect_web, Layer.MAIL: collect_mail, Layer.DNS: collect_dns}


async def collect_target(client: DnsClient, target: Target) -> Endpoint:
    """Resolve one target into an endpoint with its evidence (never raises for DNS failures)."""
    collector = _COLLECTORS.get(target.layer, collect_web)
    return await collector(client, target)


async def collect_all(
    client: DnsClient,
    targets: Sequence[Target],
    *,
    on_done: Callable[[Endpoint], None] | None = None,
    parallel: int = 512,
) -> list[Endpoint]:
    """Resolve every target concurrently (bounded); results keep the order of ``targets``."""
    semaphore = asyncio.Semaphore(parallel)

    async def one(target: Target) -> Endpoint:
        async with semaphore:
            endpoint = await collect_target(client, target)
        if on_done is not None:
            on_done(endpoint)
        return endpoint

    return list(await asyncio.gather(*(one(t) for t in targets)))
