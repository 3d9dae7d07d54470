"""``sovaudit job-summary``: the short Markdown a CI run shows on its page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from sovaudit.cli.app import app
from sovaudit.cli.common import LangOption


@app.command("job-summary")
def job_summary(
    evidence: Annotated[
        Path, typer.Argument(help="Evidence file written by 'sovaudit scan' (JSON or JSON Lines).")
    ],
    lang: LangOption = None,
) -> None:
    """Print a CI job summary of EVIDENCE in Markdown: headline, exposures, new since baseline.

    Made for GitHub Actions' job summary (the action runs it for you):

    Example: sovaudit job-summary out/report.json >> "$GITHUB_STEP_SUMMARY"
    """
    from sovaudit.cli.messages import set_cli_lang
    from sovaudit.cli.report_cmd import scan_time
    from sovaudit.evidence.baseline import load_scan
    from sovaudit.i18n import check_lang
    from sovaudit.report.jobsummary import render_job_summary
    from sovaudit.report.summary import build_view

    scan = load_scan(evidence)
    language = check_lang(lang) if lang else str(scan.options.get("lang") or "en")
    set_cli_lang(language)
    view = build_view(scan, lang=language, now=scan_time(scan.generated_at, evidence))
    sys.stdout.write(render_job_summary(view))
