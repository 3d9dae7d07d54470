"""Attribution throughput: the engine's memos, the registry's suffix index, the fast classifier.

Every speed-up must give exactly the results of the plain computation, so each test compares
the fast path against the slow one (a cache-less Attributor, a full pattern scan, the
``ipaddress`` range tests) on the shipped registry and a small real IP-to-ASN table.
"""

from __future__ import annotations

import ipaddress
import json
import random
from dataclasses import fields, replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sovaudit.attribute import engine as engine_mod
from sovaudit.attribute.engine import Attributor
from sovaudit.attribute.netclass import _SPECIAL, NetClass, classify
from sovaudit.attribute.registry import PATTERN_ROLES, default_registry
from sovaudit.models import (
    Attribution,
    DataClass,
    DnsRecord,
    Endpoint,
    EvidenceStep,
    Layer,
    SourceLocation,
    Status,
    to_jsonable,
)
from tests.test_attribution import SmallTable

REG = default_registry()
RESOLVER = "127.0.0.1:53"


def _json(value: Any) -> str:
    return json.dumps(to_jsonable(value), sort_keys=True, ensure_ascii=False)


def _web(host: str, chain: tuple[str, ...], addresses: tuple[str, ...]) -> Endpoint:
    """A collected web endpoint: CNAME records along ``chain``, A/AAAA records at its end."""
    records: list[DnsRecord] = []
    owner = host
    for target in chain:
        records.append(DnsRecord(owner, "CNAME", "NOERROR", (target,), 300, RESOLVER, "t"))
        owner = target
    for ip in addresses:
        rtype = "AAAA" if ":" in ip else "A"
        records.append(DnsRecord(owner, rtype, "NOERROR", (ip,), 300, RESOLVER, "t"))
    return Endpoint(
        organization="org",
        service=host,
        host=host,
        layer=Layer.WEB,
        data_classes=(DataClass.HEALTH,),
        status=Status.OK,
        records=tuple(records),
        addresses=addresses,
        names=chain,
        details={"cname_chain": list(chain)},
    )


# Addresses shared by many endpoints (a CDN edge, a cloud front door) next to unique ones,
# reached directly and through provider CNAMEs that agree or conflict with the ASN.
SHARED = ("20.190.128.1", "52.94.1.1", "2.16.0.9", "2620:1ec:21::14", "10.1.2.3", "45.60.3.3")
CHAINS: tuple[tuple[str, ...], ...] = (
    (),
    ("d111.cloudfront.net",),
    ("www.example.edgekey.net", "e1.akamaiedge.net"),
    ("contoso.azurewebsites.net",),
    ("x.incapdns.net",),
)


def _endpoints(count: int, seed: int = 5) -> list[Endpoint]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        unique = f"24.200.{i % 250}.{rng.randrange(1, 250)}"
        addresses = tuple(
            rng.choice(SHARED) if rng.random() < 0.7 else unique for _ in range(rng.randrange(0, 3))
        )
        out.append(_web(f"h{i}.org{i % 7}.example", rng.choice(CHAINS), addresses))
    return out


def test_cached_results_equal_uncached_results_for_shared_addresses() -> None:
    endpoints = _endpoints(300)
    cached = Attributor(REG, SmallTable())
    uncached = Attributor(REG, SmallTable(), cache_size=0)
    first = [cached.attribute_endpoint(e) for e in endpoints]
    again = [cached.attribute_endpoint(e) for e in endpoints]  # every answer from the memos
    plain = [uncached.attribute_endpoint(e) for e in endpoints]
    assert [_json(e) for e in first] == [_json(e) for e in plain]
    assert [_json(e) for e in again] == [_json(e) for e in plain]
    # The memos did serve something, and the shared addresses kept their per-endpoint context:
    # the same address reached through different names carries its own record step.
    assert cached._address_core and not uncached._address_core
    steps = {
        at.evidence[0]
        for e in first
        for at in e.attributions
        if at.subject == "52.94.1.1" and at.role == "address"
    }
    assert len(steps) > 1
    assert all(s.step == "record" for s in steps)


