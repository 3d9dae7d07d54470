"""``sovaudit demo``: the whole job offline, on fictional bodies served by a loopback nameserver."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from sovaudit.cli.app import app
from sovaudit.cli.common import LangOption, err_console, safe
from sovaudit.cli.scan_cmd import output_plan, summary_line, write_outputs
from sovaudit.demo.run import run_demo
from sovaudit.i18n import check_lang, detect_lang


@app.command()
def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory (or file) for the reports.")
    ] = Path("sovaudit-demo"),
    formats: Annotated[
        list[str] | None,
        typer.Option("--format", "-f", help="Formats to write (default: json, md and html)."),
    ] = None,
    lang: LangOption = None,
) -> None:
    """Run a full scan offline: a loopback nameserver serves fictional .example zones.

    Example: sovaudit demo -o demo-report/ --lang fr
    """
    language = check_lang(lang) if lang else detect_lang()
    formats_, out = output_plan(output, formats or ["json", "md", "html"])
    now = datetime.now(UTC)
    result = run_demo(now=now)
    written = write_outputs(result, formats_, out, lang=language, now=now, inventory_path=None)
    err_console.print(safe(summary_line(result)))
    for path in written:
        err_console.print(f"wrote {safe(path)}")
