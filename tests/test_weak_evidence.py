"""Weak attributions in rules (accept_weak) and sibling networks recognized by their AS name."""

from __future__ import annotations

import datetime
import ipaddress
import textwrap
from pathlib import Path
from typing import NamedTuple

import pytest

from sovaudit.attribute.engine import (
    CONF_ASN,
    CONF_SIBLING,
    LEVEL_CHAIN,
    Attributor,
    attribution_level,
)
from sovaudit.attribute.registry import parse_registry
from sovaudit.errors import DatasetError, RuleError
from sovaudit.evaluate import evaluate, load_rules
from sovaudit.models import Attribution, DataClass, Endpoint, Layer, Status

NOW = datetime.date(2026, 12, 3)

_PACK = """
rules:
  - id: {rid}
    title: {{fr: "Titre", en: "Title"}}
    rationale: {{fr: "Justification", en: "Rationale"}}
    references:
      - {{title: "test", url: "https://example.org"}}
    reviewed: 2026-12-03
{extra}    when:
      all:
        - {{fact: foreign_controlled, equals: {value}}}
    severity:
      default: high
"""


def _rules(tmp_path: Path, **variants: tuple[str, str]) -> object:
    paths = []
    for rid, (value, extra) in variants.items():
        path = tmp_path / f"{rid.lower()}.yaml"
        text = _PACK.format(rid=rid.replace("_", "-"), value=value, extra=extra)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        paths.append(path)
    return load_rules(paths, include_default=False)


def _weak(country: str) -> Attribution:
    return Attribution(
        subject="198.51.99.7", role="address", asn=399000, asn_name="Example Hosting",
        operator_name="Example Hosting", jurisdiction=country, confidence=0.3,
        status=Status.UNKNOWN, reason="weak", flags=("weak", "country-only"),
    )  # fmt: skip


def _strong(country: str) -> Attribution:
    return Attribution(
        subject="198.51.99.8", role="address", asn=399001, operator="x", operator_name="X",
        ultimate_parent="X", jurisdiction=country, operator_jurisdiction=country,
        confidence=0.9, status=Status.OK,
    )  # fmt: skip


def _fired(rules: object, *attributions: Attribution) -> set[str]:
    ep = Endpoint(
        organization="o", service="s", host="h.example", layer=Layer.WEB,
        data_classes=(DataClass.HEALTH,), status=Status.OK, attributions=attributions,
    )  # fmt: skip
    (out,) = evaluate([ep], rules, now=NOW)  # type: ignore[arg-type]
    return {f.rule_id.replace("-", "_") for f in out.findings}


def test_control_facts_ignore_weak_attributions_unless_the_rule_accepts_them(
    tmp_path: Path,
) -> None:
    rules = _rules(
        tmp_path,
        FOREIGN=("true", ""),
        FOREIGN_WEAK=("true", "    accept_weak: true\n"),
        DOMESTIC_WEAK=("false", "    accept_weak: true\n"),
        DOMESTIC=("false", ""),
    )
    # A network registered in the US, owner unknown: only the rule that accepts weak fires.
    assert _fired(rules, _weak("US")) == {"FOREIGN_WEAK"}
    # Registered in Canada: weak evidence never counts as domestic, even when accepted.
    assert _fired(rules, _weak("CA")) == set()
    # The registry's answer still decides.
    assert _fired(rules, _strong("CA")) == {"DOMESTIC", "DOMESTIC_WEAK"}
    assert _fired(rules, _weak("CA"), _strong("US")) == {"FOREIGN", "FOREIGN_WEAK"}
    # The cached evaluation tells a weak and a strong attribution with the same facts apart.
    assert _fired(rules, _strong("US")) == {"FOREIGN", "FOREIGN_WEAK"}
    assert _fired(rules, _weak("US")) == {"FOREIGN_WEAK"}


def test_accept_weak_must_be_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="accept_weak"):
        _rules(tmp_path, BAD=("true", "    accept_weak: sometimes\n"))


# -- sibling networks -----------------------------------------------------------------------------

_REGISTRY = """
version: "t"
reviewed: 2026-12-03
entities:
  - {id: acme, name: "Acme Cloud Holdings, Inc.", country: US, ownership: private, parent: null,
     listed: null, source: "test", reviewed: 2026-12-03}
  - {id: acme-de, name: "Acme Rechenzentrum GmbH", country: DE, ownership: private,
     parent: acme, listed: null, source: "test", reviewed: 2026-12-03}
  - {id: nordhost, name: "Nordhost AB", country: SE, ownership: private, parent: null,
     listed: null, source: "test", reviewed: 2026-12-03}
operators:
  - {id: acme-cloud, name: Acme Cloud, category: cloud, parent: acme, asns: [399000],
     org_names: ["ACME-CLOUD-AS"], source: "test", reviewed: 2026-12-03,
     exclude_asns: [{asn: 399009, reason: "a reseller's network named after Acme"}]}
  - {id: nordhost, name: Hosting, category: cloud, parent: nordhost, asns: [399020],
     source: "test", reviewed: 2026-12-03}
"""


