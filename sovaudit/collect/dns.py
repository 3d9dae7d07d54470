"""DNS I/O: raw wire queries over one UDP socket per resolver, with query-id multiplexing.

Why not the dnspython stub resolver: it opens a socket per query and reads /etc/resolv.conf
behind the caller's back. Here every query goes to the resolvers the user chose, through one
socket each (ids multiplex the answers), with bounded concurrency, per-attempt timeouts, retries
that rotate across the chosen resolvers, TCP fallback on truncation, and a cache so a name shared
by many endpoints (an MX or NS host) is asked once per scan.

Answers are checked (id, question name, type and class) before they are accepted: a reply with a
wrong id or a malformed packet is ignored and counted, never trusted.

The module is large on purpose: the client is one state machine (ids in flight, retries across
resolvers, TCP fallback, the per-scan cache) and splitting it would spread that state.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import secrets
import socket
import time
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from sovaudit.collect import wire
from sovaudit.errors import ResolverError
from sovaudit.models import DnsRecord

MAX_CNAME_CHAIN = 16
# Answers kept as evidence are capped: a 64 KB TXT answer must not bloat every report.
MAX_ANSWER_TEXT = 2048
MAX_ANSWERS_PER_RRSET = 64
UDP_RECEIVE_BUFFER = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ResolverAddress:
    """A resolver the user chose: an IP address and a port."""

    host: str
    port: int = 53
    # A stable name for evidence and reports (the demo's loopback port changes every run).
    label: str | None = None

    def __str__(self) -> str:
        if self.label is not None:
            return self.label
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @classmethod
    def parse(cls, spec: str) -> ResolverAddress:
        """Parse ``IP``, ``IP:PORT``, ``[IPv6]`` or ``[IPv6]:PORT``."""
        text = spec.strip()
        host, port = text, 53
        if text.startswith("["):
            end = text.find("]")
            if end < 0:
                raise ResolverError(f"resolver {spec!r}: missing ']' in IPv6 address")
            host, rest = text[1:end], text[end + 1 :]
            if rest:
                if not rest.startswith(":"):
                    raise ResolverError(f"resolver {spec!r}: expected ':PORT' after ']'")
                port = _port(spec, rest[1:])
        elif text.count(":") == 1:
            host, port_text = text.split(":")
            port = _port(spec, port_text)
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise ResolverError(
                f"resolver {spec!r}: not an IP address (give the resolver's address, "
                "e.g. 127.0.0.1:5353 or [::1]:53)"
            ) from None
        return cls(host, port)


def _port(spec: str, text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ResolverError(f"resolver {spec!r}: invalid port {text!r}")
    return int(text)


def system_resolvers() -> list[ResolverAddress]:
    """The system's resolvers (from /etc/resolv.conf or the platform's equivalent)."""
    try:
        conf = dns.resolver.Resolver(configure=True)
    except (dns.resolver.NoResolverConfiguration, OSError) as exc:
        raise ResolverError(
            f"no system resolver configured ({exc}); give one with --resolver IP[:PORT]"
        ) from None
    return [ResolverAddress(str(ns), conf.port) for ns in conf.nameservers]


@dataclass(frozen=True, slots=True)
class Answer:
    """The outcome of one (name, type) query: an rcode (or a pseudo-rcode) and its RRsets."""

    qname: str
    qtype: str
    rcode: str  # NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ... or TIMEOUT / NETERROR
    resolver: str
    timestamp: str
    # The answer section, grouped as dnspython groups it (see sovaudit.collect.wire).
    rrsets: tuple[wire.RRset, ...] = ()
    error: str | None = None
    # The evidence records, built on first use and then shared by every endpoint that cites
    # this answer (the client's cache hands the same Answer to all of them): one copy in memory.
    _evidence: tuple[DnsRecord, ...] | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.rcode in ("NOERROR", "NXDOMAIN")

    def records(self) -> list[DnsRecord]:
        """This answer as evidence: one record per RRset, or one empty record."""
        evidence = self._evidence
        if evidence is None:
            evidence = tuple(self._build_records())
            object.__setattr__(self, "_evidence", evidence)  # a memo, not a state change
        return list(evidence)

    def _build_records(self) -> list[DnsRecord]:
        if not self.rrsets:
            return [
                DnsRecord(
                    name=self.qname,
                    type=self.qtype,
                    rcode=self.rcode,
                    answers=(),
                    ttl=None,
                    resolver=self.resolver,
                    timestamp=self.timestamp,
                    error=self.error,
                )
            ]
        out = []
        for rrset in self.rrsets:
            # Sorted before the cap so that the kept answers do not depend on the server's order.
            texts = sorted(_rdata_text(rd) for rd in rrset)[:MAX_ANSWERS_PER_RRSET]
            out.append(
                DnsRecord(
                    name=rrset.name.to_text(omit_final_dot=True),
                    type=_type_text(rrset.rdtype),
                    rcode=self.rcode,
                    answers=tuple(texts),
                    ttl=int(rrset.ttl),
                    resolver=self.resolver,
                    timestamp=self.timestamp,
                    error=self.error,
                )
            )
        return out

    def rdatas(self, name: str, rdtype: str) -> list[Any]:
        """Rdatas of the given owner name and type in the answer section."""
        if not self.rrsets:
            return []  # NXDOMAIN / NODATA: most DKIM, DMARC and collaboration probes
        want = _name_key(name)
        code = _type_code(rdtype)
        return [
            rd
            for rrset in self.rrsets
            if rrset.rdtype == code and rrset.key == want
            for rd in rrset.rdatas
        ]

    def describe(self) -> str:
        """A short human reason for a failed answer."""
        detail = f": {self.error}" if self.error else ""
        return f"{self.qtype} {self.qname}: {self.rcode}{detail} (resolver {self.resolver})"


def txt_string(rdata: Any) -> str:
    """The text of a TXT rdata: its character-strings joined, decoded leniently."""
    return b"".join(rdata.strings).decode("utf-8", errors="replace")


def _rdata_text(rdata: Any) -> str:
    if rdata.rdtype == dns.rdatatype.TXT:
        text = txt_string(rdata)
    else:
        text = rdata.to_text()
        if text.endswith(".") and rdata.rdtype in _NAME_TYPES:
            text = text[:-1]
    if len(text) > MAX_ANSWER_TEXT:
        text = text[:MAX_ANSWER_TEXT] + "…[truncated]"
    return text


_NAME_TYPES = {dns.rdatatype.CNAME, dns.rdatatype.NS, dns.rdatatype.PTR}


# Small caches: the same few types, rcodes and names are converted millions of times a scan.
@functools.cache
def _type_code(rdtype: str) -> int:
    return int(dns.rdatatype.from_text(rdtype))


@functools.cache
def _type_text(code: int) -> str:
    return dns.rdatatype.to_text(dns.rdatatype.RdataType.make(code))


@functools.cache
def _rcode_text(code: int) -> str:
    return dns.rcode.to_text(dns.rcode.Rcode.make(code))


def _name_key(name: str) -> tuple[bytes, ...]:
    """The lower-cased labels of a name given as text, as dnspython's parser reads it."""
    # Fast path for the common plain name; dnspython for escapes, IDN, '@' and invalid names
    # (which it refuses with the same exception as before).
    if name.isascii() and "\\" not in name and name != "@":
        parts = (name[:-1] if name.endswith(".") else name).lower().encode("ascii").split(b".")
        if all(0 < len(p) < 64 for p in parts) and len(name) < 254:
            parts.append(b"")
            return tuple(parts)
    return _name_key_slow(name)


