"""DNS I/O: raw wire queries over one UDP socket per resolver, with query-id multiplexing.

Why not the dnspython stub resolver: it opens a socket per query and reads /etc/resolv.conf
behind the caller's back. Here every query goes to the resolvers the user chose, through one
socket each (ids multiplex the answers), with bounded concurrency, per-attempt timeouts, retries
that rotate across the chosen resolvers, TCP fallback on truncation, and a cache so a name shared
by many endpoints (an MX or NS host) is asked once per scan.

Answers are checked (id, question name, type and class) before they are accepted: a reply with a
wrong id or a malformed packet is ignored and counted, never trusted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import socket
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
    rrsets: tuple[Any, ...] = ()  # dns.rrset.RRset from the answer section
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.rcode in ("NOERROR", "NXDOMAIN")

    def records(self) -> list[DnsRecord]:
        """This answer as evidence: one record per RRset, or one empty record."""
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
                    type=dns.rdatatype.to_text(rrset.rdtype),
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
        want = dns.name.from_text(name)
        code = dns.rdatatype.from_text(rdtype)
        return [
            rd
            for rrset in self.rrsets
            if rrset.name == want and rrset.rdtype == code
            for rd in rrset
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


_Waiter = tuple[dns.message.Message, "asyncio.Future[dns.message.Message]"]


class _UdpProtocol(asyncio.DatagramProtocol):
    """Receives answers on one socket and hands each to the query that is waiting for it."""

    def __init__(self) -> None:
        self.pending: dict[int, _Waiter] = {}
        self.ignored = 0
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if len(data) < 12:
            self.ignored += 1
            return
        entry = self.pending.get(int.from_bytes(data[:2], "big"))
        if entry is None:
            self.ignored += 1  # late answer, or an id nobody asked for
            return
        query, future = entry
        try:
            msg = dns.message.from_wire(data)
        except dns.exception.DNSException:
            self.ignored += 1
            return
        if not query.is_response(msg):
            self.ignored += 1  # wrong question: not the answer to our query
            return
        if not future.done():
            future.set_result(msg)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: fail every waiter on this socket now.
        for _query, future in list(self.pending.values()):
            if not future.done():
                future.set_exception(exc)


@dataclass
class QueryStats:
    sent: int = 0
    answered: int = 0
    timeouts: int = 0
    tcp_fallbacks: int = 0
    cache_hits: int = 0


@dataclass
class DnsClient:
    """Asynchronous DNS client bound to the user's resolvers. Use inside one event loop."""

    resolvers: Sequence[ResolverAddress]
    timeout: float = 2.0
    retries: int = 2
    concurrency: int = 256
    stats: QueryStats = field(default_factory=QueryStats)

    def __post_init__(self) -> None:
        if not self.resolvers:
            raise ResolverError("no resolver to query")
        self._protocols: dict[ResolverAddress, _UdpProtocol] = {}
        self._cache: dict[tuple[str, str], asyncio.Task[Answer]] = {}
        self._semaphore: asyncio.Semaphore | None = None
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
            transport, proto = await loop.create_datagram_endpoint(
                _UdpProtocol, remote_addr=(resolver.host, resolver.port)
            )
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # Hundreds of answers can arrive at once; the default buffer would drop some,
                # turning good answers into timeouts. Best effort: the kernel caps the size.
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
            self._protocols[resolver] = proto
        return proto

    def query(self, name: str, rdtype: str) -> asyncio.Task[Answer]:
        """The (cached) answer to one question; the same question is sent once per client."""
        key = (name.lower().rstrip("."), rdtype)
        task = self._cache.get(key)
        if task is None:
            task = asyncio.ensure_future(self._query(key[0], rdtype))
            self._cache[key] = task
        else:
            self.stats.cache_hits += 1
        return task

    async def _query(self, name: str, rdtype: str) -> Answer:
        if self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        async with self._semaphore:
            return await self._query_unbounded(name, rdtype)

    async def _query_unbounded(self, name: str, rdtype: str) -> Answer:
        try:
            qname = dns.name.from_text(name)
        except dns.exception.DNSException as exc:
            return self._failed(name, rdtype, "FORMERR", f"invalid name: {exc}", "-")
        attempts = self.retries + 1
        start = self._next
        self._next = (self._next + 1) % len(self.resolvers)
        last_error = "no answer"
        resolver = self.resolvers[start]
        for attempt in range(attempts):
            resolver = self.resolvers[(start + attempt) % len(self.resolvers)]
            query = dns.message.make_query(qname, rdtype, use_edns=0, payload=1232)
            try:
                msg = await self._udp_exchange(resolver, query)
            except TimeoutError:
                self.stats.timeouts += 1
                last_error = f"timeout after {self.timeout:g} s"
                continue
            except OSError as exc:
                last_error = f"network error: {exc.strerror or exc}"
                continue
            if msg.flags & dns.flags.TC:
                self.stats.tcp_fallbacks += 1
                try:
                    msg = await dns.asyncquery.tcp(
                        query, resolver.host, timeout=self.timeout, port=resolver.port
                    )
                except (TimeoutError, dns.exception.Timeout):
                    last_error = "truncated over UDP, then timeout over TCP"
                    continue
                except (OSError, dns.exception.DNSException, EOFError) as exc:
                    last_error = f"truncated over UDP, then TCP failed: {exc}"
                    continue
                if msg.flags & dns.flags.TC:
                    # Even 64 KB were not enough: an empty "answer" must not pass for NOERROR.
                    last_error = "answer too large even over TCP (truncated)"
                    continue
            self.stats.answered += 1
            return Answer(
                qname=name,
                qtype=rdtype,
                rcode=dns.rcode.to_text(msg.rcode()),
                resolver=str(resolver),
                timestamp=_now(),
                rrsets=tuple(msg.answer),
            )
        pseudo = (
            "TIMEOUT"
            if last_error.startswith("timeout")
            else "TRUNCATED"
            if last_error.startswith("answer too large")
            else "NETERROR"
        )
        return self._failed(
            name, rdtype, pseudo, f"{last_error} ({attempts} attempts)", str(resolver)
        )

    @staticmethod
    def _failed(name: str, rdtype: str, rcode: str, error: str, resolver: str) -> Answer:
        return Answer(name, rdtype, rcode, resolver, _now(), (), error)

    async def _udp_exchange(
        self, resolver: ResolverAddress, query: dns.message.Message
    ) -> dns.message.Message:
        proto = await self._protocol(resolver)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dns.message.Message] = loop.create_future()
        # A fresh random id not already waiting on this socket.
        qid = secrets.randbelow(65536)
        while qid in proto.pending:
            qid = secrets.randbelow(65536)
        query.id = qid
        proto.pending[qid] = (query, future)
        self.stats.sent += 1
        try:
            assert proto.transport is not None
            proto.transport.sendto(query.to_wire())
            return await asyncio.wait_for(future, self.timeout)
        finally:
            proto.pending.pop(qid, None)

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
        unique = sorted(set(self.addresses), key=_address_key)
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


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
