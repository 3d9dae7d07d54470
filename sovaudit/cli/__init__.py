"""Command-line interface. ``main`` maps user errors to exit code 2 with one clear line."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sovaudit import __version__
from sovaudit.attribute.asntable import AsnTable
from sovaudit.attribute.registry import default_registry
from sovaudit.cli.app import app
from sovaudit.cli.common import error
from sovaudit.cli.config import CONFIG_META, default_map, load_config
from sovaudit.cli.helpdoc import polish
from sovaudit.cli.messages import cli_lang, msg, set_cli_lang
from sovaudit.errors import ExitCode, SovauditError
from sovaudit.evaluate import load_rules

__all__ = ["CONFIG_META", "app", "main"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sovaudit {__version__}")
        for line in dataset_versions():
            typer.echo(line)
        raise typer.Exit()


def dataset_versions() -> list[str]:
    """One line per dataset a scan would use today: IP -> ASN table, registry, rule packs.

    A dataset that cannot be loaded is reported as such: ``--version`` is what a user runs when
    something is wrong, so it must not fail itself.
    """
    lines: list[str] = []
    try:
        asn = AsnTable.default().dataset
        lines.append(f"IP -> ASN table / table IP -> ASN: {asn.name} {asn.version} ({asn.date})")
    except SovauditError as exc:
        lines.append(f"IP -> ASN table / table IP -> ASN: unavailable ({exc})")
    try:
        registry = default_registry()
        lines.append(
            f"provider registry / registre des fournisseurs: {registry.version} "
            f"(reviewed / revu {registry.reviewed})"
        )
    except SovauditError as exc:
        lines.append(f"provider registry / registre des fournisseurs: unavailable ({exc})")
    try:
        lines.extend(
            f"rule pack / règles {pack.name}: {pack.version} ({pack.date})"
            for pack in load_rules().datasets()
        )
    except SovauditError as exc:
        lines.append(f"rule packs / règles: unavailable ({exc})")
    return lines


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_version,
            is_eager=True,
            help="Print the version and the dataset versions, and exit.",
        ),
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            # The backslash keeps Rich markup from eating "[tool.sovaudit]".
            help="Configuration file (default: $SOVAUDIT_CONFIG, ./sovaudit.toml, "
            "or \\[tool.sovaudit] in ./pyproject.toml; in CI, a discovered file is read only "
            "with --use-config or SOVAUDIT_CONFIG_IN_CI=1).",
        ),
    ] = None,
    use_config: Annotated[
        bool,
        typer.Option(
            "--use-config",
            help="In CI (CI=true), read a discovered sovaudit.toml or \\[tool.sovaudit] too.",
        ),
    ] = False,
) -> None:
    """Audit the data sovereignty of public services."""
    if ctx.resilient_parsing:  # shell completion: never fail on a configuration file
        return
    # Loaded before the subcommand parses its options: its defaults come from this map, so an
    # option given on the command line still wins over the file and the environment.
    settings = load_config(config, environ=os.environ, use_config=use_config)
    _announce_config(settings, ctx.invoked_subcommand)
    ctx.default_map = default_map(settings, ctx.command)
    ctx.meta[CONFIG_META] = settings


def _announce_config(settings: Any, command: str | None) -> None:
    """Say on stderr which configuration file is read and every value it (or the environment)
    sets, so a file in the audited repository cannot change the audit silently (issue 21)."""
    from sovaudit.cli.common import err_console, safe

    if command == "config":
        return  # 'sovaudit config' shows all of it on stdout
    if settings.ignored is not None:
        err_console.print(
            f"note: configuration file {safe(settings.ignored)} not read in CI (CI=true); "
            "pass --config FILE, --use-config or SOVAUDIT_CONFIG_IN_CI=1 to use it"
        )
    changed = [s for s in settings.settings if s.source != "default"]
    if settings.path is not None:
        err_console.print(f"note: configuration file {safe(settings.path)}")
    for s in changed:
        where = f"{s.source}:{s.line}" if s.line else s.source
        err_console.print(f"note:   {safe(s.key)} = {safe(s.value)} (from {safe(where)})")


# Each module registers its commands on `app` when imported.
from sovaudit.cli import (  # noqa: E402,F401  isort: skip
    diff_cmd,
    history_cmd,
    data_cmd,
    demo_cmd,
    config_cmd,
    explain_cmd,
    lookup_cmd,
    merge_cmd,
    query_cmd,
    report_cmd,
    rules_cmd,
    scan_cmd,
    summary_cmd,
)


def _lang_argument(args: list[str]) -> str | None:
    """The value of ``--lang`` on the command line, if any: it wins over the locale, for help
    and messages alike (read before parsing, as ``--help`` is answered during parsing)."""
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
    return None


def main() -> None:
    """Entry point of the ``sovaudit`` command."""
    set_cli_lang(_lang_argument(sys.argv[1:]))
    command = typer.main.get_command(app)
    polish(command, lang=cli_lang())
    try:
        command(standalone_mode=True)
    except SovauditError as exc:
        error(str(exc))
        # An inventory's errors are reported at once, one FILE:LINE line each.
        others = getattr(exc, "others", ())
        for other in others:
            error(str(other))
        if getattr(exc, "truncated", False):
            error(msg("more_errors", count=1 + len(others)))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        error("interrupted")
        sys.exit(ExitCode.INTERRUPTED)
