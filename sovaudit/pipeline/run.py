"""The scan pipeline as a library: inventory -> collect -> attribute -> evaluate -> Scan.

Data flows one way; each stage is a function of the previous stage's output, so the evidence
file between collection and reports is the contract that makes offline re-rendering possible.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from sovaudit import __version__
from sovaudit.attribute.domain import domain_endpoint
from sovaudit.collect.cache import NullCache, SqliteCache
from sovaudit.collect.dns import DnsClient, ResolverAddress, probe_resolvers
from sovaudit.collect.endpoints import collect_all, relaxed_gc
from sovaudit.errors import ResolverError
from sovaudit.inventory import Inventory
from sovaudit.models import (
    Dataset,
    Endpoint,
    Layer,
    Scan,
    Severity,
    SourceLocation,
    Status,
    Target,
    internal_errors,
)
from sovaudit.pipeline.analyser import Analyser, load_ruleset
from sovaudit.pipeline.enrich import NetworkAnswers
from sovaudit.pipeline.enrich import fetch as fetch_network
from sovaudit.pipeline.options import ScanOptions

if TYPE_CHECKING:
    from sovaudit.evaluate.loader import RuleSet

# Layers whose endpoints the scan discovers rather than reads from the inventory.
DISCOVERED_LAYERS = frozenset(
    {Layer.REPORTING, Layer.COLLABORATION, Layer.SAAS, Layer.THIRD_PARTY}
)

# How long the start-up check waits for a resolver before the scan gives up on it (exit 2).
PROBE_TIMEOUT = 1.5


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
    keep: bool = True,
) -> list[Endpoint]:
    """Resolve every target through the chosen resolvers (no attribution yet).

    With ``keep=False`` the endpoints only go to ``on_done`` and the result is empty: memory
    then holds the targets in flight, not every endpoint (a streamed scan).
    """

    async def run() -> list[Endpoint]:
        async with DnsClient(
            options.resolvers,
            timeout=options.timeout,
            retries=options.retries,
            concurrency=options.concurrency,
        ) as client:
            return await collect_all(client, targets, on_done=on_done, keep=keep)

    # Collection allocates millions of small objects that live until the end of the scan: the
    # cyclic collector would walk them again and again (measured: 99 s -> 80 s at 100k hosts).
    # The inventory and rules loaded before are frozen out of its walks; relaxed_gc also covers
    # the analysis a streamed scan does while answers arrive.
    gc.freeze()
    try:
        with relaxed_gc():
            return asyncio.run(run())
    finally:
        gc.unfreeze()


def scan_header(inventory: Inventory, options: ScanOptions, *, started: datetime) -> Scan:
    """The scan's identity and options, with no endpoints yet (the stream's header)."""
    return build_scan(inventory, options, (), (), started=started)


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
        datasets=tuple(_unique(datasets)),
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


class EndpointSink(Protocol):
    """Where analysed endpoints go: a list in memory, or a JSON Lines file (``--stream``)."""

    def add(self, endpoints: Sequence[Endpoint]) -> None: ...


@dataclass(slots=True)
class ListSink:
    """Keep every analysed endpoint in memory (a plain scan)."""

    endpoints: list[Endpoint] = field(default_factory=list)

    def add(self, endpoints: Sequence[Endpoint]) -> None:
        self.endpoints.extend(endpoints)


# Distinct internal errors a tally keeps an example of (a bug repeats on every endpoint).
MAX_INTERNAL_KINDS = 20


@dataclass(slots=True)
class Tally:
    """What exit codes and the summary line need, counted as endpoints pass (no endpoint kept)."""

    by_status: dict[Status, int] = field(default_factory=lambda: dict.fromkeys(Status, 0))
    worst_live: Severity | None = None  # the most severe finding not accepted
    internal: int = 0  # endpoints that met a bug of sovaudit
    # One example reason per distinct "internal error in <where>: <type>", with its count.
    internal_kinds: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def endpoints(self) -> int:
        return sum(self.by_status.values())

    def add(self, endpoints: Iterable[Endpoint]) -> None:
        for e in endpoints:
            self.by_status[e.status] += 1
            if e.details and (bugs := internal_errors(e)):
                self._add_internal(bugs)
            for f in e.findings:
                if not f.accepted and (
                    self.worst_live is None or f.severity.rank > self.worst_live.rank
                ):
                    self.worst_live = f.severity

    def _add_internal(self, reasons: list[str]) -> None:
        self.internal += 1
        for reason in reasons:
            kind = ": ".join(reason.split(": ", 2)[:2])
            example, count = self.internal_kinds.get(kind, (reason, 0))
            if count or len(self.internal_kinds) < MAX_INTERNAL_KINDS:
                self.internal_kinds[kind] = (example, count + 1)

    @classmethod
    def of(cls, endpoints: Iterable[Endpoint]) -> Tally:
        tally = cls()
        tally.add(endpoints)
        return tally


@dataclass(frozen=True, slots=True)
class RunResult:
    """How a run into a sink ended: the datasets used, the tally, interrupted or not."""

    datasets: tuple[Dataset, ...]
    tally: Tally
    interrupted: bool


# Endpoints are analysed and handed to the sink in batches of this size while DNS answers
# arrive (the event loop stalls for one batch's analysis, a few ms, far below any timeout).
STREAM_BATCH = 256
# On a slow network a batch fills slowly: hand over what is done at least this often, so a
# process killed outright (SIGKILL, OOM) loses at most this much work from a streamed file.
STREAM_FLUSH_SECONDS = 1.0
# With network sources or web probes, a streamed scan runs organization-aligned chunks of about
# this many targets through every stage, so memory does not grow with the inventory.
STREAM_CHUNK_TARGETS = 2_000


def needs_network_stage(options: ScanOptions) -> bool:
    """Stages that need the whole batch of endpoints at once (Cymru, RDAP, web probes)."""
    return bool(options.probes) or (options.attribute and options.asn_sources != ("offline",))


def run_scan(
    inventory: Inventory,
    options: ScanOptions,
    sink: EndpointSink,
    *,
    started: datetime,
    on_done: Callable[[Endpoint], None] | None = None,
    resume: Scan | None = None,
    ruleset: RuleSet | None = None,
    chunk_targets: int | None = STREAM_CHUNK_TARGETS,
) -> RunResult:
    """Run a scan, handing analysed endpoints to ``sink`` as they are ready.

    Offline attribution (the default) is done while DNS answers arrive, in batches of
    STREAM_BATCH endpoints; with network stages, organization-aligned chunks of
    ``chunk_targets`` targets (None: all at once) go through collection, probes, network sources
    and analysis in turn. Each endpoint reaches the sink once (first one of a key wins). Resumed
    endpoints (``resume``, not unknown) are reused without a query. Ctrl-C ends the run with
    ``interrupted`` set, after handing over everything collected so far.
    """
    if ruleset is None:
        ruleset = load_ruleset(options)  # broken rule files fail before any query is sent
    today = started.date()
    tally = Tally()
    seen: set[tuple[str, str, str, str]] = set()

    def emit(analysed: Iterable[Endpoint]) -> None:
        fresh = [e for e in analysed if e.key not in seen]
        seen.update(e.key for e in fresh)
        tally.add(fresh)
        sink.add(fresh)

    targets = inventory.targets()
    reused: dict[tuple[str, str, str, str], Endpoint] = {}
    if resume is not None:
        reused = {e.key: _strip(e) for e in resume.endpoints if e.status is not Status.UNKNOWN}
    wanted = {_target_key(t) for t in targets}
    orgs = {o.id for o in inventory.organizations}
    todo = [t for t in targets if _target_key(t) not in reused]
    # Endpoints a scan discovers (DMARC reporting, collaboration...) are not targets: the resumed
    # ones of this inventory's organizations are handed over at the end, unless a fresh
    # collection found them again (the fresh one wins).
    held = {
        k: e
        for k, e in reused.items()
        if k not in wanted and e.layer in DISCOVERED_LAYERS and e.organization in orgs
    }
    direct = [e for k, e in reused.items() if k in wanted]
    domains = domain_endpoints(inventory)
    if not needs_network_stage(options):
        analyser = Analyser(options, accepted=inventory.accepted, today=today, ruleset=ruleset)
        known = [*direct, *domains]
        for i in range(0, len(known), STREAM_BATCH):
            emit(analyser.run(known[i : i + STREAM_BATCH]))
        interrupted = _stream_offline(todo, options, analyser, emit, held, on_done)
        emit(analyser.run(list(held.values())))
        return RunResult(tuple(_unique(analyser.datasets())), tally, interrupted)
    datasets: list[Dataset] = []
    interrupted = False
    chunks = list(_chunks(todo, inventory, chunk_targets)) or [(set(), [])]
    for index, (chunk_orgs, chunk) in enumerate(chunks):
        collected: list[Endpoint] = list(direct) if index == 0 else []
        collected += [e for e in domains if e.organization in chunk_orgs]

        network: NetworkAnswers | None = None
        try:
            collect(chunk, options, on_done=_recorder(collected, held, on_done))
            if index == len(chunks) - 1:
                # Resumed discovered endpoints that no chunk found again go through the last
                # chunk's stages, so they get the same network answers as in one batch.
                collected += held.values()
                held.clear()
            if "web" in options.probes:
                # Imported here: the opt-in web stage loads httpx, lxml and cryptography, which
                # every other command would pay for at start-up (measured: +0.3 s).
                from sovaudit.pipeline.webstage import run_web_probes

                # Opt-in HTTPS probes of the landing pages, then DNS of their third parties.
                collected = run_web_probes(collected, options)
            network = network_answers(collected, options)
        except KeyboardInterrupt:
            interrupted = True
        # The latest endpoint of a key wins within a chunk (the web stage re-emits endpoints).
        latest = list({e.key: e for e in collected}.values())
        analyser = Analyser(
            options, accepted=inventory.accepted, today=today, ruleset=ruleset, network=network
        )
        emit(analyser.run(latest))
        datasets += analyser.datasets()
        if interrupted:
            break
    analyser = Analyser(options, accepted=inventory.accepted, today=today, ruleset=ruleset)
    emit(analyser.run(list(held.values())))
    datasets += analyser.datasets()
    return RunResult(tuple(_unique(datasets)), tally, interrupted)


def _recorder(
    collected: list[Endpoint],
    held: dict[tuple[str, str, str, str], Endpoint],
    on_done: Callable[[Endpoint], None] | None,
) -> Callable[[Endpoint], None]:
    def record(endpoint: Endpoint) -> None:
        collected.append(endpoint)
        held.pop(endpoint.key, None)
        if on_done is not None:
            on_done(endpoint)

    return record


def _stream_offline(
    todo: Sequence[Target],
    options: ScanOptions,
    analyser: Analyser,
    emit: Callable[[Iterable[Endpoint]], None],
    held: dict[tuple[str, str, str, str], Endpoint],
    on_done: Callable[[Endpoint], None] | None,
) -> bool:
    """Collect ``todo`` and analyse endpoints as they arrive; True when interrupted."""
    from sovaudit.evidence.stream import TimedHandover

    # Handed over by batch, and on a timer even when nothing completes (issue 21).
    with TimedHandover(
        lambda batch: emit(analyser.run(batch)), STREAM_BATCH, STREAM_FLUSH_SECONDS
    ) as buffer:

        def record(endpoint: Endpoint) -> None:
            held.pop(endpoint.key, None)
            if on_done is not None:
                on_done(endpoint)
            buffer.add(endpoint)

        interrupted = False
        try:
            collect(todo, options, on_done=record, keep=False)
        except KeyboardInterrupt:
            interrupted = True
    return interrupted


def _chunks(
    todo: Sequence[Target], inventory: Inventory, size: int | None
) -> Iterator[tuple[set[str], list[Target]]]:
    """Organization-aligned chunks of about ``size`` targets (one chunk when None).

    Every organization appears in one chunk, even one with no target left to collect, so its
    domain endpoints are analysed with the network answers of that chunk.
    """
    by_org: dict[str, list[Target]] = {o.id: [] for o in inventory.organizations}
    for t in todo:
        by_org.setdefault(t.organization, []).append(t)
    orgs: set[str] = set()
    chunk: list[Target] = []
    for org, targets in by_org.items():
        orgs.add(org)
        chunk += targets
        if size is not None and len(chunk) >= size:
            yield orgs, chunk
            orgs, chunk = set(), []
    if orgs or chunk:
        yield orgs, chunk


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
    sink = ListSink()
    result = run_scan(
        inventory,
        options,
        sink,
        started=started,
        on_done=on_done,
        resume=resume,
        ruleset=ruleset,
        chunk_targets=None,
    )
    evidence = build_scan(
        inventory,
        options,
        sink.endpoints,
        result.datasets,
        started=started,
        partial=result.interrupted,
    )
    if result.interrupted:
        raise ScanInterrupted(evidence)
    return evidence


def domain_endpoints(inventory: Inventory) -> list[Endpoint]:
    """One ``domain`` endpoint per inventory domain: who controls the name itself."""
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


def _unique(datasets: Iterable[Dataset]) -> list[Dataset]:
    """Datasets in first-seen order, each once (chunks and batches report the same ones)."""
    return list(dict.fromkeys(datasets))
