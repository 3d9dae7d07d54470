"""``sovaudit scan``: the main job."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from sovaudit.cli.app import app
from sovaudit.cli.causes import CauseCollector, print_causes
from sovaudit.cli.common import (
    FormatsOption,
    LangOption,
    err_console,
    error,
    is_tty,
    parse_severity,
    safe,
    warn,
)
from sovaudit.cli.messages import cli_lang, msg, set_cli_lang
from sovaudit.collect.dns import ResolverAddress, system_resolvers
from sovaudit.errors import ExitCode, SovauditError, UserError
from sovaudit.evidence.baseline import ResolvedFinding, live, load_scan, mark_against
from sovaudit.evidence.history import HistoryPoint, series
from sovaudit.evidence.history import append as append_history
from sovaudit.evidence.read import read_evidence
from sovaudit.evidence.stream import EvidenceWriter
from sovaudit.i18n import check_lang, detect_lang
from sovaudit.inventory import Inventory, load_inventory
from sovaudit.inventory.shard import parse_shard, shard_inventory
from sovaudit.models import Endpoint, Scan, Severity, Status, to_jsonable
from sovaudit.pipeline.analyser import Analyser, load_ruleset
from sovaudit.pipeline.cluster import PARTITION_TARGETS, cluster_scan, parse_cluster
from sovaudit.pipeline.enrich import check_sources
from sovaudit.pipeline.options import ScanOptions
from sovaudit.pipeline.run import (
    DISCOVERED_LAYERS,
    ScanInterrupted,
    Tally,
    check_resolvers,
    run_scan,
    scan_header,
)
from sovaudit.pipeline.run import scan as scan_to_evidence
from sovaudit.report import (
    FORMATS,
    REGISTRY,
    format_from_path,
    output_is_directory,
    render,
    write_atomic,
    write_reports,
)

if TYPE_CHECKING:
    from sovaudit.evaluate.loader import RuleSet


def parse_resolvers(specs: list[str] | None) -> tuple[ResolverAddress, ...]:
    """The resolvers the user chose, else the system's."""
    if specs:
        return tuple(ResolverAddress.parse(s) for s in specs)
    return tuple(system_resolvers())


def output_plan(output: Path | None, formats: list[str] | None) -> tuple[list[str], Path | None]:
    """Which formats to write where: a file (format from its extension), a directory, or stdout."""
    chosen = list(dict.fromkeys(formats or []))
    for name in chosen:
        if name not in FORMATS:
            raise UserError(f"unknown format {name!r} (valid: {', '.join(FORMATS)})")
    if output is None:
        if len(chosen) > 1:
            raise UserError("several --format values need -o DIR")
        return chosen or ["md"], None
    named = None if output.is_dir() else format_from_path(output)
    if named is not None and chosen and chosen != [named]:
        # "-o y.md -f html" would write HTML into y.md (or a directory named y.md): refused.
        wrong = next(f for f in chosen if f != named)
        raise UserError(
            msg(
                "format_contradicts",
                fmt=wrong,
                path=output,
                ext=output.suffix.lstrip(".") or named,
                want=wrong,
            )
        )
    if output_is_directory(output) or len(chosen) > 1:
        return chosen or ["json", "md"], output
    if not chosen:
        fmt = format_from_path(output)
        if fmt is None:
            names = "/".join(f.suffixes[0] for f in REGISTRY.values())
            raise UserError(
                f"cannot tell the format of {output} from its extension; "
                f"use --format ({', '.join(FORMATS)}) or a {names} name"
            )
        chosen = [fmt]
    return chosen, output


def write_outputs(
    scan: Scan,
    formats: list[str],
    output: Path | None,
    *,
    lang: str,
    now: datetime,
    inventory_path: Path | None,
    history: Sequence[HistoryPoint] | None = None,
) -> list[Path]:
    """Write the reports; with no ``-o``, the single format goes to stdout."""
    if output is None:
        from sovaudit.report.escape import for_stdout

        text = render(scan, formats[0], lang=lang, now=now, history=history)
        sys.stdout.write(for_stdout(text, formats[0]))
        sys.stdout.flush()
        return []
    return write_reports(
        scan,
        formats,
        output,
        lang=lang,
        now=now,
        inventory_path=inventory_path,
        history=history,
    )