def test_conflicting_name_and_shared_address_keep_their_conflict_once_cached() -> None:
    att = Attributor(REG, SmallTable())
    ep = _web("a.example", ("www.example.edgekey.net",), ("20.190.128.1",))
    direct = _web("b.example", (), ("20.190.128.1",))
    for _ in range(2):
        out = att.attribute_endpoint(ep)
        conflict = next(a for a in out.attributions if a.subject == "20.190.128.1")
        assert "conflict" in conflict.flags and "edgekey.net" in conflict.conflicts[-1]
        plain = att.attribute_endpoint(direct)
        clean = next(a for a in plain.attributions if a.subject == "20.190.128.1")
        assert "conflict" not in clean.flags and not clean.conflicts
        assert clean.evidence[0] == EvidenceStep(
            "record", "A b.example -> 20.190.128.1", f"dns@{RESOLVER}"
        )


@pytest.mark.parametrize("cap", [1, 4, 16])
def test_caches_never_exceed_their_cap(cap: int) -> None:
    att = Attributor(REG, SmallTable(), cache_size=cap)
    plain = Attributor(REG, SmallTable(), cache_size=0)
    for ep in _endpoints(120, seed=cap):
        assert _json(att.attribute_endpoint(ep)) == _json(plain.attribute_endpoint(ep))
        sizes = [
            len(att._address_cache),
            len(att._address_core),
            len(att._name_core),
            len(att._match_cache),
        ]
        assert max(sizes) <= cap, sizes
    assert len(att._address_core) >= 1  # bounded, not disabled


def test_remember_keeps_the_newest_entries_and_stays_bounded() -> None:
    cache: dict[int, int] = {}
    for i in range(1000):
        assert engine_mod._remember(cache, i, i * 2, 10) == i * 2
        assert len(cache) <= 10
        assert cache[i] == i * 2
    assert 999 in cache and 0 not in cache
    none: dict[int, int] = {}
    engine_mod._remember(none, 1, 1, 0)
    assert none == {}


def test_caches_are_not_shared_between_attributors_with_other_data() -> None:
    ip = "24.200.1.1"  # Videotron in the table; a live Cymru answer says RISQ
    cymru = {ip: {"asn": 376, "prefix": "24.200.0.0/16", "country": "CA"}}
    live = Attributor(REG, SmallTable(), cymru=cymru)
    offline = Attributor(REG, SmallTable())
    ep = _web("h.example", (), (ip,))
    for _ in range(2):  # either order, warm or cold
        assert live.attribute_endpoint(ep).attributions[0].operator == "risq"
        assert offline.attribute_endpoint(ep).attributions[0].operator == "videotron"
    # The answers are copied: changing the caller's mapping cannot make a memo stale.
    cymru[ip] = {"asn": 8075, "prefix": "24.200.0.0/16", "country": "US"}
    assert live.attribute_endpoint(ep).attributions[0].operator == "risq"
    assert Attributor(REG, SmallTable(), cymru=cymru).attribute_address(ip).operator == (
        "microsoft-azure"
    )


def _every_field_set(cls: type[Any], base: Any, values: dict[str, Any]) -> Any:
    missing = {f.name for f in fields(cls)} - set(values)
    assert not missing, f"give the new {cls.__name__} field(s) a value here: {missing}"
    return replace(base, **values)


def test_fast_copies_keep_every_field() -> None:
    step = EvidenceStep("asn", "AS1", "t")
    at = _every_field_set(
        Attribution,
        Attribution("s", "r"),
        {
            "subject": "s", "role": "r", "address": "a", "asn": 1, "asn_name": "n",
            "operator": "o", "operator_name": "on", "category": "c", "ultimate_parent": "u",
            "jurisdiction": "US", "operator_jurisdiction": "CA", "ownership": "public",
            "confidence": 0.5, "status": Status.OK, "reason": "why", "flags": ("f",),
            "conflicts": ("c",), "evidence": (step,),
        },
    )  # fmt: skip
    evidence = (EvidenceStep("record", "A x -> y", "dns"), step)
    assert engine_mod._with_evidence(at, evidence) == replace(at, evidence=evidence)
    ep = _every_field_set(
        Endpoint,
        _web("h.example", (), ()),
        {
            "organization": "o", "service": "s", "host": "h", "layer": Layer.MAIL,
            "data_classes": (DataClass.TAX,), "status": Status.UNKNOWN, "reason": "r",
            "organization_name": "O", "records": (), "addresses": ("1.1.1.1",),
            "names": ("n",), "attributions": (at,), "findings": (),
            "source": SourceLocation("inv.yaml", 3), "details": {"k": 1},
        },
    )  # fmt: skip
    details: dict[str, Any] = {"control": {}}
    fast = engine_mod._with_attributions(ep, (at, at), details)
    assert fast == replace(ep, attributions=(at, at), details=details)


