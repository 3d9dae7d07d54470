"""Baselines, diffs and history on evidence built in memory (pure functions)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from sovaudit.errors import EvidenceError
from sovaudit.evidence.baseline import control_summary, diff, load_scan, mark_against
from sovaudit.evidence.history import append, series
from sovaudit.models import (
    Attribution,
    DataClass,
    Endpoint,
    Finding,
    Layer,
    Scan,
    Severity,
    Status,
)


def attribution(parent: str, jur: str, address: str = "192.0.2.1") -> Attribution:
    return Attribution(subject=address, role="address", address=address, ultimate_parent=parent,
                       jurisdiction=jur, status=Status.OK, confidence=0.9)


def endpoint(host: str, layer: Layer, attrs: tuple[Attribution, ...],
             findings: tuple[Finding, ...] = (), status: Status = Status.OK) -> Endpoint:
    return Endpoint("rq", host, host, layer, (DataClass.TAX,), status,
                    attributions=attrs, findings=findings)


def finding(rule: str, sev: Severity = Severity.HIGH) -> Finding:
    return Finding(rule, sev, f"title {rule}", "why")


def scan(*endpoints: Endpoint, when: str = "2026-11-01T00:00:00Z") -> Scan:
    return Scan("0", when, "inv.yaml", ("127.0.0.1:53",), tuple(endpoints))


BELL = attribution("BCE Inc.", "CA")
MSFT = attribution("Microsoft Corporation", "US", "52.101.68.10")


def test_mail_moving_to_microsoft_is_a_move_and_a_new_finding() -> None:
    old = scan(endpoint("revenuquebec.ca", Layer.MAIL, (BELL,)),
               endpoint("www.revenuquebec.ca", Layer.WEB, (MSFT,),
                        (finding("US-CLOUD-ACT-HOSTING"),)))
    new = scan(endpoint("revenuquebec.ca", Layer.MAIL, (MSFT,), (finding("US-CLOUD-ACT-MAIL"),)),
               endpoint("www.revenuquebec.ca", Layer.WEB,
                        (replace(MSFT, address="52.101.68.99"),),
                        (finding("US-CLOUD-ACT-HOSTING"),)))
    d = diff(old, new)
    assert [m.sentence() for m in d.moves] == [
        "mail for revenuquebec.ca moved from BCE Inc. (CA) to Microsoft Corporation (US)"
    ]
    assert [(k[2], f.rule_id) for k, f in d.new] == [("revenuquebec.ca", "US-CLOUD-ACT-MAIL")]
    assert d.resolved == ()
    marked, resolved = mark_against(new, old)
    statuses = {(e.host, f.rule_id): f.status for e in marked.endpoints for f in e.findings}
    assert statuses == {("revenuquebec.ca", "US-CLOUD-ACT-MAIL"): "new",
                        ("www.revenuquebec.ca", "US-CLOUD-ACT-HOSTING"): "unchanged"}
    assert resolved == []


def test_resolved_findings_but_not_when_endpoint_became_unknown() -> None:
    old = scan(endpoint("a.test", Layer.WEB, (MSFT,), (finding("US-CLOUD-ACT-HOSTING"),)),
               endpoint("b.test", Layer.WEB, (MSFT,), (finding("US-CLOUD-ACT-HOSTING"),)))
    new = scan(endpoint("a.test", Layer.WEB, (BELL,)),
               endpoint("b.test", Layer.WEB, (), status=Status.UNKNOWN))
    _marked, resolved = mark_against(new, old)
    assert [(r.host, r.rule_id) for r in resolved] == [("a.test", "US-CLOUD-ACT-HOSTING")]


def test_control_summary() -> None:
    assert control_summary(endpoint("x", Layer.WEB, (MSFT, BELL, MSFT))) == (
        "BCE Inc. (CA), Microsoft Corporation (US)"
    )
    assert control_summary(endpoint("x", Layer.WEB, (), status=Status.UNKNOWN)) == "unknown"


def test_history_roundtrip(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite"
    append(db, scan(endpoint("a.test", Layer.WEB, (BELL,)), when="2026-01-01T00:00:00Z"))
    append(db, scan(endpoint("a.test", Layer.WEB, (MSFT,)),
                    endpoint("b.test", Layer.WEB, (BELL,)), when="2026-02-01T00:00:00Z"))
    points = series(db)
    assert [(p.endpoints, p.foreign_controlled, p.us_controlled) for p in points] == [
        (1, 0, 0), (2, 1, 1)]
    assert points[1].us_share == 0.5
    assert series(db, "nobody") == []


def test_load_scan_errors(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="no such file"):
        load_scan(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(EvidenceError, match="invalid JSON"):
        load_scan(bad)
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(EvidenceError, match="not a sovaudit evidence file"):
        load_scan(other)


def _subject(f: Finding, a: Attribution) -> Finding:
    return replace(f, subject=a.subject)


def test_mail_moving_from_quebec_to_microsoft_gains_an_exposure_and_loses_a_good_outcome() -> None:
    videotron = attribution("Québecor inc.", "CA", "24.37.0.25")
    old = scan(endpoint("revenuquebec.ca", Layer.MAIL, (videotron,),
                        (_subject(finding("SOV-PRIVATE-DOMESTIC", Severity.INFO), videotron),)))
    new = scan(endpoint("revenuquebec.ca", Layer.MAIL, (MSFT,), (
        _subject(finding("US-CLOUD-ACT-MAIL", Severity.CRITICAL), MSFT),
        _subject(finding("QC-LAW25-FOREIGN-LAW"), MSFT),
    )))
    d = diff(old, new)
    # One exposure (two legal bases), not two findings; the domestic host is a good outcome lost.
    assert [(x.endpoint.host, x.party.parent, x.severity, x.rules) for x in d.exposures_gained] \
        == [("revenuquebec.ca", "Microsoft Corporation", Severity.CRITICAL,
             ("US-CLOUD-ACT-MAIL", "QC-LAW25-FOREIGN-LAW"))]
    assert d.exposures_lost == ()
    assert [x.party.parent for x in d.good_lost] == ["Québecor inc."]
    data = d.to_dict()
    assert data["exposures_gained"][0]["rules"] == ["US-CLOUD-ACT-MAIL", "QC-LAW25-FOREIGN-LAW"]
    assert data["good_outcomes_lost"][0]["jurisdiction"] == "CA"
    # And the other way round: the exposure is lost, the good outcome gained.
    back = diff(new, old)
    assert [x.party.parent for x in back.exposures_lost] == ["Microsoft Corporation"]
    assert [x.party.parent for x in back.good_gained] == ["Québecor inc."]