def summary_line(
    result: Scan | Tally, by_severity: dict[Severity, int] | None = None, lang: str | None = None
) -> str:
    """"40 endpoints: 30 ok, 1 unknown, 9 skipped; findings: 2 high, 3 medium" (live findings).

    ``by_severity`` (from a :class:`CauseCollector`) is counted from ``result`` when it is a scan.
    """
    from sovaudit.cli.causes import CauseCollector, severity_counts_text

    tally = result if isinstance(result, Tally) else Tally.of(result.endpoints)
    if by_severity is None and isinstance(result, Scan):
        collector = CauseCollector()
        collector.add(result.endpoints)
        by_severity = collector.by_severity
    counts = tally.by_status
    line = msg(
        "summary",
        lang,
        endpoints=tally.endpoints,
        ok=counts[Status.OK],
        unknown=counts[Status.UNKNOWN],
        skipped=counts[Status.SKIPPED],
    )
    if tally.internal:
        line += ", " + msg("summary_internal", lang, count=tally.internal)
    if by_severity is not None:
        text = severity_counts_text(by_severity, lang or cli_lang())
        line += "; " + (msg("summary_findings", lang, counts=text) if text else msg(
            "summary_no_findings", lang
        ))
    return line


def report_internal_errors(tally: Tally) -> None:
    """Print each distinct internal error once on standard error, asking for a bug report.

    Printed even with ``--quiet``: a bug must never pass for a network failure or a clean scan.
    """
    for example, count in tally.internal_kinds.values():
        error(
            f"{example} ({count} endpoint(s)): this is a bug in sovaudit, not a network "
            "failure; please report it with `sovaudit --version` and the command you ran"
        )


