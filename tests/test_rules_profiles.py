"""Profiles: which shipped packs apply to which legal context, and what each one yields.

The engine-level tests run a realistic attribution (Azure through Microsoft Ireland, US parent)
through each profile and check the findings, their texts in both languages and their citations.
"""

from __future__ import annotations

import datetime
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovaudit.cli import app
from sovaudit.errors import RuleError, UserError
from sovaudit.evaluate import (
    DEFAULT_PROFILE,
    FACTS,
    PROFILES,
    Profile,
    RuleSet,
    Text,
    evaluate,
    get_profile,
    load_rules,
    shipped_pack_paths,
)
from sovaudit.evaluate import loader as loader_module
from sovaudit.evaluate.facts import EU_MEMBER_STATES, EndpointFacts
from sovaudit.models import (
    Attribution,
    DataClass,
    Endpoint,
    EvidenceStep,
    Finding,
    Layer,
    Severity,
    Status,
)

NOW = datetime.date(2026, 11, 25)
RULES_DIR = Path(loader_module.__file__).resolve().parent.parent / "rules"
DOCS = Path(__file__).parent.parent / "docs" / "profiles.md"


def _at(subject: str, name: str, category: str, parent: str, jurisdiction: str | None,
        operator_jurisdiction: str | None, flags: tuple[str, ...] = (),
        status: Status = Status.OK) -> Attribution:
    return Attribution(
        subject=subject,
        role="address",
        operator=name.lower().split()[0],
        operator_name=name,
        category=category,
        ultimate_parent=parent,
        jurisdiction=jurisdiction,
        operator_jurisdiction=operator_jurisdiction,
        ownership="private",
        confidence=0.9,
        status=status,
        flags=flags,
        evidence=(EvidenceStep("jurisdiction", jurisdiction or "?", "providers.yaml"),),
    )


# What the attributor produces for an Azure address of an EU customer: the contracting entity
# is Microsoft Ireland, the parent is Microsoft Corporation, and the chain flag marks Ireland.
AZURE_IE = _at("20.50.2.10", "Microsoft Ireland Operations Limited", "cloud",
               "Microsoft Corporation", "US", "IE", ("chain:IE",))
SCALEWAY = _at("51.15.1.10", "Scaleway SAS", "cloud", "Iliad SA", "FR", "FR")
OVH_CA = _at("51.79.1.10", "Hébergement OVH Inc.", "cloud", "OVH Groupe SA", "FR", "CA",
             ("chain:CA",))
EU_UK_MID = _at("198.51.100.10", "Nuage Exemple SAS", "cloud", "Exemple Holding SE", "DE", "FR",
                ("chain:FR", "chain:GB"))
INFOMANIAK = _at("83.166.1.10", "Infomaniak Network SA", "cloud", "Infomaniak Network SA",
                 "CH", "CH")
UNKNOWN = Attribution(subject="203.0.113.10", role="address", status=Status.UNKNOWN,
                      reason="no-asn")


def _endpoint(attribution: Attribution, *classes: DataClass, host: str = "portail.example.eu"
              ) -> Endpoint:
    return Endpoint(
        organization="org-eu",
        service="portail",
        host=host,
        layer=Layer.WEB,
        data_classes=classes or (DataClass.PERSONAL,),
        status=Status.OK,
        attributions=(attribution,),
    )


@functools.cache
def _rules(profile: str) -> RuleSet:
    # Loading is the slow part (YAML): once per profile keeps the file fast.
    return load_rules(profile=profile)


def _findings(profile: str, ep: Endpoint, lang: str = "en") -> dict[str, Finding]:
    [result] = evaluate([ep], _rules(profile), lang=lang, now=NOW)
    return {f.rule_id: f for f in result.findings}


# --- the profile table ------------------------------------------------------------------------


def test_profiles_are_the_documented_five_and_every_pack_exists() -> None:
    assert list(PROFILES) == ["quebec", "canada", "eu", "france", "switzerland"]
    assert DEFAULT_PROFILE == "quebec"
    shipped = {p.name for p in shipped_pack_paths()}
    shipped_ids = {r.id for r in load_rules(shipped_pack_paths(), include_default=False).rules}
    for profile in PROFILES.values():
        assert profile.title.fr != profile.title.en
        for name in profile.packs:
            # Only the optional domains pack may be missing; a typo here would be caught.
            assert name in shipped or name in loader_module.OPTIONAL_PACKS, (profile.name, name)
        assert set(profile.exclude) <= shipped_ids


