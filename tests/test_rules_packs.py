"""The shipped rule packs: every rule has fixtures that must match and must not match.

Fixtures live in tests/data/rule_fixtures/<RULE-ID>/{match,nomatch}/*.yaml; each holds one
``endpoint`` (the evidence-file shape) and, for match fixtures, an optional ``expect`` with the
finding's ``severity`` and ``subject``. A shipped rule without both kinds of fixture fails here.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sovaudit.evaluate import default_pack_paths, evaluate, load_rules, shipped_pack_paths
from sovaudit.evaluate.loader import OPTIONAL_PACKS
from sovaudit.models import Endpoint, Severity, endpoint_from_dict

FIXTURES = Path(__file__).parent / "data" / "rule_fixtures"
NOW = datetime.date(2026, 12, 3)  # the last review of the rule texts
DEFAULT = load_rules()
# Every shipped pack at once, whatever the profile: fixtures test each rule on its own, and rule
# ids are unique across all shipped packs (this load fails otherwise).
RULES = load_rules(shipped_pack_paths(), include_default=False)
RULE_IDS = [r.id for r in RULES.rules]
DEFAULT_IDS = [r.id for r in DEFAULT.rules]
LEGAL_IDS = {
    "US-CLOUD-ACT-HOSTING", "US-CLOUD-ACT-MAIL", "US-CLOUD-ACT-DNS", "US-FISA702-CDN-TLS",
    "US-NSL-METADATA", "US-SUBSIDIARY-NO-SHIELD", "FOREIGN-PARENT-US-NEXUS",
    "US-SANCTIONS-AVAILABILITY", "NO-COMITY-CANADA", "QC-LAW25-OUTSIDE-QC",
    "QC-LAW25-FOREIGN-LAW", "QC-HEALTH-INFO", "CA-PROTECTED-B-RESIDENCY", "SOV-FOREIGN-HQ",
    "SOV-FOREIGN-OWNERSHIP", "SOV-PRIVATE-DOMESTIC", "SOV-PUBLIC-INFRA", "UNKNOWN-OPERATOR",
}


def _fixture(path: Path) -> tuple[Endpoint, dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return endpoint_from_dict(data["endpoint"]), data.get("expect") or {}


def _cases() -> list[Any]:
    return [
        pytest.param(rule_dir.name, kind, path, id=f"{rule_dir.name}/{kind}/{path.stem}")
        for rule_dir in sorted(p for p in FIXTURES.iterdir() if p.is_dir())
        for kind in ("match", "nomatch")
        for path in sorted((rule_dir / kind).glob("*.yaml"))
    ]


def test_default_packs_hold_exactly_the_legal_rule_ids() -> None:
    # Rules of the optional packs (domains, mail signals: written in parallel) may join them.
    optional = {f"rules/{name}" for name in OPTIONAL_PACKS}
    optional_ids = {r.id for r in DEFAULT.rules if r.source in optional}
    assert set(DEFAULT_IDS) - optional_ids == LEGAL_IDS
    assert len(DEFAULT_IDS) == len(set(DEFAULT_IDS))
    assert [p.name for p in default_pack_paths()] == [
        "united-states.yaml", "quebec.yaml", "canada.yaml", "sovereignty.yaml"
    ]


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_shipped_rule_has_match_and_nomatch_fixtures(rule_id: str) -> None:
    for kind in ("match", "nomatch"):
        found = list((FIXTURES / rule_id / kind).glob("*.yaml"))
        assert found, f"{rule_id} has no {kind} fixture in {FIXTURES / rule_id / kind}"


def test_no_fixture_folder_without_a_rule() -> None:
    orphans = {p.name for p in FIXTURES.iterdir() if p.is_dir()} - set(RULE_IDS)
    assert not orphans, f"fixtures for rules that do not exist: {sorted(orphans)}"


@pytest.mark.parametrize(("rule_id", "kind", "path"), _cases())
def test_fixture(rule_id: str, kind: str, path: Path) -> None:
    endpoint, expect = _fixture(path)
    [result] = evaluate([endpoint], RULES, now=NOW)
    by_id = {f.rule_id: f for f in result.findings}
    if kind == "nomatch":
        assert rule_id not in by_id, f"{path.name} should not trigger {rule_id}"
        return
    assert rule_id in by_id, f"{path.name} should trigger {rule_id}; got {sorted(by_id)}"
    finding = by_id[rule_id]
    if "severity" in expect:
        assert finding.severity is Severity(expect["severity"])
    if "subject" in expect:
        assert finding.subject == expect["subject"]
    # Every finding ends its evidence chain with the rule and the pack it came from.
    assert finding.evidence[-1].step == "rule"
    assert finding.evidence[-1].value == rule_id
    assert re.fullmatch(r"rules/[a-z-]+\.yaml", finding.evidence[-1].source)


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_rule_texts_references_and_review_date(rule_id: str) -> None:
    rule = RULES.get(rule_id)
    assert rule is not None
    for text in (rule.title, rule.rationale):
        assert text.fr.strip() and text.en.strip()
        assert text.fr != text.en
    assert rule.references
    # Every shipped rule cites at least one real source with a link.
    assert any(r.url and r.url.startswith("https://") for r in rule.references)
    assert datetime.date(2026, 1, 1) <= rule.reviewed <= NOW


@pytest.mark.parametrize(
    ("rule_id", "needle_fr", "needle_en"),
    [
        ("US-FISA702-CDN-TLS", "non vérifié", "unverified"),
        ("NO-COMITY-CANADA", "non vérifiée", "unverified"),
        ("CA-PROTECTED-B-RESIDENCY", "non vérifié", "unverified"),
        ("EU-GDPR-US-TRANSFER", "n'est pas vérifié", "unverified"),
        ("EU-SCHREMS2-FISA702", "non vérifié", "unverified"),
        ("FR-SREN-ART31-SENSITIVE", "non vérifiée", "unverified"),
        ("CA-NS-PIIDPA-IN-CANADA", "ne sont pas vérifiés", "unverified"),
    ],
)
def test_unverified_points_say_so_with_the_review_date(
    rule_id: str, needle_fr: str, needle_en: str
) -> None:
    rule = RULES.get(rule_id)
    assert rule is not None
    assert needle_fr in rule.rationale.fr
    assert needle_en in rule.rationale.en
    assert rule.reviewed.isoformat() in rule.rationale.en


def test_every_layer_gets_at_least_one_rule() -> None:
    # An endpoint of any layer must at least be checked for UNKNOWN-OPERATOR and sovereignty.
    from sovaudit.models import Layer

    for layer in Layer:
        assert any(r.applies_to(layer.value) for r in DEFAULT.rules if r.id == "UNKNOWN-OPERATOR")
        # The domain layer has its own rules (registry, registrar): the data-protection rules
        # do not apply to a registry, which holds no personal data of the body.
        floor = 4 if layer is Layer.DOMAIN else 10
        assert sum(r.applies_to(layer.value) for r in DEFAULT.rules) >= floor


# Certainties the law does not give (issue 26): a rationale speaks of exposure ("can be
# compelled", "can reach", "may cover"). French equivalents included; case and apostrophe
# style do not matter.
OVERSTATEMENTS = (
    "must disclose", "cannot be raised", "does not shield",
    "doit divulguer", "doit communiquer", "ne peut être invoquée", "ne peut pas être invoquée",
    "ne protège pas", "ne met pas les données à l'abri",
)


def _plain(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").lower().split())


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_no_rationale_overstates_what_the_law_gives(rule_id: str) -> None:
    rule = RULES.get(rule_id)
    assert rule is not None
    for text in (rule.rationale.fr, rule.rationale.en, rule.title.fr, rule.title.en):
        found = [phrase for phrase in OVERSTATEMENTS if phrase in _plain(text)]
        assert not found, f"{rule_id} overstates: {found}"


def test_overstatement_check_catches_the_old_wording() -> None:
    # The check must see through line breaks and case, as the folded YAML texts have them.
    assert "must disclose" in _plain("a provider ... Must\n   disclose to US authorities")
    assert "ne peut être invoquée" in _plain("La loi québécoise ne peut\nêtre invoquée")


@pytest.mark.parametrize(
    ("rule_id", "needle_en", "needle_fr"),
    [
        ("US-CLOUD-ACT-HOSTING", "can be compelled", "peut être contraint"),
        ("US-CLOUD-ACT-MAIL", "can be compelled", "peut être contraint"),
        ("US-SUBSIDIARY-NO-SHIELD", "can reach", "peut atteindre"),
        ("US-FISA702-CDN-TLS", "may cover", "peut viser"),
        ("NO-COMITY-CANADA", "What remains arguable", "Reste défendable"),
        ("QC-LAW25-FOREIGN-LAW", "s. 63.5", "art. 63.5"),
        ("QC-HEALTH-INFO", "section 78", "art. 78"),
        ("US-NSL-METADATA", "toll billing records", "facturation"),
    ],
)
def test_corrected_rules_speak_of_exposure(rule_id: str, needle_en: str, needle_fr: str) -> None:
    rule = RULES.get(rule_id)
    assert rule is not None
    assert needle_en.lower() in _plain(rule.rationale.en)
    assert needle_fr.lower() in _plain(rule.rationale.fr)
    assert rule.reviewed == datetime.date(2026, 12, 3)


def _findings(rule_id: str, kind: str, name: str) -> dict[str, Severity]:
    endpoint, _ = _fixture(FIXTURES / rule_id / kind / name)
    [result] = evaluate([endpoint], RULES, now=NOW)
    return {f.rule_id: f.severity for f in result.findings}


def test_provider_in_another_province_is_outside_quebec_but_not_foreign() -> None:
    found = _findings("QC-LAW25-OUTSIDE-QC", "match", "ontario-provider.yaml")
    assert "QC-LAW25-OUTSIDE-QC" in found
    # Canadian control, Canadian entity: none of the foreign-law or foreign-entity rules.
    for foreign in ("QC-LAW25-FOREIGN-LAW", "SOV-FOREIGN-HQ", "SOV-FOREIGN-OWNERSHIP",
                    "CA-PROTECTED-B-RESIDENCY", "CA-NS-PIIDPA-IN-CANADA"):
        assert foreign not in found, foreign
    assert found["SOV-PRIVATE-DOMESTIC"] is Severity.INFO


def test_foreign_group_inside_quebec_cites_the_project_assessment_not_s70_1() -> None:
    found = _findings("QC-LAW25-FOREIGN-LAW", "match", "inside-quebec-63-5.yaml")
    assert "QC-LAW25-FOREIGN-LAW" in found and "QC-LAW25-OUTSIDE-QC" not in found
    rule = RULES.get("QC-LAW25-FOREIGN-LAW")
    assert rule is not None
    assert "s. 63.5" in rule.rationale.en and "art. 63.5" in rule.rationale.fr
    assert any("63.5" in str(r.title) for r in rule.references)


def test_nsl_reaches_communication_providers_only() -> None:
    assert "US-NSL-METADATA" in _findings("US-NSL-METADATA", "match", "m365-mx-health.yaml")
    for name in ("azure-cloud-host.yaml", "route53-dns-host.yaml", "saas-web-app.yaml"):
        found = _findings("US-NSL-METADATA", "nomatch", name)
        assert "US-NSL-METADATA" not in found
        # The hosting rules still report the US provider: narrowing NSL drops no exposure.
        assert found.keys() & {"US-CLOUD-ACT-HOSTING", "US-CLOUD-ACT-DNS"}, name
