"""Report size: a 10,000-endpoint scan stays readable and within the limits of its readers.

HTML under 5 MB (issue 8); Markdown under GitHub's 1 MiB job-summary limit, with a line that
says what was left out. Time is measured by benchmarks/, not asserted here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sovaudit.evidence.read import read_evidence
from sovaudit.models import Endpoint, EvidenceStep, Scan
from sovaudit.report import render

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
REPORTS = Path(__file__).parent.parent / "reports"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def _renamed(steps: tuple[EvidenceStep, ...], old: str, new: str) -> tuple[EvidenceStep, ...]:
    return tuple(replace(s, value=s.value.replace(old, new)) for s in steps)


def replicate(scan: Scan, n: int) -> Scan:
    """``n`` endpoints: the sample's, copied with distinct hosts (and 200 organizations)."""
    out: list[Endpoint] = []
    copy = 0
    while len(out) < n:
        for e in scan.endpoints[: n - len(out)]:
            host = f"h{copy:05d}-{e.host}"
            out.append(replace(
                e,
                host=host,
                organization=f"{e.organization}-{copy % 200:03d}",
                records=tuple(replace(r, name=r.name.replace(e.host, host)) for r in e.records),
                attributions=tuple(replace(a, evidence=_renamed(a.evidence, e.host, host))
                                   for a in e.attributions),
                findings=tuple(replace(f, evidence=_renamed(f.evidence, e.host, host))
                               for f in e.findings),
            ))
        copy += 1
    return replace(scan, endpoints=tuple(out))


@pytest.fixture(scope="module")
def big() -> Scan:
    return replicate(read_evidence(SAMPLE), 10_000)


def test_html_for_10k_endpoints_is_under_5_mb(big: Scan) -> None:
    html = render(big, "html", lang="fr", now=NOW)
    assert len(html.encode("utf-8")) < 5_000_000
    # Every exposure is counted; the tables and the evidence say what they leave to the JSON.
    assert re.search(r"<td class=\"num\">\d{4,}</td></tr></tfoot>", html)
    assert re.search(r"\d+ autres expositions \(les moins graves\)", html)
    assert "9500 autres points d&#39;accès\u202f: voir le fichier de preuves JSON." in html
    # No in-page link points at evidence that was left out.
    targets = set(re.findall(r'href="#([^"]+)"', html))
    ids = set(re.findall(r' id="([^"]+)"', html))
    assert targets <= ids


def test_markdown_for_10k_endpoints_fits_a_job_summary(big: Scan) -> None:
    md = render(big, "md", lang="en", now=NOW)
    assert len(md.encode("utf-8")) < 1024 * 1024
    assert md.count("<details>") == 50
    assert "_9950 more endpoints: see the HTML or JSON report._" in md
    more = r"_\d+ more exposures \(least severe\): see the HTML, CSV or JSON report\._"
    assert re.search(more, md)
    # The capped evidence keeps the most severe endpoints.
    assert "<summary>h00000-portail.santequebec.ca" in md


@pytest.mark.parametrize("name", ["demo.en.md", "demo.fr.md"])
def test_demo_markdown_is_well_under_100_kb(name: str) -> None:
    assert len((REPORTS / name).read_bytes()) < 100_000
