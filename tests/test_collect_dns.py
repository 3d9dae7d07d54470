"""DNS collection against a real nameserver on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sovaudit.collect.dns import DnsClient, ResolverAddress, probe_resolvers
from sovaudit.collect.endpoints import collect_target
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.errors import ResolverError
from sovaudit.models import DataClass, Endpoint, Layer, Status, Target


def _client(ns: LoopbackNameserver, **kw: Any) -> DnsClient:
    kw.setdefault("timeout", 0.5)
    kw.setdefault("retries", 1)
    return DnsClient([ResolverAddress(*ns.address)], **kw)


def _target(host: str, layer: Layer = Layer.WEB, origin: str = "service") -> Target:
    return Target("org", "Org", host, host, layer, (DataClass.HEALTH,), None, origin)


def collect(ns: LoopbackNameserver, host: str, layer: Layer = Layer.WEB, **kw: Any) -> Endpoint:
    origin = kw.pop("origin", "service")

    async def run() -> Endpoint:
        async with _client(ns, **kw) as client:
            return await collect_target(client, _target(host, layer, origin))

    return asyncio.run(run())


def test_cname_chain_is_followed_and_recorded(nameserver: LoopbackNameserver) -> None:
    ep = collect(nameserver, "portail.sante.test")
    assert ep.status is Status.OK
    assert ep.details["cname_chain"] == [
        "step1.sante.test",
        "step2.sante.test",
        "sante-portal.azurefd.net",
    ]
    assert ep.addresses == ("13.107.246.40", "2620:1ec:bdf::40")
    cnames = [(r.name, r.answers) for r in ep.records if r.type == "CNAME"]
    assert ("portail.sante.test", ("step1.sante.test",)) in cnames
    assert all(r.resolver == nameserver.spec for r in ep.records)


def test_chain_followed_when_resolver_does_not_chase() -> None:
    zone = """$TTL 60
