"""GitHub-flavoured Markdown report.

Untrusted text (anything from DNS, whois or the evidence file) goes through ``md_text`` or
``md_code``: it can never become a link, raw HTML, emphasis or a new table cell. Inside the raw
HTML of ``<summary>`` lines Markdown is not parsed, so text there is HTML-escaped instead.
"""

from __future__ import annotations

from sovaudit.i18n import (
    data_class_label,
    jurisdiction_label,
    severity_label,
    status_label,
    t,
)
from sovaudit.models import Attribution, Endpoint, EvidenceStep, Finding, Scan
from sovaudit.report.escape import html_text, md_code, md_text, safe_url
from sovaudit.report.summary import (
    UNKNOWN,
    FindingRow,
    ReportView,
    control_sentence,
    endpoint_jurisdictions,
    iso,
)


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(*cells: str, numeric: int = 0) -> list[str]:
    """A table header; the last ``numeric`` columns are right-aligned."""
    aligns = ["---"] * (len(cells) - numeric) + ["--:"] * numeric
    return [_row(*cells), _row(*aligns)]


def _jurisdiction(code: str, lang: str) -> str:
    label = jurisdiction_label(code, lang)
    if label == code:
        return md_text(code)  # not one of ours: it came from the evidence file
    # Our own label and a known code: trusted text, left readable.
    return label if code == UNKNOWN else f"{label} ({code})"


def _jurisdictions(endpoint: Endpoint, lang: str) -> str:
    codes = endpoint_jurisdictions(endpoint)
    if not codes:
        return md_text(t("not_attributed", lang))
    return ", ".join(_jurisdiction(c, lang) for c in codes)


def _attribution_for(row: FindingRow) -> Attribution | None:
    """The attribution that triggered a finding (same subject), if the evidence says which."""
    for a in row.endpoint.attributions:
        if row.finding.subject is not None and a.subject == row.finding.subject:
            return a
    return None


def _org(endpoint: Endpoint) -> str:
    if endpoint.organization_name:
        return f"{md_text(endpoint.organization_name)} ({md_code(endpoint.organization)})"
    return md_code(endpoint.organization)


def _steps_table(steps: tuple[EvidenceStep, ...], lang: str) -> list[str]:
    lines = _header(t("step", lang), t("value", lang), t("source", lang))
    lines += [_row(md_code(s.step), md_code(s.value), md_code(s.source)) for s in steps]
    return lines


def _details(summary: str, body: list[str]) -> list[str]:
    # The blank lines make GitHub parse the body as Markdown and end the raw HTML block.
    while body and not body[-1]:
        body = body[:-1]
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _references(finding: Finding, lang: str) -> list[str]:
    if not finding.references:
        return []
    lines = [f"{t('references', lang)}:", ""]
    for ref in finding.references:
        url = safe_url(ref.url)
        # Only a vetted http(s) URL becomes a link; the title is escaped text either way.
        if url:
            lines.append(f"- [{md_text(ref.title)}](<{url}>)")
        else:
            lines.append(f"- {md_text(ref.title)}")
    lines.append("")
    return lines


