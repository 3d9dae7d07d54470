"""``sovaudit data``: show and update the offline datasets (the IP -> ASN table)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

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
    user_table_dir,
)
from sovaudit.cli.app import app
from sovaudit.cli.common import err_console, out_console, safe

data_app = typer.Typer(
    name="data",
    help="Show or update the offline datasets (IP -> ASN table) / Jeux de données hors ligne.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


def dataset_rows() -> list[dict[str, Any]]:
    """One dict per dataset in use: the fields of ``Dataset`` plus rows and file."""
    table = AsnTable.default()
    user = user_table_dir()
    row: dict[str, Any] = {
        "name": table.dataset.name,
        "version": table.dataset.version,
        "date": table.dataset.date,
        "source": table.dataset.source,
        "licence": table.dataset.licence,
        "rows": {"ipv4": table.rows(4), "ipv6": table.rows(6)},
        "file": str(table.directory),
        "origin": "user" if user is not None and user == table.directory else "package",
        "published": str(table.metadata.get("published", "")),
    }
    return [row]


@data_app.command("info")
def info(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the datasets in use: name, version, date, source, licence, rows, file.

    Example: sovaudit data info --json
    """
    rows = dataset_rows()
    if as_json:
        # Plain print: JSON must reach stdout byte for byte, without Rich wrapping.
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    # One field per line: sources and paths are too long for a column each in 80 characters.
    for row in rows:
        table = Table(title="Dataset in use / Jeu de données utilisé", show_header=False)
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        for key in ("name", "version", "date", "source", "licence"):
            table.add_row(key, safe(row[key]))
        table.add_row("rows", f"{row['rows']['ipv4']} IPv4 + {row['rows']['ipv6']} IPv6")
        table.add_row("file", safe(f"{row['file']} ({row['origin']})"))
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
