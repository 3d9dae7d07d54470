"""The hot-path DNS codec against dnspython, the reference it replaces on the UDP path.

Differential: random answers (names with any bytes and any case, duplicates, TTLs, every
modelled type), written with and without name compression, must decode to what dnspython's
``Message.from_wire`` gives, down to the evidence text of ``Answer.records()``. Fuzz: random and
mutated datagrams never raise, never hang, and are accepted only when dnspython accepts them.
"""

from __future__ import annotations

import asyncio
import io
import struct
from typing import Any

import dns.flags
import dns.message
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovaudit.collect import wire
from sovaudit.collect.dns import Answer

QNAME = "www.example.test"
QID = 0x1234

labels = st.binary(min_size=1, max_size=12) | st.sampled_from([b"www", b"Mail", b"a.b", b"x y"])
names = st.lists(labels, min_size=0, max_size=5).map(lambda ls: dns.name.Name([*ls, b""]))


def _case(name: dns.name.Name, flips: int) -> dns.name.Name:
    """The same name with some ASCII letters upper-cased: equal for DNS, different text."""
    out = []
    for i, label in enumerate(name.labels):
        out.append(label.upper() if flips >> i & 1 else label)
    return dns.name.Name(out)


def _rdata(rdtype: str, draw: Any, pool: list[dns.name.Name]) -> dns.rdata.Rdata:
    """One random rdata of a modelled type, its names drawn from a small pool (duplicates)."""
    cls = dns.rdataclass.IN
    name = _case(draw(st.sampled_from(pool)), draw(st.integers(0, 31)))
    if rdtype == "A":
        text = ".".join(str(draw(st.integers(0, 255))) for _ in range(4))
        return dns.rdata.from_text(cls, "A", text)
    if rdtype == "AAAA":
        raw = draw(st.sampled_from([b"\x00" * 16, b"\x20\x01\x0d\xb8" + b"\x00" * 11 + b"\x01"]))
        raw = raw if draw(st.booleans()) else draw(st.binary(min_size=16, max_size=16))
        return dns.rdata.from_wire(cls, dns.rdatatype.AAAA, raw, 0, 16)
    if rdtype in ("CNAME", "NS", "PTR"):
        return dns.rdata.from_text(cls, rdtype, name.to_text())
    if rdtype == "MX":
        return dns.rdata.from_text(cls, "MX", f"{draw(st.integers(0, 3))} {name.to_text()}")
    if rdtype == "SRV":
        p, w, port = draw(st.integers(0, 2)), draw(st.integers(0, 2)), draw(st.integers(0, 65535))
        return dns.rdata.from_text(cls, "SRV", f"{p} {w} {port} {name.to_text()}")
    if rdtype == "SOA":
        other = draw(st.sampled_from(pool)).to_text()
        nums = " ".join(str(draw(st.integers(0, 2**32 - 1))) for _ in range(5))
        return dns.rdata.from_text(cls, "SOA", f"{name.to_text()} {other} {nums}")
    strings = draw(st.lists(st.binary(max_size=40), min_size=1, max_size=3))
    rd = dns.rdata.from_wire(cls, dns.rdatatype.TXT, _txt_wire(strings), 0, len(_txt_wire(strings)))
    return rd


def _txt_wire(strings: list[bytes]) -> bytes:
    return b"".join(bytes((len(s),)) + s for s in strings)


@st.composite
def responses(draw: Any) -> tuple[bytes, dict[str, Any]]:
    """A response to (QNAME, A) with random answer records, compressed or not."""
    pool = draw(st.lists(names, min_size=1, max_size=3))
    pool.append(dns.name.from_text(QNAME))
    compress: dict[Any, int] | None = {} if draw(st.booleans()) else None
    rcode = draw(st.sampled_from([0, 0, 0, 3, 2, 5]))
    edns = draw(st.booleans())
    ext = draw(st.sampled_from([0, 0, 1])) if edns else 0
    tc = draw(st.booleans())
    buf = io.BytesIO()
    flags = 0x8000 | 0x0100 | 0x0080 | (0x0200 if tc else 0) | rcode
    count = draw(st.integers(0, 8))
    buf.write(struct.pack("!HHHHHH", QID, flags, 1, count, 0, 1 if edns else 0))
    qname = _case(dns.name.from_text(QNAME), draw(st.integers(0, 7)))
    qname.to_wire(buf, compress)
    buf.write(struct.pack("!HH", 1, 1))
    for _ in range(count):
        rdtype = draw(
            st.sampled_from(["A", "AAAA", "CNAME", "NS", "PTR", "MX", "SRV", "SOA", "TXT"])
        )
        owner = _case(draw(st.sampled_from(pool)), draw(st.integers(0, 31)))
        ttl = draw(st.sampled_from([0, 1, 300, 86400, 2**31 - 1, 2**31, 2**32 - 1]))
        rd = _rdata(rdtype, draw, pool)
        dns.rrset.from_rdata(owner, ttl, rd).to_wire(buf, compress)
    if edns:
        buf.write(b"\x00\x00\x29\x04\xd0" + bytes((ext, 0, 0, 0)) + b"\x00\x00")
    return buf.getvalue(), {"rcode": rcode | ext << 4, "tc": tc}


