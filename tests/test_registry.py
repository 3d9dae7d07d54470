"""Integrity of the shipped provider registry, and the loader's validation of broken ones."""

from __future__ import annotations

import importlib.util
import re
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovaudit.attribute.registry import (
    CATEGORIES,
    default_registry,
    normalize_org,
    parse_registry,
)
from sovaudit.collect.names import compile_glob
from sovaudit.errors import DatasetError

REG = default_registry()
# Operators of the data/providers.d/world-*.yaml fragments, and of the whole shipped registry
# once they were added (providers.yaml had 129).
WORLD_OPERATORS = 184
WORLD_TOTAL = 313

_ENTITY = (
    '{{id: {id}, name: "{name}", country: {country}, ownership: private, parent: {parent}, '
    'listed: null, source: "test document", reviewed: 2026-01-01}}'
)


def _yaml(entities: list[str], operators: list[str]) -> str:
    return (
        'version: "t1"\nreviewed: 2026-01-01\nentities:\n'
        + "".join(f"  - {e}\n" for e in entities)
        + "operators:\n"
        + "".join(f"  - {o}\n" for o in operators)
    )


def _ent(eid: str, country: str = "US", parent: str = "null") -> str:
    return _ENTITY.format(id=eid, name=eid.title(), country=country, parent=parent)


def _op(oid: str, parent: str, asns: str = "[]", extra: str = "") -> str:
    return (
        f"{{id: {oid}, name: {oid}, category: cloud, parent: {parent}, asns: {asns}, "
        f'source: "test", reviewed: 2026-01-01{extra}}}'
    )


# -- the shipped registry ---------------------------------------------------------------------


def test_registry_is_large_enough_and_dated() -> None:
    assert len(REG.operators) >= 60
    date.fromisoformat(REG.reviewed)
    assert REG.version


def test_world_fragments_keep_their_breadth() -> None:
    # Main registry plus data/providers.d/: the world fragments (issue 27) brought the shipped
    # registry to WORLD_TOTAL operators; other fragments only add to it.
    world = [op for op in REG.operators.values() if "/providers.d/world-" in op.file]
    assert len(world) >= WORLD_OPERATORS
    assert len(REG.operators) >= WORLD_TOTAL
    # Every world operator announces at least one ASN or carries a name pattern.
    assert all(op.asns or op.patterns or op.spf_includes for op in world)


def test_every_chain_ends_at_an_entity_with_a_country_and_no_cycle() -> None:
    for op_id in REG.operators:
        chain = REG.chain(op_id)
        assert chain[-1].parent is None
        assert re.fullmatch(r"[A-Z]{2}(-[A-Z0-9]{1,3})?", chain[-1].country)
        assert len({e.id for e in chain}) == len(chain)


def test_every_ownership_fact_has_a_source_and_a_review_date() -> None:
    for ent in REG.entities.values():
        assert ent.source.strip(), ent.id
        date.fromisoformat(ent.reviewed)
        if ent.unverified:
            assert ent.note, f"{ent.id}: unverified facts must say what is unverified"
    for op in REG.operators.values():
        assert op.source.strip(), op.id
        date.fromisoformat(op.reviewed)
        assert op.category in CATEGORIES


def test_asns_are_unique_across_operators() -> None:
    owners: dict[int, str] = {}
    for op in REG.operators.values():
        for asn in op.asns:
            assert asn not in owners, f"AS{asn}: {owners.get(asn)} and {op.id}"
            owners[asn] = op.id
    assert len(owners) == len(REG.asns())


def test_no_two_operators_share_a_glob_for_the_same_role() -> None:
    seen: dict[tuple[str, str], str] = {}
    for op in REG.operators.values():
        for pat in op.patterns:
            key = (pat.role, pat.glob)
            assert key not in seen or seen[key] == op.id, f"{key}: {seen[key]} and {op.id}"
            seen[key] = op.id


def test_every_pattern_matches_a_name_built_from_it_and_not_a_lookalike() -> None:
    for op in REG.operators.values():
        for pat in op.patterns:
            sample = pat.glob.replace("*", "x1")
            roles = ("cname", "mx", "ns") if pat.role == "any" else (pat.role,)
            for role in roles:
                found = [m.operator.id for m in REG.match_name(sample, role)]
                assert op.id in found, (op.id, pat.glob, role)
            # The provider's name under somebody else's domain must never match.
            assert not pat.regex.match(sample + ".attacker.example"), pat.glob