# -- the registry's suffix index ------------------------------------------------------------


def _sample_names() -> list[str]:
    """Names built from every glob of the registry, near misses, and names under other domains."""
    names: list[str] = []
    for op in REG.operators.values():
        for pat in op.patterns:
            glob = pat.glob
            names += [
                glob.replace("*", "abc"),
                glob.replace("*", ""),
                glob.replace("*", "a.b"),
                glob.replace("*.", "x.y.", 1).replace("*", "7"),
                glob.lstrip("*."),
                "evil" + glob.lstrip("*."),
                glob.replace("*", "q") + ".attacker.example",
                glob.replace("*", "Q") + ".",
                glob.replace("*", "a b"),
            ]
    return names + ["", ".", "com", "a..b.com", "x.co.uk", "ns-1.awsdns-1.org.attacker.example"]


@pytest.mark.parametrize("role", [*PATTERN_ROLES, "*", "autodiscover", "spf-include"])
def test_suffix_index_finds_exactly_what_a_full_scan_finds(role: str) -> None:
    names = _sample_names()
    found = 0
    for name in names:
        fast = REG.match_name(name, role)
        roles = frozenset(PATTERN_ROLES) if role == "*" else frozenset({role, "any"})
        if role == "autodiscover":
            roles |= {"cname"}
        assert fast == REG._match_name_scan(name.strip().rstrip(".").lower(), roles), name
        found += bool(fast)
    assert found > 50  # the sample does reach the patterns


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["ns-1", "awsdns-01", "cloudfront", "net", "com", "*", "a-b", ""]),
        max_size=5,
    )
)
def test_suffix_index_agrees_on_arbitrary_label_mixes(labels: list[str]) -> None:
    name = ".".join(labels)
    assert REG.match_name(name, "*") == REG._match_name_scan(
        name.strip().rstrip(".").lower(), frozenset(PATTERN_ROLES)
    )


# -- address classification -----------------------------------------------------------------


def _reference_classify(address: str) -> NetClass | None:
    """The classifier as it was: ``ipaddress`` parsing and ``ip in network`` tests."""
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return NetClass("invalid", "bogon", f"not an IP address: {address!r}")
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        inner = _reference_classify(str(ip.ipv4_mapped))
        return inner or NetClass("mapped", "bogon", "IPv4-mapped IPv6 address ::ffff:0:0/96")
    for net_text, kind, flag, label in _SPECIAL:
        net = ipaddress.ip_network(net_text)
        if ip.version == net.version and ip in net:
            return NetClass(kind, flag, label)
    if isinstance(ip, ipaddress.IPv6Address) and ip not in ipaddress.ip_network("2000::/3"):
        return NetClass("reserved", "bogon", "IPv6 address outside global unicast 2000::/3")
    return None


def test_fast_classifier_agrees_with_ipaddress_on_edges_and_odd_spellings() -> None:
    samples = [
        "8.8.8.8", " 8.8.8.8 ", "01.2.3.4", "1.2.3.04", "1.2.3", "256.1.1.1", "1.2.3.4\x00",
        "", "zz", "::", "::1", "fe80::1%eth0", "fe80::%1", "::ffff:10.0.0.1", "::FFFF:8.8.8.8",
        "::ffff:0a00:0001", "0:0:0:0:0:ffff:1.2.3.4", "::1.2.3.4", "2001:DB8::1",
        "2001:0db8::1", "1fff:ffff::1", "2000::", "4000::1", "64:ff9b::1.2.3.4",
    ]  # fmt: skip
    for net_text, *_ in _SPECIAL:
        net = ipaddress.ip_network(net_text)
        first, last = int(net.network_address), int(net.broadcast_address)
        top = 2**net.max_prefixlen - 1
        cls = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
        samples += [str(cls(v)) for v in (first - 1, first, last, last + 1) if 0 <= v <= top]
        samples.append(cls(first).exploded)
    rng = random.Random(3)
    samples += [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(3000)]
    samples += [str(ipaddress.IPv6Address(rng.getrandbits(128))) for _ in range(1000)]
    samples += [str(ipaddress.IPv6Address(0xFFFF << 32 | rng.getrandbits(32))) for _ in range(500)]
    for sample in samples:
        assert classify(sample) == _reference_classify(sample), repr(sample)
