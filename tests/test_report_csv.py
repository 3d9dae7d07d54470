"""CSV report: one row per finding, formula injection neutralized, readable by the csv module."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovaudit.evidence.read import read_evidence
from sovaudit.report import render
from sovaudit.report.csvout import COLUMNS
from sovaudit.report.escape import csv_cell

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def rows() -> list[dict[str, str]]:
    text = render(read_evidence(SAMPLE), "csv", lang="en", now=NOW)
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_one_row_per_finding_with_the_attribution_columns() -> None:
    scan = read_evidence(SAMPLE)
    data = rows()
    assert len(data) == sum(len(e.findings) for e in scan.endpoints) == 10
    assert list(data[0]) == list(COLUMNS)
    hosting = next(r for r in data if r["rule"] == "US-CLOUD-ACT-HOSTING")
    assert hosting == hosting | {
        "organization": "sante-qc", "service": "portail", "host": "portail.santequebec.ca",
        "layer": "web", "operator": "Microsoft Azure", "parent": "Microsoft Corporation",
        "jurisdiction": "US", "severity": "critical", "accepted": "false", "status": "new",
    }
    mail = next(r for r in data if r["rule"] == "US-CLOUD-ACT-MAIL")
    assert mail["accepted"] == "true" and mail["status"] == "unchanged"
    assert [r["severity"] for r in data][:3] == ["critical"] * 3
    assert data[-1]["severity"] == "info"


def test_formula_cells_are_neutralized() -> None:
    hostile = next(r for r in rows() if r["severity"] == "low")
    assert hostile["rule"] == "'=HYPERLINK(\"http://evil\")"
    for row in rows():
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), value


@pytest.mark.parametrize(
    ("raw", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\u2409x"),
        ("\r=x", "'\u240d=x"),
        ("  =cmd", "'  =cmd"),
        ("a=b", "a=b"),
        ("\x1b[31mred", "\u241b[31mred"),
        (None, ""),
    ],
)
def test_csv_cell(raw: str | None, cell: str) -> None:
    assert csv_cell(raw) == cell


@given(st.text())
def test_no_cell_can_start_a_formula(s: str) -> None:
    cell = csv_cell(s)
    assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
    assert not any(ord(c) < 0x20 for c in cell)