@functools.lru_cache(maxsize=1024)
def _name_key_slow(name: str) -> tuple[bytes, ...]:
    return tuple(label.lower() for label in dns.name.from_text(name).labels)


def _question_wire(name: str) -> bytes:
    """The wire form of a question name; DNSException if the name is invalid."""
    try:
        return wire.encode_name(name)
    except ValueError:
        # Escapes, IDN in Unicode, or an invalid name: dnspython decides, as before.
        wire_form = dns.name.from_text(name).to_wire()
        assert wire_form is not None  # without a file, to_wire returns the bytes
        return wire_form


class _Pending:
    """One question in flight: its attempts and the future its callers await.

    Why a plain object and callbacks instead of a coroutine per question: a task, a
    ``wait_for`` (itself a task) and a semaphore per query cost more CPU than parsing the
    reply; here a query is one future and one entry in the client's deadline queue (issue 8).
    """

    __slots__ = (
        "attempt", "client", "future", "last_error", "name", "proto", "qid", "qtype",
        "qwire", "rdtype", "resolver", "serial", "start",
    )  # fmt: skip

    def __init__(
        self, client: DnsClient, name: str, rdtype: str, qwire: bytes, qtype: int,
        future: asyncio.Future[Answer], start: int,
    ) -> None:  # fmt: skip
        self.client = client
        self.name = name
        self.rdtype = rdtype
        self.qwire = qwire
        self.qtype = qtype
        self.future = future
        self.start = start
        self.attempt = 0
        self.last_error = "no answer"
        self.resolver = client.resolvers[start]
        self.qid = -1
        self.proto: _UdpProtocol | None = None
        # Bumped when an attempt ends (reply, error, timeout): older deadlines no longer apply.
        self.serial = 0


