"""``sovaudit data``: show and update the offline datasets (the IP -> ASN table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sovaudit.attribute.asntable import (
    DOWNLOAD_TIMEOUT,
    AsnTable,
    data_dir,
    install_table,
    latest_npm_tarball,
    package_data_dir,
    reset_user_table,
)
from sovaudit.cli.app import app
from sovaudit.cli.common import err_console, out_console, safe

data_app = typer.Typer(
    name="data",
    help="Show the datasets in use, update the IP -> ASN table / Jeux de données hors ligne.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


@data_app.command("info")
def info(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print every dataset in use: the IP -> ASN table, the provider registry, the TLD table and
    the rule packs, each with name, version, date, source, licence and counts.

    Example: sovaudit data info --json
    """
    from sovaudit.cli.datasets import dataset_rows

    rows = dataset_rows()
    if as_json:
        # Plain print: JSON must reach stdout byte for byte, without Rich wrapping.
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    packs = [row for row in rows if row["kind"] == "rules"]
    # One field per line: sources and paths are too long for a column each in 80 characters.
    for row in rows:
        if row["kind"] == "rules":
            continue
        if row["kind"] == "error":
            err_console.print(f"[red]{safe(row['name'])}: unavailable[/] ({safe(row['error'])})")
            continue
        table = Table(title=safe(row["name"]), title_justify="left", show_header=False)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        for key in ("version", "date", "source", "licence"):
            table.add_row(key, safe(row[key]))
        counts = ", ".join(f"{n} {what}" for what, n in row["counts"].items())
        table.add_row("counts", safe(counts))
        origin = f" ({row['origin']})" if "origin" in row else ""
        table.add_row("file", safe(f"{row['file']}{origin}"))
        out_console.print(table)
    if packs:
        # The version of a pack is its file's hash; the files are listed under the table.
        table = Table(
            title="Rule packs / Règles (default profile)",
            title_justify="left",
            caption=safe(", ".join(row["source"] for row in packs)),
        )
        for column in ("name", "version", "date", "rules", "licence"):
            table.add_column(column, no_wrap=True)
        for row in packs:
            table.add_row(
                safe(row["name"]), safe(row["version"]), safe(row["date"]),
                str(row["counts"]["rules"]), safe(row["licence"]),
            )
        out_console.print(table)


@data_app.command("update")
def update(
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="npm tarball, CSV or TSV (optionally gzipped): a file or an http(s) URL. "
            "Default: the latest @ip-location-db/asn tarball from the npm registry.",
        ),
    ] = None,
    version: Annotated[
        str | None, typer.Option(help="Version to record (default: from the input).")
    ] = None,
    date: Annotated[
        str | None, typer.Option(help="Data date to record, YYYY-MM-DD (default: from input).")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Maximum download time in seconds.", min=1.0)
    ] = DOWNLOAD_TIMEOUT,
    reset: Annotated[
        bool, typer.Option("--reset", help="Drop the user copy and use the packaged table.")
    ] = False,
) -> None:
    """Rebuild the IP -> ASN table from a newer dataset into the user data directory.

    Example: sovaudit data update --from asn-ipv4.csv --date 2026-11-01
    """
    if reset:
        removed = reset_user_table()
        err_console.print(
            f"{'removed the user table; ' if removed else 'no user table; '}"
            f"using the packaged table in {safe(package_data_dir())}"
        )
        return
    if source is None:
        source = latest_npm_tarball(timeout=timeout)
        err_console.print(f"downloading {safe(source)}")
    err_console.print(f"reading {safe(source)} and building the table (this takes a while)...")
    directory, counts = install_table(source, version=version, date=date, timeout=timeout)
    table = AsnTable.from_files(Path(directory))
    dataset = table.dataset
    err_console.print(
        f"installed {safe(dataset.name)} {safe(dataset.version)} ({safe(dataset.date)}): "
        f"{counts['v4_rows']} IPv4 and {counts['v6_rows']} IPv6 ranges, "
        f"{counts['names']} AS names, in {safe(directory)} (data dir {safe(data_dir())})"
    )
