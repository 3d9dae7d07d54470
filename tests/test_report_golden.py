"""Golden reports: every format, both languages where the text is localized.

Regenerate after an intended change with ``SOVAUDIT_REGEN=1 pytest tests/test_report_golden.py``
and review the diff like code.
"""

from __future__ import annotations

import os
import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sovaudit.evidence.read import read_evidence
from sovaudit.report import FORMATS, render

DATA = Path(__file__).parent / "data"
SAMPLE = DATA / "evidence" / "sample.json"
GOLDEN = DATA / "golden"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
REGEN = os.environ.get("SOVAUDIT_REGEN") == "1"

CASES = [
    ("md", "en"),
    ("md", "fr"),
    ("html", "en"),
    ("html", "fr"),
    ("json", "en"),
    ("csv", "en"),
    ("csv", "fr"),
    ("sarif", "en"),
    ("sarif", "fr"),
]


def golden_name(fmt: str, lang: str) -> str:
    # JSON evidence carries no localized text of ours: one golden for both languages.
    return "report.json" if fmt == "json" else f"report.{lang}.{fmt}"


@pytest.mark.parametrize(("fmt", "lang"), CASES)
def test_golden(fmt: str, lang: str) -> None:
    text = render(read_evidence(SAMPLE), fmt, lang=lang, now=NOW)
    path = GOLDEN / golden_name(fmt, lang)
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
    assert path.exists(), f"missing golden {path.name}; run with SOVAUDIT_REGEN=1"
    assert text == path.read_bytes().decode("utf-8"), f"{path.name} differs"


def test_every_format_has_a_golden() -> None:
    assert {fmt for fmt, _ in CASES} == set(FORMATS)


@pytest.mark.parametrize("fmt", FORMATS)
def test_order_of_input_does_not_matter(fmt: str) -> None:
    """Endpoints and findings stored in any order render byte-identically."""
    scan = read_evidence(SAMPLE)
    rng = random.Random(7)
    endpoints = [replace(e, findings=tuple(rng.sample(e.findings, len(e.findings))))
                 for e in scan.endpoints]
    rng.shuffle(endpoints)
    shuffled = replace(scan, endpoints=tuple(endpoints))
    assert shuffled.endpoints != scan.endpoints
    assert render(shuffled, fmt, lang="fr", now=NOW) == render(scan, fmt, lang="fr", now=NOW)