def test_every_shipped_pack_is_in_some_profile() -> None:
    used = {name for p in PROFILES.values() for name in p.packs}
    assert {p.name for p in shipped_pack_paths()} <= used


@pytest.mark.parametrize("name", list(PROFILES))
def test_every_profile_loads_and_never_stays_silent_on_unknown_operators(name: str) -> None:
    rules = _rules(name)
    ids = [r.id for r in rules.rules]
    assert len(ids) == len(set(ids))
    assert {"UNKNOWN-OPERATOR", "INTL-UNKNOWN-OPERATOR"} & set(ids)
    [result] = evaluate([_endpoint(UNKNOWN)], rules, now=NOW)
    assert {f.rule_id for f in result.findings} & {"UNKNOWN-OPERATOR", "INTL-UNKNOWN-OPERATOR"}
    assert all(p.source.startswith("rules/") for p in rules.packs)


def test_default_profile_is_quebec_and_keeps_its_packs() -> None:
    default = load_rules()
    assert [r.id for r in default.rules] == [r.id for r in load_rules(profile="quebec").rules]
    assert [p.id for p in default.packs][:4] == ["united-states", "quebec", "canada",
                                                 "sovereignty"]
    assert get_profile(None) is PROFILES["quebec"]


def test_unknown_profile_is_a_rule_error_listing_the_valid_ones() -> None:
    with pytest.raises(RuleError, match="unknown profile 'europe'") as info:
        load_rules(profile="europe")
    for name in PROFILES:
        assert name in str(info.value)
    # Even without the shipped packs: a typo must never pass silently.
    with pytest.raises(RuleError, match="unknown profile"):
        load_rules(include_default=False, profile="europe")


def test_profile_exclusions_and_skip() -> None:
    eu = load_rules(profile="eu")
    assert eu.get("NO-COMITY-CANADA") is None
    assert eu.get("US-CLOUD-ACT-HOSTING") is not None
    us_pack = next(p for p in eu.packs if p.id == "united-states")
    assert "NO-COMITY-CANADA" not in us_pack.rule_ids
    # Skipping what the profile already left out is harmless; an unknown id still fails.
    assert load_rules(profile="eu", skip=["NO-COMITY-CANADA"]).get("US-NSL-METADATA")
    with pytest.raises(RuleError, match="cannot skip unknown rule id"):
        load_rules(profile="eu", skip=["NOPE"])
    # A pack given explicitly is loaded whole, whatever the profile.
    whole = load_rules([RULES_DIR / "united-states.yaml"], include_default=False, profile="eu")
    assert whole.get("NO-COMITY-CANADA") is not None


def test_optional_pack_is_skipped_when_absent_and_a_missing_one_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    title = Text("Essai", "Test")
    monkeypatch.setattr(loader_module, "OPTIONAL_PACKS", frozenset({"not-yet.yaml"}))
    monkeypatch.setitem(
        PROFILES, "test", Profile("test", title, ("united-states.yaml", "not-yet.yaml"))
    )
    assert [p.id for p in load_rules(profile="test").packs] == ["united-states"]
    monkeypatch.setitem(PROFILES, "typo", Profile("typo", title, ("unitedstates.yaml",)))
    with pytest.raises(RuleError, match="cannot read the rule file"):
        load_rules(profile="typo")


# --- derived facts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attribution", "parent_eu", "parent_eea", "operator_eu", "chain", "outside"),
    [
        (AZURE_IE, False, False, True, ("IE", "US"), True),
        (SCALEWAY, True, True, True, ("FR",), False),
        (OVH_CA, True, True, False, ("CA", "FR"), True),
        (EU_UK_MID, True, True, True, ("FR", "DE", "GB"), True),
        (INFOMANIAK, False, False, False, ("CH",), True),
        (_at("1.1.1.1", "Norsk AS", "cloud", "Norsk AS", "NO", "NO"), False, True, False,
         ("NO",), True),
        (_at("1.1.1.2", "Quebec", "public", "Québec", "CA-QC", "CA-QC"), False, False, False,
         ("CA",), True),
        (UNKNOWN, None, None, None, (), None),
    ],
)
def test_eu_facts(attribution: Attribution, parent_eu: bool | None, parent_eea: bool | None,
                  operator_eu: bool | None, chain: tuple[str, ...], outside: bool | None) -> None:
    ep = EndpointFacts(_endpoint(attribution))
    assert FACTS["ultimate_parent_in_eu"].value(ep, attribution) is parent_eu
    assert FACTS["ultimate_parent_in_eea"].value(ep, attribution) is parent_eea
    assert FACTS["operator_in_eu"].value(ep, attribution) is operator_eu
    assert FACTS["chain_countries"].value(ep, attribution) == chain
    assert FACTS["chain_outside_eu"].value(ep, attribution) is outside


