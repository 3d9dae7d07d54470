"""SARIF 2.1.0: valid against the shipped schema, levels from severity, inventory locations."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sovaudit.evidence.read import read_evidence
from sovaudit.models import Severity
from sovaudit.report import render, write_reports
from sovaudit.report.sarif import level

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def validate(log: dict[str, Any]) -> None:
    text = resources.files("sovaudit.report").joinpath("schema/sarif-2.1.0.json").read_text(
        encoding="utf-8"
    )
    schema = json.loads(text)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    validator.validate(log)


def sarif(lang: str = "en", **kw: Any) -> dict[str, Any]:
    log: dict[str, Any] = json.loads(render(read_evidence(SAMPLE), "sarif", lang=lang, now=NOW,
                                            **kw))
    return log


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_sarif_validates(lang: str) -> None:
    log = sarif(lang)
    validate(log)
    assert log["version"] == "2.1.0"
    assert log["runs"][0]["tool"]["driver"]["language"] == lang


def test_schema_rejects_what_sarif_forbids() -> None:
    log = sarif()
    log["runs"][0]["results"][0]["level"] = "critical"
    with pytest.raises(jsonschema.ValidationError):
        validate(log)
    log = sarif()
    log["runs"][0]["results"][0]["unexpected"] = True
    with pytest.raises(jsonschema.ValidationError):
        validate(log)
    log = sarif()
    del log["runs"][0]["results"][0]["message"]
    with pytest.raises(jsonschema.ValidationError):
        validate(log)


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, "error"),
        (Severity.HIGH, "error"),
        (Severity.MEDIUM, "warning"),
        (Severity.LOW, "note"),
        (Severity.INFO, "note"),
    ],
)
def test_levels(severity: Severity, expected: str) -> None:
    assert level(severity) == expected


def test_one_descriptor_per_rule_and_results_point_at_it() -> None:
    run = sarif()["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)) == 8
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    hosting = rules[ids.index("US-CLOUD-ACT-HOSTING")]
    assert hosting["helpUri"] == "https://www.law.cornell.edu/uscode/text/18/2713"
    assert "18 U.S.C. § 2713" in hosting["help"]["text"]
    assert hosting["defaultConfiguration"]["level"] == "error"
    # A tampered reference never becomes helpUri.
    unknown = rules[ids.index("UNKNOWN-OPERATOR")]
    assert "helpUri" not in unknown
    assert all(ref["url"] is None for ref in unknown["properties"]["references"])


def test_results_have_inventory_line_and_logical_locations() -> None:
    results = sarif()["runs"][0]["results"]
    assert len(results) == 10
    hosting = next(r for r in results if r["ruleId"] == "US-CLOUD-ACT-HOSTING")
    assert hosting["level"] == "error"
    [loc] = hosting["locations"]
    assert loc["physicalLocation"] == {
        "artifactLocation": {"uri": "inventory.yaml"}, "region": {"startLine": 7},
    }
    assert [x["fullyQualifiedName"] for x in loc["logicalLocations"]] == [
        "sante-qc", "sante-qc/portail", "sante-qc/portail/portail.santequebec.ca/web",
    ]
    assert hosting["baselineState"] == "new"
    mail = next(r for r in results if r["ruleId"] == "US-CLOUD-ACT-MAIL")
    assert mail["suppressions"][0]["kind"] == "external"
    assert mail["suppressions"][0]["justification"].startswith("Contrat Microsoft 2025")
    assert mail["baselineState"] == "unchanged"
    fingerprints = [r["partialFingerprints"]["sovauditFinding/v1"] for r in results]
    assert len(set(fingerprints)) == len(fingerprints)


def test_fingerprints_do_not_depend_on_language() -> None:
    en = [r["partialFingerprints"] for r in sarif("en")["runs"][0]["results"]]
    fr = [r["partialFingerprints"] for r in sarif("fr")["runs"][0]["results"]]
    assert en == fr


def test_endpoint_without_source_points_at_inventory_path(tmp_path: Path) -> None:
    scan = read_evidence(SAMPLE)
    scan = replace(scan, endpoints=tuple(replace(e, source=None) for e in scan.endpoints))
    [path] = write_reports(scan, ["sarif"], tmp_path / "r.sarif", lang="en", now=NOW,
                           inventory_path=Path("inventories/qc.yaml"))
    log = json.loads(path.read_text(encoding="utf-8"))
    validate(log)
    loc = log["runs"][0]["results"][0]["locations"][0]
    assert loc["physicalLocation"] == {"artifactLocation": {"uri": "inventories/qc.yaml"}}
    no_inventory = json.loads(render(scan, "sarif", lang="en", now=NOW))
    validate(no_inventory)
    assert "physicalLocation" not in no_inventory["runs"][0]["results"][0]["locations"][0]


def test_absolute_inventory_path_is_a_file_uri() -> None:
    scan = read_evidence(SAMPLE)
    src = scan.endpoints[0].source
    assert src is not None
    moved = replace(scan.endpoints[0], source=replace(src, file="/srv/inv/qc.yaml"))
    scan = replace(scan, endpoints=(moved,))
    log = json.loads(render(scan, "sarif", lang="en", now=NOW))
    validate(log)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert uri["uri"] == "file:///srv/inv/qc.yaml"
