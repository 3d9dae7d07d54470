"""A minimal DNS wire codec for the collector's hot path (issue 8).

Why not dnspython here: parsing one reply with ``dns.message.from_wire`` costs ~170 us and
building one query ~60 us, more than the rest of a query's life. This module builds the query
bytes directly and decodes only what the collector needs (header, question check, answer
section), for the types it asks about. It is pure (no I/O) and never raises on received data:
anything malformed gives ``None``, like a reply dnspython refuses.

The decoded answer section mimics dnspython exactly where results depend on it: records are
grouped into RRsets by (owner, class, type) with case-insensitive owners, duplicates removed
(names compared case-insensitively), the TTL is the minimum of the group (TTLs above 2^31-1
read as 0), and singleton types (CNAME, SOA) keep the last record. Rdata objects expose the
attributes and ``to_text()`` of their dnspython counterparts, so evidence text is identical.
Anything this codec does not model (other types or classes, EDNS options, TSIG) sets
``Decoded.unknown``: the caller then parses that one reply with dnspython.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import dns.ipv6

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV, OPT = 1, 2, 5, 6, 12, 15, 16, 28, 33, 41
CLASS_IN = 1
TYPE_CODES = {
    "A": A,
    "NS": NS,
    "CNAME": CNAME,
    "SOA": SOA,
    "PTR": PTR,
    "MX": MX,
    "TXT": TXT,
    "AAAA": AAAA,
    "SRV": SRV,
}
_SINGLETONS = {CNAME, SOA}
_MAX_POINTER_HOPS = 16  # as dnspython: a longer chain of compression pointers is refused

# Label bytes printed as-is by dnspython's Name.to_text; the others are escaped.
_NAME_ESCAPED = b'"().;\\@$'
_NAME_SAFE = bytes(c for c in range(0x21, 0x7F) if c not in _NAME_ESCAPED)
_TEXT_SAFE = bytes(c for c in range(0x20, 0x7F) if c not in b'"\\')
_HEADER = struct.Struct("!HHHHHH")
_RR = struct.Struct("!HHIH")
_H = struct.Struct("!H")
_HH = struct.Struct("!HH")
_HHH = struct.Struct("!HHH")
_SOA_TAIL = struct.Struct("!IIIII")


def _escape_label(label: bytes) -> str:
    if not label.translate(None, _NAME_SAFE):
        return label.decode("ascii")
    out = []
    for c in label:
        if c in _NAME_ESCAPED:
            out.append("\\" + chr(c))
        elif 0x20 < c < 0x7F:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return "".join(out)


def _escape_text(data: bytes) -> str:
    if not data.translate(None, _TEXT_SAFE):
        return data.decode("ascii")
    out = []
    for c in data:
        if c in b'"\\':
            out.append("\\" + chr(c))
        elif 0x20 <= c < 0x7F:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class WireName:
    """An absolute domain name as read from the wire: its labels, root label (b"") last."""

    labels: tuple[bytes, ...]

    def to_text(self, omit_final_dot: bool = False) -> str:
        """The name as dnspython writes it (same escapes, final dot unless omitted)."""
        if len(self.labels) == 1:
            return "."
        text = ".".join(_escape_label(label) for label in self.labels[:-1])
        return text if omit_final_dot else text + "."

    def key(self) -> tuple[bytes, ...]:
        """The labels lower-cased: DNS names compare case-insensitively (ASCII only)."""
        return tuple(map(bytes.lower, self.labels))

    def __str__(self) -> str:
        return self.to_text()


@dataclass(frozen=True, slots=True)
class AddressRdata:
    """A or AAAA."""

    rdtype: int
    address: str

    def to_text(self) -> str:
        return self.address


@dataclass(frozen=True, slots=True)
class NameRdata:
    """CNAME, NS or PTR: one target name."""

    rdtype: int
    target: WireName

    def to_text(self) -> str:
        return self.target.to_text()


@dataclass(frozen=True, slots=True)
class MxRdata:
    rdtype: int
    preference: int
    exchange: WireName

    def to_text(self) -> str:
        return f"{self.preference} {self.exchange.to_text()}"


@dataclass(frozen=True, slots=True)
class SrvRdata:
    rdtype: int
    priority: int
    weight: int
    port: int
    target: WireName

    def to_text(self) -> str:
        return f"{self.priority} {self.weight} {self.port} {self.target.to_text()}"


@dataclass(frozen=True, slots=True)
class SoaRdata:
    rdtype: int
    mname: WireName
    rname: WireName
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int

    def to_text(self) -> str:
        return (
            f"{self.mname.to_text()} {self.rname.to_text()} {self.serial} {self.refresh} "
            f"{self.retry} {self.expire} {self.minimum}"
        )


@dataclass(frozen=True, slots=True)
class TxtRdata:
    rdtype: int
    strings: tuple[bytes, ...]

    def to_text(self) -> str:
        return " ".join(f'"{_escape_text(s)}"' for s in self.strings)


@dataclass(frozen=True, slots=True)
class RawRdata:
    """A type or class this codec does not model: its bytes, untouched."""

    rdtype: int
    data: bytes

    def to_text(self) -> str:
        return f"\\# {len(self.data)} {self.data.hex()}" if self.data else "\\# 0"


Rdata = AddressRdata | NameRdata | MxRdata | SrvRdata | SoaRdata | TxtRdata | RawRdata


@dataclass(frozen=True, slots=True)
class Record:
    """One resource record of the answer section, in wire order."""

    name: WireName
    rdtype: int
    rdclass: int
    ttl: int
    rdata: Rdata


@dataclass(frozen=True, slots=True)
class RRset:
    """Records of one (owner, class, type), grouped as dnspython groups them.

    ``rdatas`` may also hold dnspython rdata objects when a reply came through dnspython
    (TCP fallback, unusual content): both expose the same attributes.
    """

    name: WireName
    rdtype: int
    rdclass: int
    ttl: int
    rdatas: tuple[Any, ...]
    key: tuple[bytes, ...] = ()  # the owner's lower-cased labels, for comparisons

    def __iter__(self) -> Any:
        return iter(self.rdatas)

    def __len__(self) -> int:
        return len(self.rdatas)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A reply that answers our question."""

    rcode: int  # with the EDNS extended bits
    tc: bool
    records: tuple[Record, ...]
    # Something this codec does not model: parse the reply with dnspython instead.
    unknown: bool = False

    def rrsets(self) -> tuple[RRset, ...]:
        """The answer section grouped into RRsets (see the module docstring)."""
        return group_rrsets(self.records)


