"""Self-contained HTML report: one file, inline CSS and SVG, no network, readable without scripts.

Safety rests on three layers: Jinja2 autoescaping of every value (control characters made visible
first by the ``finalize`` hook), links only from vetted http(s) rule references, and a
Content-Security-Policy that forbids every fetch and allows only our own inline script by hash.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import jinja2
import markupsafe

from sovaudit.i18n import (
    data_class_label,
    jurisdiction_label,
    severity_label,
    status_label,
    t,
)
from sovaudit.models import Attribution, Endpoint, Finding
from sovaudit.report.escape import safe_url, visible
from sovaudit.report.summary import (
    UNKNOWN,
    FindingRow,
    ReportView,
    control_sentence,
    endpoint_jurisdictions,
    iso,
)

# Sorting and filtering of the findings table, and opening every <details> before printing.
# Kept tiny and static: its hash goes into the CSP, so no other script can run.
SCRIPT = """
(function () {
  "use strict";
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
  });
  var table = document.getElementById("findings-table");
  var filter = document.getElementById("findings-filter");
  if (!table || !filter) { return; }
  var body = table.tBodies[0];
  filter.parentNode.hidden = false;
  filter.addEventListener("input", function () {
    var q = filter.value.toLowerCase();
    Array.prototype.forEach.call(body.rows, function (row) {
      row.hidden = q !== "" && row.textContent.toLowerCase().indexOf(q) === -1;
    });
  });
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = th.textContent;
    th.textContent = "";
    th.appendChild(button);
    button.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(table.tHead.rows[0].cells, function (other) {
        other.removeAttribute("aria-sort");
      });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[col].getAttribute("data-sort") || a.cells[col].textContent;
        var y = b.cells[col].getAttribute("data-sort") || b.cells[col].textContent;
        var c = x.localeCompare(y, undefined, {numeric: true});
        return asc ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
})();
""".strip()

SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    f"script-src '{SCRIPT_HASH}'; base-uri 'none'; form-action 'none'"
)

# Beyond this many bars a chart stops being readable; its table still lists every row.
MAX_BARS = 30
BAR_HEIGHT = 22
BAR_GAP = 10
LABEL_WIDTH = 230
PLOT_WIDTH = 360
VALUE_WIDTH = 70


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    total: int
    part: int | None
    y: int
    width: int
    part_width: int


@dataclass(frozen=True, slots=True)
class Chart:
    """A horizontal bar chart; ``part`` (if any) is drawn darker over ``total``."""

    ident: str
    title: str
    total_label: str
    part_label: str | None
    bars: tuple[Bar, ...]
    rows: tuple[tuple[str, int, int | None], ...]
    note: str | None
    height: int
    width: int
    label_width: int
    plot_width: int


def _chart(
    ident: str,
    title: str,
    rows: list[tuple[str, int, int | None]],
    total_label: str,
    part_label: str | None,
    note: str | None = None,
) -> Chart:
    top = max((total for _, total, _ in rows), default=0) or 1
    drawn = rows
    if len(rows) > MAX_BARS:
        # Most foreign-controlled first, then largest: the bars worth a glance.
        drawn = sorted(rows, key=lambda r: (-(r[2] or 0), -r[1], r[0]))[:MAX_BARS]
    else:
        note = None
    bars = []
    for i, (label, total, part) in enumerate(drawn):
        bars.append(Bar(
            label=label,
            total=total,
            part=part,
            y=i * (BAR_HEIGHT + BAR_GAP),
            width=round(PLOT_WIDTH * total / top),
            part_width=round(PLOT_WIDTH * (part or 0) / top),
        ))
    height = max(len(drawn) * (BAR_HEIGHT + BAR_GAP), BAR_HEIGHT)
    return Chart(
        ident=ident,
        title=title,
        total_label=total_label,
        part_label=part_label,
        bars=tuple(bars),
        rows=tuple(rows),
        note=note,
        height=height,
        width=LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH,
        label_width=LABEL_WIDTH,
        plot_width=PLOT_WIDTH,
    )


def _jurisdiction(code: str | None, lang: str) -> str:
    if not code:
        return t("unknown", lang)
    label = jurisdiction_label(code, lang)
    return label if label == code or code == UNKNOWN else f"{label} ({code})"


def _attribution_for(endpoint: Endpoint, finding: Finding) -> Attribution | None:
    for a in endpoint.attributions:
        if finding.subject is not None and a.subject == finding.subject:
            return a
    return None


@dataclass(frozen=True, slots=True)
class FindingItem:
    anchor: str
    row: FindingRow
    attribution: Attribution | None
    jurisdiction: str
    references: tuple[tuple[str, str | None], ...]


def _finding_items(view: ReportView) -> list[FindingItem]:
    items = []
    for i, row in enumerate(view.findings, start=1):
        a = _attribution_for(row.endpoint, row.finding)
        if a is not None:
            jur = _jurisdiction(a.jurisdiction, view.lang)
        else:
            codes = endpoint_jurisdictions(row.endpoint)
            jur = ", ".join(_jurisdiction(c, view.lang) for c in codes) or t(
                "not_attributed", view.lang
            )
        refs = tuple((r.title, safe_url(r.url)) for r in row.finding.references)
        items.append(FindingItem(f"f-{i}", row, a, jur, refs))
    return items


def _environment() -> jinja2.Environment:
    def finalize(value: Any) -> Any:
        # Runs on every {{ }} before autoescape: no None printed, control characters made visible.
        if value is None:
            return ""
        if isinstance(value, markupsafe.Markup):
            return value  # only our own script, marked safe in the template
        if isinstance(value, str):
            return visible(value)
        return value

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sovaudit.report", "templates"),
        autoescape=True,
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


_ENV: jinja2.Environment | None = None


def render_html(view: ReportView) -> str:
    """The whole HTML report for a prepared view (see ``summary.build_view``)."""
    global _ENV
    if _ENV is None:
        _ENV = _environment()
    lang = view.lang
    charts = (
        _chart(
            "chart-jurisdiction",
            t("by_jurisdiction", lang),
            [(_jurisdiction(j, lang), n, None) for j, n in view.jurisdiction_counts],
            t("endpoints", lang),
            None,
        ),
        _chart(
            "chart-data-class",
            t("by_data_class", lang),
            [
                (data_class_label(c.data_class, lang), c.services, c.us_controlled)
                for c in view.class_figures
            ],
            t("services", lang),
            t("us_controlled", lang),
        ),
        _chart(
            "chart-organization",
            t("by_organization", lang),
            [
                (o.organization_name or o.organization, o.endpoints, o.foreign_controlled)
                for o in view.organization_figures
            ],
            t("endpoints", lang),
            t("foreign_controlled", lang),
            t("chart_top", lang, n=MAX_BARS, total=len(view.organization_figures)),
        ),
    )
    findings = _finding_items(view)
    by_endpoint: dict[int, list[FindingItem]] = {}
    for item in findings:
        by_endpoint.setdefault(id(item.row.endpoint), []).append(item)
    template = _ENV.get_template("report.html.j2")
    text = template.render(
        view=view,
        scan=view.scan,
        lang=lang,
        t=lambda key, **kw: t(key, lang, **kw),
        sev=lambda s: severity_label(s, lang),
        dc=lambda c: data_class_label(c, lang),
        st=lambda s: status_label(s, lang),
        jur=lambda c: _jurisdiction(c, lang),
        endpoint_jurisdictions=endpoint_jurisdictions,
        key_figures=[
            control_sentence(c.us_controlled, c.services, c.data_class, lang)
            for c in view.class_figures
        ],
        charts=charts,
        findings=findings,
        by_endpoint=by_endpoint,
        id=id,
        now=iso(view.now),
        csp=CSP,
        script=SCRIPT,
        total_accepted=sum(acc for _, _, acc in view.severity_counts),
    )
    return text
