"""``sovaudit merge``: join the evidence files of a sharded scan into one, as a full scan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sovaudit.cli.app import app
from sovaudit.cli.common import FormatsOption, err_console, parse_severity, safe, warn
from sovaudit.cli.report_cmd import scan_time
from sovaudit.cli.scan_cmd import exit_code, output_plan, write_outputs
from sovaudit.evidence.baseline import load_scan
from sovaudit.evidence.merge import EvidencePart, merge_scans
from sovaudit.i18n import check_lang


@app.command("merge")
def merge(
    evidence: Annotated[
        list[Path], typer.Argument(help="Evidence files of 'sovaudit scan --shard K/N' (JSON).")
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Merged file (format from its extension) or directory; default: JSON on stdout.",
        ),
    ] = None,
    formats: FormatsOption = None,
    lang: Annotated[
        str | None,
        typer.Option(help="Language of md/html reports: fr or en (default: the scans' language)."),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(help="Exit 1 when a merged finding is at or above this severity."),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Exit 3 when any merged endpoint is unknown.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Do not list the files written.")
    ] = False,
) -> None:
    """Merge the evidence of every shard into what one full scan would have written.

    The files must come from one inventory, be shards K/N of one N, and have used the same
    dataset versions; a missing shard is a warning, anything else is refused (exit 2).

    Example: sovaudit merge shard-*.json -o all.json --fail-on high
    """
    if output is None and not formats:
        formats = ["json"]  # a merge is evidence first; reports come from 'sovaudit report'
    formats_, out = output_plan(output, formats)
    threshold = parse_severity(fail_on, "--fail-on")
    parts = [EvidencePart(str(path), load_scan(path)) for path in evidence]
    result = merge_scans(parts)
    for message in result.warnings:
        warn(message)
    language = check_lang(lang) if lang else str(result.scan.options.get("lang") or "en")
    written = write_outputs(
        result.scan,
        formats_,
        out,
        lang=language,
        now=scan_time(result.scan.generated_at, Path(parts[0].name)),
        # SARIF points at the inventory when it is still where the scans read it.
        inventory_path=Path(result.scan.inventory)
        if Path(result.scan.inventory).is_file()
        else None,
    )
    if not quiet:
        err_console.print(
            f"merged {len(parts)} files: {len(result.scan.endpoints)} endpoints"
            + (" (partial)" if result.scan.partial else "")
        )
        for path in written:
            err_console.print(f"wrote {safe(path)}")
    # The gate a sharded CI run needs: the same exit codes as one full 'sovaudit scan'.
    raise typer.Exit(exit_code(result.scan, threshold, None, strict))
