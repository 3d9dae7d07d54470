"""The attribution engine: precedence, ownership chains, conflicts, unknowns, endpoint walking.

The engine gets a small in-memory IP-to-ASN table built from real rows of ip-location-db (a real
data structure implementing the ``AsnLookup`` protocol), so these tests do not depend on the
embedded table's version. ``sovaudit lookup`` is exercised through the CLI, with a real
nameserver on loopback for names that need resolving.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, replace
from typing import Any

import pytest
from typer.testing import CliRunner

from sovaudit.attribute.engine import CONF_ASN, CONF_PATTERN, Attributor, reason_text
from sovaudit.attribute.netclass import classify
from sovaudit.attribute.registry import default_registry
from sovaudit.cli import app, lookup_cmd
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.models import DataClass, Dataset, DnsRecord, Endpoint, Layer, Status

assert callable(lookup_cmd.lookup)  # importing the module registers `sovaudit lookup`


@dataclass(frozen=True, slots=True)
class Match:
    asn: int
    name: str | None
    network: str
    source: str


class SmallTable:
    """An IP-to-ASN table over a handful of real ip-location-db rows."""

    ROWS: tuple[tuple[str, int, str], ...] = (
        ("20.184.0.0/13", 8075, "Microsoft Corporation"),
        ("52.94.0.0/16", 16509, "Amazon.com, Inc."),
        ("2.16.0.0/23", 20940, "Akamai International B.V."),
        ("24.200.0.0/16", 5769, "Videotron Ltee"),
        ("74.121.120.0/22", 376, "Reseau d'Informations Scientifiques du Quebec (RISQ Inc.)"),
        ("216.171.224.0/24", 22619, "Cologix Canada, Inc."),
        ("45.60.0.0/16", 19551, "Incapsula Inc"),
        ("198.41.0.0/24", 397203, "VeriSign Global Registry Services"),
        ("2620:1ec::/36", 8075, "Microsoft Corporation"),
    )
    dataset = Dataset("test-asn", "1", "2026-06-17", "ip-location-db rows", "CC BY 4.0")

    def lookup(self, ip: str) -> Match | None:
        addr = ipaddress.ip_address(ip)
        for net, asn, name in self.ROWS:
            if addr in ipaddress.ip_network(net):
                return Match(asn, name, net, "test table")
        return None

    def name_of(self, asn: int) -> str | None:
        return next((n for _net, a, n in self.ROWS if a == asn), None)


REG = default_registry()


@pytest.fixture
def att() -> Attributor:
    return Attributor(REG, SmallTable())


def _endpoint(layer: Layer, host: str, **kw: Any) -> Endpoint:
    return Endpoint(
        organization="org",
        service="svc",
        host=host,
        layer=layer,
        data_classes=(DataClass.HEALTH,),
        status=kw.pop("status", Status.OK),
        **kw,
    )


# -- addresses ----------------------------------------------------------------------------------


def test_address_in_registry_asn_walks_the_whole_chain(att: Attributor) -> None:
    at = att.attribute_address("20.190.128.1")
    assert (at.status, at.operator, at.jurisdiction, at.asn) == (
        Status.OK,
        "microsoft-azure",
        "US",
        8075,
    )
    assert at.confidence == CONF_ASN and at.ultimate_parent == "Microsoft Corporation"
    steps = [s.step for s in at.evidence]
    assert steps == ["address", "asn", "operator", "entity", "jurisdiction"]


def test_canadian_subsidiary_of_us_parent_is_us(att: Attributor) -> None:
    at = att.attribute_address("216.171.224.10")  # Cologix Canada, Montréal
    assert at.operator == "cologix-canada"
    assert at.operator_jurisdiction == "CA"
    assert at.jurisdiction == "US"
    assert at.ultimate_parent == "Stonepeak Partners LP"
    assert "chain:CA" in at.flags
    parents = [s.value for s in at.evidence if s.step in ("entity", "parent")]
    assert parents == [
        "Cologix Canada, Inc. (CA)",
        "Cologix, Inc. (US)",
        "Stonepeak Partners LP (US)",
    ]


def test_dutch_subsidiary_of_us_cdn_is_us(att: Attributor) -> None:
    at = att.attribute_address("2.16.0.1")
    assert (at.operator, at.operator_jurisdiction, at.jurisdiction) == ("akamai-intl", "NL", "US")


def test_us_company_under_french_parent_keeps_the_us_visible(att: Attributor) -> None:
    at = att.attribute_address("45.60.1.1")  # Imperva, Inc. (US) owned by Thales (FR)
    assert (at.jurisdiction, at.operator_jurisdiction) == ("FR", "US")
    assert "chain:US" in at.flags


def test_risq_is_quebec_public(att: Attributor) -> None:
    at = att.attribute_address("74.121.121.5")
    assert (at.operator, at.jurisdiction, at.ownership) == ("risq", "CA-QC", "public")


def test_videotron_is_quebecor_ca(att: Attributor) -> None:
    at = att.attribute_asn(5769)
    assert (at.operator, at.ultimate_parent, at.jurisdiction) == (
        "videotron",
        "Québecor inc.",
        "CA",
    )


@pytest.mark.parametrize(
    ("ip", "flag"),
    [
        ("10.1.2.3", "private-address"),
        ("172.16.0.9", "private-address"),
        ("192.168.1.1", "private-address"),
        ("100.64.0.1", "private-address"),
        ("127.0.0.1", "private-address"),
        ("169.254.1.1", "private-address"),
        ("fd00::1", "private-address"),
        ("fe80::1", "private-address"),
        ("192.0.2.1", "bogon"),
        ("2001:db8::1", "bogon"),
        ("240.0.0.1", "bogon"),
        ("::ffff:10.0.0.1", "private-address"),
        ("not-an-ip", "bogon"),
    ],
)
def test_private_and_bogon_addresses_are_flagged_never_attributed(
    att: Attributor, ip: str, flag: str
) -> None:
    at = att.attribute_address(ip)
    assert at.status is Status.UNKNOWN
    assert at.operator is None and at.jurisdiction is None and at.asn is None
    assert flag in at.flags
    assert at.reason and ("private address" in at.reason or "non-routable" in at.reason)


def test_public_addresses_are_not_special() -> None:
    assert classify("20.190.128.1") is None
    assert classify("2620:1ec:21::14") is None
    assert classify("100.128.0.1") is None  # just outside RFC 6598


def test_unknown_asn_is_unknown_with_a_reason(att: Attributor) -> None:
    at = att.attribute_address("198.41.0.4")
    assert at.status is Status.UNKNOWN and at.jurisdiction is None and at.operator is None
    assert at.asn == 397203
    assert (
        at.reason == "AS397203 (VeriSign Global Registry Services) is not in the provider registry"
    )
    assert "asn-not-in-registry" in at.flags


def test_reserved_asn_is_never_attributed(att: Attributor) -> None:
    at = att.attribute_asn(64512)
    assert at.status is Status.UNKNOWN and "reserved-asn" in at.flags
    assert at.reason == "AS64512 is private-use or reserved: it is never announced on the Internet"


def test_unrouted_address_is_unknown_with_a_reason(att: Attributor) -> None:
    at = att.attribute_address("203.1.2.3")
    assert at.status is Status.UNKNOWN and "no ASN found" in (at.reason or "")


def test_conflict_between_name_pattern_and_asn_is_reported(att: Attributor) -> None:
    # The name says Akamai, the address is announced by Microsoft: keep the ASN, report both.
    at = att.attribute_address("20.190.128.1", via="www.example.edgekey.net")
    assert at.operator == "microsoft-azure"
    assert "conflict" in at.flags
    assert any("edgekey.net" in c and "akamai" in c for c in at.conflicts)


def test_same_parent_is_not_a_conflict(att: Attributor) -> None:
    at = att.attribute_address("52.94.1.1", via="d111.cloudfront.net")
    assert at.operator == "aws" and "conflict" not in at.flags


def test_live_cymru_answer_wins_over_the_table_and_disagreement_is_reported() -> None:
    cymru = {"24.200.1.1": {"asn": 376, "prefix": "24.200.0.0/16", "country": "CA"}}
    at = Attributor(REG, SmallTable(), cymru=cymru).attribute_address("24.200.1.1")
    assert at.operator == "risq"
    assert "conflict" in at.flags and "AS5769" in at.conflicts[0]


def test_collector_result_types_are_understood() -> None:
    asn_mod = pytest.importorskip("sovaudit.collect.asn")
    rdap_mod = pytest.importorskip("sovaudit.collect.rdap")
    cymru = {
        "198.41.0.4": asn_mod.CymruResult(
            asn=397203,
            prefix="198.41.0.0/24",
            country="US",
            registry="arin",
            allocated=None,
            as_name="VERISIGN",
            other_origins=(5769,),
        )
    }
    rdap = {
        "198.41.0.4": rdap_mod.RdapResult(
            network_name="NET",
            network_handle="H",
            cidr="198.41.0.0/24",
            registrant_name="Hydro-Québec",
            registrant_country="CA",
            source_url="http://127.0.0.1/ip/198.41.0.4",
        )
    }
    at = Attributor(REG, SmallTable(), cymru=cymru, rdap=rdap).attribute_address("198.41.0.4")
    assert (at.operator, at.confidence) == ("hydro-quebec", 0.6)
    assert "multi-origin" in at.flags and "AS5769" in " ".join(at.conflicts)
    assert any(s.step == "rdap" and s.source.startswith("http://127.0.0.1") for s in at.evidence)


def test_rdap_registrant_gives_medium_confidence() -> None:
    rdap = {"198.41.0.4": {"registrant_name": "Vidéotron ltée", "registrant_country": "CA"}}
    at = Attributor(REG, SmallTable(), rdap=rdap).attribute_address("198.41.0.4")
    assert (at.operator, at.confidence, at.status) == ("videotron", 0.6, Status.OK)
    assert "rdap-match" in at.flags


def test_country_of_registration_is_a_weak_fallback() -> None:
    cymru = {"198.41.0.4": {"asn": 397203, "country": "us"}}
    at = Attributor(REG, SmallTable(), cymru=cymru).attribute_address("198.41.0.4")
    assert at.status is Status.UNKNOWN and at.operator is None
    assert at.jurisdiction == "US" and at.confidence <= 0.4
    assert "weak" in at.flags and "registered in US (weak)" in (at.reason or "")
    step = at.evidence[-1]
    assert step.step == "registration-country" and "country of registration" in step.source


def test_as_name_match_is_a_sibling_network() -> None:
    # An ASN the registry does not list, whose name is a known operator's: a sibling network,
    # recognized below a listed ASN's confidence and flagged as matched by name.
    class Renamed(SmallTable):
        ROWS = (("198.51.99.0/24", 4200000001, "Hydro Quebec"),)

    at = Attributor(REG, Renamed()).attribute_address("198.51.99.7")
    assert (at.operator, at.confidence) == ("hydro-quebec", 0.5)
    assert {"sibling", "name-match"} <= set(at.flags) and "weak" not in at.flags
    assert any(s.step == "as-name" and "Hydro Quebec" in s.value for s in at.evidence)


# -- names --------------------------------------------------------------------------------------


def test_name_pattern_attribution(att: Attributor) -> None:
    at = att.attribute_name("Contoso-com.mail.protection.outlook.com.", "mx")
    assert at is not None
    assert (at.operator, at.jurisdiction, at.confidence) == ("microsoft-365", "US", CONF_PATTERN)
    assert at.subject == "contoso-com.mail.protection.outlook.com"
    assert att.attribute_name("mail.example.qc.ca", "mx") is None


def test_cdn_and_gateway_names_are_flagged(att: Attributor) -> None:
    at = att.attribute_name("x.edgekey.net", "cname")
    assert at is not None and "gateway" in at.flags
    mx = att.attribute_name("mxa-001.gslb.pphosted.com", "mx")
    assert mx is not None and "gateway" in mx.flags and mx.jurisdiction == "US"


def test_datasets_include_registry_and_table(att: Attributor) -> None:
    names = [d.name for d in att.datasets()]
    assert names == ["sovaudit provider registry", "test-asn"]
    assert att.datasets()[0].version == REG.version


# -- endpoints ----------------------------------------------------------------------------------


def test_web_endpoint_keeps_cdn_and_address_layers(att: Attributor) -> None:
    rec = DnsRecord("e1.a.akamaiedge.net.", "A", "NOERROR", ("2.16.0.5",), 20, "127.0.0.1:53", "t")
    ep = _endpoint(
        Layer.WEB,
        "www.sante.example.qc.ca",
        addresses=("2.16.0.5",),
        records=(rec,),
        details={"cname_chain": ["www.sante.example.qc.ca.edgekey.net", "e1.a.akamaiedge.net"]},
    )
    out = att.attribute_endpoint(ep)
    roles = [(a.role, a.operator) for a in out.attributions]
    assert roles == [("cname", "akamai"), ("cname", "akamai"), ("address", "akamai-intl")]
    address = out.attributions[-1]
    assert address.evidence[0].step == "record"
    assert address.evidence[0].value == "A e1.a.akamaiedge.net -> 2.16.0.5"
    assert address.evidence[0].source == "dns@127.0.0.1:53"
    assert out.details["control"] == {
        "jurisdictions": ["US"],
        "operators": ["akamai", "akamai-intl"],
        "attributed": True,
        "unknown": 0,
    }
    assert ep.attributions == ()  # the input is not modified


def test_mail_endpoint_roles(att: Attributor) -> None:
    ep = _endpoint(
        Layer.MAIL,
        "example.qc.ca",
        details={
            "mx": [
                {
                    "preference": 0,
                    "host": "example-qc-ca.mail.protection.outlook.com",
                    "cname_chain": [],
                    "addresses": ["20.190.128.9"],
                },
                {
                    "preference": 10,
                    "host": "backup.example.qc.ca",
                    "cname_chain": [],
                    "addresses": [],
                },
            ],
            "spf": {
                "record": "v=spf1 ...",
                "error": None,
                "lookups": 4,
                "ip4": [],
                "ip6": [],
                "includes": [
                    "spf.protection.outlook.com",
                    "_spf.example.qc.ca",
                    "servers.mcsv.net",
                    "spf.unknown-sender.example",
                ],
            },
            "autodiscover": {
                "host": "autodiscover.example.qc.ca",
                "cname_chain": ["autodiscover.outlook.com"],
                "addresses": [],
            },
            "txt": [
                "MS=ms12345678",
                "v=spf1 include:spf.protection.outlook.com -all",
                "google-site-verification=abc",
            ],
        },
    )
    out = att.attribute_endpoint(ep)
    got = {(a.role, a.subject): (a.operator, a.status.value) for a in out.attributions}
    assert got == {
        ("mx", "example-qc-ca.mail.protection.outlook.com"): ("microsoft-365", "ok"),
        ("address", "20.190.128.9"): ("microsoft-azure", "ok"),
        ("mx", "backup.example.qc.ca"): (None, "unknown"),
        ("spf-include", "spf.protection.outlook.com"): ("microsoft-365", "ok"),
        ("spf-include", "servers.mcsv.net"): ("mailchimp", "ok"),
        ("spf-include", "spf.unknown-sender.example"): (None, "unknown"),
        ("autodiscover", "autodiscover.outlook.com"): ("microsoft-365", "ok"),
        ("txt-token", "MS=ms12345678"): ("microsoft-365", "ok"),
        ("txt-token", "google-site-verification=abc"): ("google-workspace", "ok"),
    }
    control = out.details["control"]
    assert control["jurisdictions"] == ["US"] and control["attributed"] is False
    # The same address also listed at endpoint level is attributed once, in its MX context.
    again = att.attribute_endpoint(replace(ep, addresses=("20.190.128.9",)))
    assert [a.subject for a in again.attributions].count("20.190.128.9") == 1
    assert control["unknown"] == 2


def test_dns_endpoint(att: Attributor) -> None:
    ep = _endpoint(
        Layer.DNS,
        "example.qc.ca",
        details={
            "ns": [
                {"host": "ns1-01.azure-dns.com.", "addresses": []},
                {"host": "ns.example.qc.ca", "addresses": ["24.200.5.5"]},
            ],
            "txt": [],
        },
    )
    out = att.attribute_endpoint(ep)
    got = [(a.role, a.operator, a.jurisdiction) for a in out.attributions]
    assert got == [("ns", "azure-dns", "US"), ("address", "videotron", "CA")]
    assert out.details["control"]["jurisdictions"] == ["CA", "US"]


def test_unresolved_endpoint_is_never_silently_clean(att: Attributor) -> None:
    ep = _endpoint(Layer.WEB, "www.example.qc.ca", status=Status.UNKNOWN, reason="SERVFAIL")
    out = att.attribute_endpoint(ep)
    (only,) = out.attributions
    assert only.status is Status.UNKNOWN and only.reason == "endpoint not resolved: SERVFAIL"
    assert out.details["control"]["attributed"] is False


def test_unresolved_endpoint_still_attributes_known_names(att: Attributor) -> None:
    ep = _endpoint(
        Layer.WEB,
        "www.example.qc.ca",
        status=Status.UNKNOWN,
        reason="timeout",
        details={"cname_chain": ["example.azurewebsites.net"]},
    )
    out = att.attribute_endpoint(ep)
    assert [(a.role, a.operator) for a in out.attributions] == [("cname", "microsoft-azure")]


def test_reason_texts_exist_in_both_languages() -> None:
    fr = reason_text("private-address", "fr", address="10.0.0.1", label="x")
    assert fr.startswith("adresse privée 10.0.0.1")


# -- sovaudit lookup ------------------------------------------------------------------------


def _lookup(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["lookup", *args, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_lookup_asn_offline() -> None:
    (at,) = _lookup("AS5769")["attributions"]
    assert (at["operator"], at["ultimate_parent"], at["jurisdiction"]) == (
        "videotron",
        "Québecor inc.",
        "CA",
    )


def test_lookup_ip_offline() -> None:
    pytest.importorskip("sovaudit.attribute.asntable", reason="needs the IP-to-ASN table")
    (at,) = _lookup("20.190.128.1")["attributions"]
    assert (at["asn"], at["operator"], at["jurisdiction"]) == (8075, "microsoft-azure", "US")


def test_lookup_pattern_name_offline_uses_the_most_specific_role() -> None:
    (at,) = _lookup("example.mail.protection.outlook.com")["attributions"]
    assert (at["role"], at["operator"], at["jurisdiction"]) == ("mx", "microsoft-365", "US")


def test_lookup_resolves_other_names_through_the_given_resolver() -> None:
    pytest.importorskip("sovaudit.attribute.asntable", reason="needs the IP-to-ASN table")
    zone = (
        "$ORIGIN lookup.test.\n$TTL 60\n"
        "@ IN SOA ns.lookup.test. h.lookup.test. 1 60 60 60 60\n"
        "www IN CNAME web.lookup.test.\nweb IN A 24.200.1.1\n"
        "private IN A 10.0.0.1\n"
    )
    with LoopbackNameserver.from_zone_texts({"lookup.test.": zone}) as ns:
        ats = _lookup("www.lookup.test", "--resolver", ns.spec)["attributions"]
        assert [(a["subject"], a["operator"], a["jurisdiction"]) for a in ats] == [
            ("24.200.1.1", "videotron", "CA")
        ]
        (priv,) = _lookup("private.lookup.test", "--resolver", ns.spec)["attributions"]
        assert priv["status"] == "unknown" and "private-address" in priv["flags"]


def test_lookup_table_output_and_bad_input() -> None:
    result = CliRunner().invoke(app, ["lookup", "AS376", "--lang", "fr"])
    assert result.exit_code == 0
    assert "RISQ" in result.stdout and "CA-QC" in result.stdout and "Juridiction" in result.stdout
    bad = CliRunner().invoke(app, ["lookup", "not a host!"])
    assert bad.exit_code != 0


def test_rdap_registrant_canadian_subsidiary_is_us() -> None:
    rdap = {"198.41.0.4": {"registrant_name": "MICROSOFT CANADA INC", "registrant_country": "CA"}}
    at = Attributor(REG, SmallTable(), rdap=rdap).attribute_address("198.41.0.4")
    assert (at.operator, at.operator_jurisdiction, at.jurisdiction) == (
        "microsoft-canada",
        "CA",
        "US",
    )
    assert at.confidence == 0.6
