"""Why a command exits 1 or 3: the findings over the threshold, the unknown endpoints.

A CI log that says only "exit 1" sends people digging through reports; this module keeps, in
bounded memory (a streamed 100k-host scan never holds its endpoints), the first causes of each
kind and their counts, and prints them as one compact table on standard error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.table import Table

from sovaudit.cli.common import err_console, safe
from sovaudit.cli.messages import msg
from sovaudit.cli.style import severity_style
from sovaudit.errors import INTERNAL_PREFIX
from sovaudit.models import Endpoint, Severity, Status

__all__ = ["MAX_CAUSES", "Cause", "CauseCollector", "print_causes", "severity_counts_text"]

INTERNAL_SHORT = "internal error of sovaudit (see the error above)"
# Rows printed before "and N more": a CI log is read by people, not scrolled by them.
MAX_CAUSES = 20


@dataclass(frozen=True, slots=True)
class Cause:
    """One row of the table: a finding over the threshold, or an unknown endpoint."""

    organization: str
    host: str
    layer: str
    what: str  # a rule id, or "unknown"
    detail: str  # the finding's title, or the endpoint's reason
    severity: Severity | None = None
    new: bool = False


@dataclass
class CauseCollector:
    """Counts findings by severity and keeps the first causes of a failure, endpoint by endpoint.

    ``threshold``/``new_threshold`` are those of ``--fail-on``/``--fail-on-new``: only live
    (not accepted) findings at or above them are causes. Unknown endpoints are always kept (they
    are the causes of exit 3 under ``--strict``).
    """

    threshold: Severity | None = None
    new_threshold: Severity | None = None
    cap: int = MAX_CAUSES
    by_severity: dict[Severity, int] = field(default_factory=lambda: dict.fromkeys(Severity, 0))
    # Kept per severity, so the most severe findings are shown first whatever their order.
    _findings: dict[Severity, list[Cause]] = field(default_factory=dict)
    findings_total: int = 0
    unknown: list[Cause] = field(default_factory=list)
    unknown_total: int = 0

    def add(self, endpoints: Iterable[Endpoint]) -> None:
        for e in endpoints:
            if e.status is Status.UNKNOWN:
                self.unknown_total += 1
                if len(self.unknown) < self.cap:
                    reason = e.reason or ""
                    if reason.startswith(INTERNAL_PREFIX):
                        # Printed once above with its bug-report request: not once per row.
                        reason = INTERNAL_SHORT
                    self.unknown.append(
                        Cause(e.organization, e.host, e.layer.value, "unknown", reason)
                    )
            for f in e.findings:
                if f.accepted:
                    continue
                self.by_severity[f.severity] += 1
                over = self.threshold is not None and f.severity.rank >= self.threshold.rank
                new = f.status == "new"
                over_new = (
                    new
                    and self.new_threshold is not None
                    and f.severity.rank >= self.new_threshold.rank
                )
                if not (over or over_new):
                    continue
                self.findings_total += 1
                kept = self._findings.setdefault(f.severity, [])
                if len(kept) < self.cap:
                    kept.append(
                        Cause(
                            e.organization, e.host, e.layer.value, f.rule_id, f.title,
                            f.severity, new,
                        )
                    )

    @property
    def findings(self) -> list[Cause]:
        """The kept findings, most severe first, at most ``cap``."""
        ordered = [c for s in reversed(Severity) for c in self._findings.get(s, ())]
        return ordered[: self.cap]


def severity_counts_text(by_severity: dict[Severity, int], lang: str) -> str:
    """ "2 critical, 5 high" (live findings by severity, most severe first; "" when none)."""
    from sovaudit.i18n import severity_label

    parts = [
        f"{by_severity[s]} {severity_label(s.value, lang).lower()}"
        for s in reversed(Severity)
        if by_severity.get(s)
    ]
    return ", ".join(parts)


def print_causes(collector: CauseCollector, code: int, lang: str) -> None:
    """Print what made the exit code ``code`` (1: findings, 3: unknown endpoints) on stderr."""
    if code == 1 and collector.findings_total:
        rows, total = collector.findings, collector.findings_total
        limits = [
            f"{option} {value.value}"
            for option, value in (
                ("--fail-on", collector.threshold),
                ("--fail-on-new", collector.new_threshold),
            )
            if value is not None
        ]
        title = msg("causes_findings", lang, count=total, limit=" / ".join(limits))
    elif code == 3 and collector.unknown_total:
        rows, total = collector.unknown, collector.unknown_total
        title = msg("causes_unknown", lang, count=total)
    else:
        return
    # No box and no wrapping of ids: one line per cause, greppable in a CI log.
    table = Table(title=title, title_justify="left", box=None, pad_edge=False, show_header=True)
    if code == 1:
        table.add_column(msg("col_severity", lang), no_wrap=True)
        table.add_column(msg("col_rule", lang), no_wrap=True)
    table.add_column(msg("col_endpoint", lang), no_wrap=True, overflow="ellipsis")
    table.add_column(msg("col_org", lang), no_wrap=True, overflow="ellipsis")
    if code == 3:
        table.add_column(msg("col_why", lang), overflow="fold")
    for c in rows:
        endpoint = safe(f"{c.layer} {c.host}")
        if c.severity is not None:
            first = f"[{severity_style(c.severity)}]{c.severity.value}[/]"
            if c.new:
                first += " " + msg("new", lang)
            table.add_row(first, safe(c.what), endpoint, safe(c.organization))
        else:
            table.add_row(endpoint, safe(c.organization), safe(c.detail))
    err_console.print(table)
    if total > len(rows):
        err_console.print(msg("and_more", lang, count=total - len(rows)))
