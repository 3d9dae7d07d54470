"""Guards for the collector's speed and memory work (issue 8): each would fail if it broke.

- the per-message name cache of the wire codec reuses decoded names only where decoding them
  again would be accepted (dnspython is the reference for what is accepted);
- the DNS client's answer cache is a bounded LRU, and every endpoint that cites an answer shares
  its evidence records;
- ``collect_all`` raises the GC threshold while it runs and restores it afterwards.
"""

from __future__ import annotations

import asyncio
import gc
import struct
from collections.abc import Iterator

import dns.exception
import dns.message
import pytest

from sovaudit.collect import endpoints as collect_endpoints
from sovaudit.collect import wire
from sovaudit.collect.dns import DnsClient, ResolverAddress
from sovaudit.collect.endpoints import collect_all, relaxed_gc
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.models import DataClass, Endpoint, Layer, Target

QID = 0x4242
QUESTION = b"\x03www\x07example\x04test\x00"  # at offset 12
QNAME = "www.example.test"


def _header(ancount: int) -> bytes:
    return struct.pack("!HHHHHH", QID, 0x8180, 1, ancount, 0, 0)


def _rr(owner: bytes, rdtype: int, rdata: bytes) -> bytes:
    return owner + struct.pack("!HHIH", rdtype, 1, 60, len(rdata)) + rdata


def _dnspython_accepts(data: bytes) -> bool:
    try:
        dns.message.from_wire(data)
    except (dns.exception.DNSException, ValueError, IndexError):
        return False
    return True


# -- the per-message name cache --------------------------------------------------------------


def test_owner_names_pointing_at_the_question_share_its_labels() -> None:
    a_rdata = bytes((192, 0, 2, 1))
    data = (
        _header(2)
        + QUESTION
        + b"\x00\x01\x00\x01"
        + _rr(b"\xc0\x0c", 1, a_rdata)
        + _rr(b"\xc0\x0c", 1, bytes((192, 0, 2, 2)))
    )
    got = wire.decode_response(data, QID, QNAME, "A")
    assert got is not None
    first, second = got.records
    assert first.name.labels == (b"www", b"example", b"test", b"")
    assert first.name.labels is second.name.labels  # decoded once, shared
    ref = dns.message.from_wire(data)
    assert [str(rd) for rd in ref.answer[0]] == [r.rdata.to_text() for r in got.records]


def test_cached_name_is_not_reused_across_the_current_limit() -> None:
    # A CNAME target whose single label holds the bytes of a pointer back to the target itself,
    # then an owner name pointing INSIDE that label: decoding from there reads the pointer,
    # jumps back to the (cached) target, whose label runs past the new limit. dnspython refuses
    # the message; so must the codec, cache or not.
    header_and_question = _header(2) + QUESTION + b"\x00\x01\x00\x01"
    owner1 = b"\xc0\x0c"
    target_at = len(header_and_question) + len(owner1) + 10
    target = b"\x03\xc0" + bytes((target_at,)) + b"z\x00"
    data = (
        header_and_question
        + _rr(owner1, 5, target)
        + _rr(b"\xc0" + bytes((target_at + 1,)), 1, bytes((192, 0, 2, 1)))
    )
    assert not _dnspython_accepts(data)
    assert wire.decode_response(data, QID, QNAME, "A") is None
    # The same message without the second record is fine: the label really is a label.
    ok = _header(1) + QUESTION + b"\x00\x01\x00\x01" + _rr(owner1, 5, target)
    assert _dnspython_accepts(ok)
    assert wire.decode_response(ok, QID, QNAME, "A") is not None


def _pointer_ladder(rungs: int) -> bytes:
    """Owner names, each one label plus a pointer to the previous owner (the first: the
    question): the last one follows ``rungs`` pointers, most of them through cached names."""
    records = []
    offset = 12 + len(QUESTION) + 4
    previous = 12
    for _ in range(rungs):
        owner = b"\x01a" + struct.pack("!H", 0xC000 | previous)
        records.append(_rr(owner, 1, bytes((192, 0, 2, 1))))
        previous = offset
        offset += len(records[-1])
    return _header(rungs) + QUESTION + b"\x00\x01\x00\x01" + b"".join(records)


@pytest.mark.parametrize("rungs", [15, 16, 17, 20])
def test_pointer_limit_counts_the_pointers_of_cached_names(rungs: int) -> None:
    data = _pointer_ladder(rungs)
    accepted = wire.decode_response(data, QID, QNAME, "A") is not None
    assert accepted == _dnspython_accepts(data)
    assert accepted == (rungs <= 16)


