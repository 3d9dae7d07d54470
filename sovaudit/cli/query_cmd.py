"""``sovaudit export`` (evidence as Parquet tables) and ``sovaudit query`` (SQL over them)."""

from __future__ import annotations

import csv
import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sovaudit.cli.app import app
from sovaudit.cli.common import err_console, out_console, safe
from sovaudit.errors import UserError
from sovaudit.evidence.parquet import TABLES, is_parquet_evidence, query, write_parquet
from sovaudit.evidence.read import read_evidence
from sovaudit.report.escape import csv_cell

QUERY_FORMATS = ("table", "csv", "json")
# Rows printed as a terminal table at most; csv and json print them all.
MAX_TABLE_ROWS = 1_000


@app.command("export")
def export(
    evidence: Annotated[Path, typer.Argument(help="Evidence file (JSON or JSON Lines).")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the Parquet tables (created).")
    ],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not list the files.")] = False,
) -> None:
    """Write the evidence as normalized Parquet tables, for DuckDB, Spark or pandas.

    Tables: scan, endpoints, records, attributions (each distinct one once),
    endpoint_attributions, findings, rules (each rule text once); see docs/schema.md.
    Needs pip install 'sovaudit[parquet]'.

    Example: sovaudit export scan.json -o scan-parquet/
    """
    written = write_parquet(read_evidence(evidence), output)
    if not quiet:
        for path in written:
            err_console.print(f"wrote {safe(path)}")


@app.command("query")
def query_command(
    evidence: Annotated[
        Path,
        typer.Argument(help="Parquet folder from 'sovaudit export', or a JSON / JSON Lines file."),
    ],
    sql: Annotated[str, typer.Argument(help=f"SQL over the tables: {', '.join(TABLES)}.")],
    fmt: Annotated[
        str, typer.Option("--format", "-f", metavar="table|csv|json", help="Output format.")
    ] = "table",
) -> None:
    """Ask the evidence your own question in SQL (DuckDB), without loading it whole in Python.

    Example: sovaudit query scan-parquet/ "SELECT a.jurisdiction, count(*) FROM findings f
    JOIN attributions a USING (attribution_id) GROUP BY 1 ORDER BY 2 DESC"
    """
    if fmt not in QUERY_FORMATS:
        raise UserError(f"--format: {fmt!r} is not one of {', '.join(QUERY_FORMATS)}")
    if is_parquet_evidence(evidence):
        names, rows = query(evidence, sql)
    else:
        with tempfile.TemporaryDirectory(prefix="sovaudit-query-") as tmp:
            write_parquet(read_evidence(evidence), Path(tmp))
            names, rows = query(Path(tmp), sql)
    if fmt == "csv":
        # Evidence holds hostile DNS text: formulas neutralized as in the CSV report.
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([csv_cell(n) for n in names])
        writer.writerows([[csv_cell(_cell(v)) for v in row] for row in rows])
    elif fmt == "json":
        # ensure_ascii: control and bidi characters from DNS text reach the terminal escaped.
        typer.echo(
            json.dumps([dict(zip(names, r, strict=True)) for r in rows], default=str, indent=2)
        )
    else:
        table = Table(*names)
        for row in rows[:MAX_TABLE_ROWS]:
            table.add_row(*(safe(_cell(v)) for v in row))
        out_console.print(table)
        if len(rows) > MAX_TABLE_ROWS:
            err_console.print(f"{len(rows) - MAX_TABLE_ROWS} more rows: use --format csv")


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
