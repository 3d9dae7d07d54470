"""The scan pipeline as a library: inventory -> collect -> attribute -> evaluate -> Scan.

Data flows one way; each stage is a function of the previous stage's output, so the evidence
file between collection and reports is the contract that makes offline re-rendering possible.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sovaudit import __version__
from sovaudit.collect.dns import DnsClient, ResolverAddress, probe_resolvers
from sovaudit.collect.endpoints import collect_all
from sovaudit.enrich import NetworkAnswers
from sovaudit.enrich import fetch as fetch_network
from sovaudit.errors import ResolverError
from sovaudit.inventory import Inventory
from sovaudit.models import (
    AcceptedRisk,
    Dataset,
    Endpoint,
    Layer,
    Scan,
    SourceLocation,
    Status,
    Target,
)

if TYPE_CHECKING:
    from sovaudit.evaluate.loader import RuleSet

# Layers whose endpoints the scan discovers rather than reads from the inventory.
DISCOVERED_LAYERS = frozenset(
    {Layer.REPORTING, Layer.COLLABORATION, Layer.SAAS, Layer.THIRD_PARTY}
)

# How long the start-up check waits for a resolver before the scan gives up on it (exit 2).
PROBE_TIMEOUT = 1.5


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Everything that shapes a scan; the CLI builds it from options and configuration."""

    resolvers: tuple[ResolverAddress, ...]
    timeout: float = 2.0
    retries: int = 2
    concurrency: int = 256
    lang: str = "en"
    rule_paths: tuple[Path, ...] = ()
    default_rules: bool = True
    skip_rules: tuple[str, ...] = ()
    profile: str | None = None  # rule packs for a legal context; None: quebec
    attribute: bool = True
    asn_sources: tuple[str, ...] = ("offline",)
    rdap_url: str | None = None
    use_cache: bool = True
    probes: tuple[str, ...] = ()  # opt-in network probes beyond DNS: "web", "rdap"
    extra: dict[str, Any] = field(default_factory=dict)


class ScanInterrupted(Exception):  # noqa: N818 - it is a control-flow signal, not an error
    """Raised when a scan is interrupted; carries the evidence gathered so far (partial)."""

    def __init__(self, partial: Scan) -> None:
        super().__init__("scan interrupted")
        self.partial = partial


def check_resolvers(options: ScanOptions) -> tuple[ResolverAddress, ...]:
    """Fail fast (ResolverError, exit 2) when none of the chosen resolvers answers.

    Resolvers that do not answer are dropped with a warning by the caller; sovaudit never falls
    back to a resolver the user did not choose.
    """
    alive, dead = asyncio.run(
        probe_resolvers(options.resolvers, timeout=min(PROBE_TIMEOUT, options.timeout))
    )
    if not alive:
        details = "; ".join(f"{r}: {err}" for r, err in dead.items())
        raise ResolverError(f"no resolver answers ({details}); check --resolver or the network")
    return tuple(alive)


def collect(
    targets: Sequence[Target],
    options: ScanOptions,
    *,
    on_done: Callable[[Endpoint], None] | None = None,
) -> list[Endpoint]:
    """Resolve every target through the chosen resolvers (no attribution yet)."""

    async def run() -> list[Endpoint]:
        async with DnsClient(
            options.resolvers,
            timeout=options.timeout,
            retries=options.retries,
            concurrency=options.concurrency,
        ) as client:
            return await collect_all(client, targets, on_done=on_done)

    # Collection allocates millions of small objects that live until the end of the scan: the
    # cyclic collector would walk them again and again (measured: 99 s -> 80 s at 100k hosts).
    gc.freeze()
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], 50_000), threshold[1], threshold[2])
    try:
        return asyncio.run(run())
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def load_ruleset(options: ScanOptions) -> RuleSet:
    from sovaudit.evaluate import load_rules

    return load_rules(
        options.rule_paths,
        include_default=options.default_rules,
        skip=options.skip_rules,
        profile=options.profile,
    )


def analyse(
    endpoints: Sequence[Endpoint],
    options: ScanOptions,
    *,
    accepted: Sequence[AcceptedRisk] = (),
    today: date,
    ruleset: RuleSet | None = None,
    network: NetworkAnswers | None = None,
) -> tuple[list[Endpoint], list[Dataset]]:
    """Attribute and evaluate collected endpoints (pure given ``network``). Returns datasets."""
    from sovaudit.attribute.engine import Attributor
    from sovaudit.evaluate import evaluate

    datasets: list[Dataset] = []
    out = list(endpoints)
    if options.attribute:
        from sovaudit.attribute.domain import attribute_domain, default_domain_table

        attributor = Attributor.default(
            cymru=network.cymru if network else None, rdap=network.rdap if network else None
        )
        registrars = network.domain_rdap if network else {}
        out = [
            e
            if e.layer is Layer.DOMAIN and e.status is Status.SKIPPED
            else attribute_domain(e, rdap=registrars.get(e.host))
            if e.layer is Layer.DOMAIN
            else attributor.attribute_endpoint(e)
            for e in out
        ]
        datasets.extend(attributor.datasets())
        if any(e.layer is Layer.DOMAIN for e in out):
            datasets.append(default_domain_table().dataset())
    rules = ruleset if ruleset is not None else load_ruleset(options)
    datasets.extend(rules.datasets())
    # Skipped endpoints (a name that does not exist) hold nothing to evaluate.
    live = [e for e in out if e.status is not Status.SKIPPED]
    evaluated = iter(evaluate(live, rules, lang=options.lang, accepted=accepted, now=today))
    out = [next(evaluated) if e.status is not Status.SKIPPED else e for e in out]
    return out, datasets


