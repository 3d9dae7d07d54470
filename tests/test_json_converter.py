"""JsonConverter writes exactly what to_jsonable + json.dumps write, only faster."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovaudit.evidence.read import read_evidence
from sovaudit.models import (
    DataClass,
    Endpoint,
    EvidenceStep,
    JsonConverter,
    Layer,
    Status,
    to_jsonable,
)

EVIDENCE = sorted((Path(__file__).parent / "data" / "evidence").glob("*.json"))


def _compact(value: Any) -> str:
    return json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("path", EVIDENCE, ids=lambda p: p.name)
@pytest.mark.parametrize("limit", [1, 7, 16_384])
def test_every_endpoint_of_the_sample_evidence_converts_identically(
    path: Path, limit: int
) -> None:
    scan = read_evidence(path)
    assert scan.endpoints
    convert = JsonConverter(limit=limit)
    for endpoint in (*scan.endpoints, *scan.endpoints):  # the second pass hits the memo
        assert convert.text(endpoint) == _compact(endpoint)
        assert convert(endpoint) == to_jsonable(endpoint)


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    _TEXT,
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_TEXT, inner, max_size=4)
    ),
    max_leaves=12,
)


@given(details=st.dictionaries(_TEXT, _JSON, max_size=5), host=_TEXT, reason=_TEXT | st.none())
def test_hostile_text_and_odd_numbers_convert_identically(
    details: dict[str, Any], host: str, reason: str | None
) -> None:
    step = EvidenceStep("record", host, "dns@127.0.0.1")
    endpoint = Endpoint(
        "org", "svc", host, Layer.WEB, (DataClass.HEALTH,), Status.UNKNOWN, reason,
        names=(host, host), details=details,
    )
    convert = JsonConverter(limit=2)
    want = json.dumps(
        to_jsonable(endpoint), ensure_ascii=False, separators=(",", ":")
    )
    assert convert.text(endpoint) == want
    assert convert.text(step) == _compact(step) == convert.text(step)
    nan_free = not any(
        isinstance(v, float) and not math.isfinite(v) for v in _leaves(details)
    )
    if nan_free:  # NaN != NaN: compare the values only where equality means something
        assert convert(endpoint) == to_jsonable(endpoint)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def test_the_memo_is_bounded_and_keyed_by_identity_not_equality() -> None:
    convert = JsonConverter(limit=4)
    steps = [EvidenceStep("asn", f"AS{i}", "table") for i in range(50)]
    for s in steps:
        convert.text(s)
        assert len(convert._texts) <= 4
    # Two equal steps are two objects: each converts to its own (equal) text.
    a, b = EvidenceStep("asn", "AS1", "t"), EvidenceStep("asn", "AS1", "t")
    assert convert.text(a) == convert.text(b) == '{"step":"asn","value":"AS1","source":"t"}'


@pytest.mark.parametrize("path", EVIDENCE, ids=lambda p: p.name)
def test_the_json_report_written_in_pieces_is_the_plain_dump(path: Path, tmp_path: Path) -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from sovaudit.report import write_reports
    from sovaudit.report.jsonout import iter_json, render_json
    from sovaudit.report.summary import sort_scan

    scan = read_evidence(path)
    for case in (scan, replace(scan, endpoints=()), replace(scan, endpoints=scan.endpoints[:1])):
        want = json.dumps(sort_scan(case).to_dict(), indent=2, ensure_ascii=False) + "\n"
        assert render_json(case) == want
        assert len(list(iter_json(case))) == (len(case.endpoints) + 2 if case.endpoints else 1)
    [out] = write_reports(
        scan, ["json"], tmp_path / "e.json", lang="en", now=datetime(2026, 11, 25, tzinfo=UTC)
    )
    assert out.read_text(encoding="utf-8") == render_json(scan)


@given(value=st.dictionaries(_TEXT, _JSON, max_size=5))
def test_indented_evidence_text_is_the_standard_librarys(value: dict[str, Any]) -> None:
    """The evidence writer's C encoder (orjson) writes what json.dumps(indent=2) writes.

    Floats are the one difference in text: orjson writes ``6e-8`` where json.dumps writes
    ``6e-08`` (the same number), and ``null`` for NaN where json.dumps writes ``NaN``, which is
    not JSON. Evidence floats are confidences such as 0.95, written alike by both.
    """
    from sovaudit.report.jsonout import indented

    text = indented(value)
    leaves = _leaves(value)
    want = json.dumps(value, indent=2, ensure_ascii=False)
    if not any(isinstance(v, float) for v in leaves):
        assert text == want
    elif all(not isinstance(v, float) or math.isfinite(v) for v in leaves):
        assert json.loads(text) == json.loads(want)
    confidences = {"c": [0.95, 0.9, 0.6, 0.4, 0.3, 0.0, 1.0]}
    assert indented(confidences) == json.dumps(confidences, indent=2, ensure_ascii=False)


def test_indented_falls_back_for_what_orjson_refuses() -> None:
    from sovaudit.report.jsonout import indented

    huge = {"n": 10**30, "s": "\ud800"}  # beyond 64 bits; a lone surrogate from hostile text
    assert indented(huge) == json.dumps(huge, indent=2, ensure_ascii=False)
