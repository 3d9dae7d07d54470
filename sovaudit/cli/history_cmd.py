"""``sovaudit history``: the share of endpoints under foreign (and US) control, scan after scan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sovaudit.cli.app import app
from sovaudit.cli.common import out_console, safe
from sovaudit.evidence.history import series


@app.command("history")
def history_cmd(
    database: Annotated[Path, typer.Argument(help="History database written by scan --history.")],
    org: Annotated[str | None, typer.Option("--org", help="Only this organization id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """Print the share of endpoints under foreign (and US) control over time.

    Example: sovaudit history history.sqlite --org ramq
    """
    points = series(database, org)
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "generated_at": p.generated_at,
                        "endpoints": p.endpoints,
                        "attributed": p.attributed,
                        "foreign_controlled": p.foreign_controlled,
                        "us_controlled": p.us_controlled,
                    }
                    for p in points
                ],
                indent=2,
            )
        )
        return
    table = Table(title=f"Foreign control over time{f' ({safe(org)})' if org else ''}")
    for col in ("scan", "endpoints", "attributed", "foreign", "US", "foreign %", "US %"):
        table.add_column(col, justify="left" if col == "scan" else "right")
    for p in points:
        table.add_row(
            safe(p.generated_at),
            str(p.endpoints),
            str(p.attributed),
            str(p.foreign_controlled),
            str(p.us_controlled),
            f"{p.foreign_share:.0%}",
            f"{p.us_share:.0%}",
        )
    out_console.print(table)