def encode_name(name: str) -> bytes:
    """Wire form of a plain ASCII name (``www.example.org``, trailing dot optional).

    Raises ValueError for anything else (escapes, non-ASCII, empty or long labels, a name over
    255 bytes): the caller decides whether a slower, general parser should try it.
    """
    if not name.isascii() or "\\" in name:
        raise ValueError(f"not a plain ASCII domain name: {name!r}")
    text = name[:-1] if name.endswith(".") else name
    if not text:
        return b"\x00"
    out = bytearray()
    for label in text.encode("ascii").split(b"."):
        if not label or len(label) > 63:
            raise ValueError(f"invalid label in domain name: {name!r}")
        out.append(len(label))
        out += label
    out.append(0)
    if len(out) > 255:
        raise ValueError(f"domain name longer than 255 bytes: {name!r}")
    return bytes(out)


def build_query(qid: int, qname_wire: bytes, qtype: int, *, edns_payload: int = 1232) -> bytes:
    """A recursive query (RD set) with one question and, unless payload is 0, an EDNS0 OPT."""
    opt = b"\x00\x00\x29" + _H.pack(edns_payload) + b"\x00\x00\x00\x00\x00\x00"
    header = _HEADER.pack(qid, 0x0100, 1, 0, 0, 1 if edns_payload else 0)
    question = qname_wire + _H.pack(qtype) + b"\x00\x01"
    return header + question + (opt if edns_payload else b"")


def encode_query(qid: int, name: str, qtype: str | int, *, edns_payload: int = 1232) -> bytes:
    """The bytes of a query for (name, type), as dnspython's make_query(use_edns=0) builds it.

    The name is used as given (callers lower-case it and pass IDNA ASCII); ValueError if it is
    not a valid plain name or the type is unknown.
    """
    code = TYPE_CODES[qtype] if isinstance(qtype, str) else qtype
    if not 0 <= code < 65536 or not 0 <= qid < 65536:
        raise ValueError("query id and type must fit in 16 bits")
    return build_query(qid, encode_name(name), code, edns_payload=edns_payload)


class _Malformed(Exception):
    """Internal: the datagram is not a well-formed DNS message."""


# A name already decoded in this message, by its offset: its labels (root last), where it ends
# on the wire (after its terminating zero or its first pointer), the pointers it followed and
# its length in bytes.
NameCache = dict[int, tuple[tuple[bytes, ...], int, int, int]]


