#!/usr/bin/env python3
"""Regenerate the example reports in reports/ from the offline demo (run after any change that
alters them; tests/test_reports_up_to_date.py fails until you do)."""

from __future__ import annotations

from pathlib import Path

from sovaudit.demo.run import render_demo_reports

REPORTS = Path(__file__).resolve().parent.parent / "reports"


def main() -> None:
    REPORTS.mkdir(exist_ok=True)
    for name, text in render_demo_reports().items():
        (REPORTS / name).write_text(text, encoding="utf-8")
        print(f"wrote reports/{name}")


if __name__ == "__main__":
    main()