def _finding(row: FindingRow, lang: str) -> list[str]:
    e, f = row.endpoint, row.finding
    lines = [f"#### {md_code(f.rule_id, in_table=False)} {md_text(f.title)}", ""]
    lines.append(f"- **{t('organization', lang)}**: {_org(e)}")
    lines.append(
        f"- **{t('service', lang)}**: {md_code(e.service, in_table=False)} · "
        f"**{t('host', lang)}**: {md_code(e.host, in_table=False)} · "
        f"**{t('layer', lang)}**: {md_text(e.layer.value)}"
    )
    a = _attribution_for(row)
    if a is not None:
        chain = " → ".join(
            md_text(v) for v in (a.operator_name or a.operator, a.ultimate_parent) if v
        )
        jur = _jurisdiction(a.jurisdiction, lang) if a.jurisdiction else t("unknown", lang)
        control = f"{chain} → {jur}" if chain else jur
        lines.append(f"- **{t('jurisdiction', lang)}**: {control}")
    else:
        lines.append(f"- **{t('jurisdiction', lang)}**: {_jurisdictions(e, lang)}")
    if f.subject:
        lines.append(f"- **{t('subject', lang)}**: {md_code(f.subject, in_table=False)}")
    if f.accepted:
        reason = f": {md_text(f.accepted_reason)}" if f.accepted_reason else ""
        lines.append(f"- **{t('accepted', lang).capitalize()}**{reason}")
    if f.status:
        lines.append(f"- **{t('baseline_status', lang)}**: {md_text(status_label(f.status, lang))}")
    lines += ["", md_text(f.rationale), ""]
    lines += _references(f, lang)
    if f.evidence:
        summary = f"{html_text(t('evidence', lang))} ({len(f.evidence)})"
        lines += _details(summary, _steps_table(f.evidence, lang))
    return lines


def _endpoint_evidence(e: Endpoint, lang: str) -> list[str]:
    body: list[str] = []
    if e.reason:
        body += [f"**{t('reason', lang)}**: {md_text(e.reason)}", ""]
    if e.records:
        body += [f"**{t('records', lang)}**", ""]
        body += _header(
            t("name", lang), t("type", lang), t("rcode", lang), t("answers", lang),
            t("ttl", lang), t("resolver", lang),
        )
        for r in e.records:
            answers = "<br>".join(md_code(x) for x in r.answers) or "\u2014"
            rcode = md_code(r.rcode) + (f" {md_code(r.error)}" if r.error else "")
            ttl = str(r.ttl) if r.ttl is not None else "\u2014"
            body.append(_row(md_code(r.name), md_code(r.type), rcode, answers, ttl,
                             md_code(r.resolver)))
        body.append("")
    if e.attributions:
        body += [f"**{t('attributions', lang)}**", ""]
        for a in e.attributions:
            flags = ", ".join(md_code(x, in_table=False) for x in a.flags)
            head = (
                f"- {md_code(a.subject, in_table=False)} ({md_text(a.role)}, "
                f"{md_text(status_label(a.status.value, lang))}, "
                f"{t('confidence', lang).lower()} {a.confidence:.2f})"
            )
            body.append(head + (f" {t('flags', lang).lower()}: {flags}" if flags else ""))
            if a.reason:
                body.append(f"  - {t('reason', lang)}: {md_text(a.reason)}")
            body.extend(
                f"  - {t('conflicts', lang)}: {md_code(c, in_table=False)}" for c in a.conflicts
            )
        body.append("")
        for a in e.attributions:
            if a.evidence:
                body += [f"{md_code(a.subject, in_table=False)}:", ""]
                body += [*_steps_table(a.evidence, lang), ""]
    summary = html_text(t("evidence_for", lang, host=e.host))
    return _details(summary, body)


def _about(scan: Scan, view: ReportView, lang: str) -> list[str]:
    lines = [f"## {t('scan_info', lang)}", ""]
    lines.append(f"- **{t('scan_date', lang)}**: {md_code(scan.generated_at, in_table=False)}")
    lines.append(f"- **{t('report_date', lang)}**: {md_code(iso(view.now), in_table=False)}")
    lines.append(f"- **{t('tool', lang)}**: sovaudit {md_text(scan.tool_version)}")
    lines.append(f"- **{t('inventory', lang)}**: {md_code(scan.inventory, in_table=False)}")
    resolvers = ", ".join(md_code(r, in_table=False) for r in scan.resolvers)
    lines.append(f"- **{t('resolvers', lang)}**: {resolvers or t('none', lang)}")
    lines += ["", f"### {t('datasets', lang)}", ""]
    if scan.datasets:
        lines += _header(
            t("dataset_name", lang), t("dataset_version", lang), t("dataset_date", lang),
            t("dataset_licence", lang), t("dataset_source", lang),
        )
        lines += [
            _row(md_text(d.name), md_code(d.version), md_code(d.date), md_text(d.licence),
                 md_code(d.source))
            for d in scan.datasets
        ]
    else:
        lines.append(t("none", lang).capitalize() + ".")
    lines += ["", f"## {t('legal_notice_title', lang)}", "", t("legal_notice", lang), ""]
    return lines