def _read_name(
    data: bytes, pos: int, end: int, cache: NameCache | None = None
) -> tuple[tuple[bytes, ...], int]:
    """Decompress the name at ``pos``; returns its labels (root last) and the offset after it.

    Same rules as dnspython: every pointer goes strictly backwards, at most 16 of them, a
    pointed-to name may not run into the part already read, and 255 bytes at most.

    ``cache`` (one per message) remembers each name decoded here by its offset: a pointer to
    one of them (an owner name pointing at the question, the usual case) reuses its labels
    instead of decoding them again. It is reused only where decoding it again would pass the
    same checks: its first segment ends before the current limit and the pointer count and
    length stay in bounds (the rest was checked against limits that do not depend on where the
    name is reached from).
    """
    labels: list[bytes] = []
    limit = end
    biggest = pos
    start = first = pos
    after = -1
    hops = 0
    total = 1
    while True:
        if pos >= limit:
            raise _Malformed
        count = data[pos]
        if count == 0:
            pos += 1
            break
        if count < 64:
            stop = pos + 1 + count
            if stop > limit:
                raise _Malformed
            labels.append(data[pos + 1 : stop])
            total += count + 1
            if total > 255:
                raise _Malformed
            pos = stop
        elif count >= 192:
            if pos + 2 > limit:
                raise _Malformed
            target = ((count & 0x3F) << 8) | data[pos + 1]
            if target >= biggest:
                raise _Malformed
            hops += 1
            if hops > _MAX_POINTER_HOPS:
                raise _Malformed
            if after < 0:
                after = pos + 2
            hit = cache.get(target) if cache is not None else None
            if (
                hit is not None
                and hit[1] <= start
                and hops + hit[2] <= _MAX_POINTER_HOPS
                and total + hit[3] - 1 <= 255
            ):
                if not labels:
                    return hit[0], after  # nothing before the pointer: share the tuple
                result = (*labels, *hit[0])
                if cache is not None:
                    cache[first] = (result, after, hops + hit[2], total + hit[3] - 1)
                return result, after
            biggest = target
            limit = start
            pos = start = target
        else:
            raise _Malformed
    labels.append(b"")
    result = tuple(labels)
    if after < 0:
        after = pos
    if cache is not None:
        cache[first] = (result, after, hops, total)
    return result, after


def _rdata(data: bytes, rdtype: int, pos: int, end: int, names: NameCache) -> Rdata:
    """Parse the rdata in data[pos:end] of a type this codec models."""
    if rdtype == A:
        if end - pos != 4:
            raise _Malformed
        return AddressRdata(A, socket.inet_ntoa(data[pos:end]))
    if rdtype == CNAME or rdtype == NS or rdtype == PTR:
        labels, after = _read_name(data, pos, end, names)
        if after != end:
            raise _Malformed
        return NameRdata(rdtype, WireName(labels))
    if rdtype == AAAA:
        if end - pos != 16:
            raise _Malformed
        return AddressRdata(AAAA, dns.ipv6.inet_ntoa(data[pos:end]))
    if rdtype == TXT:
        strings = []
        while pos < end:
            stop = pos + 1 + data[pos]
            if stop > end:
                raise _Malformed
            strings.append(data[pos + 1 : stop])
            pos = stop
        if not strings:
            raise _Malformed  # dnspython refuses a TXT without strings
        return TxtRdata(TXT, tuple(strings))
    if rdtype == MX:
        if end - pos < 3:
            raise _Malformed
        labels, after = _read_name(data, pos + 2, end, names)
        if after != end:
            raise _Malformed
        return MxRdata(MX, _H.unpack_from(data, pos)[0], WireName(labels))
    if rdtype == SRV:
        if end - pos < 7:
            raise _Malformed
        priority, weight, port = _HHH.unpack_from(data, pos)
        labels, after = _read_name(data, pos + 6, end, names)
        if after != end:
            raise _Malformed
        return SrvRdata(SRV, priority, weight, port, WireName(labels))
    if rdtype == SOA:
        mname, after = _read_name(data, pos, end, names)
        rname, after = _read_name(data, after, end, names)
        if end - after != 20:
            raise _Malformed
        return SoaRdata(SOA, WireName(mname), WireName(rname), *_SOA_TAIL.unpack_from(data, after))
    return RawRdata(rdtype, data[pos:end])


_MODELLED = {A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, SRV}
_NO_QUESTION_RCODES = {1, 2, 4, 5}  # FORMERR, SERVFAIL, NOTIMP, REFUSED


def decode_response(data: bytes, qid: int, qname: str | bytes, qtype: int | str) -> Decoded | None:
    """Decode ``data`` if it is a well-formed reply to query ``qid`` for (qname, qtype, IN).

    ``qname`` is the text given to ``encode_query`` or the wire form of the question name.
    Returns None when the datagram is malformed, is not a response, carries another id, another
    opcode or another question (names compared case-insensitively). Never raises on ``data``.
    """
    want_name = (qname if isinstance(qname, bytes) else encode_name(qname)).lower()
    want_type = TYPE_CODES[qtype] if isinstance(qtype, str) else qtype
    try:
        return _decode(data, qid, want_name, want_type)
    except (_Malformed, IndexError, struct.error):
        return None


