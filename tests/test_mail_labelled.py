"""The mail verdict against a labelled table of real-world mail setups (offline, pure).

tests/data/mail_labelled.yaml lists what DNS shows for each setup and the expected gateway and
mailbox host; the verdict must get (nearly) all of them, and the accuracy is printed so a change
in weights shows its effect at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sovaudit.attribute.mail import MailEvidence, mail_verdict
from sovaudit.attribute.registry import Registry, default_registry
from sovaudit.collect.mailsignals import default_dkim_selectors, mailbox_operators

TABLE = Path(__file__).parent / "data" / "mail_labelled.yaml"
CASES: list[dict[str, Any]] = yaml.safe_load(TABLE.read_text(encoding="utf-8"))["cases"]
# Below this share of exact (gateway, mailbox) pairs the weights have regressed.
MIN_ACCURACY = 0.95


@pytest.fixture(scope="module")
def registry() -> Registry:
    return default_registry()


def _evidence(case: dict[str, Any]) -> MailEvidence:
    hints = {s.selector: s.operator for s in default_dkim_selectors() if s.operator}
    return MailEvidence(
        domain=f"{case['id']}.example",
        mx=tuple(case.get("mx") or ()),
        spf_includes=tuple(case.get("spf") or ()),
        autodiscover=tuple(case.get("autodiscover") or ()),
        dkim=tuple((k, v) for k, v in (case.get("dkim") or {}).items()),
        tokens=tuple(case.get("tokens") or ()),
        server_operators=dict(case.get("servers") or {}),
        selector_hints=hints,
        mailbox_operators=mailbox_operators(),
    )


def _got(case: dict[str, Any], registry: Registry) -> tuple[str | None, str | None]:
    v = mail_verdict(_evidence(case), registry)
    return (
        v.gateway.operator if v.gateway else None,
        v.mailbox.operator if v.mailbox else None,
    )


def test_table_is_big_and_well_formed(registry: Registry) -> None:
    assert len(CASES) >= 50
    assert len({c["id"] for c in CASES}) == len(CASES)
    for case in CASES:
        for key in ("gateway", "mailbox"):
            op = case[key]
            assert op is None or op in registry.operators, f"{case['id']}: unknown {key} {op}"
        for op in (case.get("servers") or {}).values():
            assert op in registry.operators, f"{case['id']}: unknown server operator {op}"


def test_labelled_accuracy(registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    misses: list[str] = []
    for case in CASES:
        want = (case["gateway"], case["mailbox"])
        got = _got(case, registry)
        if got != want:
            misses.append(f"{case['id']}: want {want}, got {got}")
    accuracy = 1 - len(misses) / len(CASES)
    with capsys.disabled():
        print(f"\nmail verdict: {len(CASES) - len(misses)}/{len(CASES)} = {accuracy:.1%}")
        for miss in misses:
            print("  miss:", miss)
    assert accuracy >= MIN_ACCURACY, "\n".join(misses)


def test_a_token_alone_never_makes_a_mailbox_host(registry: Registry) -> None:
    # Self-hosted mail with a Microsoft 365 and a Google token: the tokens are tenants only.
    ev = MailEvidence(
        domain="musee.example",
        mx=("mx.musee.example",),
        tokens=("MS=ms1", "google-site-verification=x"),
        server_operators={"mx.musee.example": "videotron"},
        mailbox_operators=mailbox_operators(),
    )
    v = mail_verdict(ev, registry)
    assert v.mailbox is not None and v.mailbox.operator == "videotron"
    assert {t.operator for t in v.tenants} == {"microsoft-365", "google-workspace"}
    assert all(op != "microsoft-365" for op, _ in v.scores)
    # Without the server's own attribution there is nothing but tokens: no mailbox host at all.
    bare = mail_verdict(
        MailEvidence(domain="x.example", tokens=("MS=ms1",), mailbox_operators=mailbox_operators()),
        registry,
    )
    assert bare.mailbox is None and bare.gateway is None


def test_gateway_in_front_of_mailbox_lists_the_weighted_signals(registry: Registry) -> None:
    case = next(c for c in CASES if c["id"] == "proofpoint-front-m365")
    v = mail_verdict(_evidence(case), registry)
    assert v.fronted
    assert v.gateway is not None and v.gateway.operator == "proofpoint"
    assert v.mailbox is not None
    kinds = {s.kind for s in v.mailbox.signals}
    assert {"spf-include", "autodiscover", "dkim-cname", "token"} <= kinds
    assert v.mailbox.confidence == pytest.approx(0.95)  # 0.25 + 0.40 + 0.30 + 0.05, capped
    # Proofpoint's own SPF include never counts towards the mailbox host.
    assert all(op != "proofpoint" for op, _ in v.scores)


def test_bulk_senders_are_senders_not_mailbox_hosts(registry: Registry) -> None:
    case = next(c for c in CASES if c["id"] == "selfhosted-with-sendgrid-and-ses")
    v = mail_verdict(_evidence(case), registry)
    assert v.mailbox is not None and v.mailbox.operator == "cogeco"
    assert set(v.senders) == {"sendgrid", "aws-ses"}
