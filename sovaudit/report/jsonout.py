"""The ``json`` report format: the evidence file, a scan as indented JSON.

Reading it back (and its JSON Schema) lives in :mod:`sovaudit.evidence.read`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

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
    text = json.dumps(head, indent=2, ensure_ascii=False)
    empty = '"endpoints": []\n}'
    if not ordered.endpoints or not text.endswith(empty):
        yield json.dumps(ordered.to_dict(convert), indent=2, ensure_ascii=False) + "\n"
        return
    yield text[: -len(empty)] + '"endpoints": ['
    separator = "\n    "
    for endpoint in ordered.endpoints:
        body = json.dumps(convert(endpoint), indent=2, ensure_ascii=False)
        yield separator + body.replace("\n", "\n    ")
        separator = ",\n    "
    yield "\n  ]\n}\n"
