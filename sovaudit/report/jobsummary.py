"""The GitHub Actions job summary: headline, exposures table, new since the baseline.

Written to ``$GITHUB_STEP_SUMMARY`` by the action (``sovaudit job-summary EVIDENCE``): short
Markdown a reviewer reads on the run's page, far below GitHub's 1 MiB limit per step at any
inventory size (tables are capped; the full report is an artifact).
"""

from __future__ import annotations

from sovaudit.i18n import layer_label
from sovaudit.report.escape import md_code, md_text
from sovaudit.report.sarif import exposures, party
from sovaudit.report.summary import FindingRow, ReportView

__all__ = ["MAX_ROWS", "render_job_summary"]

# Rows of each table; beyond, one line says how many more are in the full report.
MAX_ROWS = 50

_TEXT = {
    "title": {"en": "sovaudit: data sovereignty", "fr": "sovaudit : souveraineté des données"},
    "counts": {
        "en": "{endpoints} endpoints, {exposures} exposures ({findings} findings: {severities})",
        "fr": "{endpoints} points d'accès, {exposures} expositions ({findings} constats : "
        "{severities})",
    },
    "exposures": {"en": "Exposures", "fr": "Expositions"},
    "new": {"en": "New since the baseline", "fr": "Nouveau depuis la référence"},
    "no_new": {"en": "Nothing new since the baseline ({when}).",
               "fr": "Rien de nouveau depuis la référence ({when})."},
    "resolved": {"en": "{count} finding(s) resolved since the baseline.",
                 "fr": "{count} constat(s) résolu(s) depuis la référence."},
    "none": {"en": "No exposure found.", "fr": "Aucune exposition trouvée."},
    "more": {"en": "... and {count} more in the full report.",
             "fr": "... et {count} de plus dans le rapport complet."},
    "head": {
        "en": "| Severity | Endpoint | Organization | Controlled by | Legal bases |",
        "fr": "| Gravité | Point d'accès | Organisme | Contrôlé par | Fondements juridiques |",
    },
    "accepted": {"en": "accepted", "fr": "accepté"},
    "unknown": {"en": "unknown", "fr": "inconnu"},
    "partial": {"en": "**Partial scan**: interrupted before the end.",
                "fr": "**Analyse partielle** : interrompue avant la fin."},
}


def _t(key: str, lang: str, **fields: object) -> str:
    text = _TEXT[key][lang]
    return text.format(**fields) if fields else text


def _cell(text: object) -> str:
    return md_text(text).replace("|", "\\|")


def _table(groups: list[list[FindingRow]], lang: str) -> list[str]:
    lines = [_t("head", lang), "|---|---|---|---|---|"]
    for group in groups[:MAX_ROWS]:
        e, f = group[0].endpoint, group[0].finding
        controller, jurisdiction = party(group[0])
        who = controller or _t("unknown", lang)
        if jurisdiction:
            who += f" ({jurisdiction})"
        rules = []
        for r in group:
            rid = md_code(r.finding.rule_id)
            rules.append(f"{rid} ({_t('accepted', lang)})" if r.finding.accepted else rid)
        severity = f.severity.value + (f" ({_t('accepted', lang)})" if f.accepted else "")
        endpoint = f"{layer_label(e.layer.value, lang)} {e.host}"
        lines.append(
            f"| {severity} | {_cell(endpoint)} | {_cell(e.organization_name or e.organization)} "
            f"| {_cell(who)} | {', '.join(dict.fromkeys(rules))} |"
        )
    if len(groups) > MAX_ROWS:
        lines += ["", _t("more", lang, count=len(groups) - MAX_ROWS)]
    return lines


def render_job_summary(view: ReportView) -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY`` (ends with a newline)."""
    lang = view.lang
    groups = exposures(view.findings)
    severities = ", ".join(f"{count} {sev}" for sev, count, _acc in view.severity_counts if count)
    lines = [f"## {_t('title', lang)}", "", f"**{md_text(view.headline)}**", ""]
    if view.scan.partial:
        lines += [_t("partial", lang), ""]
    lines += [
        _t(
            "counts",
            lang,
            endpoints=len(view.scan.endpoints),
            exposures=len(groups),
            findings=view.total_findings,
            severities=severities or "0",
        ),
        "",
        f"### {_t('exposures', lang)}",
        "",
    ]
    lines += _table(groups, lang) if groups else [_t("none", lang)]
    if view.baseline is not None:
        new = exposures(view.new_findings)
        lines += ["", f"### {_t('new', lang)} ({len(new)})", ""]
        if new:
            lines += _table(new, lang)
        else:
            lines.append(_t("no_new", lang, when=md_text(view.baseline.generated_at)))
        if view.baseline.resolved:
            lines += ["", _t("resolved", lang, count=len(view.baseline.resolved))]
    return "\n".join(lines) + "\n"