@app.command()
def scan(
    inventory: Annotated[
        str, typer.Argument(help="Inventory file (YAML, or one domain per line); '-' for stdin.")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Report file (format from its extension) or directory."
        ),
    ] = None,
    formats: FormatsOption = None,
    resolver: Annotated[
        list[str] | None,
        typer.Option(
            "--resolver",
            "-r",
            help="Resolver IP[:PORT] (IPv6 as [::1]:5353); repeatable. Default: the system's.",
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for one answer.", min=0.05, max=60)
    ] = 2.0,
    retries: Annotated[int, typer.Option(help="Retries after a timeout.", min=0, max=10)] = 2,
    concurrency: Annotated[
        int, typer.Option(help="Queries in flight at once.", min=1, max=10_000)
    ] = 256,
    lang: LangOption = None,
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="Extra rule pack (YAML file or directory); repeatable."),
    ] = None,
    no_default_rules: Annotated[
        bool, typer.Option("--no-default-rules", help="Use only the packs given with --rules.")
    ] = False,
    skip_rule: Annotated[
        list[str] | None, typer.Option("--skip-rule", help="Rule id to skip; repeatable.")
    ] = None,
    profile: Annotated[
        str | None,
        typer.Option(
            help="Legal context: quebec (default), canada, eu, france, switzerland "
            "(else the inventory's 'profile:')."
        ),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(help="Exit 1 when a finding is at or above this severity (default: never)."),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="Earlier evidence file: mark findings new, unchanged or resolved."),
    ] = None,
    fail_on_new: Annotated[
        str | None,
        typer.Option(help="Exit 1 when a NEW finding (vs --baseline) is at or above this."),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit 3 when any endpoint is unknown or met an internal error."
        ),
    ] = False,
    resume: Annotated[
        Path | None,
        typer.Option(help="Partial evidence file of an interrupted scan: reuse what is done."),
    ] = None,
    history: Annotated[
        Path | None, typer.Option(help="SQLite file: append this scan's counts to it.")
    ] = None,
    asn_source: Annotated[
        list[str] | None,
        typer.Option(
            "--asn-source",
            help="IP -> ASN sources in order: offline (default), cymru (DNS), rdap; repeatable.",
        ),
    ] = None,
    rdap_url: Annotated[
        str | None, typer.Option(help="RDAP base URL instead of the registries' bootstrap.")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not read or write the Cymru/RDAP cache.")
    ] = False,
    probe: Annotated[
        list[str] | None,
        typer.Option(
            "--probe",
            help="Opt-in probes beyond DNS: rdap (domain registrars), web (TLS, HTTP, third "
            "parties); repeatable.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress, no summary.")] = False,
    shard: Annotated[
        str | None,
        typer.Option(
            help="Scan only slice K of N (by organization, stable); merge with 'sovaudit merge'."
        ),
    ] = None,
    stream: Annotated[
        Path | None,
        typer.Option(
            "--stream",
            help="Write the evidence to FILE ('-': stdout) as JSON Lines while scanning, so "
            "memory stays bounded; render it later with 'sovaudit report FILE'.",
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            metavar="ADDRESS",
            help="Run the scan on Dask: local[:N] (N worker processes here) or a scheduler "
            "address such as tcp://scheduler:8786; needs pip install 'sovaudit[cluster]'.",
        ),
    ] = None,
    partition_targets: Annotated[
        int,
        typer.Option(
            "--partition-targets",
            metavar="N",
            min=1,
            help="With --cluster: targets per partition (organizations are never split).",
        ),
    ] = PARTITION_TARGETS,
) -> None:
    """Resolve every endpoint of INVENTORY, attribute it, apply the rules, write reports.

    With --stream FILE, endpoints are written as they are analysed and nothing is kept in
    memory; reports are written only when -o or --format asks for them (read back from FILE).

    Example: sovaudit scan ministeres.yaml -o rapport.html --lang fr
    """
    language = check_lang(lang) if lang else detect_lang()
    set_cli_lang(lang)
    # A streamed scan writes reports only when asked: its evidence file is the output.
    reports_wanted = stream is None or output is not None or bool(formats)
    formats_, out = output_plan(output, formats)
    threshold = parse_severity(fail_on, "--fail-on")
    new_threshold = parse_severity(fail_on_new, "--fail-on-new")
    if new_threshold is not None and baseline is None:
        raise UserError("--fail-on-new needs --baseline")
    inv = load_inventory(inventory)
    for message in inv.warnings:
        warn(message)  # a URL taken for its host, a duplicate merged: printed even with -q
    slice_ = parse_shard(shard) if shard is not None else None
    if slice_ is not None:
        inv = shard_inventory(inv, slice_)
    if stream is not None and str(stream) == "-" and (reports_wanted or baseline or history):
        raise UserError(
            "--stream -: reports, --baseline and --history read the evidence back; "
            "give a file, or render later with 'sovaudit report'"
        )
    if stream is not None and resume is not None and stream.resolve() == resume.resolve():
        raise UserError(
            f"--stream {stream}: give a new file; the evidence being resumed is read from it"
        )
    cluster_spec = parse_cluster(cluster) if cluster is not None else None
    if cluster_spec is not None and (stream is not None or resume is not None):
        raise UserError("--cluster does not combine with --stream or --resume")
    base = load_scan(baseline) if baseline is not None else None
    previous = load_scan(resume) if resume is not None else None
    recorded: dict[str, Any] = {}
    if resume is not None:
        # The evidence says what it was built from: a fabricated resume file is traceable.
        recorded["resumed_from"] = {"file": str(resume), "sha256": _sha256(resume)}
    options = ScanOptions(
        resolvers=parse_resolvers(resolver),
        timeout=timeout,
        retries=retries,
        concurrency=concurrency,
        lang=language,
        rule_paths=tuple(rules or ()),
        default_rules=not no_default_rules,
        skip_rules=tuple(skip_rule or ()),
        profile=profile or inv.profile,
        asn_sources=check_sources(asn_source or ()),
        rdap_url=rdap_url,
        use_cache=not no_cache,
        probes=check_probes(probe or ()),
    )
    ruleset = load_ruleset(options)  # a broken rule pack is a usage error before any query
    alive = check_resolvers(options)
    if len(alive) < len(options.resolvers):
        dropped = [str(r) for r in options.resolvers if r not in alive]
        warn(f"resolver(s) not answering, not used: {', '.join(dropped)}")
        options = replace(options, resolvers=alive)
    now = datetime.now(UTC)
    if stream is None and not quiet and inv.target_count() > LARGE_SCAN_TARGETS:
        warn(
            f"{inv.target_count()} targets: every endpoint is kept in memory until the end; "
            "--stream FILE.jsonl keeps memory bounded (docs/scale.md)"
        )
    # Findings by severity and the first causes of a failure, counted as endpoints are analysed.
    causes = CauseCollector(threshold, new_threshold)
    if stream is not None:
        tally, interrupted, written_to = _run_streamed(
            inv, options, stream, now=now, quiet=quiet, resume=previous, ruleset=ruleset,
            shard=str(slice_) if slice_ is not None else None, causes=causes,
            recorded=recorded,
        )
        if interrupted:
            kept = "" if written_to == stream else f" ({stream} left as it was)"
            error(
                f"interrupted: partial evidence in {safe(written_to)}{safe(kept)}; continue with "
                f"--resume {safe(written_to)} --stream NEW.jsonl"
            )
            raise typer.Exit(ExitCode.INTERRUPTED)
        report_internal_errors(tally)
        if not reports_wanted and base is None and history is None:
            if not quiet:
                err_console.print(safe(summary_line(tally, causes.by_severity)))
                if str(stream) != "-":
                    err_console.print(msg("wrote", path=safe(stream)))
            code = tally_exit_code(tally, threshold, strict)
            print_causes(causes, code, cli_lang())
            raise typer.Exit(code)
        # Reports, baseline marks and history need the whole scan: read it back from the file.
        result = read_evidence(stream)
        interrupted = False
    elif cluster_spec is not None:
        interrupted = False
        with _progress_bar(quiet, inv.target_count(), f"scanning on {cluster_spec}") as bar:
            run = cluster_scan(
                inv, options, cluster_spec, now=now, on_partition=bar,
                partition_targets=partition_targets,
            )
        for message in run.warnings:
            warn(message)
        result = run.scan
    else:
        interrupted = False
        with _progress(quiet, progress_total(inv, previous)) as advance, _term_as_interrupt():
            try:
                result = scan_to_evidence(
                    inv, options, now=now, on_done=advance, resume=previous, ruleset=ruleset
                )
            except ScanInterrupted as exc:
                result, interrupted = exc.partial, True
        result = replace(result, options={**result.options, **recorded})
    if slice_ is not None and stream is None:
        # Recorded so that 'sovaudit merge' can check it has every K of one N.
        result = replace(result, options={**result.options, "shard": str(slice_)})
    resolved: list[ResolvedFinding] = []
    if base is not None:
        result, resolved = mark_against(result, base)
        result = replace(
            result,
            options={
                **result.options,
                "baseline": {
                    "file": str(baseline),
                    "generated_at": base.generated_at,
                    "resolved": [to_jsonable(r) for r in resolved],
                },
            },
        )
    kept_out = None
    if interrupted and out is not None and out.is_file():
        # A partial result never replaces a complete report: it goes beside it.
        from sovaudit.evidence.files import partial_path

        kept_out, out = out, partial_path(out)
    points = None
    history_error: SovauditError | None = None
    if history is not None and not interrupted:
        # Appended before the reports are written, so their trend chart includes this scan; a
        # corrupt or locked database must not cost the evidence: reported after the writing.
        try:
            append_history(history, result)
            points = series(history)
        except SovauditError as exc:
            history_error = exc
    with writing_step(quiet or out is None):
        written = write_outputs(
            result,
            (formats_ if reports_wanted else [])
            if not interrupted or out is not None
            else ["json"],
            out if not interrupted or out is not None else Path("sovaudit-partial.json"),
            lang=language,
            now=now,
            inventory_path=Path(inventory) if inventory != "-" else None,
            history=points,
        )
        if interrupted and out is not None and "json" not in formats_:
            written.append(_write_partial_evidence(result, out, written))
    if stream is None:
        report_internal_errors(Tally.of(result.endpoints))
    causes = CauseCollector(threshold, new_threshold)
    causes.add(result.endpoints)
    if not quiet:
        err_console.print(safe(summary_line(result, causes.by_severity)))
        if base is not None:
            new = sum(1 for e in result.endpoints for f in e.findings if f.status == "new")
            err_console.print(msg("baseline_counts", new=new, resolved=len(resolved)))
        for path in [*([stream] if stream is not None else []), *written]:
            err_console.print(msg("wrote", path=safe(path)))
    if history_error is not None:
        error(f"{history_error} (evidence and reports were written)")
        raise typer.Exit(2)
    if interrupted:
        kept = f" ({kept_out} left as it was)" if kept_out is not None else ""
        error(f"interrupted: partial evidence written{safe(kept)}; continue with --resume")
        raise typer.Exit(ExitCode.INTERRUPTED)
    code = exit_code(result, threshold, new_threshold, strict)
    print_causes(causes, code, cli_lang())
    raise typer.Exit(code)


