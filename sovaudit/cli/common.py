"""Console helpers shared by the command modules: error printing and terminal-safe text."""

from __future__ import annotations

import re
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from sovaudit.errors import UserError
from sovaudit.models import Severity
from sovaudit.report.escape import terminal_text

_NEWLINES = re.compile(r"\s*[\r\n]+\s*")

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
# Soft wrap: a long line (a path, a host) stays one line when piped, for grep and for CI logs.
out_console = Console(highlight=False, soft_wrap=True)


def clean(text: object) -> str:
    """A block of lines made inert for a terminal or CI log: control and bidi characters
    escaped, no line starting a workflow command (line feeds kept: see :func:`safe`)."""
    return terminal_text(text, multiline=True)


def safe(text: object) -> str:
    """One untrusted value for Rich: control, bidi and line-feed characters escaped (a record
    cannot print a line of its own, such as ``::error::``), Rich markup escaped."""
    return escape(terminal_text(text))


def safe_block(text: object) -> str:
    """Our own multi-line text (rule rationales) for Rich: :func:`clean`, then markup escaped."""
    return escape(clean(text))


def one_line(text: object) -> str:
    """Join a multi-line message into one line: an error is one ``FILE:LINE: message`` line."""
    return _NEWLINES.sub(" ", str(text).strip())


def error(message: str) -> None:
    """Print one error line on stderr (no markup interpretation), "erreur :" in French."""
    from sovaudit.cli.messages import msg

    err_console.print(f"[bold red]{msg('error')}[/] {safe(one_line(message))}")


def warn(message: str) -> None:
    from sovaudit.cli.messages import msg

    err_console.print(f"[yellow]{msg('warning')}[/] {safe(message)}")


def is_tty() -> bool:
    return sys.stderr.isatty()


# Options several commands share, declared once so their names and help never drift apart.
FormatsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--format", "-f", help="md, html, json, csv or sarif; repeat for several (with -o DIR)."
    ),
]
LangOption = Annotated[
    str | None, typer.Option(help="Report language: fr or en (default: from LANG, else en).")
]


def parse_severity(value: str | None, option: str) -> Severity | None:
    """The severity an option names (``never``: None); UserError naming the option if unknown."""
    if value is None or value == "never":
        return None
    try:
        return Severity(value)
    except ValueError:
        valid = ", ".join(s.value for s in Severity)
        raise UserError(f"{option}: unknown severity {value!r} (valid: {valid}, never)") from None