def test_brief_facts_resolve_to_the_right_jurisdiction() -> None:
    # Operator -> expected (ultimate parent's country, operator entity's country).
    expected = {
        "microsoft-azure": ("US", "US"),
        "microsoft-365": ("US", "US"),
        "azure-front-door": ("US", "US"),
        "aws-cloudfront": ("US", "US"),
        "aws-european-sovereign-cloud": ("US", "DE"),
        "github": ("US", "US"),
        "slack": ("US", "US"),
        "akamai-intl": ("US", "NL"),
        "linode": ("US", "US"),
        "imperva": ("FR", "US"),
        "sophos": ("US", "GB"),
        "proofpoint": ("US", "US"),
        "cologix-canada": ("US", "CA"),
        "ovhcloud": ("FR", "FR"),
        "ovhcloud-us": ("FR", "US"),  # a subsidiary of OVH Groupe
        "hetzner": ("DE", "DE"),
        "scaleway": ("FR", "FR"),
        "scaleway-us": ("FR", "US"),
        "bell-canada": ("CA", "CA"),
        "videotron": ("CA", "CA"),
        "telus": ("CA", "CA"),
        "rogers": ("CA", "CA"),
        "cogeco": ("CA", "CA"),
        "risq": ("CA-QC", "CA-QC"),
        "canarie": ("CA", "CA"),
        "hydro-quebec": ("CA-QC", "CA-QC"),
        "shopify": ("CA", "CA"),
        "zoho": ("IN", "IN"),
        "trend-micro": ("JP", "JP"),
        "mailgun": ("SE", "US"),
        "atlassian": ("US", "US"),
        "leaseweb-canada": ("NL", "CA"),
        "beanfield": ("US", "CA"),  # DigitalBridge since 2019
        "estruxture": ("CA", "CA"),  # Fengate since 2024
        "zayo": ("US", "US"),
    }
    for op_id, (top, own) in expected.items():
        chain = REG.chain(op_id)
        assert (chain[-1].country, chain[0].country) == (top, own), op_id
    assert REG.ultimate_parent("videotron").name.startswith("Québecor")
    assert REG.ultimate_parent("risq").ownership == "public"
    assert REG.by_asn(5769) is REG.operators["videotron"]
    assert REG.by_asn(376) is REG.operators["risq"]
    assert REG.by_asn(577) is REG.operators["bell-canada"]
    assert REG.by_asn(8075) is REG.operators["microsoft-azure"]
    assert REG.ultimate_parent("estruxture").id == "fengate"
    assert REG.ultimate_parent("beanfield").id == "digitalbridge"
    assert REG.by_asn(22616) is REG.operators["zscaler"]
    assert REG.by_asn(44273) is REG.operators["godaddy"]
    assert REG.by_asn(22612) is REG.operators["namecheap"]


# The loader's own key sets (it rejects any other key): one list, kept with the parser.
from sovaudit.attribute.registry import ENTITY_KEYS as _ENTITY_KEYS  # noqa: E402
from sovaudit.attribute.registry import OPERATOR_KEYS as _OPERATOR_KEYS  # noqa: E402


def test_every_registry_mapping_has_only_known_keys() -> None:
    # An unquoted comma in a flow mapping ("name: Equinix, Inc.") silently yields the name
    # "Equinix" plus a stray "Inc." key: the loader ignores unknown keys, this test does not.
    from importlib import resources

    import yaml

    data = resources.files("sovaudit.attribute") / "data"
    files = [data / "providers.yaml"]
    parts = data / "providers.d"
    if parts.is_dir():
        files += sorted((f for f in parts.iterdir() if f.name.endswith(".yaml")), key=str)
    for f in files:
        doc = yaml.safe_load(f.read_text(encoding="utf-8"))
        for ent in doc.get("entities") or []:
            assert set(ent) <= _ENTITY_KEYS, (f.name, ent.get("id"), set(ent) - _ENTITY_KEYS)
        for op in doc.get("operators") or []:
            assert set(op) <= _OPERATOR_KEYS, (f.name, op.get("id"), set(op) - _OPERATOR_KEYS)


@pytest.mark.skipif(
    importlib.util.find_spec("sovaudit.attribute.asntable") is None,
    reason="sovaudit.attribute.asntable (IP-to-ASN table) is not importable",
)
def test_registry_asns_exist_in_the_asn_table() -> None:
    from sovaudit.attribute.asntable import AsnTable

    table = AsnTable.default()
    # AS792 (Oracle) is registered but carries no name in the current table.
    missing = [asn for asn in REG.asns() if table.name_of(asn) is None and asn != 792]
    assert not missing, f"ASNs unknown to the IP-to-ASN table: {missing}"


def test_spf_includes_and_tokens() -> None:
    hit = REG.match_spf_include("SPF.Protection.Outlook.com.")
    assert hit is not None and hit[0].id == "microsoft-365"
    hit = REG.match_spf_include("u123.wl.sendgrid.net")  # under a listed include
    assert hit is not None and hit[0].id == "sendgrid"
    assert REG.match_spf_include("sendgrid.net.attacker.example") is None
    tok = REG.match_token("ms=ms12345678")
    assert tok is not None and tok.operator == "microsoft-365"
    assert REG.match_token("v=spf1 -all") is None


def test_org_names_match_rdap_registrants() -> None:
    assert normalize_org("Akamai International B.V.") == normalize_org("AKAMAI INTERNATIONAL BV")
    op = REG.match_org_name("VIDEOTRON LTEE")
    assert op is not None and op.id == "videotron"
    assert REG.match_org_name("Some Unknown Hosting Inc.") is None