@contextlib.contextmanager
def writing_step(quiet: bool) -> Iterator[None]:
    """A "writing reports" spinner on a terminal: a large JSON report takes seconds to write."""
    if quiet or not is_tty():
        yield
        return
    with err_console.status(msg("writing_reports") + "..."):
        yield


def _write_partial_evidence(result: Scan, out: Path, written: list[Path]) -> Path:
    """Write the JSON evidence of an interrupted scan, whatever formats were asked for.

    ``--resume`` reads JSON only: an interrupted ``-o report.html`` must not lose the work done.
    """
    report = written[0] if written else out
    path = (
        out / "report.partial.json"
        if report.parent == out
        else report.with_name(f"{report.stem.removesuffix('.partial')}.partial.json")
    )
    write_atomic(path, render(result, "json", lang="en", now=datetime.now(UTC)))
    return path


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def exit_code(
    result: Scan, threshold: Severity | None, new_threshold: Severity | None, strict: bool
) -> int:
    """OK clean or below threshold; INCOMPLETE unknown endpoints or internal errors under
    --strict; FINDINGS at threshold."""
    code = tally_exit_code(Tally.of(result.endpoints), threshold, strict)
    if code:
        return code
    if new_threshold is not None and any(
        f.status == "new" and live(f, new_threshold) for e in result.endpoints for f in e.findings
    ):
        return ExitCode.FINDINGS
    return ExitCode.OK


