"""``sovaudit diff``: what changed between two scans (new, resolved and changed findings)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from sovaudit.cli.app import app
from sovaudit.cli.common import clean, out_console, parse_severity
from sovaudit.cli.style import colour_text
from sovaudit.errors import ExitCode, UserError
from sovaudit.evidence.baseline import Diff, diff, live, load_scan
from sovaudit.evidence.exposure import Exposure
from sovaudit.report.escape import md_text


def diff_text(d: Diff, *, markdown: bool) -> str:
    """A readable summary of a diff (plain text or Markdown)."""
    bullet = "- "
    lines: list[str] = []
    head = "## " if markdown else ""
    lines.append(f"{head}What moved ({len(d.moves)})")
    lines += [bullet + _md(m.sentence(), markdown) for m in d.moves] or [bullet + "nothing"]
    lines.append("")
    for title, items in (("Exposures gained", d.exposures_gained),
                         ("Exposures lost", d.exposures_lost),
                         ("Good outcomes lost", d.good_lost),
                         ("Good outcomes gained", d.good_gained)):
        lines.append(f"{head}{title} ({len(items)})")
        lines += [bullet + _md(_exposure_line(x), markdown) for x in items] or [bullet + "none"]
        lines.append("")
    lines.append(
        f"{head}Findings (rule by rule): {len(d.new)} new, {len(d.resolved)} gone"
        + (" (see --format json)" if d.new or d.resolved else "")
    )
    if d.added_endpoints or d.removed_endpoints:
        lines.append("")
        lines.append(
            f"{head}Endpoints: {len(d.added_endpoints)} added, {len(d.removed_endpoints)} removed"
        )
    return "\n".join(lines) + "\n"


def _exposure_line(x: Exposure) -> str:
    e = x.endpoint
    who = x.party.name or "not attributed"
    if x.party.jurisdiction:
        who += f" ({x.party.jurisdiction})"
    return f"[{x.severity.value}] {e.layer.value} {e.host} ({e.organization}): {who}; " \
        f"{', '.join(x.rules)}"


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
        if fmt == "text" and out_console.is_terminal:
            # Severities and jurisdictions in colour on a terminal (never in a pipe or a file).
            out_console.print(colour_text(clean(text)), end="", soft_wrap=True)
        else:
            typer.echo(clean(text), nl=False)
    if threshold is not None and any(live(f, threshold) for _k, f in d.new):
        raise typer.Exit(ExitCode.FINDINGS)
