"""``sovaudit config``: the effective configuration and where each value comes from."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from sovaudit.cli.app import app
from sovaudit.cli.common import out_console, safe
from sovaudit.cli.config import CONFIG_META, KEYS_BY_NAME, Config, load_config

config_app = typer.Typer(
    name="config",
    help="Show the configuration (sovaudit.toml) / Afficher la configuration.",
    no_args_is_help=True,
)
app.add_typer(config_app, name="config")


@config_app.command("show")
def show(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print every setting, its effective value and its source: default, file or environment.

    Options given on the command line of another command still win over what is shown here.

    Example: sovaudit --config ci/sovaudit.toml config show --json
    """
    found = ctx.meta.get(CONFIG_META)
    config: Config = found if isinstance(found, Config) else load_config()
    rows: list[dict[str, Any]] = [
        {
            "key": s.key,
            "value": s.value,
            "default": KEYS_BY_NAME[s.key].default,
            "source": s.source,
            "line": s.line,
        }
        for s in config.settings
    ]
    if as_json:
        typer.echo(
            json.dumps({"file": config.path, "settings": rows}, indent=2, ensure_ascii=False)
        )
        return
    title = f"Configuration: {config.path or 'no file / aucun fichier'}"
    table = Table(title=safe(title), title_justify="left")
    for column in ("key / clé", "value / valeur", "source"):
        table.add_column(column, overflow="fold")
    for row in rows:
        value = row["default"] if row["source"] == "default" else _text(row["value"])
        where = f"{row['source']}:{row['line']}" if row["line"] else row["source"]
        table.add_row(row["key"], safe(value), safe(where))
    out_console.print(table)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "[]"
    return str(value)
