"""CSV report: one row per finding, safe to open in a spreadsheet.

Column names and values are stable machine identifiers (codes, not translated labels) so that
scripts and pivot tables keep working whatever the language of the run; the report language only
affects the finding titles, which come from the rule packs.
"""

from __future__ import annotations

import csv
import io

from sovaudit.report.escape import csv_cell
from sovaudit.report.summary import FindingRow, ReportView, endpoint_jurisdictions

COLUMNS = (
    "organization",
    "service",
    "host",
    "layer",
    "operator",
    "parent",
    "jurisdiction",
    "rule",
    "severity",
    "accepted",
    "status",
    "subject",
    "title",
)


def _row(row: FindingRow) -> list[str]:
    e, f = row.endpoint, row.finding
    attribution = next(
        (a for a in e.attributions if f.subject is not None and a.subject == f.subject), None
    )
    if attribution is not None:
        operator = attribution.operator_name or attribution.operator or ""
        parent = attribution.ultimate_parent or ""
        jurisdiction = attribution.jurisdiction or ""
    else:
        # Endpoint-level finding: every jurisdiction behind the endpoint, ";"-separated.
        operator, parent = "", ""
        jurisdiction = ";".join(endpoint_jurisdictions(e))
    return [
        e.organization,
        e.service,
        e.host,
        e.layer.value,
        operator,
        parent,
        jurisdiction,
        f.rule_id,
        f.severity.value,
        "true" if f.accepted else "false",
        f.status or "",
        f.subject or "",
        f.title,
    ]


def render_csv(view: ReportView) -> str:
    """Findings as RFC 4180 CSV (CRLF line ends), in report order, formulas neutralized."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows([csv_cell(cell) for cell in _row(row)] for row in view.findings)
    return buffer.getvalue()