class _UdpProtocol(asyncio.DatagramProtocol):
    """Receives answers on one socket and hands each to the query that is waiting for it."""

    def __init__(self) -> None:
        self.pending: dict[int, _Pending] = {}
        self.ignored = 0
        self.transport: asyncio.DatagramTransport | _RawUdpTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport | _RawUdpTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int] | None) -> None:
        if len(data) < 12:
            self.ignored += 1
            return
        qid = int.from_bytes(data[:2], "big")
        pending = self.pending.get(qid)
        if pending is None:
            self.ignored += 1  # late answer, or an id nobody asked for
            return
        # Checks id, QR, opcode and question (name, type, class); None if anything is off.
        decoded = wire.decode_response(data, qid, pending.qwire, pending.qtype)
        if decoded is None:
            self.ignored += 1  # malformed, or not the answer to our query
            return
        if decoded.unknown:
            # Content the codec does not model: dnspython parses this one reply (and refuses
            # it if it is malformed in a way only it checks).
            try:
                msg = dns.message.from_wire(data)
            except Exception:  # any parse failure means: not a usable answer
                self.ignored += 1
                return
            rcode, tc, rrsets = msg.rcode(), bool(msg.flags & dns.flags.TC), msg.answer
            reply = (int(rcode), tc, wire.from_dnspython(rrsets))
        else:
            reply = (decoded.rcode, decoded.tc, decoded.rrsets())
        del self.pending[qid]
        pending.client._on_reply(pending, *reply)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: fail every waiter on this socket now.
        waiting = list(self.pending.values())
        self.pending.clear()
        for pending in waiting:
            pending.client._on_error(pending, exc)


