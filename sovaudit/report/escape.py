"""Neutralizing untrusted text (DNS answers, names, whois strings) for each output format.

Everything that came from the network is hostile until proven otherwise: it may hold terminal
escape sequences, HTML, Markdown links, spreadsheet formulas or bidirectional overrides.
"""

from __future__ import annotations

import re

from sovaudit.collect.jsontext import json_terminal

# C0 controls (TAB, LF and CR included: they break table rows), DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidirectional overrides and zero-width characters can make a name read as another one.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
# Characters escaped wherever they are, then the ones that matter only in some context.
_MD_SPECIAL = re.compile(
    r"[\\`*~\[\]<|$@]"  # escapes, code, emphasis, strikethrough, links, HTML, cells, math, mail
    r"|&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{0,31};)"  # entity references
    r"|(?<![^\W_])_|_(?![^\W_])"  # "_" that can open or close emphasis (not inside a word)
    r"|\.(?=[^\W\d_][^\W_])"  # dot before a top-level domain: www.x, x.ca, a@b.ca
    r"|:(?=//)|(?i:(?<=mailto)|(?<=xmpp)):|/(?=/)"  # scheme://, mailto:, //host
    r"|#(?=#*$)"  # closing sequence of an ATX heading
)
# A block marker at the start: quote, heading, list item, thematic break or setext underline.
_MD_LEAD = re.compile(r">|#{1,6}(?= |$)|[+-](?= |$)|-+ *$|=+ *$|[0-9]{1,9}[.)](?= |$)")
_BACKTICKS = re.compile(r"`+")
_SAFE_URL = re.compile(r"https?://[A-Za-z0-9._~:/?#@!$&'*+,;=%-]+")
_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    # Unicode "control pictures" show C0 controls as visible symbols (ESC -> U+241B).
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return "\ufffd"


_ANY_HIDDEN = re.compile(_CONTROL.pattern[:-1] + _INVISIBLE.pattern[1:])


def visible(text: object) -> str:
    """Replace control, bidi and zero-width characters by visible placeholders."""
    value = str(text)
    # Fast path: one search instead of two substitutions (reports call this per cell).
    if not _ANY_HIDDEN.search(value):
        return value
    return _INVISIBLE.sub("\ufffd", _CONTROL.sub(_picture, value))


def md_text(text: object) -> str:
    """Untrusted text as inert CommonMark/GFM inline text that still reads like the original.

    Only what could change the rendering is backslash-escaped (see ``_MD_SPECIAL``): code,
    emphasis, strikethrough, links, raw HTML, entities, table pipes, math, autolinks (the
    characters that make ``http://x``, ``www.x``, ``x.ca`` or ``a@b`` a link, for GitHub and for
    linkify renderers) and a block marker at the start (heading, quote, list, thematic break).
    Spaces at either end are dropped: Markdown would drop them too, or read four of them as
    code and two at the end as a line break.
    """
    value = visible(text).strip(" ")
    marks = [m.start() for m in _MD_SPECIAL.finditer(value)]
    lead = _MD_LEAD.match(value)
    if lead is not None:
        # The marker's character: the ">", the first "#", "-" or "=", the "." of "1.".
        marks.append(lead.start() if value[0] in "#>+-=" else lead.end() - 1)
    if not marks:
        return value  # most names and sentences: nothing to escape
    out = []
    last = 0
    for i in sorted(set(marks)):
        out += [value[last:i], "\\"]
        last = i
    out.append(value[last:])
    return "".join(out)


def md_code(text: object, *, in_table: bool = True) -> str:
    """Untrusted text as a Markdown code span (never a link, never HTML)."""
    value = visible(text)
    if not value:
        return "\u2014"
    if in_table:
        # GFM splits table cells on "|" before parsing code spans; "\|" is the documented escape.
        value = value.replace("|", "\\|")
    longest = max((len(m) for m in _BACKTICKS.findall(value)), default=0)
    fence = "`" * (longest + 1)
    # CommonMark strips one space from each side of a code span that begins and ends with a
    # space (unless it is all spaces): pad exactly when that would eat a character of ours.
    spaced = value.startswith(" ") and value.endswith(" ") and value.strip(" ")
    if value.startswith("`") or value.endswith("`") or spaced:
        value = f" {value} "
    return f"{fence}{value}{fence}"


def html_text(text: object) -> str:
    """Untrusted text escaped for HTML element content and quoted attribute values."""
    value = visible(text)
    return (
        value.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def safe_url(url: str | None) -> str | None:
    """``url`` if it is a plain http(s) URL with no characters that could break out, else None.

    Only rule references (from shipped rule packs) are ever rendered as links; this check keeps a
    tampered evidence file from smuggling ``javascript:`` or markup through them.
    """
    if url and _SAFE_URL.fullmatch(url):
        return url
    return None


def csv_cell(text: object) -> str:
    """A CSV cell that a spreadsheet will not evaluate as a formula (OWASP CSV injection)."""
    value = "" if text is None else str(text)
    # Some spreadsheets skip leading spaces before deciding that a cell is a formula.
    if value.startswith(_CSV_TRIGGERS) or value.lstrip(" ").startswith(_CSV_TRIGGERS):
        value = "'" + value
    return visible(value)


# -- terminals and CI logs --------------------------------------------------------------------

# What must never reach a terminal or a CI log as itself: C0 (LF kept only in blocks), DEL, C1,
# the line and paragraph separators, bidi controls and marks, zero-width characters.
_TERMINAL = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)
_TERMINAL_BLOCK = re.compile(_TERMINAL.pattern.replace(r"\x0a-\x1f", r"\x0b-\x1f"))
# GitHub Actions (``::name ...::``, the older ``##[name]``) and Azure (``##vso[``) read a log line
# that starts with these as a workflow command (::error::, ::add-mask::, ::stop-commands::...).
_WORKFLOW_COMMAND = re.compile(r"^([ \t]*)(?::(?=:[^\n]*::)|#(?=#\[|#vso\[))", re.MULTILINE)


def _backslash(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: object, *, multiline: bool = False) -> str:
    """Untrusted text made inert for a terminal or a CI log (issue 21).

    Control, bidi and zero-width characters become visible backslash escapes (``\\x1b``,
    ``\\u202e``); a line feed too unless ``multiline`` (a block of our own lines); and no line
    can start a workflow command (the first ``:`` of ``::error::`` becomes ``\\x3a``).
    """
    value = str(text)
    value = (_TERMINAL_BLOCK if multiline else _TERMINAL).sub(_backslash, value)
    return _WORKFLOW_COMMAND.sub(lambda m: m.group(1) + ("\\x3a" if m.group(0).endswith(":")
                                                         else "\\x23"), value)


def for_stdout(text: str, fmt: str) -> str:
    """A rendered report written to standard output (a terminal or a CI log): JSON and SARIF
    get :func:`json_terminal`; every format, no line that starts a workflow command."""
    if fmt in ("json", "sarif"):
        text = json_terminal(text)
    return _WORKFLOW_COMMAND.sub(
        lambda m: m.group(1) + ("\\x3a" if m.group(0).endswith(":") else "\\x23"), text
    )