def _reference(data: bytes) -> dns.message.Message | None:
    """dnspython's verdict: the message if it parses and answers our query, else None."""
    query = dns.message.make_query(QNAME, "A", use_edns=0, payload=1232)
    query.id = QID
    try:
        msg = dns.message.from_wire(data)
    except Exception:
        return None
    return msg if query.is_response(msg) else None


def _summary(rrsets: tuple[Any, ...]) -> list[Any]:
    """Everything callers read: owner text, type, class, ttl, and each rdata's text, in order."""
    return [
        (r.name.to_text(), int(r.rdtype), int(r.rdclass), int(r.ttl), [rd.to_text() for rd in r])
        for r in rrsets
    ]


def _answer(rrsets: tuple[Any, ...]) -> Answer:
    return Answer(QNAME, "A", "NOERROR", "127.0.0.1:53", "2026-11-25T00:00:00.000Z", rrsets)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses())
def test_decode_agrees_with_dnspython(case: tuple[bytes, dict[str, Any]]) -> None:
    data, meta = case
    ref = _reference(data)
    assert ref is not None  # the generator only builds valid answers to our question
    got = wire.decode_response(data, QID, QNAME, "A")
    assert got is not None and not got.unknown
    assert got.rcode == ref.rcode() == meta["rcode"]
    assert got.tc == bool(ref.flags & dns.flags.TC) == meta["tc"]
    mine = got.rrsets()
    theirs = wire.from_dnspython(ref.answer)
    assert _summary(mine) == _summary(theirs)
    # The evidence written from either parse is identical, record for record.
    assert _answer(mine).records() == _answer(theirs).records()
    for rrset in theirs:
        owner = rrset.name.to_text()
        rdtype = dns.rdatatype.to_text(rrset.rdtype)  # type: ignore[arg-type]
        ours = _answer(mine).rdatas(owner, rdtype)
        ref_rds = _answer(theirs).rdatas(owner, rdtype)
        assert [rd.to_text() for rd in ours] == [rd.to_text() for rd in ref_rds]
        for attr in ("address", "preference", "priority", "weight", "port", "strings"):
            assert [getattr(rd, attr, None) for rd in ours] == [
                getattr(rd, attr, None) for rd in ref_rds
            ]
        for attr in ("target", "exchange"):
            assert [
                getattr(rd, attr).to_text(omit_final_dot=True) for rd in ours if hasattr(rd, attr)
            ] == [
                getattr(rd, attr).to_text(omit_final_dot=True)
                for rd in ref_rds
                if hasattr(rd, attr)
            ]


