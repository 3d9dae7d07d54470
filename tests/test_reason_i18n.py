"""Attribution reasons: stored in English in the evidence, printed in the report's language."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sovaudit.attribute.engine import UNKNOWN_REASONS, reason_text, translate_reason
from sovaudit.evidence.read import read_evidence
from sovaudit.report import render

VALUES = {
    "address": "10.0.0.1",
    "label": "A portail.example.test",
    "asn": "64500",
    "asn_name": "EXAMPLE-NET (weird: name; with punctuation)",
    "country": "CA",
    "name": "spf.vendor.example",
    "reason": "SERVFAIL from 127.0.0.1:53",
}


@pytest.mark.parametrize("code", sorted(UNKNOWN_REASONS))
def test_every_reason_round_trips_to_french(code: str) -> None:
    english = reason_text(code, "en", **VALUES)
    french = translate_reason(english, ("unverified", code), "fr")
    assert french == reason_text(code, "fr", **VALUES)
    assert french != english
    assert translate_reason(english, (code,), "en") == english


def test_text_that_does_not_match_its_template_is_left_alone() -> None:
    odd = "identity provider Okta is not in the provider registry"
    assert translate_reason(odd, ("asn-not-in-registry",), "fr") == odd
    assert translate_reason(odd, (), "fr") == odd
    assert translate_reason("", ("no-asn",), "fr") == ""


def test_a_french_report_prints_french_reasons() -> None:
    scan = read_evidence(Path(__file__).parent / "data" / "evidence" / "sample.json")
    english = reason_text("no-asn", "en", address="192.0.2.77")
    [first, *rest] = scan.endpoints
    attribution = replace(
        first.attributions[0] if first.attributions else _any_attribution(scan),
        reason=english,
        flags=("no-asn",),
    )
    scan = replace(scan, endpoints=(replace(first, attributions=(attribution,)), *rest))
    now = datetime(2026, 11, 25, tzinfo=UTC)
    french = reason_text("no-asn", "fr", address="192.0.2.77")
    for fmt in ("md", "html"):
        assert french in render(scan, fmt, lang="fr", now=now)
        report = render(scan, fmt, lang="en", now=now)
        assert english in report and french not in report
    # The evidence itself keeps the English sentence.
    assert english in render(scan, "json", lang="fr", now=now)


def _any_attribution(scan):  # type: ignore[no-untyped-def]
    return next(a for e in scan.endpoints for a in e.attributions)