class _RawUdpTransport:
    """A connected non-blocking UDP socket read with ``loop.add_reader``: the small part of
    ``asyncio.DatagramTransport`` that ``_UdpProtocol`` uses.

    Why not asyncio's datagram transport: it reads ONE datagram per readiness wake-up, so each
    answer costs a trip through the event loop (selector poll, handle, callback); here one
    wake-up drains every queued answer (bounded, so timers and sends still get their turn), and
    ``sendto`` is a direct ``sock.send`` (issue 8: ~15 % of collection time was the loop).
    Errors keep asyncio's semantics: an ``OSError`` from ``recv`` or ``send`` (ICMP port
    unreachable arrives as ``ConnectionRefusedError``) goes to ``error_received``.
    """

    __slots__ = ("_buffer", "_closed", "_loop", "_protocol", "_sock", "_fd")

    # Datagrams read per wake-up at most: the loop must still run timers and other callbacks.
    MAX_READS = 256
    # A DNS answer over UDP is at most 64 KiB.
    MAX_DATAGRAM = 65535

    def __init__(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket, protocol: _UdpProtocol
    ) -> None:
        self._loop = loop
        self._sock = sock
        self._fd = sock.fileno()
        self._protocol = protocol
        self._closed = False
        # Datagrams the kernel refused (send buffer full), sent in order once writable.
        self._buffer: deque[bytes] = deque()
        loop.add_reader(self._fd, self._readable)  # NotImplementedError on a proactor loop

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """``sockname``, ``peername`` or ``socket``, as asyncio's transports answer them."""
        if name == "socket":
            return self._sock
        try:
            if name == "sockname":
                return self._sock.getsockname()
            if name == "peername":
                return self._sock.getpeername()
        except OSError:
            return default
        return default

    def is_closing(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Stop reading and writing and close the socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._loop.remove_reader(self._fd)
        if self._buffer:
            self._loop.remove_writer(self._fd)
            self._buffer.clear()
        self._sock.close()

    def sendto(self, data: bytes, addr: Any = None) -> None:
        """Send one datagram to the connected peer (``addr`` is ignored, as it is connected)."""
        if self._closed:
            return
        if self._buffer:  # keep sending order behind what already waits
            self._buffer.append(data)
            return
        try:
            self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            self._buffer.append(data)
            self._loop.add_writer(self._fd, self._writable)
        except OSError as exc:
            self._protocol.error_received(exc)

    def _writable(self) -> None:
        buffer = self._buffer
        send = self._sock.send
        while buffer:
            try:
                send(buffer[0])
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                buffer.popleft()
                self._protocol.error_received(exc)
                if self._closed:
                    return
                continue
            buffer.popleft()
        self._loop.remove_writer(self._fd)

    def _readable(self) -> None:
        recv = self._sock.recv
        received = self._protocol.datagram_received
        size = self.MAX_DATAGRAM
        for _ in range(self.MAX_READS):
            if self._closed:  # a callback closed the client
                return
            try:
                data = recv(size)
            except (BlockingIOError, InterruptedError):
                return  # drained
            except OSError as exc:
                # The pending socket error (ICMP) is consumed by this recv: report it and go
                # on with the datagrams still queued.
                self._protocol.error_received(exc)
                continue
            received(data, None)


@dataclass
class QueryStats:
    sent: int = 0
    answered: int = 0
    timeouts: int = 0
    tcp_fallbacks: int = 0
    cache_hits: int = 0
    evictions: int = 0


@dataclass
class DnsClient:
    """Asynchronous DNS client bound to the user's resolvers. Use inside one event loop."""

    resolvers: Sequence[ResolverAddress]
    timeout: float = 2.0
    retries: int = 2
    concurrency: int = 256
    stats: QueryStats = field(default_factory=QueryStats)
    # Questions whose answers the per-scan cache keeps (least recently used dropped first).
    # Why a cap: without one the cache holds every answer of the scan (~1 KB each: 370 MB for a
    # 100k-host inventory) although only names shared by many targets (MX, NS, CDN and SPF
    # hosts) are asked again; a target's own names are asked within the few milliseconds its
    # collection takes. 32,768 covers what is in flight (collect_all runs 512 targets at once,
    # at most ~40 questions each for a mail domain) plus the shared names, which every hit
    # keeps at the young end. An evicted question is only asked again, never answered wrong.
    cache_size: int = 32_768

    def __post_init__(self) -> None:
        if not self.resolvers:
            raise ResolverError("no resolver to query")
        if self.cache_size < 1:
            raise ValueError("the DNS cache must hold at least one answer")
        self._protocols: dict[ResolverAddress, _UdpProtocol] = {}
        self._opening: dict[ResolverAddress, asyncio.Task[_UdpProtocol]] = {}
        # Insertion-ordered dict as an LRU: a hit moves its entry to the end, the first is oldest.
        self._cache: dict[tuple[str, str], asyncio.Future[Answer]] = {}
        # One label string per resolver, shared by every answer and evidence record.
        self._labels: dict[ResolverAddress, str] = {}
        # Bounded concurrency without a semaphore: questions beyond the limit wait in order.
        self._waiting: deque[_Pending] = deque()
        self._inflight = 0
        self._tasks: set[asyncio.Task[None]] = set()  # TCP fallbacks (rare), kept referenced
        # Every attempt waits the same timeout, so deadlines come in sending order: one FIFO
        # and one timer for the oldest replace a timer handle per query.
        self._deadlines: deque[tuple[float, _Pending, int]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._ids: list[int] = []
        self._next = 0

    async def close(self) -> None:
        for proto in self._protocols.values():
            if proto.transport is not None:
                proto.transport.close()
        self._protocols.clear()

    async def __aenter__(self) -> DnsClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _protocol(self, resolver: ResolverAddress) -> _UdpProtocol:
        proto = self._protocols.get(resolver)
        if proto is None:
            loop = asyncio.get_running_loop()
            family = socket.AF_INET6 if ":" in resolver.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                # Hundreds of answers can arrive at once; the default buffer would drop some,
                # turning good answers into timeouts. Best effort: the kernel caps the size.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
                sock.setblocking(False)
                # Connected: the kernel drops datagrams from anyone but the resolver, and
                # reports ICMP errors (port unreachable) on this socket.
                await loop.sock_connect(sock, (resolver.host, resolver.port))
                proto = _UdpProtocol()
                try:
                    proto.connection_made(_RawUdpTransport(loop, sock, proto))
                except NotImplementedError:
                    # A loop without add_reader (Windows proactor): asyncio's transport.
                    _transport, proto = await loop.create_datagram_endpoint(
                        _UdpProtocol, sock=sock
                    )
            except BaseException:
                sock.close()
                raise
            self._protocols[resolver] = proto
        return proto

    def query(self, name: str, rdtype: str) -> asyncio.Future[Answer]:
        """The (cached) answer to one question; the same question is sent once per client
        while it stays among the ``cache_size`` most recently used ones."""
        key = (name.lower().rstrip("."), rdtype)
        cache = self._cache
        future = cache.pop(key, None)
        if future is not None:
            cache[key] = future  # most recently used
            self.stats.cache_hits += 1
            return future
        future = asyncio.get_running_loop().create_future()
        cache[key] = future
        if len(cache) > self.cache_size:
            # Callers of an evicted question still hold its future; only later ones re-ask it.
            del cache[next(iter(cache))]
            self.stats.evictions += 1
        qname = key[0]
        try:
            qwire = _question_wire(qname)
        except dns.exception.DNSException as exc:
            future.set_result(self._failed(qname, rdtype, "FORMERR", f"invalid name: {exc}", "-"))
            return future
        try:
            qtype = _type_code(rdtype)
        except dns.exception.DNSException as exc:
            future.set_exception(exc)  # a programming error: surfaces where it is awaited
            return future
        start = self._next
        self._next = (self._next + 1) % len(self.resolvers)
        pending = _Pending(self, qname, rdtype, qwire, qtype, future, start)
        if self._inflight < self.concurrency:
            self._inflight += 1
            self._attempt(pending)
        else:
            self._waiting.append(pending)
        return future

    # -- the life of one question: attempt, reply / timeout / error, next attempt or answer ---

    def _attempt(self, pending: _Pending) -> None:
        if pending.future.done():  # every caller gave up (cancelled): free the slot
            self._release()
            return
        resolver = self.resolvers[(pending.start + pending.attempt) % len(self.resolvers)]
        pending.resolver = resolver
        proto = self._protocols.get(resolver)
        if proto is not None and proto.transport is not None:
            self._send(pending, proto)
            return
        # The socket is opened once, by the first question for this resolver; the others
        # that arrive meanwhile wait on the same task.
        opening = self._opening.get(resolver)
        if opening is None:
            opening = asyncio.ensure_future(self._open(resolver))
            self._opening[resolver] = opening
        opening.add_done_callback(lambda task: self._opened(pending, task))

    async def _open(self, resolver: ResolverAddress) -> _UdpProtocol:
        try:
            return await self._protocol(resolver)
        finally:
            self._opening.pop(resolver, None)

    def _opened(self, pending: _Pending, task: asyncio.Task[_UdpProtocol]) -> None:
        if task.cancelled():
            self._finish(pending, None)
            return
        exc = task.exception()
        if exc is None:
            self._send(pending, task.result())
        elif isinstance(exc, OSError):
            pending.last_error = f"network error: {exc.strerror or exc}"
            pending.attempt += 1
            self._next_attempt(pending)
        else:
            if not pending.future.done():
                pending.future.set_exception(exc)
            self._release()

    def _send(self, pending: _Pending, proto: _UdpProtocol) -> None:
        if pending.future.done():
            self._release()
            return
        # A fresh random id not already waiting on this socket.
        qid = self._random_id()
        while qid in proto.pending:
            qid = self._random_id()
        pending.qid = qid
        pending.proto = proto
        proto.pending[qid] = pending
        self.stats.sent += 1
        loop = asyncio.get_running_loop()
        pending.serial += 1
        self._deadlines.append((loop.time() + self.timeout, pending, pending.serial))
        if self._timer is None:
            self._timer = loop.call_at(self._deadlines[0][0], self._expire)
        assert proto.transport is not None
        proto.transport.sendto(wire.build_query(qid, pending.qwire, pending.qtype))

    def _random_id(self) -> int:
        if not self._ids:
            # One read of the system CSPRNG (what secrets uses) for 1,024 ids, not one each.
            self._ids = array("H", secrets.token_bytes(2048)).tolist()
        return self._ids.pop()

    def _expire(self) -> None:
        """Time out every attempt whose deadline passed; re-arm for the next one."""
        loop = asyncio.get_running_loop()
        self._timer = None
        deadlines = self._deadlines
        now = loop.time()
        while deadlines and deadlines[0][0] <= now:
            _deadline, pending, serial = deadlines.popleft()
            if serial == pending.serial:  # no reply, no error: this attempt timed out
                pending.serial += 1
                self._timed_out(pending)
        while deadlines and deadlines[0][2] != deadlines[0][1].serial:
            deadlines.popleft()  # answered already: no need to wake up for it
        if deadlines and self._timer is None:
            self._timer = loop.call_at(deadlines[0][0], self._expire)

    def _timed_out(self, pending: _Pending) -> None:
        if pending.proto is not None:
            pending.proto.pending.pop(pending.qid, None)
        self.stats.timeouts += 1
        pending.last_error = f"timeout after {self.timeout:g} s"
        pending.attempt += 1
        self._next_attempt(pending)

    def _on_error(self, pending: _Pending, exc: Exception) -> None:
        pending.serial += 1
        strerror = exc.strerror if isinstance(exc, OSError) else None
        pending.last_error = f"network error: {strerror or exc}"
        pending.attempt += 1
        self._next_attempt(pending)

    def _on_reply(
        self, pending: _Pending, rcode: int, truncated: bool, rrsets: tuple[wire.RRset, ...]
    ) -> None:
        pending.serial += 1
        if truncated:
            self.stats.tcp_fallbacks += 1
            task = asyncio.ensure_future(self._tcp(pending))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        self._answered(pending, rcode, rrsets)

    def _answered(self, pending: _Pending, rcode: int, rrsets: tuple[wire.RRset, ...]) -> None:
        self.stats.answered += 1
        answer = Answer(
            qname=pending.name,
            qtype=pending.rdtype,
            rcode=_rcode_text(rcode),
            resolver=self._label(pending.resolver),
            timestamp=_now(),
            rrsets=rrsets,
        )
        self._finish(pending, answer)

    async def _tcp(self, pending: _Pending) -> None:
        """The same question over TCP after a truncated UDP reply (dnspython: rare path)."""
        resolver = pending.resolver
        query = dns.message.make_query(
            dns.name.from_wire(pending.qwire, 0)[0],
            dns.rdatatype.RdataType.make(pending.qtype),
            use_edns=0,
            payload=1232,
        )
        query.id = pending.qid
        try:
            msg = await dns.asyncquery.tcp(
                query, resolver.host, timeout=self.timeout, port=resolver.port
            )
        except (TimeoutError, dns.exception.Timeout):
            pending.last_error = "truncated over UDP, then timeout over TCP"
        except (OSError, dns.exception.DNSException, EOFError) as exc:
            pending.last_error = f"truncated over UDP, then TCP failed: {exc}"
        else:
            if not msg.flags & dns.flags.TC:
                self._answered(pending, int(msg.rcode()), wire.from_dnspython(msg.answer))
                return
            # Even 64 KB were not enough: an empty "answer" must not pass for NOERROR.
            pending.last_error = "answer too large even over TCP (truncated)"
        pending.attempt += 1
        self._next_attempt(pending)

    def _next_attempt(self, pending: _Pending) -> None:
        attempts = self.retries + 1
        if pending.attempt < attempts:
            self._attempt(pending)
            return
        last_error = pending.last_error
        pseudo = (
            "TIMEOUT"
            if last_error.startswith("timeout")
            else "TRUNCATED"
            if last_error.startswith("answer too large")
            else "NETERROR"
        )
        failed = self._failed(
            pending.name,
            pending.rdtype,
            pseudo,
            f"{last_error} ({attempts} attempts)",
            self._label(pending.resolver),
        )
        self._finish(pending, failed)

    def _finish(self, pending: _Pending, answer: Answer | None) -> None:
        if answer is not None and not pending.future.done():
            pending.future.set_result(answer)
        elif answer is None and not pending.future.done():
            pending.future.cancel()
        self._release()

    def _release(self) -> None:
        """A question is done: its slot goes to the next waiting question."""
        self._inflight -= 1
        while self._waiting and self._inflight < self.concurrency:
            pending = self._waiting.popleft()
            if pending.future.done():
                continue  # cancelled while waiting
            self._inflight += 1
            self._attempt(pending)

    def _label(self, resolver: ResolverAddress) -> str:
        label = self._labels.get(resolver)
        if label is None:
            label = self._labels[resolver] = str(resolver)
        return label

    @staticmethod
    def _failed(name: str, rdtype: str, rcode: str, error: str, resolver: str) -> Answer:
        return Answer(name, rdtype, rcode, resolver, _now(), (), error)

    # -- higher-level lookups ------------------------------------------------------------------

    async def resolve_chain(self, name: str) -> ChainResult:
        """A/AAAA of ``name``, following and recording the CNAME chain (bounded, loop-safe)."""
        result = ChainResult(name=name)
        current = name.lower().rstrip(".")
        seen = {current}
        for qtype in ("A", "AAAA"):
            while True:
                answer = await self.query(current, qtype)
                result.answers.append(answer)
                if not answer.ok:
                    result.errors.append(answer.describe())
                    break
                if answer.rcode == "NXDOMAIN" and current == result.name:
                    result.nxdomain = True
                # Walk the CNAMEs present in the answer, starting at the name we asked for.
                target = current
                for _ in range(MAX_CNAME_CHAIN + 1):
                    cnames = answer.rdatas(target, "CNAME")
                    if not cnames:
                        break
                    nxt = cnames[0].target.to_text(omit_final_dot=True).lower()
                    if nxt in seen:
                        result.errors.append(f"CNAME loop at {target} -> {nxt}")
                        return result.finish()
                    seen.add(nxt)
                    result.chain.append(nxt)
                    if len(result.chain) > MAX_CNAME_CHAIN:
                        result.errors.append(f"CNAME chain longer than {MAX_CNAME_CHAIN} names")
                        return result.finish()
                    target = nxt
                addresses = answer.rdatas(target, qtype)
                if addresses or target == current or answer.rcode == "NXDOMAIN":
                    result.addresses.extend(rd.address for rd in addresses)
                    current = target
                    break
                current = target  # the resolver did not chase the chain: ask for the target
        return result.finish()


@dataclass
class ChainResult:
    """What ``resolve_chain`` found for one name."""

    name: str
    chain: list[str] = field(default_factory=list)
    addresses: list[str] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    nxdomain: bool = False
    addresses_total: int = 0

    def finish(self) -> ChainResult:
        # Deterministic order, no duplicates (the same answer may be cached for two names).
        # Most names have one address: nothing to sort, no address to parse.
        addresses = self.addresses
        unique = addresses if len(addresses) < 2 else sorted(set(addresses), key=_address_key)
        # Capped like the evidence: 2,000 A records must not become 2,000 attributions.
        self.addresses_total = len(unique)
        self.addresses = unique[:MAX_ANSWERS_PER_RRSET]
        return self

    def records(self) -> list[DnsRecord]:
        out: list[DnsRecord] = []
        for answer in self.answers:
            for rec in answer.records():
                if rec not in out:
                    out.append(rec)
        return out


def _address_key(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return (ip.version, int(ip))


_last_now: list[Any] = [-1, ""]


def _now() -> str:
    """The current UTC time to the millisecond, e.g. ``2026-11-25T13:28:00.123Z``."""
    # Thousands of answers arrive within one millisecond: format each millisecond once.
    ms = time.time_ns() // 1_000_000
    if ms != _last_now[0]:
        moment = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
        stamp = moment.isoformat(timespec="milliseconds")
        _last_now[0], _last_now[1] = ms, stamp.replace("+00:00", "Z")
    return str(_last_now[1])


async def probe_resolvers(
    resolvers: Sequence[ResolverAddress], *, timeout: float = 2.0, name: str = "."
) -> tuple[list[ResolverAddress], dict[ResolverAddress, str]]:
    """Ask each resolver one question; any reply (even REFUSED) proves it is there."""

    async def one(r: ResolverAddress) -> str | None:
        client = DnsClient([r], timeout=timeout, retries=1)
        try:
            answer = await client.query(name, "SOA")
        finally:
            await client.close()
        return None if answer.rcode not in ("TIMEOUT", "NETERROR") else answer.error

    results = await asyncio.gather(*(one(r) for r in resolvers))
    alive = [r for r, err in zip(resolvers, results, strict=True) if err is None]
    dead = {r: err for r, err in zip(resolvers, results, strict=True) if err is not None}
    return alive, dead


def resolve_addresses(
    host: str, resolvers: Sequence[ResolverAddress], timeout: float = 2.0
) -> tuple[list[str], list[str]]:
    """Synchronous helper: the CNAME chain and the addresses of one host."""

    async def run() -> ChainResult:
        async with DnsClient(resolvers, timeout=timeout, retries=1) as client:
            return await client.resolve_chain(host)

    result = asyncio.run(run())
    return result.chain, result.addresses