def test_loops_and_forward_pointers_are_refused_after_a_cached_name() -> None:
    base = _header(2) + QUESTION + b"\x00\x01\x00\x01" + _rr(b"\xc0\x0c", 1, b"\xc0\x00\x02\x01")
    here = len(base)
    for owner in (
        struct.pack("!H", 0xC000 | here),  # points at itself
        struct.pack("!H", 0xC000 | (here + 4)),  # points forward
        b"\x01b" + struct.pack("!H", 0xC000 | here),  # a label, then back to its own start
    ):
        data = base + _rr(owner, 1, b"\xc0\x00\x02\x02")
        assert not _dnspython_accepts(data)
        assert wire.decode_response(data, QID, QNAME, "A") is None


# -- the answer cache: bounded LRU, shared evidence --------------------------------------------


ZONE = """$TTL 60
@ IN SOA ns1 h 1 2 3 4 5
@ IN NS ns1
ns1 IN A 192.0.2.53
a IN A 192.0.2.1
b IN A 192.0.2.2
c IN A 192.0.2.3
shared IN A 192.0.2.9
w1 IN CNAME shared
w2 IN CNAME shared
"""


@pytest.fixture(scope="module")
def lru_ns() -> Iterator[LoopbackNameserver]:
    with LoopbackNameserver.from_zone_texts({"lru.test.": ZONE}) as ns:
        yield ns


def test_answer_cache_is_a_bounded_lru(lru_ns: LoopbackNameserver) -> None:
    async def run() -> tuple[int, int, int]:
        async with DnsClient(
            [ResolverAddress(*lru_ns.address)], timeout=1.0, retries=0, cache_size=2
        ) as client:
            for name in ("a", "b", "a", "c", "a", "b"):
                await client.query(f"{name}.lru.test", "A")
                assert len(client._cache) <= 2
            return client.stats.sent, client.stats.cache_hits, client.stats.evictions

    before = dict(lru_ns.asked)
    sent, hits, evictions = asyncio.run(run())
    asked = {k: v - before.get(k, 0) for k, v in lru_ns.asked.items()}
    # a, b, a (hit: a is now the youngest), c (evicts b), a (hit), b (evicts c): b asked twice.
    assert asked[("a.lru.test", "A")] == 1
    assert asked[("b.lru.test", "A")] == 2
    assert asked[("c.lru.test", "A")] == 1
    assert (sent, hits, evictions) == (4, 2, 2)


def test_cache_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        DnsClient([ResolverAddress("127.0.0.1", 53)], cache_size=0)


def _target(host: str) -> Target:
    return Target("org", "Org", host, host, Layer.WEB, (DataClass.PUBLIC,), None, "service")


def test_endpoints_share_the_records_of_a_shared_answer() -> None:
    seen_thresholds: list[int] = []

    def on_done(_endpoint: Endpoint) -> None:
        seen_thresholds.append(gc.get_threshold()[0])

    async def run(ns: LoopbackNameserver) -> list[Endpoint]:
        async with DnsClient([ResolverAddress(*ns.address)], timeout=1.0) as client:
            return await collect_all(
                client, [_target("w1.lru.test"), _target("w2.lru.test")], on_done=on_done
            )

    saved = gc.get_threshold()
    # A server that does not chase CNAMEs: both chains ask shared.lru.test A, once (cached).
    with LoopbackNameserver.from_zone_texts({"lru.test.": ZONE}, chase=False) as ns:
        one, two = asyncio.run(run(ns))
    assert one.addresses == two.addresses == ("192.0.2.9",)

    def a_record(ep: Endpoint) -> object:
        return next(r for r in ep.records if r.name == "shared.lru.test" and r.type == "A")

    # Both chains end on the same cached answer: one record object, not two equal copies.
    assert a_record(one) is a_record(two)
    # The collection ran with fewer GC passes, and the caller's setting is back.
    assert seen_thresholds and min(seen_thresholds) >= collect_endpoints.COLLECT_GC_THRESHOLD
    assert gc.get_threshold() == saved


def test_relaxed_gc_overlapping_uses_restore_once_the_last_ends() -> None:
    saved = gc.get_threshold()
    outer = relaxed_gc(10_000)
    inner = relaxed_gc(10_000)
    outer.__enter__()
    inner.__enter__()
    outer.__exit__(None, None, None)  # the first to start ends first: the other still runs
    assert gc.get_threshold()[0] == max(10_000, saved[0])
    inner.__exit__(None, None, None)
    assert gc.get_threshold() == saved