def test_eu_member_states_are_27_iso_codes() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert "GR" in EU_MEMBER_STATES and "EL" not in EU_MEMBER_STATES
    assert not {"GB", "CH", "NO", "US"} & EU_MEMBER_STATES


# --- what each profile yields -----------------------------------------------------------------


def test_eu_body_at_azure_gets_eu_findings_with_citations_in_both_languages() -> None:
    ep = _endpoint(AZURE_IE, DataClass.HEALTH)
    en = _findings("eu", ep, "en")
    fr = _findings("eu", ep, "fr")
    assert set(en) == set(fr)
    assert {"EU-GDPR-US-TRANSFER", "EU-GDPR-ART48-FOREIGN-ORDER", "EU-CSF-NON-EU-CONTROL",
            "US-CLOUD-ACT-HOSTING", "US-SUBSIDIARY-NO-SHIELD"} <= set(en)
    # Nothing written for Québec or Canada leaks into an EU audit.
    assert not [r for r in en if r.startswith(("QC-", "SOV-", "CA-", "NO-COMITY"))]
    assert "UNKNOWN-OPERATOR" not in en
    transfer_en, transfer_fr = en["EU-GDPR-US-TRANSFER"], fr["EU-GDPR-US-TRANSFER"]
    assert transfer_en.severity is Severity.CRITICAL
    assert transfer_en.subject == "20.50.2.10"
    # Both halves of the point: adequacy for the transfer, no shield from the CLOUD Act.
    for needle in ("2023/1795", "CLOUD Act", "C-703/25 P", "unverified", "2026-11-25"):
        assert needle in transfer_en.rationale, needle
    for needle in ("2023/1795", "CLOUD Act", "adéquation", "n'est pas vérifié", "2026-11-25"):
        assert needle in transfer_fr.rationale, needle
    assert transfer_fr.title != transfer_en.title
    assert any(r.url == "https://eur-lex.europa.eu/eli/dec_impl/2023/1795/oj"
               for r in transfer_en.references)
    assert any("RGPD" in r.title for r in transfer_fr.references)
    assert transfer_en.evidence[-1] == EvidenceStep("rule", "EU-GDPR-US-TRANSFER",
                                                    "rules/eu.yaml")
    assert "paras 179-181" in _findings("eu", _endpoint(_at(
        "104.16.1.10", "Cloudflare, Inc.", "cdn", "Cloudflare, Inc.", "US", "US")))[
        "EU-SCHREMS2-FISA702"].rationale


def test_eu_body_at_an_eu_controlled_provider_gets_only_the_favourable_principle() -> None:
    found = _findings("eu", _endpoint(SCALEWAY, DataClass.HEALTH))
    assert list(found) == ["EU-CSF-EU-CONTROLLED"]
    assert found["EU-CSF-EU-CONTROLLED"].severity is Severity.INFO


def test_france_profile_adds_secnumcloud_and_sren() -> None:
    found = _findings("france", _endpoint(AZURE_IE, DataClass.HEALTH), "fr")
    assert found["FR-SECNUMCLOUD-NON-EU-PARENT"].severity is Severity.HIGH
    assert "24 %" in found["FR-SECNUMCLOUD-NON-EU-PARENT"].rationale
    assert "39 %" in found["FR-SECNUMCLOUD-NON-EU-PARENT"].rationale
    assert found["FR-SREN-ART31-SENSITIVE"].severity is Severity.HIGH
    assert "EU-GDPR-US-TRANSFER" in found
    chain = _findings("france", _endpoint(EU_UK_MID))
    assert "FR-SECNUMCLOUD-NON-EU-CHAIN" in chain
    assert "FR-SECNUMCLOUD-NON-EU-PARENT" not in chain