@settings(max_examples=300, deadline=None)
@given(responses(), st.data())
def test_mutated_replies_never_raise_and_match_dnspython(
    case: tuple[bytes, dict[str, Any]], data: st.DataObject
) -> None:
    original = bytearray(case[0])
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "cut", "insert", "pointer"]))
        pos = data.draw(st.integers(0, max(len(original) - 1, 0)))
        if op == "flip" and original:
            original[pos] ^= data.draw(st.integers(1, 255))
        elif op == "cut":
            del original[pos:]
        elif op == "insert":
            original[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        elif op == "pointer" and pos + 1 < len(original):
            # Compression pointers anywhere, forwards, backwards, onto themselves.
            target = data.draw(st.integers(0, len(original) + 4))
            original[pos : pos + 2] = bytes((0xC0 | (target >> 8 & 0x3F), target & 0xFF))
    blob = bytes(original)
    got = wire.decode_response(blob, QID, QNAME, "A")
    ref = _reference(blob)
    if got is None:
        assert ref is None, "dnspython accepts a reply the codec refuses"
        return
    if got.unknown:
        return  # the client hands such a reply to dnspython, whose verdict is then the one
    assert ref is not None, "the codec accepts a reply dnspython refuses"
    assert got.rcode == ref.rcode()
    assert _summary(got.rrsets()) == _summary(wire.from_dnspython(ref.answer))


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(blob: bytes) -> None:
    got = wire.decode_response(blob, QID, QNAME, "A")
    if got is not None and not got.unknown:
        assert _reference(blob) is not None


def _reply(rrsets: list[str], *, qid: int = QID, qname: str = QNAME, qtype: str = "A") -> bytes:
    query = dns.message.make_query(qname, qtype, use_edns=0, payload=1232)
    query.id = qid
    response = dns.message.make_response(query)
    for text in rrsets:
        owner, ttl, rdtype, rdata = text.split(maxsplit=3)
        response.answer.append(dns.rrset.from_text(owner, int(ttl), "IN", rdtype, rdata))
    return response.to_wire()


def test_valid_reply_decodes() -> None:
    data = _reply(["www.example.test. 300 CNAME edge.cdn.test.", "edge.cdn.test. 60 A 192.0.2.7"])
    got = wire.decode_response(data, QID, QNAME, "A")
    assert got is not None and got.rcode == 0 and not got.tc
    sets = got.rrsets()
    assert [(r.name.to_text(omit_final_dot=True), r.rdtype, r.ttl) for r in sets] == [
        ("www.example.test", wire.CNAME, 300),
        ("edge.cdn.test", wire.A, 60),
    ]
    assert sets[0].rdatas[0].target.to_text(omit_final_dot=True) == "edge.cdn.test"
    assert sets[1].rdatas[0].address == "192.0.2.7"


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda d: d[:-1], id="truncated"),
        pytest.param(lambda d: d[:11], id="short-header"),
        pytest.param(lambda d: d + b"\x00", id="trailing-byte"),
        pytest.param(lambda d: b"\x99\x99" + d[2:], id="wrong-id"),
        pytest.param(lambda d: d[:2] + bytes((d[2] & 0x7F,)) + d[3:], id="not-a-response"),
        pytest.param(lambda d: d[:2] + bytes((d[2] | 0x28,)) + d[3:], id="other-opcode"),
        pytest.param(lambda d: b"garbage!" * 8, id="garbage"),
        pytest.param(lambda d: b"", id="empty"),
    ],
)
def test_bad_replies_are_refused(mangle: Any) -> None:
    data = _reply(["www.example.test. 300 A 192.0.2.1"])
    assert wire.decode_response(data, QID, QNAME, "A") is not None
    assert wire.decode_response(mangle(data), QID, QNAME, "A") is None


def test_wrong_question_is_refused() -> None:
    assert wire.decode_response(_reply([], qname="evil.test"), QID, QNAME, "A") is None
    assert wire.decode_response(_reply([], qtype="AAAA"), QID, QNAME, "A") is None
    # Case differs only: the same question (0x20-style answers are answers).
    assert wire.decode_response(_reply([], qname="WWW.Example.TEST"), QID, QNAME, "A") is not None


def test_pointer_loop_and_forward_pointer_are_refused() -> None:
    header = struct.pack("!HHHHHH", QID, 0x8180, 1, 0, 0, 0)
    loop = header + b"\xc0\x0c" + b"\x00\x01\x00\x01"  # the question name points at itself
    forward = header + b"\xc0\x0e" + b"\x00\x01\x00\x01"
    assert wire.decode_response(loop, QID, QNAME, "A") is None
    assert wire.decode_response(forward, QID, QNAME, "A") is None


def test_names_longer_than_255_bytes_are_refused() -> None:
    long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"  # 257 bytes
    header = struct.pack("!HHHHHH", QID, 0x8180, 1, 1, 0, 0)
    question = b"\x03www\x07example\x04test\x00\x00\x01\x00\x01"
    record = b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c" + struct.pack("!H", len(long_name))
    data = header + question + record + long_name
    assert wire.decode_response(data, QID, QNAME, "A") is None
    ok = b"".join(b"\x3f" + b"a" * 63 for _ in range(3)) + b"\x3d" + b"a" * 61 + b"\x00"  # 255
    record_ok = b"\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c" + struct.pack("!H", len(ok))
    got = wire.decode_response(header + question + record_ok + ok, QID, QNAME, "A")
    assert got is not None and len(got.records[0].rdata.target.labels) == 5  # type: ignore[union-attr]


