"""JSON text from elsewhere, parsed under caps, and JSON text made inert for a terminal.

Nesting and number sizes are capped *before* ``json.loads`` builds anything (issue 21): 100,000
nested ``[`` or a 5,000-digit integer from a registry or an evidence file must not reach the
parser. Used by RDAP (``collect``) and the evidence readers (``evidence``).
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

__all__ = ["MAX_DIGITS", "MAX_NESTING", "check_json_text", "json_terminal", "loads_capped"]

MAX_NESTING = 64  # evidence nests about 8 deep; details of a web probe a few more
MAX_DIGITS = 40  # a 64-bit integer has 20 digits; a float in JSON a few more
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*+"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_SIGNS = bytes.maketrans(b"[]{}", b"\x01\xff\x01\xff")
# Characters json.dumps(ensure_ascii=False) leaves raw that a terminal would act on.
_JSON_TERMINAL = re.compile(
    r"[\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]"
)


def json_terminal(text: str) -> str:
    """JSON text with C1, bidi and separator characters as ``\\u`` escapes (still valid JSON,
    the same value once parsed), for JSON written to standard output."""
    return _JSON_TERMINAL.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def check_json_text(raw: bytes) -> str | None:
    """Why ``raw`` must not be parsed (nesting deeper than :data:`MAX_NESTING`), or None.

    Strings are blanked with one regular expression, the brackets kept and mapped to +1/-1,
    and the running depth's maximum taken in C (``accumulate`` over a signed memoryview).
    Number sizes are capped while parsing, by :func:`loads_capped`.
    """
    if raw.count(b"[") + raw.count(b"{") <= MAX_NESTING:
        return None
    brackets = _STRING.sub(b'""', raw).translate(_SIGNS, _NOT_BRACKET)
    deepest = max(accumulate(memoryview(brackets).cast("b")), default=0)
    if deepest > MAX_NESTING:
        return f"nested deeper than {MAX_NESTING} levels"
    return None


def _capped_int(text: str) -> int:
    if len(text) > MAX_DIGITS:
        raise ValueError(f"a number of {len(text)} digits (limit {MAX_DIGITS})")
    return int(text)


def _capped_float(text: str) -> float:
    if len(text) > MAX_DIGITS * 2:
        raise ValueError(f"a number of {len(text)} characters (limit {MAX_DIGITS * 2})")
    return float(text)


def loads_capped(raw: bytes | str) -> Any:
    """``json.loads`` with nesting checked first and number sizes capped (ValueError)."""
    data = raw.encode("utf-8") if isinstance(raw, str) else raw
    why = check_json_text(data)
    if why is not None:
        raise ValueError(why)
    return json.loads(raw, parse_int=_capped_int, parse_float=_capped_float)