def test_switzerland_profile() -> None:
    azure = _findings("switzerland", _endpoint(AZURE_IE, DataClass.HEALTH, host="www.ex.ch"))
    assert azure["CH-FADP-US-TRANSFER"].severity is Severity.CRITICAL
    assert "15 September 2024" in azure["CH-FADP-US-TRANSFER"].rationale
    assert not [r for r in azure if r.startswith("EU-")]
    assert _findings("switzerland", _endpoint(INFOMANIAK, host="www.ex.ch")) == {}
    assert "CH-FADP-DISCLOSURE-ABROAD" in _findings("switzerland", _endpoint(OVH_CA))


def test_canada_profile_has_provinces_but_not_quebec() -> None:
    azure_ca = _at("20.48.196.10", "Microsoft Canada Inc.", "cloud", "Microsoft Corporation",
                   "US", "CA", ("chain:CA",))
    found = _findings("canada", _endpoint(azure_ca, DataClass.PERSONAL, host="www.ex.ns.ca"))
    assert found["CA-NS-PIIDPA-IN-CANADA"].severity is Severity.HIGH
    assert found["CA-BC-FOIPPA-SUPPLEMENTARY-PIA"].severity is Severity.LOW
    assert {"NO-COMITY-CANADA", "SOV-FOREIGN-OWNERSHIP"} <= set(found)
    assert not [r for r in found if r.startswith("QC-")]
    unknown = _findings("canada", _endpoint(UNKNOWN))
    assert "INTL-UNKNOWN-OPERATOR" in unknown and "UNKNOWN-OPERATOR" not in unknown


# --- CLI --------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_rules_list_profile_eu() -> None:
    result = runner.invoke(app, ["rules", "list", "--profile", "eu", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in json.loads(result.stdout)] == [
        r.id for r in load_rules(profile="eu").rules
    ]
    table = runner.invoke(app, ["rules", "list", "--profile", "eu"], env={"COLUMNS": "200"})
    assert table.exit_code == 0, table.output
    assert "EU-GDPR-US-TRANSFER" in table.output and "QC-LAW25-OUTSIDE-QC" not in table.output
    assert "profile / profil eu" in table.output and "rules/eu.yaml" in table.output


def test_cli_unknown_profile_exits_2_with_the_valid_names() -> None:
    # A real process: exit code 2 comes from the entry point that renders SovauditError.
    done = subprocess.run(
        [sys.executable, "-m", "sovaudit", "rules", "list", "--profile", "europe"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 2, done.stderr
    message = (done.stdout + done.stderr).replace("\n", "")
    assert "unknown profile 'europe'" in message
    assert "quebec, canada, eu, france, switzerland" in message


def test_cli_rules_show_profile() -> None:
    missing = runner.invoke(app, ["rules", "show", "FR-SREN-ART31-SENSITIVE"])
    assert isinstance(missing.exception, UserError)
    assert "it is in profile france" in str(missing.exception)
    shown = runner.invoke(
        app, ["rules", "show", "FR-SREN-ART31-SENSITIVE", "--profile", "france", "--lang", "fr"],
        env={"COLUMNS": "200"},
    )
    assert shown.exit_code == 0, shown.output
    assert "Fichier : rules/france.yaml:" in shown.output
    assert "n° 2024-449" in shown.output


def test_cli_validate_checks_ids_against_every_shipped_pack(tmp_path: Path) -> None:
    clash = (RULES_DIR / "eu.yaml").read_text(encoding="utf-8").replace("id: eu\n", "id: mine\n")
    path = tmp_path / "mine.yaml"
    path.write_text(clash, encoding="utf-8")
    result = runner.invoke(app, ["rules", "validate", str(path)])
    assert result.exit_code == 2
    assert "duplicate rule id EU-GDPR-US-TRANSFER" in result.output.replace("\n", "")
    assert runner.invoke(app, ["rules", "validate", "--no-default-rules", str(path)]).exit_code == 0


# --- docs -------------------------------------------------------------------------------------


def test_profiles_doc_lists_every_profile_and_its_packs() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    for profile in PROFILES.values():
        row = next(
            (line for line in docs.splitlines() if line.startswith(f"| `{profile.name}` |")), None
        )
        assert row is not None, profile.name
        for pack in profile.packs:
            assert f"`{pack}`" in row, (profile.name, pack)
        for rule_id in profile.exclude:
            assert rule_id in row, (profile.name, rule_id)