@ IN SOA ns1 h 1 2 3 4 5
a IN CNAME b
b IN CNAME c
c IN A 192.0.2.99
"""
    with LoopbackNameserver.from_zone_texts({"nochase.test.": zone}, chase=False) as ns:
        ep = collect(ns, "a.nochase.test")
    assert ep.status is Status.OK
    assert ep.details["cname_chain"] == ["b.nochase.test", "c.nochase.test"]
    assert ep.addresses == ("192.0.2.99",)


def test_cname_loop_is_unknown_with_reason(nameserver: LoopbackNameserver) -> None:
    ep = collect(nameserver, "loop1.faults.test")
    assert ep.status is Status.UNKNOWN
    assert ep.reason is not None and "CNAME loop" in ep.reason


def test_chain_longer_than_limit_is_unknown(nameserver: LoopbackNameserver) -> None:
    ep = collect(nameserver, "chain0.faults.test")
    assert ep.status is Status.UNKNOWN
    assert ep.reason is not None and "longer than 16" in ep.reason


@pytest.mark.parametrize(
    ("host", "needle"),
    [
        ("servfail.faults.test", "SERVFAIL"),
        ("refused.faults.test", "REFUSED"),
        ("dropped.faults.test", "timeout"),
        ("wrongid.faults.test", "timeout"),
        ("garbage.faults.test", "timeout"),
        ("to-servfail.faults.test", "SERVFAIL"),
    ],
)
def test_failures_give_unknown_with_reason(
    nameserver: LoopbackNameserver, host: str, needle: str
) -> None:
    ep = collect(nameserver, host, timeout=0.3, retries=0)
    assert ep.status is Status.UNKNOWN
    assert ep.reason is not None and needle in ep.reason
    assert ep.addresses == ()


def test_slow_answer_within_timeout_is_ok(nameserver: LoopbackNameserver) -> None:
    ep = collect(nameserver, "slow.faults.test", timeout=1.5)
    assert ep.status is Status.OK
    assert ep.addresses == ("192.0.2.4",)


def test_truncated_answer_falls_back_to_tcp(nameserver: LoopbackNameserver) -> None:
    async def run() -> tuple[list[str], int]:
        async with _client(nameserver) as client:
            answer = await client.query("truncated.faults.test", "TXT")
            texts = [b"".join(rd.strings).decode() for rd in answer.rdatas(
                "truncated.faults.test", "TXT")]
            return texts, client.stats.tcp_fallbacks

    texts, fallbacks = asyncio.run(run())
    assert texts == ["this answer only comes over TCP"]
    assert fallbacks == 1


def test_nxdomain_for_service_is_unknown_and_for_expansion_skipped(
    nameserver: LoopbackNameserver,
) -> None:
    listed = collect(nameserver, "nope.sante.test")
    assert listed.status is Status.UNKNOWN
    assert listed.reason is not None and "NXDOMAIN" in listed.reason
    expanded = collect(nameserver, "nope.sante.test", origin="domain")
    assert expanded.status is Status.SKIPPED
    assert any(r.rcode == "NXDOMAIN" for r in expanded.records)


def test_idn_zone_resolves(nameserver: LoopbackNameserver) -> None:
    ep = collect(nameserver, "xn--qubec-csa.test")
    assert ep.addresses == ("192.0.2.77",)


def test_ipv6_only_and_dual_stack(nameserver: LoopbackNameserver) -> None:
    assert collect(nameserver, "v6only.sante.test").addresses == ("2603:1030::10",)
    assert collect(nameserver, "dual.sante.test").addresses == ("20.190.128.11", "2603:1030::11")


def test_mail_endpoint_mx_spf_autodiscover(nameserver: LoopbackNameserver) -> None:
    ep = collect(nameserver, "sante.test", Layer.MAIL)
    assert ep.status is Status.OK, ep.reason
    mx = ep.details["mx"]
    assert [m["host"] for m in mx] == ["sante-test.mail.protection.outlook.com"]
    assert mx[0]["addresses"] == ["52.101.68.10", "52.101.68.11"]
    assert ep.addresses == ("52.101.68.10", "52.101.68.11")
    spf = ep.details["spf"]
    assert spf["includes"] == [
        "spf.protection.outlook.com",
        "spfd.protection.outlook.com",
        "_spf.sante.test",
    ]
    assert "40.92.0.0/15" in spf["ip4"] and "192.0.2.0/24" in spf["ip4"]
    assert spf["ip6"] == ["2001:db8::/32"]
    assert spf["a"] == ["relay.sante.test"]
    assert spf["error"] is None
    assert ep.details["autodiscover"]["cname_chain"] == [
        "autodiscover.outlook.com",
        "autodiscover.geo.outlook.com",
    ]
    assert "MS=ms12345678" in ep.details["txt"]


def test_spf_redirect_and_nested_includes(nameserver: LoopbackNameserver) -> None:
    spf = collect(nameserver, "nested.spf.test", Layer.MAIL).details["spf"]
    assert spf["includes"] == ["a.spf.test", "c.spf.test", "b.spf.test"]
    assert spf["ip4"] == ["198.51.100.0/24"] and spf["ip6"] == ["2001:db8:1::/48"]
    assert spf["mx"] == ["nested.spf.test"]
    assert spf["error"] is None


def test_spf_loop_and_lookup_limit(nameserver: LoopbackNameserver) -> None:
    loop = collect(nameserver, "loop.spf.test", Layer.MAIL).details["spf"]
    assert loop["error"] == "permerror: include loop at loop.spf.test"
    many = collect(nameserver, "many.spf.test", Layer.MAIL).details["spf"]
    assert many["error"] == "permerror: more than 10 DNS lookups"
    assert many["lookups"] == 11


def test_null_mx_is_skipped(nameserver: LoopbackNameserver) -> None:
    ep = collect(nameserver, "nullmx.faults.test", Layer.MAIL)
    assert ep.status is Status.SKIPPED
    assert ep.reason is not None and "RFC 7505" in ep.reason


def test_dns_endpoint_ns_hosts(nameserver: LoopbackNameserver) -> None:
    ep = collect(nameserver, "sante.test", Layer.DNS)
    assert ep.status is Status.OK
    assert [n["host"] for n in ep.details["ns"]] == ["ns1.sante.test", "ns2.sante.test"]
    assert ep.addresses == ("192.0.2.53", "198.51.100.53")


def test_shared_names_are_asked_once(nameserver: LoopbackNameserver) -> None:
    async def run() -> tuple[int, int]:
        async with _client(nameserver) as client:
            await asyncio.gather(
                *(client.resolve_chain("www.sante.test") for _ in range(20))
            )
            return client.stats.sent, client.stats.cache_hits

    sent, hits = asyncio.run(run())
    assert sent <= 4  # A and AAAA of the name, at most one extra per type
    assert hits >= 19


def test_probe_reports_dead_resolver_fast(nameserver: LoopbackNameserver) -> None:
    import socket
    import time

    # A UDP port nobody listens on: bind, note the port, close.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    dead_port = sock.getsockname()[1]
    sock.close()
    dead = ResolverAddress("127.0.0.1", dead_port)
    live = ResolverAddress(*nameserver.address)
    start = time.monotonic()
    alive, failed = asyncio.run(probe_resolvers([live, dead], timeout=0.5))
    assert time.monotonic() - start < 5
    assert alive == [live]
    assert dead in failed


@pytest.mark.parametrize(
    ("spec", "host", "port"),
    [
        ("127.0.0.1", "127.0.0.1", 53),
        ("127.0.0.1:5353", "127.0.0.1", 5353),
        ("[::1]:5353", "::1", 5353),
        ("::1", "::1", 53),
        ("[::1]", "::1", 53),
    ],
)
def test_resolver_spec_parsing(spec: str, host: str, port: int) -> None:
    assert ResolverAddress.parse(spec) == ResolverAddress(host, port)


@pytest.mark.parametrize("spec", ["dns.google", "127.0.0.1:99999", "[::1", "1.2.3.4:x", ""])
def test_bad_resolver_specs(spec: str) -> None:
    with pytest.raises(ResolverError):
        ResolverAddress.parse(spec)


# -- the raw UDP transport (issue 8): many answers per event-loop wake-up, ICMP errors -------


def _burst(monkeypatch: pytest.MonkeyPatch, count: int) -> tuple[list[list[str]], int]:
    """Send ``count`` questions, block the loop while every answer queues up, then read them.

    Returns the addresses answered per question and how many times the loop woke the reader.
    """
    import time

    from sovaudit.collect import dns as sdns

    wakeups = 0
    original = sdns._RawUdpTransport._readable

    def counting(self: Any) -> None:
        nonlocal wakeups
        wakeups += 1
        original(self)

    monkeypatch.setattr(sdns._RawUdpTransport, "_readable", counting)
    records = "".join(f"h{i} IN A 192.0.2.{i % 250 + 1}\n" for i in range(count))
    zone = "$TTL 60\n@ IN SOA ns1 h 1 2 3 4 5\n" + records
    with LoopbackNameserver.from_zone_texts({"burst.test.": zone}) as ns:

        async def run() -> tuple[list[list[str]], int]:
            async with _client(ns, timeout=5.0, retries=0, concurrency=count + 1) as client:
                await client.query("h0.burst.test", "A")  # opens the socket
                before = wakeups
                futures = [client.query(f"h{i}.burst.test", "A") for i in range(1, count)]
                # Every question is sent already; blocking the loop lets the answers queue
                # in the socket so one wake-up finds many of them.
                time.sleep(1.0)
                answers = await asyncio.gather(*futures)
                return [
                    [rd.address for rd in a.rdatas(f"h{i}.burst.test", "A")]
                    for i, a in enumerate(answers, start=1)
                ], wakeups - before

        return asyncio.run(run())


def test_queued_answers_are_read_in_few_wakeups(monkeypatch: pytest.MonkeyPatch) -> None:
    addresses, wakeups = _burst(monkeypatch, 300)
    assert addresses == [[f"192.0.2.{i % 250 + 1}"] for i in range(1, 300)]
    # asyncio's datagram transport needs one wake-up per answer (299 here).
    assert 1 <= wakeups <= 10


def test_reads_per_wakeup_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from sovaudit.collect import dns as sdns

    monkeypatch.setattr(sdns._RawUdpTransport, "MAX_READS", 16)
    addresses, wakeups = _burst(monkeypatch, 300)
    assert addresses == [[f"192.0.2.{i % 250 + 1}"] for i in range(1, 300)]
    assert wakeups >= 299 // 16  # timers and other callbacks get their turn between batches


def test_port_unreachable_fails_at_once_as_network_error() -> None:
    """ICMP port unreachable (ConnectionRefusedError on recv) fails the waiters, no timeout."""
    import socket
    import time

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    dead_port = sock.getsockname()[1]
    sock.close()

    async def run() -> list[tuple[str, str | None]]:
        async with DnsClient([ResolverAddress("127.0.0.1", dead_port)], timeout=5.0) as client:
            answers = await asyncio.gather(
                *(client.query(f"n{i}.dead.test", "A") for i in range(20))
            )
            transport = next(iter(client._protocols.values())).transport
            assert transport is not None
        assert transport.is_closing()  # close() closed the socket
        return [(a.rcode, a.error) for a in answers]

    start = time.monotonic()
    results = asyncio.run(run())
    assert time.monotonic() - start < 2.5  # 3 attempts x 5 s if the error were missed
    assert {rcode for rcode, _ in results} == {"NETERROR"}
    assert all(error is not None and "network error" in error for _, error in results)
