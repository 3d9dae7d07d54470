"""Colours of the command line: by severity and by jurisdiction group.

Rich drops every colour by itself when standard output/error is not a terminal or when
``NO_COLOR`` is set (https://no-color.org), so these styles never reach a CI log or a pipe.
"""

from __future__ import annotations

from sovaudit.models import Severity

__all__ = ["jurisdiction_group", "jurisdiction_style", "severity_style", "styled_jurisdiction"]

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
