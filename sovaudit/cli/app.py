"""The Typer application object shared by every command module of the CLI package.

The ``sovaudit.cli`` package is the only place that prints or exits; each command module
registers its commands on :data:`app` (or a sub-app) and calls into the library.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="sovaudit",
    help=(
        "Audit the data sovereignty of public services: resolve each endpoint in DNS, attribute it "
        "to its operator, ultimate parent and jurisdiction, apply legal rules, write reports."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
