"""The ``json`` report format: the evidence file, a scan as indented JSON.

Reading it back (and its JSON Schema) lives in :mod:`sovaudit.evidence.read`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import orjson

from sovaudit.models import JsonConverter, Scan
from sovaudit.report.summary import sort_scan


def render_json(scan: Scan) -> str:
    """The scan as indented JSON, endpoints and findings in report order, ending with a newline."""
    return "".join(iter_json(scan))


def iter_json(scan: Scan) -> Iterator[str]:
    """:func:`render_json`'s text in pieces, one endpoint at a time (no whole-file string).

    The pieces join into exactly ``json.dumps(scan.to_dict(), indent=2, ensure_ascii=False)``
    plus a newline: each endpoint is dumped on its own and indented to its depth in the file
    (JSON strings never hold a raw newline, so indenting every line break is safe).
    """
    ordered = sort_scan(scan)
    convert = JsonConverter()  # the same values as to_jsonable, several times faster
    head = ordered.to_dict(convert)
    head["endpoints"] = []
    text = indented(head)
    empty = '"endpoints": []\n}'
    if not ordered.endpoints or not text.endswith(empty):
        yield indented(ordered.to_dict(convert)) + "\n"
        return
    yield text[: -len(empty)] + '"endpoints": ['
    separator = "\n    "
    for endpoint in ordered.endpoints:
        yield separator + indented(convert(endpoint)).replace("\n", "\n    ")
        separator = ",\n    "
    yield "\n  ]\n}\n"


def indented(value: Any) -> str:
    """``json.dumps(value, indent=2, ensure_ascii=False)``, written by orjson's C encoder.

    The standard library's indented output runs its pure-Python encoder: writing the evidence
    of a scan took 82 % of the scan's time (issue 28). orjson's text is the same for the values
    evidence holds (tested against json.dumps; only a float with an exponent is spelled
    differently, ``6e-8`` for ``6e-08``, the same number); the rare value orjson refuses (an
    integer beyond 64 bits, a lone surrogate from hostile text) goes through json.dumps.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode("utf-8")
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(value, indent=2, ensure_ascii=False)