def render_markdown(view: ReportView) -> str:
    """The whole Markdown report for a prepared view (see ``summary.build_view``)."""
    lang, scan = view.lang, view.scan
    out = [f"# {t('title', lang)}", "", f"> **{view.headline}**", ""]
    if scan.partial:
        out += [f"> {t('partial_warning', lang)}", ""]

    out += [f"## {t('key_figures', lang)}", ""]
    out += [
        f"- {control_sentence(c.us_controlled, c.services, c.data_class, lang)}"
        for c in view.class_figures
    ]
    out += ["", f"## {t('summary', lang)}", "", f"### {t('by_severity', lang)}", ""]
    out += _header(t("severity", lang), t("count", lang), t("accepted_count", lang), numeric=2)
    out += [
        _row(severity_label(s, lang), str(n), str(acc)) for s, n, acc in view.severity_counts
    ]
    total_acc = sum(acc for _, _, acc in view.severity_counts)
    out += [_row(f"**{t('total', lang)}**", f"**{view.total_findings}**", f"**{total_acc}**"), ""]

    out += [f"### {t('by_jurisdiction', lang)}", ""]
    out += _header(t("jurisdiction", lang), t("endpoints", lang), numeric=1)
    out += [_row(_jurisdiction(j, lang), str(n)) for j, n in view.jurisdiction_counts]
    out += ["", f"### {t('by_data_class', lang)}", ""]
    out += _header(t("data_class", lang), t("services", lang), t("us_controlled", lang), numeric=2)
    out += [
        _row(data_class_label(c.data_class, lang), str(c.services), str(c.us_controlled))
        for c in view.class_figures
    ]
    out += ["", f"### {t('by_organization', lang)}", ""]
    out += _header(
        t("organization", lang), t("endpoints", lang), t("foreign_controlled", lang),
        t("us_controlled", lang), numeric=3,
    )
    out += [
        _row(md_text(o.organization_name or o.organization), str(o.endpoints),
             str(o.foreign_controlled), str(o.us_controlled))
        for o in view.organization_figures
    ]

    out += ["", f"## {t('findings', lang)}", ""]
    if not view.findings:
        out += [t("no_findings", lang), ""]
    for sev, count, _ in view.severity_counts:
        if not count:
            continue
        out += [f"### {severity_label(sev, lang)} ({count})", ""]
        for row in view.findings:
            if row.finding.severity.value == sev:
                out += _finding(row, lang)

    out += [f"## {t('endpoint_list', lang)}", ""]
    out += _header(
        t("organization", lang), t("service", lang), t("host", lang), t("layer", lang),
        t("data_classes", lang), t("status", lang), t("jurisdiction", lang), t("operator", lang),
    )
    for e in scan.endpoints:
        operators = sorted({a.operator_name or a.operator or "" for a in e.attributions} - {""})
        out.append(_row(
            md_text(e.organization_name or e.organization), md_code(e.service), md_code(e.host),
            md_text(e.layer.value),
            ", ".join(data_class_label(c.value, lang) for c in e.data_classes) or "\u2014",
            md_text(status_label(e.status.value, lang)), _jurisdictions(e, lang),
            ", ".join(md_text(o) for o in operators) or "\u2014",
        ))
    out.append("")
    for e in scan.endpoints:
        out += _endpoint_evidence(e, lang)
    out += _about(scan, view, lang)
    return "\n".join(out).rstrip("\n") + "\n"
