"""CSV report: one row per finding, safe to open in a spreadsheet.

Machine columns hold stable codes (``layer``, ``severity``, ``status``...) so that scripts and
pivot tables keep working whatever the language of the run; next to each of them a ``*_label``
column holds the same value for a reader, in the report language. Column names never change
with the language. Finding titles are in the report language (see ``summary.build_view``).
"""

from __future__ import annotations

import csv
import io

from sovaudit.i18n import layer_label, severity_label, status_label
from sovaudit.report.escape import csv_cell
from sovaudit.report.summary import FindingRow, ReportView, endpoint_jurisdictions

COLUMNS = (
    "organization",
    "service",
    "host",
    "layer",
    "layer_label",
    "operator",
    "parent",
    "jurisdiction",
    "rule",
    "severity",
    "severity_label",
    "accepted",
    "status",
    "status_label",
    "subject",
    "title",
)


def _row(row: FindingRow, lang: str) -> list[str]:
    e, f = row.endpoint, row.finding
    attribution = row.attribution
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
        layer_label(e.layer.value, lang),
        operator,
        parent,
        jurisdiction,
        f.rule_id,
        f.severity.value,
        severity_label(f.severity.value, lang),
        "true" if f.accepted else "false",
        f.status or "",
        status_label(f.status, lang) if f.status else "",
        f.subject or "",
        f.title,
    ]


def render_csv(view: ReportView) -> str:
    """Findings as RFC 4180 CSV (CRLF line ends), in report order, formulas neutralized."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    from sovaudit.report.auditsettings import audit_settings_lines

    title, changed = audit_settings_lines(view.scan, view.lang)
    if changed:  # a comment line before the header: settings that change the audit
        buffer.write(csv_cell(f"# {title}: " + "; ".join(changed)).replace("\r", " ") + "\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(
        [csv_cell(cell) for cell in _row(row, view.lang)] for row in view.findings
    )
    return buffer.getvalue()