def _decode(data: bytes, qid: int, want_name: bytes, want_type: int) -> Decoded | None:
    size = len(data)
    if size < 12:
        return None
    rid, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data)
    if rid != qid or not flags & 0x8000 or flags & 0x7800:
        return None  # not a response, another id, or an opcode other than QUERY
    pos = 12
    questions = []
    names: NameCache = {}  # decompressed names of this message, by offset
    for _ in range(qdcount):
        labels, pos = _read_name(data, pos, size, names)
        if pos + 4 > size:
            return None
        rtype, rclass = _HH.unpack_from(data, pos)
        pos += 4
        questions.append((labels, rtype, rclass))
    unknown = False
    answers: list[Record] = []
    opt_ttl: int | None = None
    for section, count in ((1, ancount), (2, nscount), (3, arcount)):
        for _ in range(count):
            labels, pos = _read_name(data, pos, size, names)
            if pos + 10 > size:
                return None
            rtype, rclass, ttl, rdlen = _RR.unpack_from(data, pos)
            pos += 10
            end = pos + rdlen
            if end > size:
                return None
            if rtype == OPT:
                if section != 3 or opt_ttl is not None or len(labels) != 1:
                    return None  # dnspython refuses a misplaced or second OPT
                if rdlen:
                    unknown = True  # EDNS options: dnspython validates each of them
                opt_ttl = ttl
                pos = end
                continue
            if rtype in _MODELLED and rclass == CLASS_IN:
                rdata = _rdata(data, rtype, pos, end, names)
            else:
                unknown = True
                rdata = RawRdata(rtype, data[pos:end])
            if section == 1:
                answers.append(Record(WireName(labels), rtype, rclass, ttl, rdata))
            pos = end
    if pos != size:
        return None  # trailing bytes: dnspython refuses the message
    rcode = (flags & 0x000F) | (((opt_ttl >> 24) & 0xFF) << 4 if opt_ttl is not None else 0)
    if not questions and rcode in _NO_QUESTION_RCODES:
        pass  # an error reply may omit the question, as dnspython's is_response allows
    else:
        for labels, rtype, rclass in questions:
            if rtype != want_type or rclass != CLASS_IN:
                return None
            # Usually the name sits uncompressed right after the header: compare the bytes.
            if data[12 : 12 + len(want_name)].lower() != want_name or len(questions) > 1:
                if _wire(labels).lower() != want_name:
                    return None
        if not questions:
            return None
    return Decoded(rcode, bool(flags & 0x0200), tuple(answers), unknown)


def _wire(labels: Sequence[bytes]) -> bytes:
    return b"".join(bytes((len(label),)) + label for label in labels)


def _rdata_key(rd: Rdata) -> object:
    """Equality of two rdatas as dnspython sees it (names compared case-insensitively)."""
    if isinstance(rd, NameRdata):
        return rd.target.key()
    if isinstance(rd, MxRdata):
        return (rd.preference, rd.exchange.key())
    if isinstance(rd, SrvRdata):
        return (rd.priority, rd.weight, rd.port, rd.target.key())
    if isinstance(rd, SoaRdata):
        return (
            rd.mname.key(),
            rd.rname.key(),
            rd.serial,
            rd.refresh,
            rd.retry,
            rd.expire,
            rd.minimum,
        )
    if isinstance(rd, AddressRdata):
        return rd.address
    if isinstance(rd, TxtRdata):
        return rd.strings
    return rd.data


def group_rrsets(records: Iterable[Record]) -> tuple[RRset, ...]:
    """Group records into RRsets exactly as dnspython's message parser does."""
    groups: dict[tuple[tuple[bytes, ...], int, int], list[Any]] = {}
    for rec in records:
        gkey = (rec.name.key(), rec.rdclass, rec.rdtype)
        ttl = 0 if rec.ttl > 0x7FFFFFFF else rec.ttl
        group = groups.get(gkey)
        if group is None:
            groups[gkey] = [rec.name, ttl, {_rdata_key(rec.rdata): rec.rdata}]
            continue
        group[1] = min(group[1], ttl)
        rdatas: dict[object, Rdata] = group[2]
        if rec.rdtype in _SINGLETONS:
            rdatas.clear()
        rdatas.setdefault(_rdata_key(rec.rdata), rec.rdata)
    return tuple(
        RRset(name, gkey[2], gkey[1], ttl, tuple(rdatas.values()), gkey[0])
        for gkey, (name, ttl, rdatas) in groups.items()
    )


def from_dnspython(rrsets: Iterable[Any]) -> tuple[RRset, ...]:
    """RRsets of a dnspython message section, in this module's shape (rdatas kept as they are)."""
    return tuple(
        RRset(
            WireName(tuple(r.name.labels)),
            int(r.rdtype),
            int(r.rdclass),
            int(r.ttl),
            tuple(r),
            tuple(map(bytes.lower, r.name.labels)),
        )
        for r in rrsets
    )