# -- glob semantics -----------------------------------------------------------------------------


def test_glob_semantics() -> None:
    rx = compile_glob("*.cloudfront.net")
    assert rx.match("d1.cloudfront.net") and rx.match("a.b.cloudfront.net")
    assert not rx.match("cloudfront.net") and not rx.match("d1.cloudfront.net.evil.example")
    rx = compile_glob("ns-*.awsdns-*.org")
    assert rx.match("ns-12.awsdns-01.org")
    assert not rx.match("ns-1.x.awsdns-1.org")  # inner * stays in one label
    assert compile_glob("aspmx.l.google.com").match("aspmx.l.google.com")
    assert not compile_glob("aspmx.l.google.com").match("x.aspmx.l.google.com")


_label = st.from_regex(r"[a-z0-9][a-z0-9-]{0,10}", fullmatch=True)


@given(st.lists(_label, min_size=1, max_size=4), _label)
def test_suffix_glob_matches_any_subdomain_and_nothing_outside(labels: list[str], tld: str) -> None:
    rx = compile_glob("*.azurefd.net")
    assert rx.match(".".join(labels) + ".azurefd.net")
    assert not rx.match(".".join(labels) + ".azurefd.net." + tld)


# -- validation of broken registries ------------------------------------------------------------


def test_duplicate_operator_id_is_rejected_with_its_line() -> None:
    text = _yaml([_ent("acme")], [_op("a", "acme"), _op("a", "acme")])
    with pytest.raises(DatasetError) as exc:
        parse_registry(text, path="reg.yaml")
    assert "duplicate operator id 'a'" in str(exc.value)
    assert str(exc.value).startswith("reg.yaml:7:")


def test_duplicate_asn_across_operators_is_rejected() -> None:
    text = _yaml([_ent("acme")], [_op("a", "acme", "[64496]"), _op("b", "acme", "[64496]")])
    with pytest.raises(DatasetError, match="AS64496 is listed by both 'a' and 'b'"):
        parse_registry(text)


def test_fragments_extend_the_registry_and_their_errors_name_their_file() -> None:
    main = _yaml([_ent("acme")], [_op("a", "acme", "[64496]")])
    part = "entities:\n  - " + _ent("beta", "CH") + "\noperators:\n  - " + _op("b", "beta")
    reg = parse_registry(main, path="reg.yaml", fragments=[(part, "parts/ch.yaml")])
    assert reg.chain("b")[-1].country == "CH"
    assert reg.operators["b"].file == "parts/ch.yaml"
    clash = "operators:\n  - " + _op("c", "acme", "[64496]")
    with pytest.raises(DatasetError, match="AS64496 is listed by both 'a' and 'c'") as exc:
        parse_registry(main, path="reg.yaml", fragments=[(clash, "parts/x.yaml")])
    assert str(exc.value).startswith("parts/x.yaml:2:")


def test_ownership_cycle_is_rejected() -> None:
    text = _yaml([_ent("x", parent="y"), _ent("y", parent="x")], [_op("a", "x")])
    with pytest.raises(DatasetError, match="ownership cycle"):
        parse_registry(text)


def test_unknown_parent_bad_country_and_missing_source_are_rejected() -> None:
    with pytest.raises(DatasetError, match="parent 'nope' is not a known entity"):
        parse_registry(_yaml([_ent("x", parent="nope")], []))
    with pytest.raises(DatasetError, match="not ISO 3166"):
        parse_registry(_yaml([_ent("x", country="USA")], []))
    no_source = (
        "{id: x, name: X, country: US, ownership: private, parent: null, reviewed: 2026-01-01}"
    )
    with pytest.raises(DatasetError, match="'source' must be a non-empty string"):
        parse_registry(_yaml([no_source], []))
    no_date = '{id: x, name: X, country: US, ownership: private, parent: null, source: "s"}'
    with pytest.raises(DatasetError, match="'reviewed' must be an ISO date"):
        parse_registry(_yaml([no_date], []))


def test_bad_globs_and_roles_are_rejected() -> None:
    for bad in ('{cname: ["*.com"]}', '{cname: ["bad name!"]}', '{web: ["*.x.example"]}'):
        text = _yaml([_ent("acme")], [_op("a", "acme", extra=f", patterns: {bad}")])
        with pytest.raises(DatasetError):
            parse_registry(text)


def test_token_to_unknown_operator_is_rejected() -> None:
    text = _yaml([_ent("acme")], [_op("a", "acme")])
    tokens = 'tokens:\n  - {prefix: "x=", operator: nobody}\n'
    with pytest.raises(DatasetError, match="unknown operator 'nobody'") as exc:
        parse_registry(text, tokens, tokens_path="tok.yaml")
    assert exc.value.path == "tok.yaml"


def test_invalid_yaml_reports_its_line() -> None:
    with pytest.raises(DatasetError) as exc:
        parse_registry('version: "1"\nreviewed: 2026-01-01\nentities: [\n', path="r.yaml")
    assert exc.value.path == "r.yaml" and exc.value.line is not None
