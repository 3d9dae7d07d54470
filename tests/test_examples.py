"""The offline demo inventory and its zones (the public-sector lists: test_examples_quebec.py).

The demo checks use the real loopback nameserver and the packaged IP -> ASN table, so a zone edit
that breaks a chain, or an address that leaves its provider's real range, fails here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest
from dns.rdtypes.ANY.CNAME import CNAME
from dns.rdtypes.ANY.MX import MX
from dns.rdtypes.ANY.NS import NS

from sovaudit.attribute.asntable import AsnTable, package_data_dir
from sovaudit.attribute.registry import default_registry
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.demo.run import DEMO_INVENTORY, DEMO_ZONES, run_demo
from sovaudit.inventory import load_inventory
from sovaudit.models import DataClass, Layer, Status

# The Québec and Canada inventories are checked in tests/test_examples_quebec.py.


# -- the demo inventory and zones ---------------------------------------------------------------


def _zone_files() -> list[Path]:
    return sorted(DEMO_ZONES.glob("*.zone"))


def test_demo_inventory_uses_reserved_names_and_varied_data_classes() -> None:
    inv = load_inventory(DEMO_INVENTORY)
    assert len(inv.organizations) >= 6
    assert all(t.host.endswith(".example") for t in inv.targets())
    classes = {c for org in inv.organizations for c in org.data_classes}
    # Severities vary with data classes: the demo must hold sensitive and non-sensitive data.
    assert {DataClass.HEALTH, DataClass.TAX, DataClass.JUSTICE, DataClass.EDUCATION} <= classes
    assert DataClass.PUBLIC in classes


def test_every_zone_file_starts_with_a_comment_and_parses() -> None:
    files = _zone_files()
    assert len(files) >= 15
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("; "), f"{path.name}: must open with what it reproduces"
        origin = path.name[: -len(".zone")] + "."
        zone = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
        assert zone.get_rdataset(origin, "SOA") is not None, path.name


@pytest.fixture(scope="module")
def demo_ns() -> Iterator[LoopbackNameserver]:
    with LoopbackNameserver.from_zone_dir(DEMO_ZONES) as ns:
        yield ns


@pytest.fixture(scope="module")
def asn_table() -> AsnTable:
    # The packaged table, never a user-updated copy: the expected ASNs below are pinned to it.
    return AsnTable.from_files(package_data_dir())


def _ask(ns: LoopbackNameserver, name: str, rdtype: str) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype)
    return dns.query.udp(query, ns.host, port=ns.port, timeout=2.0)


def _resolve(ns: LoopbackNameserver, name: str) -> tuple[list[str], list[str]]:
    """The CNAME chain after ``name`` and the final A/AAAA addresses, as the server answers."""
    chain: list[str] = []
    addresses: list[str] = []
    for rdtype in ("A", "AAAA"):
        response = _ask(ns, name, rdtype)
        assert response.rcode() == dns.rcode.NOERROR, f"{name} {rdtype}"
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.CNAME:
                target = rrset[0].target.to_text(omit_final_dot=True)
                if target not in chain:
                    chain.append(target)
            else:
                addresses.extend(rd.address for rd in rrset)
    return chain, addresses


def _asns(table: AsnTable, addresses: list[str]) -> set[int]:
    found = set()
    for address in addresses:
        match = table.lookup(address)
        assert match is not None, f"{address} is in no range of the ASN table"
        found.add(match.asn)
    return found


# host -> (CNAME chain after it, ASNs of the final addresses): one line per real-world setup.
WEB_SHAPES: dict[str, tuple[list[str], set[int]]] = {
    # Azure Front Door: azurefd.net endpoint -> Microsoft edge (AS8075).
    "www.sante.example": (
        [
            "sante-portail-g7c4dxa2b9e1f0h3.z01.azurefd.net",
            "shed.dual-low.s-part-0012.t-0009.t-msedge.net",
            "s-part-0012.t-0009.t-msedge.net",
        ],
        {8075},
    ),
    "portail.sante.example": (
        [
            "sante-portail-g7c4dxa2b9e1f0h3.z01.azurefd.net",
            "shed.dual-low.s-part-0012.t-0009.t-msedge.net",
            "s-part-0012.t-0009.t-msedge.net",
        ],
        {8075},
    ),
    # Montréal data centre owned abroad (Leaseweb Canada, ex-iWeb).
    "revenu.example": ([], {32613}),
    "www.revenu.example": ([], {32613}),
    "mondossier.revenu.example": ([], {32613}),
    # Cloudflare in front of a Bell Canada origin.
    "www.justice.example": (["www.justice.example.cdn.cloudflare.net"], {13335}),
    "origine.justice.example": ([], {577}),
    "justice.example": ([], {577}),
    # Akamai in front of an OVHcloud Beauharnois origin.
    "www.transport.example": (
        ["www.transport.example.edgekey.net", "e7421.a.akamaiedge.net"],
        {16625},
    ),
    "origine.transport.example": ([], {16276}),
    "transport.example": ([], {16276}),
    # RISQ (AS376), publicly owned.
    "universite.example": ([], {376}),
    "www.universite.example": ([], {376}),
    "etudes.universite.example": ([], {376}),
    # Québec hosting company (PlanetHoster, AS53589).
    "ville.example": ([], {53589}),
    "www.ville.example": ([], {53589}),
    # A network no provider registry knows (Hébergement Phaonix, AS22951).
    "musee.example": ([], {22951}),
    "www.musee.example": ([], {22951}),
}

# domain -> (MX hosts, ASNs of their addresses)
MAIL_SHAPES: dict[str, tuple[set[str], set[int]]] = {
    "sante.example": (
        {"mxa-00a1b2c3.gslb.pphosted.com", "mxb-00a1b2c3.gslb.pphosted.com"},
        {22843, 26211},
    ),
    "revenu.example": ({"revenu-example.mail.protection.outlook.com"}, {8075}),
    "justice.example": ({"mx.justice.example"}, {577}),
    "transport.example": (
        {"aspmx.l.google.com", "alt1.aspmx.l.google.com", "alt2.aspmx.l.google.com"},
        {15169},
    ),
    "universite.example": ({"universite-example.mail.protection.outlook.com"}, {8075}),
    "ville.example": ({"mail.ville.example"}, {53589}),
}

# domain -> (NS hosts, ASNs of their addresses)
NS_SHAPES: dict[str, tuple[set[str], set[int]]] = {
    "sante.example": (
        {
            "ns-123.awsdns-45.com",
            "ns-700.awsdns-23.net",
            "ns-1200.awsdns-22.org",
            "ns-1800.awsdns-33.co.uk",
        },
        {16509},
    ),
    "revenu.example": (
        {
            "ns1-05.azure-dns.com",
            "ns2-05.azure-dns.net",
            "ns3-05.azure-dns.org",
            "ns4-05.azure-dns.info",
        },
        {8075},
    ),
    "justice.example": ({"ns1.justice.example", "ns2.justice.example"}, {577}),
    "transport.example": ({"ns1.transport.example", "ns2.transport.example"}, {5769}),
    "universite.example": ({"ns1.universite.example", "ns2.universite.example"}, {376}),
    "ville.example": ({"ns1.planethoster.net", "ns2.planethoster.net"}, {53589}),
}


def test_demo_inventory_covers_every_shape_below() -> None:
    inv = load_inventory(DEMO_INVENTORY)
    web = {t.host for t in inv.targets() if t.layer is Layer.WEB}
    # sante.example has no apex address on purpose (checked in the broken-cases test).
    assert web == set(WEB_SHAPES) | {"sante.example"}
    domains = {d.name for org in inv.organizations for d in org.domains}
    assert set(MAIL_SHAPES) | {"musee.example"} == domains
    assert set(NS_SHAPES) | {"musee.example"} == domains


@pytest.mark.parametrize("host", sorted(WEB_SHAPES))
def test_demo_web_host_resolves_to_its_provider(
    demo_ns: LoopbackNameserver, asn_table: AsnTable, host: str
) -> None:
    chain, asns = WEB_SHAPES[host]
    got_chain, addresses = _resolve(demo_ns, host)
    assert got_chain == chain
    assert addresses, f"{host} has no address"
    assert _asns(asn_table, addresses) == asns


@pytest.mark.parametrize("domain", sorted(MAIL_SHAPES))
def test_demo_mail_domain_has_its_mx_setup(
    demo_ns: LoopbackNameserver, asn_table: AsnTable, domain: str
) -> None:
    hosts, asns = MAIL_SHAPES[domain]
    response = _ask(demo_ns, domain, "MX")
    got = {rd.exchange.to_text(omit_final_dot=True) for rrset in response.answer for rd in rrset}
    assert got == hosts
    addresses = [a for host in sorted(hosts) for a in _resolve(demo_ns, host)[1]]
    assert _asns(asn_table, addresses) == asns


@pytest.mark.parametrize("domain", sorted(NS_SHAPES))
def test_demo_zone_delegation_points_at_its_dns_host(
    demo_ns: LoopbackNameserver, asn_table: AsnTable, domain: str
) -> None:
    hosts, asns = NS_SHAPES[domain]
    response = _ask(demo_ns, domain, "NS")
    got = {rd.target.to_text(omit_final_dot=True) for rrset in response.answer for rd in rrset}
    assert got == hosts
    addresses = [a for host in sorted(hosts) for a in _resolve(demo_ns, host)[1]]
    assert len(addresses) >= len(hosts)
    assert _asns(asn_table, addresses) == asns


def test_demo_mail_records_point_at_the_providers(demo_ns: LoopbackNameserver) -> None:
    def txt(name: str) -> list[str]:
        response = _ask(demo_ns, name, "TXT")
        return [b"".join(rd.strings).decode() for rrset in response.answer for rd in rrset]

    for domain in ("sante.example", "revenu.example", "universite.example"):
        assert any("include:spf.protection.outlook.com" in t for t in txt(domain)), domain
        assert any(t.startswith("MS=ms") for t in txt(domain)), domain
        chain, addresses = _resolve(demo_ns, f"autodiscover.{domain}")
        assert chain[0] == "autodiscover.outlook.com" and addresses, domain
    assert any("include:_spf.google.com" in t for t in txt("transport.example"))
    assert any(t.startswith("v=spf1") and "ip4:" in t for t in txt("_netblocks.google.com"))
    assert any(t.startswith("v=spf1 ip4:40.92.0.0/15") for t in txt("spf.protection.outlook.com"))


def test_demo_broken_cases_are_broken_the_intended_way(demo_ns: LoopbackNameserver) -> None:
    # Null MX (RFC 7505).
    (mx,) = [rd for rrset in _ask(demo_ns, "musee.example", "MX").answer for rd in rrset]
    assert (mx.preference, mx.exchange.to_text()) == (0, ".")
    # Broken delegation: one NS answers, one is NXDOMAIN (dangling), one in no served zone (lame).
    ns = {
        rd.target.to_text(omit_final_dot=True)
        for rrset in _ask(demo_ns, "musee.example", "NS").answer
        for rd in rrset
    }
    assert ns == {
        "ns1.musee.example",
        "ns2.ancien-hebergeur.example",
        "ns3.hebergeur-disparu.example",
    }
    assert _resolve(demo_ns, "ns1.musee.example")[1] == ["204.19.225.53"]
    assert _ask(demo_ns, "ns2.ancien-hebergeur.example", "A").rcode() == dns.rcode.NXDOMAIN
    assert _ask(demo_ns, "ns3.hebergeur-disparu.example", "A").rcode() == dns.rcode.REFUSED
    # The sante.example apex has no address on purpose (only www is published).
    response = _ask(demo_ns, "sante.example", "A")
    assert response.rcode() == dns.rcode.NOERROR and not response.answer


def test_demo_unknown_network_is_in_no_registry(asn_table: AsnTable) -> None:
    # The demo shows what an unattributable network looks like; if the registry learns AS22951,
    # pick another unlisted ASN for musee.example so the demo keeps that case.
    assert asn_table.name_of(22951) is not None
    assert default_registry().by_asn(22951) is None


def test_demo_names_in_organization_zones_all_lead_somewhere(demo_ns: LoopbackNameserver) -> None:
    # Every CNAME, MX and NS target of the fictional organizations resolves, except the two
    # broken delegations the museum zone exists to show.
    intended = {"ns2.ancien-hebergeur.example", "ns3.hebergeur-disparu.example", ""}
    for path in _zone_files():
        origin = path.name[: -len(".zone")] + "."
        if not origin.endswith(".example.") or origin.startswith("ancien-hebergeur."):
            continue
        zone = dns.zone.from_text(
            path.read_text(encoding="utf-8"), origin=origin, relativize=False, check_origin=False
        )
        for _name, _ttl, rdata in zone.iterate_rdatas():
            if isinstance(rdata, MX):
                target = rdata.exchange
            elif isinstance(rdata, (CNAME, NS)):
                target = rdata.target
            else:
                continue
            name = target.to_text(omit_final_dot=True)
            if name in intended or name == ".":
                continue
            assert _resolve(demo_ns, name)[1], f"{path.name}: {name} does not resolve"


def test_demo_scan_runs_fast_with_the_expected_statuses() -> None:
    started = time.monotonic()
    result = run_demo()
    elapsed = time.monotonic() - started
    assert elapsed < 5.0, f"the demo took {elapsed:.1f} s"
    statuses = {(e.host, e.layer): e.status for e in result.endpoints}
    not_ok = {
        key: status
        for key, status in statuses.items()
        if status is not Status.OK and key[1] is not Layer.DOMAIN
    }
    assert not_ok == {
        ("sante.example", Layer.WEB): Status.SKIPPED,  # no apex address
        ("musee.example", Layer.MAIL): Status.SKIPPED,  # null MX
        ("musee.example", Layer.DNS): Status.UNKNOWN,  # lame name server
    }
    inventory = load_inventory(DEMO_INVENTORY)
    # .example is a reserved TLD (RFC 6761): no registry to attribute, the domain layer skips.
    domains = {(e.host, e.layer) for e in result.endpoints if e.layer is Layer.DOMAIN}
    assert domains == {(d.name, Layer.DOMAIN) for o in inventory.organizations for d in o.domains}
    assert all(statuses[key] is Status.SKIPPED for key in domains)
    targets = {(t.host, t.layer) for t in inventory.targets()}
    discovered = set(statuses) - targets - domains
    # What the scan found beyond its targets: DMARC report destinations, collaboration tenants.
    assert {layer for _host, layer in discovered} <= {Layer.REPORTING, Layer.COLLABORATION}
    assert targets <= set(statuses)