class _Match(NamedTuple):
    asn: int
    name: str | None
    network: str
    source: str


class _Table:
    ROWS = (
        ("198.51.99.0/26", 399000, "Acme Cloud Holdings Inc"),  # listed
        ("198.51.99.64/26", 399001, "ACME CLOUD HOLDINGS, INC."),  # sibling: same name
        ("198.51.99.128/27", 399002, "Acme Rechenzentrum GmbH"),  # a listed subsidiary's name
        ("198.51.99.160/27", 399003, "Acme Cloud Holdings Look-alike LLC"),  # look-alike
        ("198.51.99.192/27", 399004, "Hosting"),  # an operator named with a generic word
        ("198.51.99.224/28", 399009, "Acme Cloud"),  # excluded with a reason
        ("198.51.99.240/28", 399005, "Not Acme Cloud Holdings"),  # a longer name containing it
    )

    def lookup(self, ip: str) -> _Match | None:
        addr = ipaddress.ip_address(ip)
        for net, asn, name in self.ROWS:
            if addr in ipaddress.ip_network(net):
                return _Match(asn, name, net, "test table")
        return None

    def name_of(self, asn: int) -> str | None:
        return next((n for _n, a, n in self.ROWS if a == asn), None)


@pytest.fixture(scope="module")
def att() -> Attributor:
    return Attributor(parse_registry(_REGISTRY), _Table())


def test_listed_asn_keeps_full_confidence(att: Attributor) -> None:
    at = att.attribute_address("198.51.99.1")
    assert (at.operator, at.confidence) == ("acme-cloud", CONF_ASN)
    assert "sibling" not in at.flags


def test_sibling_asn_with_the_operators_name_is_recognized(att: Attributor) -> None:
    at = att.attribute_address("198.51.99.70")
    assert (at.operator, at.jurisdiction, at.status) == ("acme-cloud", "US", Status.OK)
    assert at.confidence == CONF_SIBLING < CONF_ASN
    assert {"sibling", "name-match"} <= set(at.flags) and "weak" not in at.flags
    step = next(s for s in at.evidence if s.step == "as-name")
    assert "ACME CLOUD HOLDINGS, INC." in step.value and "acme-cloud" in step.value
    assert attribution_level(at) == LEVEL_CHAIN
    # The same answer for the AS number itself.
    by_asn = att.attribute_asn(399001)
    assert by_asn.operator == "acme-cloud" and "sibling" in by_asn.flags


def test_subsidiary_name_maps_to_the_parents_operator(att: Attributor) -> None:
    at = att.attribute_address("198.51.99.130")
    assert at.operator == "acme-cloud" and "sibling" in at.flags


@pytest.mark.parametrize(
    ("ip", "why"),
    [
        ("198.51.99.170", "look-alike with extra words"),
        ("198.51.99.200", "generic word as a name"),
        ("198.51.99.230", "excluded ASN"),
        ("198.51.99.245", "longer name that contains the operator's"),
    ],
)
def test_look_alikes_and_exclusions_are_not_siblings(att: Attributor, ip: str, why: str) -> None:
    at = att.attribute_address(ip)
    assert at.operator is None, why
    assert "sibling" not in at.flags


def test_exclusions_are_validated() -> None:
    bad = _REGISTRY.replace('reason: "a reseller\'s network named after Acme"', "reason: ''")
    with pytest.raises(DatasetError, match="exclude_asns"):
        parse_registry(bad)
    listed = _REGISTRY.replace("asn: 399009", "asn: 399000")
    with pytest.raises(DatasetError, match="both listed and excluded"):
        parse_registry(listed)


def test_a_name_claimed_under_two_parents_is_ambiguous() -> None:
    text = _REGISTRY.replace('name: "Nordhost AB"', 'name: "Acme Rechenzentrum GmbH"')
    reg = parse_registry(text)
    assert reg.match_sibling("Acme Rechenzentrum GmbH") is None
    assert "acme rechenzentrum" in reg.ambiguous_names


def test_unknown_keys_are_errors_and_comma_split_names_are_repaired() -> None:
    typo = _REGISTRY.replace("listed: null, source", "listed: null, sorce: x, source", 1)
    with pytest.raises(DatasetError, match="unknown key 'sorce'"):
        parse_registry(typo)
    split = _REGISTRY.replace('name: "Nordhost AB"', "name: Nordhost, AB")
    reg = parse_registry(split)
    assert reg.entities["nordhost"].name == "Nordhost, AB"
    assert len(reg.warnings) == 1 and "unquoted comma" in reg.warnings[0]
    only_form = _REGISTRY.replace('org_names: ["ACME-CLOUD-AS"]', "org_names: [Acme, Inc.]")
    with pytest.raises(DatasetError, match="only a legal form"):
        parse_registry(only_form)
