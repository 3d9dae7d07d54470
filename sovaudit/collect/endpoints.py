"""From a target to an endpoint: the DNS questions each layer asks, recorded as evidence.

- web: A/AAAA of the host with its whole CNAME chain;
- mail: MX targets and their addresses, the SPF include tree, ``autodiscover.`` and apex TXT;
- dns: NS hosts and their addresses (an NS host that does not exist is marked ``nxdomain``:
  a dangling delegation anyone may be able to register), apex TXT;
- mail signals (see docs/mail.md): well-known DKIM selectors, DMARC, MTA-STS and TLS-RPT
  records, and the collaboration names of Microsoft 365 (Teams, Intune, Entra ID join).

A mail target also yields derived endpoints: one ``reporting`` endpoint per external destination
of its DMARC or TLS-RPT reports (where the domain's mail metadata is sent), and one
``collaboration`` endpoint when collaboration names point at a provider.

A failure never stops the scan: the endpoint gets ``status: unknown`` and the reason. A name that
does not exist is ``skipped`` when it came from a domain's expansion (there is nothing to audit)
and ``unknown`` when the user listed it as a service (the service should be there).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any, Protocol

from sovaudit.collect.dns import (
    MAX_ANSWER_TEXT,
    MAX_CNAME_CHAIN,
    Answer,
    ChainResult,
    DnsClient,
    txt_string,
)
from sovaudit.collect.mailsignals import (
    default_dkim_selectors,
    parse_dkim,
    parse_dmarc,
    parse_mta_sts,
    parse_tlsrpt,
)
from sovaudit.collect.spf import expand_spf, find_spf
from sovaudit.errors import INTERNAL_DETAILS_KEY, internal_reason
from sovaudit.models import DnsRecord, Endpoint, Layer, Status, Target

MAX_MX_HOSTS = 10
MAX_NS_HOSTS = 16
MAX_TXT_KEPT = 64
# Report destinations followed per domain: a record listing more is abuse, not configuration.
MAX_REPORT_DESTINATIONS = 8
# Names that show a Microsoft 365 collaboration tenant (Teams/Skype, Intune, Entra ID join).
COLLABORATION_CNAMES = (
    "lyncdiscover",
    "sip",
    "enterpriseregistration",
    "enterpriseenrollment",
    "msoid",
)
COLLABORATION_SRV = ("_sipfederationtls._tcp", "_sip._tls")


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


def unknown_endpoint(
    target: Target, reason: str, *, details: dict[str, Any] | None = None
) -> Endpoint:
    """The endpoint of a target that could not be collected, with nothing but its reason."""
    return _endpoint(target, Status.UNKNOWN, reason, _Evidence(), details=details)


def internal_endpoint(target: Target, exc: BaseException) -> Endpoint:
    """The endpoint of a target whose collection hit a bug: unknown, the bug named."""
    reason = internal_reason(exc)
    return unknown_endpoint(target, reason, details={INTERNAL_DETAILS_KEY: [reason]})


def _missing(target: Target, what: str) -> tuple[Status, str]:
    if target.origin == "domain":
        return Status.SKIPPED, what
    return Status.UNKNOWN, f"{what}, but the inventory lists this service"


async def _txt(client: DnsClient, name: str) -> tuple[Answer, list[str]]:
    answer = await client.query(name, "TXT")
    return answer, [txt_string(rd) for rd in answer.rdatas(name, "TXT")]


def _kept_txt(strings: list[str]) -> list[str]:
    kept = [
        s if len(s) <= MAX_ANSWER_TEXT else s[:MAX_ANSWER_TEXT] + "…[truncated]" for s in strings
    ]
    return sorted(kept)[:MAX_TXT_KEPT]


async def collect_web(client: DnsClient, target: Target) -> Endpoint:
    ev = _Evidence()
    chain = await client.resolve_chain(target.host)
    ev.add(chain.records())
    details: dict[str, Any] = {"cname_chain": chain.chain}
    if chain.addresses_total > len(chain.addresses):
        details["addresses_total"] = chain.addresses_total  # the list kept the first 64
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
    # "dkim" is present even when the MX lookup fails: it marks evidence from this collector,
    # whose tokens are tenants rather than hosting (see attribute/engine.py).
    details: dict[str, Any] = {
        "mx": [], "spf": None, "autodiscover": None, "txt": _kept_txt(txt), "dkim": []
    }
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

    details.update(await collect_mail_signals(client, domain, ev))

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
        entry = _chain_dict(host, chain)
        if chain.nxdomain:
            # A delegation to a name that does not exist: whoever registers it owns the zone.
            entry["nxdomain"] = True
        details["ns"].append(entry)
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


# -- mail signals ----------------------------------------------------------------------------


async def _txt_follow(
    client: DnsClient, name: str, ev: _Evidence
) -> tuple[list[str] | None, list[str], str | None]:
    """TXT strings of ``name`` after its CNAME chain (hosted DMARC is often a CNAME).

    Returns (strings or None on failure, the CNAME chain, the failure's reason).
    """
    chain: list[str] = []
    current = name.lower().rstrip(".")
    seen = {current}
    for _ in range(MAX_CNAME_CHAIN + 1):
        answer = await client.query(current, "TXT")
        ev.add(answer.records())
        if not answer.ok:
            return None, chain, answer.describe()
        target = current
        while cnames := answer.rdatas(target, "CNAME"):
            nxt = cnames[0].target.to_text(omit_final_dot=True).lower()
            if nxt in seen or len(chain) >= MAX_CNAME_CHAIN:
                return None, chain, f"CNAME loop or chain too long at {target}"
            seen.add(nxt)
            chain.append(nxt)
            target = nxt
        strings = [txt_string(rd) for rd in answer.rdatas(target, "TXT")]
        if strings or target == current or answer.rcode == "NXDOMAIN":
            return strings, chain, None
        current = target  # the resolver did not chase the chain: ask for the target
    return None, chain, f"CNAME chain longer than {MAX_CNAME_CHAIN} names"


async def _dkim(client: DnsClient, domain: str, selector: str, ev: _Evidence) -> dict[str, Any]:
    """One selector: its CNAME chain (who holds the key) and the key if the domain publishes it."""
    name = f"{selector}._domainkey.{domain}"
    answer = await client.query(name, "TXT")
    chain: list[str] = []
    target = name
    while (cnames := answer.rdatas(target, "CNAME")) and len(chain) < MAX_CNAME_CHAIN:
        target = cnames[0].target.to_text(omit_final_dot=True).lower()
        if target in chain:
            break
        chain.append(target)
    key = parse_dkim([txt_string(rd) for rd in answer.rdatas(target, "TXT")])
    entry: dict[str, Any] = {"selector": selector, "name": name, "cname_chain": chain}
    if key is not None:
        entry["key"] = {"type": key.key_type, "revoked": not key.has_key, "testing": key.testing}
    if not answer.ok:
        entry["error"] = answer.describe()
    if chain or key is not None:
        ev.add(answer.records())  # only found selectors are evidence; absences are noise
    return entry


async def _collaboration(client: DnsClient, domain: str, ev: _Evidence) -> list[dict[str, Any]]:
    """Microsoft 365 collaboration names (CNAME) and SIP federation (SRV) that exist."""

    async def cname(label: str) -> dict[str, Any] | None:
        name = f"{label}.{domain}"
        answer = await client.query(name, "CNAME")
        targets = [
            rd.target.to_text(omit_final_dot=True).lower() for rd in answer.rdatas(name, "CNAME")
        ]
        if not targets:
            return None
        ev.add(answer.records())
        return {"name": name, "type": "CNAME", "target": targets[0]}

    async def srv(label: str) -> list[dict[str, Any]]:
        name = f"{label}.{domain}"
        answer = await client.query(name, "SRV")
        rdatas = answer.rdatas(name, "SRV")
        if rdatas:
            ev.add(answer.records())
        return [
            {
                "name": name,
                "type": "SRV",
                "target": rd.target.to_text(omit_final_dot=True).lower(),
                "port": int(rd.port),
            }
            for rd in sorted(rdatas, key=lambda r: (r.priority, -r.weight, r.target.to_text()))
        ]

    found = await asyncio.gather(*(cname(label) for label in COLLABORATION_CNAMES))
    srvs = await asyncio.gather(*(srv(label) for label in COLLABORATION_SRV))
    out = [f for f in found if f is not None]
    for group in srvs:
        out.extend(group)
    return out


async def collect_mail_signals(client: DnsClient, domain: str, ev: _Evidence) -> dict[str, Any]:
    """DKIM selectors, DMARC, MTA-STS, TLS-RPT and collaboration names of one domain.

    A failed lookup here never makes the mail endpoint unknown (MX decides that); it is kept in
    ``signal_errors`` so a reader knows a signal may be missing.
    """
    selectors = default_dkim_selectors()
    dkim_task = asyncio.gather(*(_dkim(client, domain, s.selector, ev) for s in selectors))
    dmarc_task = _txt_follow(client, f"_dmarc.{domain}", ev)
    sts_task = _txt_follow(client, f"_mta-sts.{domain}", ev)
    rpt_task = _txt_follow(client, f"_smtp._tls.{domain}", ev)
    collab_task = _collaboration(client, domain, ev)
    dkim, dmarc_r, sts_r, rpt_r, collab = await asyncio.gather(
        dkim_task, dmarc_task, sts_task, rpt_task, collab_task
    )
    errors = [e["error"] for e in dkim if "error" in e]
    out: dict[str, Any] = {
        "dkim": [e for e in dkim if e["cname_chain"] or "key" in e],
        "collaboration": collab,
    }
    for key, (strings, chain, error), parse in (
        ("dmarc", dmarc_r, parse_dmarc),
        ("mta_sts", sts_r, parse_mta_sts),
        ("tls_rpt", rpt_r, parse_tlsrpt),
    ):
        if error is not None:
            errors.append(error)
        parsed: dict[str, Any] = parse(strings or []).as_dict()
        if chain:
            parsed["cname_chain"] = chain
        out[key] = parsed if parsed["record"] is not None or chain else None
    if out["mta_sts"] is not None:
        # The policy is served over HTTPS at mta-sts.<domain>: who hosts it sets the TLS policy.
        host = f"mta-sts.{domain}"
        answer = await client.query(host, "CNAME")
        targets = [
            rd.target.to_text(omit_final_dot=True).lower() for rd in answer.rdatas(host, "CNAME")
        ]
        ev.add(answer.records())
        out["mta_sts"]["policy_host"] = {"host": host, "cname_chain": targets[:1]}
    out["signal_errors"] = errors
    return out


def report_destinations(domain: str, details: dict[str, Any]) -> dict[str, list[dict[str, str]]]:
    """External report destinations of a mail endpoint: destination domain -> [{kind, uri}].

    Destinations under the domain itself stay home: they are not a new place for the data.
    """
    out: dict[str, list[dict[str, str]]] = {}
    own = domain.lower().rstrip(".")
    sources = (
        ("dmarc-rua", (details.get("dmarc") or {}).get("rua")),
        ("dmarc-ruf", (details.get("dmarc") or {}).get("ruf")),
        ("tls-rpt", (details.get("tls_rpt") or {}).get("rua")),
    )
    for kind, uris in sources:
        for uri in uris or ():
            dest = uri.get("domain") if isinstance(uri, dict) else None
            if not dest or dest == own or dest.endswith("." + own):
                continue
            if dest not in out and len(out) >= MAX_REPORT_DESTINATIONS:
                continue
            entry = {"kind": kind, "uri": str(uri.get("uri")), "scheme": str(uri.get("scheme"))}
            out.setdefault(dest, []).append(entry)
    return out


_REPORT_NAMES = {
    "dmarc-rua": ("rapports DMARC", "DMARC reports"),
    "dmarc-ruf": ("rapports DMARC", "DMARC reports"),
    "tls-rpt": ("rapports TLS", "TLS reports"),
}


def _report_service(domain: str, reports: list[dict[str, str]]) -> str:
    names = list(dict.fromkeys(_REPORT_NAMES[r["kind"]] for r in reports))
    fr = " + ".join(n[0] for n in names)
    en = " + ".join(n[1] for n in names)
    return f"{domain} : {fr} / {en}"


async def collect_reporting(
    client: DnsClient, mail_target: Target, destination: str, reports: list[dict[str, str]]
) -> Endpoint:
    """The place a domain's reports go: MX of a mailto: destination, address of an https: one."""
    ev = _Evidence()
    target = replace(
        mail_target,
        service=_report_service(mail_target.host, reports),
        host=destination,
        layer=Layer.REPORTING,
        origin="domain",
    )
    details: dict[str, Any] = {"source_domain": mail_target.host, "reports": reports, "mx": []}
    names: list[str] = []
    addresses: list[str] = []
    errors: list[str] = []
    if any(r["scheme"] == "mailto" for r in reports):
        mx_answer = await client.query(destination, "MX")
        ev.add(mx_answer.records())
        if not mx_answer.ok:
            errors.append(mx_answer.describe())
        hosts = sorted(
            {
                (int(rd.preference), rd.exchange.to_text(omit_final_dot=True).lower())
                for rd in mx_answer.rdatas(destination, "MX")
            }
        )[:MAX_MX_HOSTS]
        hosts = [(p, h) for p, h in hosts if h not in ("", ".")]
        chains = await asyncio.gather(*(client.resolve_chain(h) for _p, h in hosts))
        for (pref, host), chain in zip(hosts, chains, strict=True):
            ev.add(chain.records())
            errors.extend(chain.errors)
            details["mx"].append({"preference": pref, **_chain_dict(host, chain)})
            names.extend([host, *chain.chain])
            addresses.extend(chain.addresses)
    if any(r["scheme"] in ("https", "http") for r in reports) or not details["mx"]:
        # An https: destination, or a mail domain without MX (mail goes to its address).
        chain = await client.resolve_chain(destination)
        ev.add(chain.records())
        details["cname_chain"] = chain.chain
        names.extend(chain.chain)
        addresses.extend(chain.addresses)
        if not addresses and not details["mx"]:
            errors.extend(chain.errors)
    if errors:
        status, reason = Status.UNKNOWN, "; ".join(errors)
    elif not addresses and not names:
        status, reason = Status.UNKNOWN, "report destination has no MX and no address"
    else:
        status, reason = Status.OK, None
    return _endpoint(target, status, reason, ev, addresses=addresses, names=names, details=details)


def collaboration_endpoint(mail_target: Target, mail: Endpoint) -> Endpoint | None:
    """A ``collaboration`` endpoint when the domain's collaboration names point somewhere else."""
    own = mail_target.host.lower()
    entries = [
        e
        for e in mail.details.get("collaboration") or ()
        if e["target"] != own and not str(e["target"]).endswith("." + own)
    ]
    if not entries:
        return None
    ev = _Evidence()
    wanted = {(e["name"], e["type"]) for e in entries}
    ev.add([r for r in mail.records if (r.name.lower(), r.type) in wanted])
    target = replace(
        mail_target,
        service=f"{mail_target.host} : collaboration (Teams, Intune) / collaboration",
        layer=Layer.COLLABORATION,
        origin="domain",
    )
    return _endpoint(
        target,
        Status.OK,
        None,
        ev,
        names=[e["target"] for e in entries],
        details={"collaboration": entries},
    )


_COLLECTORS = {Layer.WEB: collect_web, Layer.MAIL: collect_mail, Layer.DNS: collect_dns}


class Discovery(Protocol):
    """A producer of discovered endpoints: what one collected endpoint reveals beyond itself."""

    async def __call__(
        self, client: DnsClient, target: Target, found: Endpoint
    ) -> Sequence[Endpoint]: ...


async def discover_collaboration(
    client: DnsClient, target: Target, found: Endpoint
) -> Sequence[Endpoint]:
    """The ``collaboration`` endpoint of a mail domain (no query: its names are in ``found``)."""
    collab = collaboration_endpoint(target, found)
    return [] if collab is None else [collab]


async def discover_reporting(
    client: DnsClient, target: Target, found: Endpoint
) -> Sequence[Endpoint]:
    """One ``reporting`` endpoint per place the domain's DMARC and TLS reports go."""
    dests = report_destinations(target.host, found.details)
    return await asyncio.gather(
        *(collect_reporting(client, target, d, reports) for d, reports in dests.items())
    )


# The discoveries run after a target of each layer, in this order. The scan's other discovered
# endpoints come from later stages: third parties from the web stage (pipeline/webstage.py),
# domain endpoints from the inventory (pipeline/run.py).
DISCOVERIES: dict[Layer, tuple[Discovery, ...]] = {
    Layer.MAIL: (discover_collaboration, discover_reporting),
}


async def collect_target(client: DnsClient, target: Target) -> Endpoint:
    """Resolve one target into an endpoint with its evidence (never raises for DNS failures)."""
    collector = _COLLECTORS.get(target.layer, collect_web)
    return await collector(client, target)


async def collect_target_all(client: DnsClient, target: Target) -> list[Endpoint]:
    """The target's endpoint, then the endpoints it reveals (see :data:`DISCOVERIES`)."""
    endpoint = await collect_target(client, target)
    out = [endpoint]
    for discover in DISCOVERIES.get(target.layer, ()):
        out.extend(await discover(client, target, endpoint))
    return out


# Generation-0 threshold while collecting (CPython's default is 700).
COLLECT_GC_THRESHOLD = 50_000
# Nesting depth and the thresholds to restore: the last collect_all to finish restores them.
_gc_state: dict[str, Any] = {"depth": 0, "saved": None}


@contextlib.contextmanager
def relaxed_gc(threshold: int = COLLECT_GC_THRESHOLD) -> Iterator[None]:
    """Run fewer garbage collections for the duration of a collection, then restore.

    Why: a collection allocates millions of objects, most of them kept (cached answers,
    endpoints); with the default threshold CPython runs a young collection every 700
    allocations and a full one, which walks every live object, every few hundred of those,
    so the GC took ~30 % of ``collect_all``'s CPU on 10k hosts (issue 8). Cycles are rare here
    (a finished future or task drops its callbacks), so collecting less often frees the same
    memory, a little later. Overlapping uses (two collections in one loop) share one setting,
    restored when the last of them ends.
    """
    if _gc_state["depth"] == 0:
        saved = gc.get_threshold()
        _gc_state["saved"] = saved
        gc.set_threshold(max(threshold, saved[0]), *saved[1:])
    _gc_state["depth"] += 1
    try:
        yield
    finally:
        _gc_state["depth"] -= 1
        if _gc_state["depth"] == 0:
            gc.set_threshold(*_gc_state["saved"])
            _gc_state["saved"] = None


async def collect_all(
    client: DnsClient,
    targets: Sequence[Target],
    *,
    on_done: Callable[[Endpoint], None] | None = None,
    parallel: int = 512,
    keep: bool = True,
) -> list[Endpoint]:
    """Resolve every target concurrently (bounded); results keep the order of ``targets``.

    Each target's endpoint comes first, followed by the endpoints it revealed (see
    :func:`collect_target_all`); ``on_done`` is called for every one of them. With
    ``keep=False`` endpoints only go to ``on_done`` and the result is empty (a streamed scan:
    memory holds the targets in flight, not every endpoint).
    """
    # A fixed pool of ``parallel`` workers pulling targets in order, not one task per target:
    # 120,000 waiting coroutines (a 100k-host inventory) cost ~1.5 KB each before they start.
    groups: list[list[Endpoint]] = [[] for _ in targets] if keep else []
    pending = iter(enumerate(targets))

    async def worker() -> None:
        # One shared iterator: next() and the await never interleave within a worker.
        for index, target in pending:
            try:
                endpoints = await collect_target_all(client, target)
            except Exception as exc:  # DNS conditions are reported inside: this is a bug
                endpoints = [internal_endpoint(target, exc)]
            if keep:
                groups[index] = endpoints
            if on_done is not None:
                for endpoint in endpoints:
                    on_done(endpoint)

    with relaxed_gc():
        await asyncio.gather(*(worker() for _ in range(min(parallel, len(targets)) or 1)))
    return [e for group in groups for e in group]
