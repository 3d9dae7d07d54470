"""CI information in the reports: new and resolved findings against a baseline, history chart."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from sovaudit.evidence import history
from sovaudit.evidence.read import read_evidence
from sovaudit.models import Scan
from sovaudit.report import render, write_reports

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
RESOLVED = [
    {"organization": "sante-qc", "service": "vieux", "host": "vieux.santequebec.ca",
     "layer": "web", "rule_id": "US-CLOUD-ACT-HOSTING", "severity": "critical",
     "title": "Hosting under US control (CLOUD Act)"},
    {"organization": "ville-exemple", "service": "<script>alert(1)</script>",
     "host": "old.ville-exemple.qc.ca", "layer": "web", "rule_id": "SOV-FOREIGN-HQ",
     "severity": "low", "title": "[x](javascript:alert(1)) <img src=x onerror=alert(1)>"},
]


def with_baseline(resolved: Any = RESOLVED) -> Scan:
    scan = read_evidence(SAMPLE)
    baseline = {"file": "previous/report.json", "generated_at": "2026-11-18T12:00:00Z",
                "resolved": resolved}
    return replace(scan, options={**scan.options, "baseline": baseline})


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def page(html: str) -> Page:
    p = Page()
    p.feed(html)
    p.close()
    return p


def section(text: str, start: str, end: str) -> str:
    i = text.index(start)
    return text[i:text.index(end, i + len(start))]


def test_markdown_new_and_resolved() -> None:
    md = render(with_baseline(), "md", lang="en", now=NOW)
    # The new findings come first, right under the headline, where a CI reviewer looks.
    assert md.index("## New since the baseline") < md.index("## Key figures")
    new = section(md, "## New since the baseline", "## Key figures")
    # Counted in exposures (endpoint, controlling party) with a new finding, not in findings.
    assert ("3 exposure(s) with a finding new since the baseline `previous/report.json` "
            "(`2026-11-18T12:00:00Z`); 2 finding(s) of the baseline are gone.") in new
    items = [line for line in new.splitlines() if line.startswith("- ")]
    assert items[0] == ("- Critical · `santequebec.ca` (Santé Québec, Email) · Microsoft "
                        "Corporation · `US-CLOUD-ACT-MAIL`, `US-NSL-METADATA`")
    assert len(items) == 3
    resolved = section(md, "## Resolved since the baseline", "## Endpoints")
    assert ("| Critical | `US-CLOUD-ACT-HOSTING` | `sante-qc` | `vieux` | "
            "`vieux.santequebec.ca` | Website | Hosting under US control (CLOUD Act) |") in resolved
    # Only what Markdown would act on is escaped: the link brackets and the tag opener.
    assert "\\[x\\](javascript:alert(1)) \\<img src=x" in resolved
    assert "**Critical** · Findings: 1; accepted: 0; new: 1" in md


def test_markdown_french_and_nothing_new() -> None:
    scan = with_baseline([])
    endpoints = tuple(
        replace(e, findings=tuple(replace(f, status="unchanged") for f in e.findings))
        for e in scan.endpoints
    )
    md = render(replace(scan, endpoints=endpoints), "md", lang="fr", now=NOW)
    assert "## Nouveau depuis la référence" in md
    assert "Aucune nouvelle exposition depuis la référence." in md
    assert "## Résolus depuis la référence" in md
    assert "Aucun constat de la référence n'a été résolu." in md
    assert "(nouveau)" not in md  # nothing new: no exposure carries the badge


def test_html_new_and_resolved_sections() -> None:
    html = render(with_baseline(), "html", lang="en", now=NOW)
    p = page(html)
    ids = {a["id"] for _, a in p.tags if a.get("id")}
    assert {"new-since-baseline", "resolved"} <= ids
    new = section(html, 'id="new-since-baseline"', "</section>")
    assert new.count("<li>") == 3  # exposures with a new finding
    # Each new exposure links to its endpoint's evidence.
    links = re.findall(r'href="#([^"]+)"', new)
    assert links[0].startswith("e-") and set(links) <= ids
    resolved = section(html, 'id="resolved"', "</section>")
    assert resolved.count("<tr><td>") == 2
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in resolved
    assert "<script>alert" not in resolved and "<img" not in resolved
    assert '<span class="badge badge-new">new</span>' in html
    assert '<span class="badge badge-old">unchanged</span>' in html


@pytest.mark.parametrize("junk", ["not a list", [1, "x", None], [{"rule_id": 5}]])
def test_malformed_baseline_options_do_not_break_reports(junk: Any) -> None:
    scan = with_baseline(junk)
    for fmt in ("md", "html"):
        text = render(scan, fmt, lang="fr", now=NOW)
        assert "Résolus depuis la référence" in text


def test_no_baseline_no_ci_sections() -> None:
    scan = read_evidence(SAMPLE)
    md = render(scan, "md", lang="en", now=NOW)
    html = render(scan, "html", lang="en", now=NOW)
    for text in (md, html):
        assert "New since the baseline" not in text and "Resolved since" not in text
    assert "; new:" not in md


def _history(tmp_path: Path) -> list[history.HistoryPoint]:
    db = tmp_path / "history.sqlite"
    scan = read_evidence(SAMPLE)
    # Three scans a week apart: the later ones lose the Azure portal (US) endpoint.
    history.append(db, replace(scan, generated_at="2026-11-11T12:00:00Z"))
    fewer = tuple(e for e in scan.endpoints if e.host != "portail.santequebec.ca")
    history.append(db, replace(scan, generated_at="2026-11-18T12:00:00Z", endpoints=fewer))
    history.append(db, replace(scan, generated_at="2026-11-25T12:00:00Z", endpoints=fewer))
    return history.series(db)


def test_history_chart_in_html(tmp_path: Path) -> None:
    points = _history(tmp_path)
    assert [p.us_controlled for p in points] == [2, 1, 1]
    html = render(read_evidence(SAMPLE), "html", lang="en", now=NOW, history=points)
    fig = section(html, '<figure class="hist" aria-labelledby="chart-history-caption">',
                  "</figure>")
    assert 'role="img" aria-labelledby="chart-history-title chart-history-desc"' in fig
    desc = re.search(r'<desc id="chart-history-desc">([^<]*)</desc>', fig)
    assert desc is not None
    assert desc.group(1) == (
        "3 scans from 2026-11-11T12:00:00Z to 2026-11-25T12:00:00Z: foreign control from "
        "33.3% to 20.0%, US control from 33.3% to 20.0%."
    )
    [foreign] = re.findall(r'<polyline class="h-foreign" points="([^"]*)"', fig)
    ys = [float(pt.split(",")[1]) for pt in foreign.split()]
    assert len(ys) == 3 and ys[0] < ys[1] == ys[2]  # SVG y grows downwards: the share fell
    rows = re.findall(r"<tr><th scope=\"row\"><time>([^<]*)</time></th>"
                      r"<td class=\"num\">(\d+)</td><td class=\"num\">([\d.]+)</td>", fig)
    assert rows == [("2026-11-11T12:00:00Z", "6", "33.3"), ("2026-11-18T12:00:00Z", "5", "20.0"),
                    ("2026-11-25T12:00:00Z", "5", "20.0")]
    assert html.count("<svg") == 5  # history + providers, jurisdiction, class, organization
    assert "chart-history" not in render(read_evidence(SAMPLE), "html", lang="en", now=NOW)


def test_history_table_in_markdown_and_write_reports(tmp_path: Path) -> None:
    points = _history(tmp_path)
    written = write_reports(read_evidence(SAMPLE), ["md", "html"], tmp_path / "out",
                            lang="fr", now=NOW, history=iter(points))
    md = written[0].read_text(encoding="utf-8")
    table = section(md, "## Historique", "## Synthèse")
    assert "| Date de l'analyse | Points d'accès | Contrôle étranger (%) |" in table
    assert "| `2026-11-11T12:00:00Z` | 6 | 33,3 | 33,3 |" in table  # decimal comma
    assert "| `2026-11-25T12:00:00Z` | 5 | 20,0 | 20,0 |" in table
    # The iterator was read once and given to every format.
    assert 'id="chart-history-desc"' in written[1].read_text(encoding="utf-8")


def test_baseline_options_follow_the_schema() -> None:
    import jsonschema

    from sovaudit.evidence.read import evidence_schema

    validator = jsonschema.Draft202012Validator(evidence_schema())
    good = with_baseline().to_dict()
    assert not list(validator.iter_errors(good))
    # Other options stay free-form.
    assert not list(validator.iter_errors({**good, "options": {"anything": [1, {"x": None}]}}))
    bad = with_baseline([{"rule_id": "X"}]).to_dict()
    errors = [e.message for e in validator.iter_errors(bad)]
    assert errors and "'organization' is a required property" in errors[0]
