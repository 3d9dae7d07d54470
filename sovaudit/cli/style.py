"""Colours of the command line: by severity and by jurisdiction group.

Rich drops every colour by itself when standard output/error is not a terminal or when
``NO_COLOR`` is set (https://no-color.org), so these styles never reach a CI log or a pipe.
"""

from __future__ import annotations

import re

from rich.markup import escape

from sovaudit.models import Severity

__all__ = [
    "colour_text",
    "jurisdiction_group",
    "jurisdiction_style",
    "severity_style",
    "styled_jurisdiction",
]

# "[high]" severities and "(US)" / "(CA-QC)" jurisdictions in a line of plain text.
_MARKS = re.compile(
    r"\[(info|low|medium|high|critical)\]|\(([A-Z]{2}(?:-[A-Z0-9]{1,3})?)\)"
)

_SEVERITY_STYLES = {
    Severity.CRITICAL: "bold white on red",
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}

# European Economic Area and Switzerland / UK: foreign to Canada, but under data-protection law
# with an adequacy finding both ways; kept apart from the US (CLOUD Act) and the rest.
_EUROPE = frozenset(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IS IT LI LT LU LV MT NL NO PL PT RO SE SI SK "
    "CH GB EU".split()
)

_GROUP_STYLES = {
    "domestic": "green",
    "us": "bold red",
    "europe": "blue",
    "foreign": "yellow",
    "unknown": "magenta",
}


def severity_style(severity: Severity | str) -> str:
    """Rich style of a severity (unknown values unstyled)."""
    try:
        return _SEVERITY_STYLES[Severity(severity)]
    except ValueError:
        return "none"


def jurisdiction_group(code: str | None) -> str:
    """domestic (Canada, Québec), us, europe, foreign or unknown."""
    if not code or code == "unknown":
        return "unknown"
    if code == "CA" or code.startswith("CA-"):
        return "domestic"
    if code == "US" or code.startswith("US-"):
        return "us"
    return "europe" if code.split("-", 1)[0] in _EUROPE else "foreign"


def jurisdiction_style(code: str | None) -> str:
    return _GROUP_STYLES[jurisdiction_group(code)]


def styled_jurisdiction(code: str | None, text: str) -> str:
    """``text`` (already escaped for Rich) wrapped in the style of ``code``'s group."""
    return f"[{jurisdiction_style(code)}]{text}[/]"


def colour_text(text: str) -> str:
    """Plain ``text`` as Rich markup: "[high]" and "(US)" in their colours, the rest escaped."""
    out: list[str] = []
    last = 0
    for m in _MARKS.finditer(text):
        out.append(escape(text[last : m.start()]))
        if m.group(1):
            out.append(f"[{severity_style(m.group(1))}]\\[{m.group(1)}][/]")
        else:
            code = m.group(2)
            out.append(f"([{jurisdiction_style(code)}]{code}[/])")
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)
