"""``sovaudit diff`` and ``sovaudit history``: what changed between scans, and the trend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sovaudit.cli.app import app
from sovaudit.cli.common import clean, out_console, safe
from sovaudit.errors import UserError
from sovaudit.evidence.baseline import Diff, diff, live, load_scan
from sovaudit.evidence.history import series
from sovaudit.models import Severity
from sovaudit.report.escape import md_text


def parse_severity(value: str | None, option: str) -> Severity | None:
    if value is None or value == "never":
        return None
    try:
        return Severity(value)
    except ValueError:
        valid = ", ".join(s.value for s in Severity)
        raise UserError(f"{option}: unknown severity {value!r} (valid: {valid}, never)") from None


def diff_text(d: Diff, *, markdown: bool) -> str:
    """A readable summary of a diff (plain text or Markdown)."""
    bullet = "- "
    md = markdown
    lines: list[str] = []
    head = "## " if markdown else ""
    lines.append(f"{head}What moved ({len(d.moves)})")
    lines += [bullet + _md(m.sentence(), markdown) for m in d.moves] or [bullet + "nothing"]
    lines.append("")
    lines.append(f"{head}New findings ({len(d.new)})")
    lines += [
        bullet
        + _md(
            f"[{f.severity.value}] {f.rule_id} on {k[3]} {k[2]} ({k[0]})"
            + (" (accepted)" if f.accepted else ""),
            markdown,
        )
        for k, f in d.new
    ] or [bullet + "none"]
    lines.append("")
    lines.append(f"{head}Resolved findings ({len(d.resolved)})")
    lines += [
        bullet + _md(f"[{r.severity}] {r.rule_id} on {r.layer} {r.host} ({r.organization})", md)
        for r in d.resolved
    ] or [bullet + "none"]
    if d.added_endpoints or d.removed_endpoints:
        lines.append("")
        lines.append(
            f"{head}Endpoints: {len(d.added_endpoints)} added, {len(d.removed_endpoints)} removed"
        )
    return "\n".join(lines) + "\n"


def _md(text: str, markdown: bool) -> str:
    from sovaudit.report.escape import terminal_text

    if not markdown:
        return terminal_text(text)  # a host or a sentence from DNS cannot start a line of its own

    return md_text(text)


@app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="The earlier evidence file (JSON).")],
    new: Annotated[Path, typer.Argument(help="The later evidence file (JSON).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, md or json.")] = "text",
    fail_on: Annotated[
        str | None,
        typer.Option(help="Exit 1 when a new finding is at or above this severity."),
    ] = None,
) -> None:
    """Show what moved between two scans: operators, new and resolved findings.

    Example: sovaudit diff last-week.json today.json --format md --fail-on high
    """
    if fmt not in ("text", "md", "json"):
        raise UserError(f"unknown format {fmt!r} (valid: text, md, json)")
    threshold = parse_severity(fail_on, "--fail-on")
    d = diff(load_scan(old), load_scan(new))
    if fmt == "json":
        from sovaudit.collect.jsontext import json_terminal

        typer.echo(
            json_terminal(json.dumps(d.to_dict(), indent=2, ensure_ascii=False, sort_keys=True))
        )
    else:
        text = diff_text(d, markdown=fmt == "md")
        typer.echo(clean(text), nl=False)
    if threshold is not None and any(live(f, threshold) for _k, f in d.new):
        raise typer.Exit(1)


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
