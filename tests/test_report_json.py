"""JSON evidence: the contract between scan, report and diff, checked against the shipped schema."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sovaudit.errors import EvidenceError
from sovaudit.evidence.read import evidence_schema, read_evidence, scan_from_json
from sovaudit.models import Scan
from sovaudit.report import render, write_reports

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def validator() -> jsonschema.Draft202012Validator:
    schema = evidence_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def sample() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SAMPLE.read_text(encoding="utf-8"))
    return data


def test_sample_fixture_follows_the_schema() -> None:
    validator().validate(sample())


def test_rendered_json_follows_the_schema_and_round_trips() -> None:
    text = render(read_evidence(SAMPLE), "json", lang="en", now=NOW)
    data = json.loads(text)
    validator().validate(data)
    # Re-reading the output and rendering again is a fixed point: `report` re-renders identically.
    assert render(scan_from_json(data), "json", lang="fr", now=NOW) == text
    assert text.endswith("}\n")


def test_json_output_is_sorted_for_reports() -> None:
    data = json.loads(render(read_evidence(SAMPLE), "json", lang="en", now=NOW))
    keys = [(e["organization"], e["service"], e["host"], e["layer"]) for e in data["endpoints"]]
    assert keys == sorted(keys)
    portail = next(e for e in data["endpoints"] if e["service"] == "portail")
    assert [f["rule_id"] for f in portail["findings"]] == [
        "QC-HEALTH-INFO", "US-CLOUD-ACT-HOSTING", "NO-COMITY-CANADA",
    ]


def test_control_characters_are_escaped_in_json() -> None:
    text = render(read_evidence(SAMPLE), "json", lang="en", now=NOW)
    assert "\x1b" not in text
    assert "\\u001b[31m" in text


def test_schema_is_strict_outside_details() -> None:
    v = validator()
    extra_top = sample() | {"surprise": 1}
    assert not v.is_valid(extra_top)
    extra_attr = sample()
    extra_attr["endpoints"][0]["attributions"][0]["surprise"] = 1
    assert not v.is_valid(extra_attr)
    bad_severity = sample()
    bad_severity["endpoints"][0]["findings"][0]["severity"] = "urgent"
    assert not v.is_valid(bad_severity)
    bad_layer = sample()
    bad_layer["endpoints"][0]["layer"] = "ftp"
    assert not v.is_valid(bad_layer)


def test_schema_allows_new_details_and_nulls() -> None:
    data = sample()
    data["endpoints"][0]["details"]["future_field"] = {"anything": [1, None]}
    data["endpoints"][0]["source"] = None
    data["endpoints"][0]["findings"][0]["status"] = None
    data["endpoints"][0]["records"][0]["ttl"] = None
    validator().validate(data)


def test_every_written_json_file_validates(tmp_path: Path) -> None:
    scan = read_evidence(SAMPLE)
    empty = Scan(tool_version="0.1.0", generated_at="2026-11-25T12:00:00Z", inventory="i.yaml",
                 resolvers=(), endpoints=())
    for i, s in enumerate((scan, empty)):
        [path] = write_reports(s, ["json"], tmp_path / f"e{i}.json", lang="en", now=NOW)
        validator().validate(json.loads(path.read_text(encoding="utf-8")))


def test_read_evidence_reports_the_line_of_a_syntax_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "schema_version": "1",\n  "endpoints": [,]\n}\n', encoding="utf-8")
    with pytest.raises(EvidenceError) as info:
        read_evidence(bad)
    assert str(info.value).startswith(f"{bad}:3: invalid JSON")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(schema_version="99"), "schema version '99' is not supported"),
        (lambda d: d.pop("endpoints"), "not a sovaudit evidence file"),
        # Checked against the shipped schema on read (issue 21): the place, then the problem.
        (lambda d: d["endpoints"][0].pop("host"), r"endpoints\[0\]: missing 'host'"),
        (lambda d: d["endpoints"][0].update(layer="ftp"), r"endpoints\[0\]\.layer: 'ftp' is not"),
    ],
)
def test_read_evidence_rejects_bad_content(tmp_path: Path, mutate: Any, message: str) -> None:
    data = copy.deepcopy(sample())
    mutate(data)
    path = tmp_path / "e.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(EvidenceError, match=message):
        read_evidence(path)


def test_read_evidence_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="cannot read evidence file"):
        read_evidence(tmp_path / "nope.json")
