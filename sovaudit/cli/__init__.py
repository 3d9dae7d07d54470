"""Command-line interface. ``main`` maps user errors to exit code 2 with one clear line."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from sovaudit import __version__
from sovaudit.cli.app import app
from sovaudit.errors import SovauditError

__all__ = ["app", "main"]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sovaudit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Audit the data sovereignty of public services."""


# Each module registers its commands on `app` when imported.
from sovaudit.cli import (  # noqa: E402,F401  isort: skip
    ci_cmd,
    data_cmd,
    demo_cmd,
    lookup_cmd,
    report_cmd,
    rules_cmd,
    scan_cmd,
)


def main() -> None:
    """Entry point of the ``sovaudit`` command."""
    from sovaudit.cli.common import error

    try:
        app(standalone_mode=True)
    except SovauditError as exc:
        error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        error("interrupted")
        sys.exit(130)
