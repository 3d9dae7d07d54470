"""Format-independent view of a scan: deterministic ordering and the figures every report shows.

Each renderer reads a :class:`ReportView` so that Markdown, HTML, CSV and SARIF agree on order
and on numbers (the headline a journalist quotes must be the same in every format).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sovaudit.i18n import data_class_phrase, t
from sovaudit.models import DataClass, Endpoint, Finding, Scan, Severity

US = "US"
DOMESTIC = frozenset({"CA", "CA-QC"})
UNKNOWN = "unknown"

# Most sensitive first: the headline speaks about the most sensitive class the scan holds.
HEADLINE_CLASSES = (
    DataClass.HEALTH,
    DataClass.TAX,
    DataClass.JUSTICE,
    DataClass.IDENTITY,
    DataClass.FINANCIAL,
    DataClass.PERSONAL,
    DataClass.EDUCATION,
    DataClass.INFRASTRUCTURE,
)
SEVERITIES_DESC = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))


def finding_sort_key(finding: Finding) -> tuple[int, str, str, str]:
    """Severity descending, then rule id (then subject and title for total determinism)."""
    return (-finding.severity.rank, finding.rule_id, finding.subject or "", finding.title)


def sort_scan(scan: Scan) -> Scan:
    """The scan with endpoints by (organization, service, host, layer) and findings sorted."""
    endpoints = sorted(
        (
            replace(e, findings=tuple(sorted(e.findings, key=finding_sort_key)))
            for e in scan.endpoints
        ),
        key=lambda e: e.key,
    )
    return replace(scan, endpoints=tuple(endpoints))


def endpoint_jurisdictions(endpoint: Endpoint) -> tuple[str, ...]:
    """Sorted jurisdictions of the ultimate parents behind an endpoint (empty if unattributed)."""
    return tuple(sorted({a.jurisdiction for a in endpoint.attributions if a.jurisdiction}))


def is_us_controlled(endpoint: Endpoint) -> bool:
    """True when any address or name behind the endpoint has a US ultimate parent."""
    return US in endpoint_jurisdictions(endpoint)


def is_foreign_controlled(endpoint: Endpoint) -> bool:
    """True when any ultimate parent behind the endpoint is outside Canada."""
    return any(j not in DOMESTIC for j in endpoint_jurisdictions(endpoint))


@dataclass(frozen=True, slots=True)
class ClassFigure:
    """Services holding one data class, and how many of them are under US control."""

    data_class: str
    services: int
    us_controlled: int


@dataclass(frozen=True, slots=True)
class OrganizationFigure:
    organization: str
    organization_name: str
    endpoints: int
    foreign_controlled: int
    us_controlled: int


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One finding with the endpoint it belongs to (a row of the findings table, CSV, SARIF)."""

    endpoint: Endpoint
    finding: Finding


@dataclass(frozen=True, slots=True)
class ReportView:
    scan: Scan
    lang: str
    now: datetime
    headline: str
    class_figures: tuple[ClassFigure, ...]
    severity_counts: tuple[tuple[str, int, int], ...]  # (severity, count, accepted)
    jurisdiction_counts: tuple[tuple[str, int], ...]
    organization_figures: tuple[OrganizationFigure, ...]
    findings: tuple[FindingRow, ...]

    @property
    def total_findings(self) -> int:
        return len(self.findings)


def _services(endpoints: Iterable[Endpoint]) -> dict[tuple[str, str], list[Endpoint]]:
    services: dict[tuple[str, str], list[Endpoint]] = {}
    for e in endpoints:
        services.setdefault((e.organization, e.service), []).append(e)
    return services


def class_figures(endpoints: Iterable[Endpoint]) -> tuple[ClassFigure, ...]:
    """Per data class (most sensitive first): services holding it, and those under US control."""
    services = _services(endpoints)
    figures = []
    for cls in (*HEADLINE_CLASSES, DataClass.PUBLIC):
        holding = [eps for eps in services.values() if any(cls in e.data_classes for e in eps)]
        if holding:
            us = sum(1 for eps in holding if any(is_us_controlled(e) for e in eps))
            figures.append(ClassFigure(cls.value, len(holding), us))
    return tuple(figures)


def control_sentence(x: int, y: int, data_class: str | None, lang: str) -> str:
    """"x of y services [holding <class> data] are under US control", grammatical in fr and en."""
    if y == 0:
        return t("headline_empty", lang)
    prefix = "headline_class" if data_class else "headline_all"
    fields: dict[str, object] = {"cls": data_class_phrase(data_class, lang)} if data_class else {}
    # Grammar differs for "the only service", "none of", and a singular subject.
    if y == 1:
        key = f"{prefix}_single_{'yes' if x else 'no'}"
    elif x == 0:
        key = f"{prefix}_none"
    elif x == 1:
        key = f"{prefix}_one_x"
    else:
        key = prefix
    return t(key, lang, x=x, y=y, **fields)


def headline(endpoints: Iterable[Endpoint], lang: str) -> str:
    """The sentence people quote: "3 of 4 services holding health data are under US control".

    It speaks about the most sensitive data class present; without any, about all services.
    """
    endpoints = list(endpoints)
    figures = [f for f in class_figures(endpoints) if f.data_class != DataClass.PUBLIC]
    if figures:
        top = figures[0]
        return control_sentence(top.us_controlled, top.services, top.data_class, lang)
    services = _services(endpoints)
    x = sum(1 for eps in services.values() if any(is_us_controlled(e) for e in eps))
    return control_sentence(x, len(services), None, lang)


def build_view(scan: Scan, *, lang: str, now: datetime) -> ReportView:
    """Sort the scan and compute every figure the reports print."""
    scan = sort_scan(scan)
    rows = sorted(
        (FindingRow(e, f) for e in scan.endpoints for f in e.findings),
        key=lambda r: (*finding_sort_key(r.finding)[:2], r.endpoint.key, r.finding.subject or ""),
    )
    by_sev = Counter(r.finding.severity.value for r in rows)
    accepted = Counter(r.finding.severity.value for r in rows if r.finding.accepted)
    jur: Counter[str] = Counter()
    for e in scan.endpoints:
        jur.update(endpoint_jurisdictions(e) or (UNKNOWN,))
    # Most endpoints first; the unknown bucket always last so it is never mistaken for a country.
    jur_counts = sorted(
        jur.items(), key=lambda kv: (kv[0] == UNKNOWN, -kv[1], kv[0])
    )
    orgs: dict[str, list[Endpoint]] = {}
    for e in scan.endpoints:
        orgs.setdefault(e.organization, []).append(e)
    org_figures = tuple(
        OrganizationFigure(
            organization=org,
            organization_name=eps[0].organization_name,
            endpoints=len(eps),
            foreign_controlled=sum(1 for e in eps if is_foreign_controlled(e)),
            us_controlled=sum(1 for e in eps if is_us_controlled(e)),
        )
        for org, eps in sorted(orgs.items())
    )
    return ReportView(
        scan=scan,
        lang=lang,
        now=now,
        headline=headline(scan.endpoints, lang),
        class_figures=class_figures(scan.endpoints),
        severity_counts=tuple(
            (s.value, by_sev[s.value], accepted[s.value]) for s in SEVERITIES_DESC
        ),
        jurisdiction_counts=tuple(jur_counts),
        organization_figures=org_figures,
        findings=tuple(rows),
    )


def iso(now: datetime) -> str:
    """``now`` as an ISO 8601 UTC timestamp with second precision (stable in goldens)."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC)
    return now.replace(microsecond=0, tzinfo=None).isoformat() + "Z"
