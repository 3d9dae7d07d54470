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


# The official OASIS SARIF 2.1.0 schema (errata 01), vendored from a PyPI wheel: see
# tests/data/sarif/README.md. Our own stricter subset (additionalProperties: false on the
# objects we emit) is checked too: it catches a misspelt member the official one allows.
OFFICIAL = Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json"


def validate(log: dict[str, Any]) -> None:
    official = json.loads(OFFICIAL.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(official)
    jsonschema.Draft4Validator(
        official, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
    ).validate(log)
    text = resources.files("sovaudit.report").joinpath("schema/sarif-2.1.0.json").read_text(
        encoding="utf-8"
    )
    schema = json.loads(text)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    validator.validate(log)


def test_official_schema_is_the_oasis_one() -> None:
    official = json.loads(OFFICIAL.read_text(encoding="utf-8"))
    assert official["id"] == (
        "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
        "sarif-schema-2.1.0.json"
    )
    assert official["properties"]["version"]["enum"] == ["2.1.0"]


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


def test_one_result_per_exposure_with_its_legal_bases() -> None:
    results = sarif()["runs"][0]["results"]
    # 10 findings, 7 exposures: the portal's three rules on Microsoft are one result.
    assert len(results) == 7
    hosting = next(r for r in results if "US-CLOUD-ACT-HOSTING" in r["properties"]["rules"])
    assert hosting["ruleId"] == "QC-HEALTH-INFO"  # the most severe of its findings
    assert hosting["properties"]["rules"] == [
        "QC-HEALTH-INFO", "US-CLOUD-ACT-HOSTING", "NO-COMITY-CANADA"
    ]
    assert hosting["message"]["text"].endswith(
        "-> Microsoft Corporation (US). Legal bases: QC-HEALTH-INFO, US-CLOUD-ACT-HOSTING, "
        "NO-COMITY-CANADA"
    )
    assert (hosting["properties"]["controller"], hosting["properties"]["jurisdiction"]) == (
        "Microsoft Corporation", "US"
    )
    fr = sarif("fr")["runs"][0]["results"]
    assert "Fondements juridiques\u202f: QC-HEALTH-INFO" in fr[0]["message"]["text"]


def test_results_have_inventory_line_and_logical_locations() -> None:
    results = sarif()["runs"][0]["results"]
    hosting = next(r for r in results if "US-CLOUD-ACT-HOSTING" in r["properties"]["rules"])
    assert hosting["level"] == "error"
    [loc] = hosting["locations"]
    assert loc["physicalLocation"] == {
        "artifactLocation": {"uri": "inventory.yaml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 7},
    }
    assert [x["fullyQualifiedName"] for x in loc["logicalLocations"]] == [
        "sante-qc", "sante-qc/portail", "sante-qc/portail/portail.santequebec.ca/web",
    ]
    assert hosting["baselineState"] == "new"
    # The accepted US-CLOUD-ACT-MAIL and the live US-NSL-METADATA are one exposure (the mail
    # on Microsoft): live, as one of its findings is, and saying which basis was accepted.
    mail = next(r for r in results if "US-CLOUD-ACT-MAIL" in r["properties"]["rules"])
    assert mail["ruleId"] == "US-NSL-METADATA" and "suppressions" not in mail
    assert mail["properties"]["acceptedRules"] == ["US-CLOUD-ACT-MAIL"]
    assert mail["message"]["text"].endswith("(accepted risk: US-CLOUD-ACT-MAIL)")
    assert mail["baselineState"] == "new"  # NSL is new, the accepted basis unchanged
    fingerprints = [r["partialFingerprints"]["sovauditExposure/v1"] for r in results]
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
    assert loc["physicalLocation"] == {
        "artifactLocation": {"uri": "inventories/qc.yaml", "uriBaseId": "%SRCROOT%"}
    }
    no_inventory = json.loads(render(scan, "sarif", lang="en", now=NOW))
    validate(no_inventory)
    assert "physicalLocation" not in no_inventory["runs"][0]["results"][0]["locations"][0]


def _uri_of(scan_file: str) -> dict[str, str]:
    scan = read_evidence(SAMPLE)
    src = scan.endpoints[0].source
    assert src is not None
    moved = replace(scan.endpoints[0], source=replace(src, file=scan_file))
    scan = replace(scan, endpoints=(moved,))
    log = json.loads(render(scan, "sarif", lang="en", now=NOW))
    validate(log)
    uri: dict[str, str] = (
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    )
    return uri


def test_uris_are_relative_to_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "inventories").mkdir()
    (repo / "inventories" / "qc.yaml").write_text("version: 1\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    want = {"uri": "inventories/qc.yaml", "uriBaseId": "%SRCROOT%"}
    assert _uri_of(str(repo / "inventories" / "qc.yaml")) == want  # absolute
    monkeypatch.chdir(elsewhere)
    assert _uri_of("../repo/inventories/qc.yaml") == want  # relative with ..
    monkeypatch.chdir(repo / "inventories")
    assert _uri_of("qc.yaml") == want  # relative, from a subdirectory
    # Outside any repository: relative to the inventory's own directory, never absolute.
    assert _uri_of("/srv/inv/qc.yaml") == {"uri": "qc.yaml", "uriBaseId": "%SRCROOT%"}
