"""``sovaudit report``: re-render a saved evidence file offline, in any format and language."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from sovaudit.cli.app import app
from sovaudit.cli.common import FormatsOption, LangOption, err_console, safe
from sovaudit.cli.scan_cmd import output_plan, write_outputs
from sovaudit.errors import EvidenceError, UserError
from sovaudit.evidence.history import series
from sovaudit.evidence.read import read_evidence
from sovaudit.i18n import check_lang, detect_lang
from sovaudit.report import render, write_reports
from sovaudit.report.summary import only_organization


def scan_time(generated_at: str, evidence: Path) -> datetime:
    """The scan's own timestamp, used as the report's ``now`` so re-rendering is identical."""
    try:
        when = datetime.fromisoformat(generated_at)
    except ValueError:
        raise EvidenceError(
            f"generated_at is not an ISO 8601 timestamp: {generated_at!r}", path=str(evidence)
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@app.command()
def report(
    evidence: Annotated[
        Path, typer.Argument(help="Evidence file written by 'sovaudit scan' (JSON).")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Report file (format from its extension) or directory."
        ),
    ] = None,
    formats: FormatsOption = None,
    lang: LangOption = None,
    inventory: Annotated[
        Path | None,
        typer.Option(help="Inventory file SARIF points at for endpoints with no source line."),
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            help="History database (from 'scan --history'): adds a chart (HTML) and a table "
            "(Markdown) of the foreign and US shares over time."
        ),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not list the files written.")
    ] = False,
    org: Annotated[
        str | None,
        typer.Option("--org", help="Only this organization (inventory id): its own report."),
    ] = None,
) -> None:
    """Render EVIDENCE again, offline: same evidence and language give the same bytes as 'scan'.

    Example: sovaudit report out/report.json -o out/report.fr.html --lang fr --org ramq
    """
    language = check_lang(lang) if lang is not None else detect_lang()
    formats_, out = output_plan(output, formats)
    if out is not None and out.resolve() == evidence.resolve():
        raise UserError("refusing to overwrite the evidence file itself", path=str(out))
    scan = read_evidence(evidence)
    now = scan_time(scan.generated_at, evidence)
    if org is not None:
        scan = only_organization(scan, org)
    if history is None:
        written = write_outputs(
            scan, formats_, out, lang=language, now=now, inventory_path=inventory
        )
    else:
        points = series(history, org)
        if out is None:
            from sovaudit.report.escape import for_stdout

            text = render(scan, formats_[0], lang=language, now=now, history=points)
            sys.stdout.write(for_stdout(text, formats_[0]))
            sys.stdout.flush()
            written = []
        else:
            written = write_reports(
                scan, formats_, out, lang=language, now=now, inventory_path=inventory,
                history=points,
            )
    if not quiet:
        for path in written:
            err_console.print(f"wrote {safe(path)}")
