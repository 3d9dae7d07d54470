"""``sovaudit data``: show and update the offline datasets (IP -> ASN and ASN -> country tables)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from sovaudit.attribute.asncountry import (
    AsnCountryTable,
    install_country_table,
    latest_country_tarball,
    reset_user_country_table,
)
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
from sovaudit.errors import UserError

data_app = typer.Typer(
    name="data",
    help="Show or update the offline datasets (IP -> ASN, ASN -> country) / Jeux de données "
    "hors ligne.",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


def coverage_row(live: bool) -> dict[str, Any] | None:
    """The coverage figures: committed (data/coverage.json) or, with ``live``, recomputed."""
    from sovaudit.attribute.coverage import RANKING_FILE, compute_coverage, load_committed

    if live:
        from sovaudit.attribute.registry import default_registry

        figures: dict[str, Any] | None = compute_coverage(
            AsnTable.default(),
            AsnCountryTable.default(),
            default_registry(),
            ranking=package_data_dir() / RANKING_FILE,
        )
        origin = "computed"
    else:
        figures = load_committed(package_data_dir())
        origin = "package"
    if figures is None:
        return None
    return {"kind": "coverage", "origin": origin, **figures}


@data_app.command("info")
def info(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    coverage: Annotated[
        bool,
        typer.Option(
            "--coverage",
            help="Recompute the coverage figures from the tables in use (a few seconds) "
            "instead of showing the committed ones.",
        ),
    ] = False,
) -> None:
    """Print every dataset in use: the IP -> ASN table, the provider registry, the TLD table and
    the rule packs, each with name, version, date, source, licence and counts.

    Coverage: the share of announced address space and ASNs answered with an operator's
    ownership chain, a country of registration only, or nothing; and of verified registry facts.

    Example: sovaudit data info --json
    """
    from sovaudit.attribute.coverage import coverage_lines
    from sovaudit.cli.datasets import dataset_rows

    rows = dataset_rows()
    cov = coverage_row(coverage)
    if as_json:
        # Plain print: JSON must reach stdout byte for byte, without Rich wrapping.
        typer.echo(json.dumps(rows + ([cov] if cov else []), indent=2, ensure_ascii=False))
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
    if cov is not None:
        table = Table(title="Coverage / Couverture", show_header=False)
        table.add_column("figure", overflow="fold")
        for line in coverage_lines(cov):
            table.add_row(safe(line))
        source = (
            "recomputed from the tables in use"
            if cov["origin"] == "computed"
            else f"committed, from: {cov['command']} (sovaudit data info --coverage recomputes)"
        )
        table.add_row(safe(source))
        out_console.print(table)


_DATASETS = ("ip2asn", "asn-country")


@data_app.command("update")
def update(
    source: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="npm tarball, CSV or TSV (optionally gzipped; for asn-country also RIR "
            "delegated statistics): a file or an http(s) URL. Default: the latest "
            "@ip-location-db/asn (or asn-country) tarball from the npm registry.",
        ),
    ] = None,
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset",
            metavar="ip2asn|asn-country",
            help="Which table: ip2asn (IP -> ASN, default) or asn-country (ASN -> country of "
            "registration, joined with the IP -> ASN table in use).",
        ),
    ] = "ip2asn",
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
    """Rebuild an offline table from a newer dataset into the user data directory.

    Example: sovaudit data update --from asn-ipv4.csv --date 2026-11-01 ;
    sovaudit data update --dataset asn-country --from asn-country.tgz
    """
    if dataset not in _DATASETS:
        raise UserError(f"--dataset {dataset!r}: expected one of {', '.join(_DATASETS)}")
    if dataset == "asn-country":
        _update_countries(source, version, date, timeout, reset)
        return
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
    dataset_info = table.dataset
    err_console.print(
        f"installed {safe(dataset_info.name)} {safe(dataset_info.version)} "
        f"({safe(dataset_info.date)}): "
        f"{counts['v4_rows']} IPv4 and {counts['v6_rows']} IPv6 ranges, "
        f"{counts['names']} AS names, in {safe(directory)} (data dir {safe(data_dir())})"
    )


def _update_countries(
    source: str | None, version: str | None, date: str | None, timeout: float, reset: bool
) -> None:
    if reset:
        removed = reset_user_country_table()
        err_console.print(
            f"{'removed the user country table; ' if removed else 'no user country table; '}"
            f"using the packaged table in {safe(package_data_dir())}"
        )
        return
    if source is None:
        source = latest_country_tarball(timeout=timeout)
        err_console.print(f"downloading {safe(source)}")
    err_console.print(f"reading {safe(source)} and joining it with the IP -> ASN table...")
    directory, count = install_country_table(source, version=version, date=date, timeout=timeout)
    table = AsnCountryTable.from_files(Path(directory))
    info_ = table.dataset
    err_console.print(
        f"installed {safe(info_.name)} {safe(info_.version)} ({safe(info_.date)}): "
        f"{count} ASNs with a country, in {safe(directory)} (data dir {safe(data_dir())})"
    )
