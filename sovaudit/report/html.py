"""Self-contained HTML report: one file, inline CSS and SVG, no network, readable without scripts.

Safety rests on three layers: Jinja2 autoescaping of every value (control characters made visible
first by the ``finalize`` hook), external links only from vetted http(s) rule references and our
own dataset credits, and a Content-Security-Policy that forbids every fetch and allows only our
own inline script by hash.

Size: each rule's text is printed once, each finding is one table row (optional end tags left
out), each endpoint's evidence once with shared control chains and a numbered source list; caps
keep 10,000 endpoints under 5 MB and say what they leave to the JSON evidence.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

import jinja2
import markupsafe

from sovaudit.attribute.engine import LEVEL_TITLE, level_label
from sovaudit.evaluate.home import GROUPS, jurisdiction_group
from sovaudit.i18n import (
    LAYER_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    STEP_LABELS,
    colon,
    data_class_label,
    jurisdiction_label,
    lang_name,
    layer_label,
    role_label,
    severity_label,
    status_label,
    step_label,
    t,
)
from sovaudit.models import Severity
from sovaudit.report.escape import safe_url, visible
from sovaudit.report.phrases import flag_label
from sovaudit.report.summary import (
    CREDITS,
    UNKNOWN,
    EvidenceIndex,
    ReportView,
    control_name,
    control_sentence,
    decimal,
    display_records,
    endpoint_evidence,
    endpoint_jurisdictions,
    group_label,
    iso,
    most_exposed,
    organization_cards,
    scope_fields,
    split_control,
    uses_ip_asn_table,
    web_summary,
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
LABEL_WIDTH = 200
PLOT_WIDTH = 240
VALUE_WIDTH = 80
# Characters of a bar label that fit LABEL_WIDTH at 13 px (wide glyphs ~7.5 px); longer ones
# are cut with an ellipsis (the full label is in the chart's data table and its <title>).
LABEL_CHARS = 24


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    total: int
    part: int | None
    y: int
    width: int
    part_width: int
    group: str = ""  # jurisdiction group: the bar's colour class (g-home, g-us...)


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
    groups: list[str] | None = None,
) -> Chart:
    top = max((total for _, total, _ in rows), default=0) or 1
    drawn = rows
    group_of = dict(zip((r[0] for r in rows), groups or (), strict=False))
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
            group=group_of.get(label, ""),
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


# Caps that keep the HTML for 10,000 endpoints under 5 MB; the JSON, CSV and SARIF reports
# always hold every finding and every endpoint.
MAX_ENDPOINT_ROWS = 3000
MAX_EVIDENCE_ENDPOINTS = 500
MAX_LIST_ITEMS = 200
MAX_CARDS = 200
MAX_EXPOSURE_ROWS = 4000
MAX_GOOD_ROWS = 1000


# History chart geometry (SVG user units).
H_WIDTH, H_HEIGHT = 640, 260
H_LEFT, H_RIGHT, H_TOP, H_BOTTOM = 48, 16, 12, 40


@dataclass(frozen=True, slots=True)
class HistoryChart:
    foreign: str  # polyline points
    us: str
    dots: tuple[tuple[float, float, float], ...]  # (x, y foreign, y us)
    grid: tuple[tuple[int, float], ...]  # (percent, y)
    first: str
    last: str
    desc: str
    width: int
    height: int
    left: int
    right: int  # x of the right edge of the plot
    bottom: float  # y of the x axis


def _history_chart(view: ReportView) -> HistoryChart | None:
    rows = view.history
    if not rows:
        return None
    plot_w = H_WIDTH - H_LEFT - H_RIGHT
    plot_h = H_HEIGHT - H_TOP - H_BOTTOM
    step = plot_w / (len(rows) - 1) if len(rows) > 1 else 0.0

    def x(i: int) -> float:
        return round(H_LEFT + (i * step if len(rows) > 1 else plot_w / 2), 1)

    def y(pct: float) -> float:
        return round(H_TOP + plot_h * (1 - pct / 100), 1)

    def pct(v: float) -> str:
        return decimal(v, view.lang)

    dots = tuple((x(i), y(r.foreign_pct), y(r.us_pct)) for i, r in enumerate(rows))
    desc = t(
        "history_desc", view.lang, n=len(rows), first=rows[0].generated_at,
        last=rows[-1].generated_at, f0=pct(rows[0].foreign_pct), f1=pct(rows[-1].foreign_pct),
        u0=pct(rows[0].us_pct), u1=pct(rows[-1].us_pct),
    )
    return HistoryChart(
        foreign=" ".join(f"{dx},{fy}" for dx, fy, _ in dots),
        us=" ".join(f"{dx},{uy}" for dx, _, uy in dots),
        dots=dots if len(dots) <= 60 else (),  # beyond that, dots only add noise and bytes
        grid=tuple((p, y(p)) for p in (0, 25, 50, 75, 100)),
        first=rows[0].generated_at,
        last=rows[-1].generated_at,
        desc=desc,
        width=H_WIDTH,
        height=H_HEIGHT,
        left=H_LEFT,
        right=H_WIDTH - H_RIGHT,
        bottom=y(0),
    )


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
            groups=[jurisdiction_group(view.home, j) for j, _ in view.jurisdiction_counts],
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
    providers = _chart(
        "chart-providers",
        t("parents_ranking", lang),
        [(p.name, p.services, None) for p in view.parents],
        t("services", lang),
        None,
        t("chart_top", lang, n=MAX_BARS, total=len(view.parents)),
        groups=[p.group for p in view.parents],
    )
    cards = organization_cards(view)
    evidence = endpoint_evidence(view, MAX_EVIDENCE_ENDPOINTS)
    index = EvidenceIndex.build(evidence)
    rule_anchors = {r.rule_id: r.anchor for r in view.rules}
    new = view.new_findings
    template = _ENV.get_template("report.html.j2")
    from sovaudit.report.auditsettings import audit_settings_lines

    text = template.render(
        view=view,
        scan=view.scan,
        lang=lang,
        audit_settings=audit_settings_lines(view.scan, lang),
        t=lambda key, **kw: t(key, lang, **kw),
        sev=lambda s: severity_label(s, lang),
        dc=lambda c: data_class_label(c, lang),
        st=lambda s: status_label(s, lang),
        # Labels looked up once: the big tables would otherwise call a function per cell.
        sevl={v.value: severity_label(v.value, lang) for v in Severity},
        stl={k: status_label(k, lang) for k in STATUS_LABELS},
        stepl={k: step_label(k, lang) for k in (*ROLE_LABELS, *STEP_LABELS)},
        layl={k: layer_label(k, lang) for k in LAYER_LABELS},
        rolel={k: role_label(k, lang) for k in ROLE_LABELS},
        # Rule ids come from the evidence file: joined here as plain text, escaped by Jinja2.
        rule_text_note=t(
            "rule_text_note", lang, scan_lang=lang_name(view.scan_lang, lang),
            rules=", ".join(view.untranslated_rules),
        ),
        lbl_accepted=t("accepted", lang),
        lbl_control=t("control_chain", lang),
        lbl_triggered=t("triggered", lang),
        jur=lambda c: _jurisdiction(c, lang),
        split=split_control,
        records=display_records,
        web=web_summary,
        control_name=control_name,
        level=lambda a: level_label(a, lang),
        lbl_level=LEVEL_TITLE[lang],
        endpoint_jurisdictions=endpoint_jurisdictions,
        key_figures=[
            control_sentence(c.us_controlled, c.services, c.data_class, lang, c.unattributed)
            for c in view.class_figures
        ],
        charts=charts,
        providers_chart=providers,
        cards=cards[:MAX_CARDS],
        hidden_cards=max(len(cards) - MAX_CARDS, 0),
        org_ids={c.figure.organization: c.anchor for c in cards[:MAX_CARDS]},
        x_group=lambda j: jurisdiction_group(view.home, j or None),
        groups=[(g, group_label(g, view)) for g in GROUPS],
        groupl={g: group_label(g, view) for g in GROUPS},
        exposures=view.exposures[:MAX_EXPOSURE_ROWS],
        hidden_exposures=max(len(view.exposures) - MAX_EXPOSURE_ROWS, 0),
        good_outcomes=view.good_outcomes[:MAX_GOOD_ROWS],
        hidden_good=max(len(view.good_outcomes) - MAX_GOOD_ROWS, 0),
        new_exposures=view.new_exposures[:MAX_LIST_ITEMS],
        hidden_new_exposures=max(len(view.new_exposures) - MAX_LIST_ITEMS, 0),
        scope=scope_fields(view),
        most_exposed=most_exposed(view),
        home_label=", ".join(_jurisdiction(c, lang) for c in sorted(view.home.countries)[:3]),
        label_chars=LABEL_CHARS,
        punct_colon=colon(lang).rstrip(),
        flagl=lambda f: flag_label(f, lang),
        dec=lambda v, d=1: decimal(v, lang, d),
        rule_anchors=rule_anchors,
        endpoint_rows=view.scan.endpoints[:MAX_ENDPOINT_ROWS],
        hidden_endpoint_rows=max(len(view.scan.endpoints) - MAX_ENDPOINT_ROWS, 0),
        evidence=evidence,
        hidden_evidence=len(view.scan.endpoints) - len(evidence),
        hosts={ev.index: ev.endpoint.host for ev in evidence},
        index=index,
        new=new[:MAX_LIST_ITEMS],
        hidden_new=max(len(new) - MAX_LIST_ITEMS, 0),
        resolved=view.baseline.resolved[:MAX_LIST_ITEMS] if view.baseline else (),
        hidden_resolved=(
            max(len(view.baseline.resolved) - MAX_LIST_ITEMS, 0) if view.baseline else 0
        ),
        history=_history_chart(view),
        credits=CREDITS if uses_ip_asn_table(view.scan) else (),
        safe_url=safe_url,
        now=iso(view.now),
        csp=CSP,
        script=SCRIPT,
        total_accepted=sum(acc for _, _, acc in view.severity_counts),
    )
    return text
