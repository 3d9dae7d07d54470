"""The rule engine's match cache must never mix up endpoints that share the same facts."""

from __future__ import annotations

import datetime
from dataclasses import replace

from sovaudit.evaluate import engine, evaluate, load_rules
from sovaudit.models import Attribution, DataClass, Endpoint, EvidenceStep, Layer, Status

TODAY = datetime.date(2026, 11, 25)


def _azure(host: str, address: str) -> Endpoint:
    att = Attribution(
        subject=address, role="address", address=address, asn=8075, operator="microsoft-azure",
        operator_name="Microsoft Azure", category="cloud",
        ultimate_parent="Microsoft Corporation", jurisdiction="US", operator_jurisdiction="US",
        ownership="private", confidence=0.9, status=Status.OK,
        evidence=(EvidenceStep("address", address, "dns"),),
    )
    return Endpoint("org", host, host, Layer.WEB, (DataClass.HEALTH,), Status.OK,
                    attributions=(att,))


def test_same_facts_different_subjects_keep_their_own_evidence() -> None:
    a, b = _azure("a.test", "20.190.128.1"), _azure("b.test", "20.190.128.2")
    out = evaluate([a, b], load_rules(), now=TODAY)
    for endpoint, address in zip(out, ("20.190.128.1", "20.190.128.2"), strict=True):
        hosting = [f for f in endpoint.findings if f.rule_id == "US-CLOUD-ACT-HOSTING"]
        assert hosting and hosting[0].subject == address
        assert hosting[0].evidence[0].value == address
    # The cached decision equals a fresh one: same rule ids for both endpoints.
    assert [f.rule_id for f in out[0].findings] == [f.rule_id for f in out[1].findings]


def test_fast_copy_equals_replace() -> None:
    # The generated copy keeps every field of Endpoint, whatever fields it gains.
    endpoint = engine.Endpoint(
        "org", "svc", "h.example", Layer.WEB, (), Status.OK, "r", "Org", (), ("192.0.2.1",),
        ("h.example",), (), (), None, {"k": 1},
    )
    findings = (engine.Finding("R", engine.Severity.LOW, "t", "r"),)
    assert engine._with_findings(endpoint, findings) == replace(endpoint, findings=findings)