def test_unknown_types_are_flagged_for_dnspython() -> None:
    data = _reply(['www.example.test. 300 CAA 0 issue "ca.test"'])
    got = wire.decode_response(data, QID, QNAME, "A")
    assert got is not None and got.unknown
    assert isinstance(got.records[0].rdata, wire.RawRdata)


def test_error_reply_without_question_is_accepted_like_dnspython() -> None:
    refused = struct.pack("!HHHHHH", QID, 0x8005, 0, 0, 0, 0)
    got = wire.decode_response(refused, QID, QNAME, "A")
    assert got is not None and got.rcode == 5
    noerror = struct.pack("!HHHHHH", QID, 0x8000, 0, 0, 0, 0)
    assert wire.decode_response(noerror, QID, QNAME, "A") is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.from_regex(r"[a-z0-9_-]{1,20}", fullmatch=True), min_size=1, max_size=5),
    st.sampled_from(sorted(wire.TYPE_CODES)),
    st.integers(0, 65535),
)
def test_encode_query_is_dnspython_make_query(parts: list[str], qtype: str, qid: int) -> None:
    name = ".".join(parts)
    reference = dns.message.make_query(name, qtype, use_edns=0, payload=1232)
    reference.id = qid
    assert wire.encode_query(qid, name, qtype) == reference.to_wire()


@pytest.mark.parametrize(
    "bad", ["a..b", "x" * 64 + ".test", "é.test", "a\\.b", ".".join(["a" * 60] * 5)]
)
def test_encode_query_rejects_invalid_names(bad: str) -> None:
    with pytest.raises(ValueError):
        wire.encode_query(1, bad, "A")


def test_root_name() -> None:
    assert wire.encode_name("") == wire.encode_name(".") == b"\x00"
    assert wire.WireName((b"",)).to_text() == "."


# -- the client on a real nameserver (loopback): the paths around the codec ------------------

ZONE = """$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 86400 300
@ IN NS ns1
ns1 IN A 192.0.2.53
caa IN CAA 0 issue "ca.test"
"""


def test_client_hands_unmodelled_types_to_dnspython() -> None:
    from sovaudit.collect.dns import DnsClient, ResolverAddress
    from sovaudit.demo.nameserver import LoopbackNameserver

    async def run(ns: LoopbackNameserver) -> tuple[Any, Any]:
        async with DnsClient([ResolverAddress(*ns.address)], timeout=1.0, retries=0) as client:
            return await client.query("caa.w.test", "CAA"), await client.query("w.test", "NS")

    with LoopbackNameserver.from_zone_texts({"w.test.": ZONE}) as ns:
        caa, ns_answer = asyncio.run(run(ns))
    assert caa.rcode == "NOERROR"
    assert [(r.name, r.type, r.answers, r.ttl) for r in caa.records()] == [
        ("caa.w.test", "CAA", ('0 issue "ca.test"',), 300)
    ]
    assert [rd.to_text() for rd in caa.rdatas("caa.w.test", "CAA")] == ['0 issue "ca.test"']
    assert [rd.target.to_text(omit_final_dot=True) for rd in ns_answer.rdatas("w.test", "NS")] == [
        "ns1.w.test"
    ]


def test_client_bounds_concurrency_and_answers_every_question() -> None:
    from sovaudit.collect.dns import DnsClient, ResolverAddress
    from sovaudit.demo.nameserver import LoopbackNameserver

    zone = ZONE + "".join(f"h{i} IN A 198.51.100.{i}\n" for i in range(1, 41))

    async def run(ns: LoopbackNameserver) -> tuple[list[Any], int]:
        async with DnsClient([ResolverAddress(*ns.address)], concurrency=3) as client:
            futures = [client.query(f"h{i}.w.test", "A") for i in range(1, 41)]
            # Three questions on the wire, the 37 others queued in order.
            assert (client._inflight, len(client._waiting)) == (3, 37)
            answers = await asyncio.gather(*futures)
            assert (client._inflight, len(client._waiting)) == (0, 0)
            return list(answers), client.stats.sent

    with LoopbackNameserver.from_zone_texts({"w.test.": zone}) as ns:
        answers, sent = asyncio.run(run(ns))
    assert sent == 40
    assert [a.rdatas(f"h{i}.w.test", "A")[0].address for i, a in enumerate(answers, 1)] == [
        f"198.51.100.{i}" for i in range(1, 41)
    ]