def build_scan(
    inventory: Inventory,
    options: ScanOptions,
    endpoints: Sequence[Endpoint],
    datasets: Sequence[Dataset],
    *,
    started: datetime,
    partial: bool = False,
) -> Scan:
    return Scan(
        tool_version=__version__,
        generated_at=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
        inventory=inventory.path,
        resolvers=tuple(str(r) for r in options.resolvers),
        endpoints=tuple(sorted(endpoints, key=lambda e: e.key)),
        datasets=tuple(datasets),
        partial=partial,
        options={
            "timeout": options.timeout,
            "retries": options.retries,
            "concurrency": options.concurrency,
            "lang": options.lang,
            "rules": [str(p) for p in options.rule_paths],
            "default_rules": options.default_rules,
            "skip_rules": list(options.skip_rules),
            "profile": options.profile or "quebec",
            "asn_sources": list(options.asn_sources),
            "probes": list(options.probes),
        },
    )


def scan(
    inventory: Inventory,
    options: ScanOptions,
    *,
    now: datetime | None = None,
    on_done: Callable[[Endpoint], None] | None = None,
    resume: Scan | None = None,
    ruleset: RuleSet | None = None,
) -> Scan:
    """Run a whole scan and return its evidence (``ruleset``: rules already loaded).

    With ``resume``, endpoints already present there (and not unknown) are reused without a
    single query. On KeyboardInterrupt the evidence gathered so far is raised inside
    :class:`ScanInterrupted`, marked partial, so the caller can write it.
    """
    started = now or datetime.now(UTC)
    if ruleset is None:
        ruleset = load_ruleset(options)  # broken rule files fail before any query is sent
    targets = inventory.targets()
    reused: dict[tuple[str, str, str, str], Endpoint] = {}
    if resume is not None:
        reused = {e.key: _strip(e) for e in resume.endpoints if e.status is not Status.UNKNOWN}
    wanted = {_target_key(t) for t in targets}
    orgs = {o.id for o in inventory.organizations}
    # Endpoints a scan discovers (DMARC reporting, collaboration...) are not targets: keep the
    # resumed ones of this inventory's organizations; a fresh collection replaces them below.
    done: list[Endpoint] = [
        e
        for k, e in reused.items()
        if k in wanted or (e.layer in DISCOVERED_LAYERS and e.organization in orgs)
    ]
    todo = [t for t in targets if _target_key(t) not in reused]

    def record(endpoint: Endpoint) -> None:
        done.append(endpoint)
        if on_done is not None:
            on_done(endpoint)

    done.extend(domain_endpoints(inventory))
    try:
        collect(todo, options, on_done=record)
        if "web" in options.probes:
            from sovaudit.webstage import run_web_probes

            # Opt-in HTTPS probes of the landing pages, then DNS of their third parties.
            done = run_web_probes(done, options)
        done = list({e.key: e for e in done}.values())  # the latest endpoint of a key wins
        network = network_answers(done, options)
    except KeyboardInterrupt:
        analysed, datasets = analyse(
            done, options, accepted=inventory.accepted, today=started.date(), ruleset=ruleset
        )
        partial = build_scan(inventory, options, analysed, datasets, started=started, partial=True)
        raise ScanInterrupted(partial) from None
    analysed, datasets = analyse(
        done,
        options,
        accepted=inventory.accepted,
        today=started.date(),
        ruleset=ruleset,
        network=network,
    )
    return build_scan(inventory, options, analysed, datasets, started=started)


def domain_endpoints(inventory: Inventory) -> list[Endpoint]:
    """One ``domain`` endpoint per inventory domain: who controls the name itself."""
    from sovaudit.attribute.domain import domain_endpoint

    return [
        domain_endpoint(
            org.id, org.name, dom.name, org.data_classes, SourceLocation(inventory.path, dom.line)
        )
        for org in inventory.organizations
        for dom in org.domains
    ]


def network_answers(endpoints: Sequence[Endpoint], options: ScanOptions) -> NetworkAnswers | None:
    """Cymru / RDAP answers when ``--asn-source`` or ``--probe rdap`` ask (None: offline only)."""
    if not options.attribute or (options.asn_sources == ("offline",) and not options.probes):
        return None
    from sovaudit.collect.cache import NullCache, SqliteCache

    cache = SqliteCache() if options.use_cache else NullCache()
    return fetch_network(
        endpoints,
        options.asn_sources,
        resolver=options.resolvers[0],
        timeout=options.timeout,
        rdap_url=options.rdap_url,
        cache=cache,
        registrars="rdap" in options.probes,
    )


def _target_key(t: Target) -> tuple[str, str, str, str]:
    return (t.organization, t.service, t.host, t.layer.value)


def _strip(endpoint: Endpoint) -> Endpoint:
    """A resumed endpoint keeps its DNS evidence; attribution and rules are recomputed."""
    return replace(endpoint, attributions=(), findings=())