def tally_exit_code(tally: Tally, threshold: Severity | None, strict: bool) -> int:
    """The exit code of a scan from its tally (see :func:`exit_code`; no baseline)."""
    if strict and (tally.by_status[Status.UNKNOWN] or tally.internal):
        return ExitCode.INCOMPLETE
    worst = tally.worst_live
    if threshold is not None and worst is not None and worst.rank >= threshold.rank:
        return ExitCode.FINDINGS
    return ExitCode.OK


def _run_streamed(
    inv: Inventory,
    options: ScanOptions,
    path: Path,
    *,
    now: datetime,
    quiet: bool,
    resume: Scan | None,
    ruleset: RuleSet,
    shard: str | None,
    causes: CauseCollector,
    recorded: dict[str, Any] | None = None,
) -> tuple[Tally, bool, Path]:
    """Scan into a JSON Lines evidence file; (tally, interrupted, where the evidence is).

    An error leaves no end line."""
    header = scan_header(inv, options, started=now)
    start = Analyser(
        options,
        accepted=inv.accepted,
        today=now.date(),
        ruleset=ruleset,
        domains=any(org.domains for org in inv.organizations),
    )
    header = replace(
        header,
        datasets=tuple(start.datasets()),
        options={**header.options, **({"shard": shard} if shard else {}), **(recorded or {})},
    )
    writer = EvidenceWriter(path, header.to_dict())
    try:
        with _progress(quiet, progress_total(inv, resume)) as advance, _term_as_interrupt():
            result = run_scan(
                inv,
                options,
                _Counted(writer, causes),
                started=now,
                on_done=advance,
                resume=resume,
                ruleset=ruleset,
            )
    except BaseException:
        writer.abandon()  # no end line: whoever reads it knows it is incomplete
        raise
    writer.close(partial=result.interrupted, datasets=result.datasets)
    return result.tally, result.interrupted, writer.final


class _Counted:
    """A sink that counts findings and causes as endpoints pass on to ``sink``."""

    def __init__(self, sink: EvidenceWriter, causes: CauseCollector) -> None:
        self.sink = sink
        self.causes = causes

    def add(self, endpoints: Sequence[Endpoint]) -> None:
        self.causes.add(endpoints)
        self.sink.add(endpoints)


def progress_total(inv: Inventory, resume: Scan | None) -> int:
    """The targets a scan will query: all of them, less those a resumed scan reuses."""
    if resume is None:
        return inv.target_count()
    done = {e.key for e in resume.endpoints if e.status is not Status.UNKNOWN}
    return sum(
        1 for t in inv.targets() if (t.organization, t.service, t.host, t.layer.value) not in done
    )


@contextlib.contextmanager
def _progress(quiet: bool, total: int) -> Iterator[Callable[[Endpoint], None] | None]:
    """A progress bar over the targets; endpoints the scan discovers (DMARC reporting,
    collaboration...) are added to its total as they are found, so it ends at 100%."""
    with _progress_bar(quiet, total, msg("resolving")) as bar:
        if bar is None:
            yield None
            return

        def advance(e: Endpoint) -> None:
            bar(1, 1 if e.layer in DISCOVERED_LAYERS else 0)

        yield advance


@contextlib.contextmanager
def _progress_bar(
    quiet: bool, total: int, description: str
) -> Iterator[Callable[..., None] | None]:
    """A progress bar on standard error (a terminal only): ``bar(n, grow)`` advances it by
    ``n`` and adds ``grow`` to its total (work found on the way), with the time remaining."""
    if quiet or not is_tty():
        yield None
        return
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=total)
        grown = 0

        def advance(n: int, grow: int = 0) -> None:
            nonlocal grown
            if grow:
                grown += grow
                progress.update(task, total=total + grown)
            progress.advance(task, n)

        yield advance


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job cancelled, a container stopped) ends the scan like Ctrl-C."""

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not in the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


PROBES = ("rdap", "web")
# Above this many targets a scan without --stream is told about it (measured at 100k hosts:
# about 12 GB peak with -o report.json before the JSON writer streamed, 286 MB with --stream).
LARGE_SCAN_TARGETS = 50_000


def check_probes(values: Sequence[str]) -> tuple[str, ...]:
    for value in values:
        if value not in PROBES:
            raise UserError(f"--probe: unknown probe {value!r} (valid: {', '.join(PROBES)})")
    return tuple(dict.fromkeys(values))


