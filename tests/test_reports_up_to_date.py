"""The example reports committed under reports/ are what the code renders today."""

from __future__ import annotations

from pathlib import Path

from sovaudit.demo.run import render_demo_reports

REPORTS = Path(__file__).parent.parent / "reports"


def test_committed_demo_reports_are_up_to_date() -> None:
    rendered = render_demo_reports()
    assert sorted(rendered) == ["demo.en.html", "demo.en.md", "demo.fr.html", "demo.fr.md"]
    stale = [
        name
        for name, text in rendered.items()
        if not (REPORTS / name).exists() or (REPORTS / name).read_text(encoding="utf-8") != text
    ]
    assert not stale, f"stale: {stale}; run: python scripts/regen_reports.py"
