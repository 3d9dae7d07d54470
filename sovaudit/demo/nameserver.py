"""A small real nameserver on loopback, for tests and the offline demo.

It answers from zone files like a recursive resolver would (CNAMEs inside its zones are chased and
returned in one answer), over UDP and TCP on the same random port of 127.0.0.1. Faults can be set
per name to reproduce hostile networks: dropped queries, delays, SERVFAIL, REFUSED, truncation,
wrong query ids and malformed packets.

It is not a production server: it exists so that nothing in the test suite or the demo touches
the internet.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdataset
import dns.rdatatype
import dns.rrset
import dns.zone

# Faults understood by `set_fault`: drop, servfail, refused, truncate, wrongid, garbage,
# delay:SECONDS (then answer normally), nxdomain.
FAULTS = ("drop", "servfail", "refused", "truncate", "wrongid", "garbage", "nxdomain")

_MAX_CHASE = 40
_UDP_BUFFER = 4 * 1024 * 1024


class LoopbackNameserver:
    """Authoritative-data server on 127.0.0.1, UDP and TCP, in background threads."""

    def __init__(
        self,
        zones: Iterable[dns.zone.Zone] = (),
        *,
        faults: Mapping[str, str] | None = None,
        chase: bool = True,
        host: str = "127.0.0.1",
    ) -> None:
        self._lock = threading.Lock()
        self._zones: dict[dns.name.Name, dns.zone.Zone] = {}
        for zone in zones:
            self._zones[_origin(zone)] = zone
        self._faults: dict[dns.name.Name, str] = {}
        for name, fault in (faults or {}).items():
            self.set_fault(name, fault)
        self.chase = chase
        self.host = host
        self.port = 0
        self.queries = 0
        # Questions received, by (lower-case name without the final dot, type): tests check
        # that a resumed scan never asks again for what it already has.
        self.asked: collections.Counter[tuple[str, str]] = collections.Counter()
        self._udp: socketserver.ThreadingUDPServer | None = None
        self._tcp: socketserver.ThreadingTCPServer | None = None
        self._threads: list[threading.Thread] = []

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_zone_texts(cls, texts: Mapping[str, str], **kwargs: object) -> LoopbackNameserver:
        """Build from ``{origin: zone file text}``."""
        zones = [
            dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
            for origin, text in texts.items()
        ]
        return cls(zones, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_zone_dir(cls, directory: Path, **kwargs: object) -> LoopbackNameserver:
        """Build from every ``*.zone`` file of a directory, named ``<origin>.zone``."""
        texts = {
            p.name[: -len(".zone")] + ".": p.read_text(encoding="utf-8")
            for p in sorted(directory.glob("*.zone"))
        }
        return cls.from_zone_texts(texts, **kwargs)

    def add_zone_text(self, origin: str, text: str) -> None:
        """Add or replace a zone while the server runs."""
        zone = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False)
        with self._lock:
            self._zones[_origin(zone)] = zone

    def set_fault(self, name: str, fault: str | None) -> None:
        """Make queries for ``name`` (any type) misbehave; ``None`` clears the fault."""
        key = dns.name.from_text(name)
        with self._lock:
            if fault is None:
                self._faults.pop(key, None)
                return
            if fault not in FAULTS and not fault.startswith("delay:"):
                raise ValueError(f"unknown fault {fault!r}")
            self._faults[key] = fault

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def spec(self) -> str:
        """The ``--resolver`` value that points at this server."""
        return f"{self.host}:{self.port}" if ":" not in self.host else f"[{self.host}]:{self.port}"

    def start(self) -> LoopbackNameserver:
        server = self
        for _attempt in range(20):
            udp = _UDPServer((self.host, 0), _UDPHandler)
            port = udp.server_address[1]
            try:
                tcp = _TCPServer((self.host, port), _TCPHandler)
            except OSError:
                udp.server_close()
                continue
            break
        else:  # pragma: no cover - would need 20 port collisions in a row
            raise OSError("could not bind UDP and TCP on the same port")
        udp.owner = server
        tcp.owner = server
        self._udp, self._tcp, self.port = udp, tcp, port
        for srv in (udp, tcp):
            t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05})
            t.daemon = True
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        for srv in (self._udp, self._tcp):
            if srv is not None:
                srv.shutdown()
                srv.server_close()
        self._udp = self._tcp = None

    def __enter__(self) -> LoopbackNameserver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- answering ----------------------------------------------------------------------------

    def _fault_for(self, qname: dns.name.Name) -> str | None:
        with self._lock:
            return self._faults.get(qname)

    def _zone_for(self, qname: dns.name.Name) -> dns.zone.Zone | None:
        with self._lock:
            best: dns.zone.Zone | None = None
            for origin, zone in self._zones.items():
                if qname.is_subdomain(origin) and (
                    best is None or len(origin) > len(best.origin)  # type: ignore[arg-type]
                ):
                    best = zone
            return best

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        """Build the response to one parsed query (pure, apart from reading the zones)."""
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        q = query.question[0]
        qname, qtype = q.name, q.rdtype
        zone = self._zone_for(qname)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        response.flags |= dns.flags.AA
        name = qname
        seen: set[dns.name.Name] = set()
        for _ in range(_MAX_CHASE):
            if name in seen:
                break  # a loop: return what we have, like a resolver giving up
            seen.add(name)
            zone = self._zone_for(name)
            if zone is None:
                break
            node = zone.get_node(name)
            if node is None:
                node = self._wildcard(zone, name)
            if node is None:
                if name == qname:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                    self._add_soa(response, zone)
                break
            rds = node.get_rdataset(dns.rdataclass.IN, qtype)
            if rds is not None:
                response.answer.append(_rrset(name, rds))
                break
            cname = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None or qtype == dns.rdatatype.CNAME:
                if name == qname:
                    self._add_soa(response, zone)
                break
            response.answer.append(_rrset(name, cname))
            if not self.chase:
                break
            name = cname[0].target
            if self._fault_for(name) is not None:
                break  # a faulty target must be asked for on its own
        return response

    @staticmethod
    def _wildcard(zone: dns.zone.Zone, name: dns.name.Name) -> dns.node.Node | None:
        parent = name.parent() if len(name) > 1 else None
        while parent is not None and parent.is_subdomain(zone.origin):  # type: ignore[arg-type]
            node = zone.get_node(dns.name.Name(("*",)).concatenate(parent))
            if node is not None:
                return node
            if zone.get_node(parent) is not None:
                return None
            parent = parent.parent() if len(parent) > 1 else None
        return None

    @staticmethod
    def _add_soa(response: dns.message.Message, zone: dns.zone.Zone) -> None:
        soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)  # type: ignore[arg-type]
        if soa is not None:
            response.authority.append(_rrset(_origin(zone), soa))

    def handle_wire(self, wire: bytes, *, tcp: bool) -> bytes | None:
        """Answer one wire-format query, applying faults. ``None`` means: send nothing."""
        self.queries += 1
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return None
        if not query.question:
            return None
        question = query.question[0]
        key = (
            question.name.to_text(omit_final_dot=True).lower(),
            dns.rdatatype.to_text(question.rdtype),
        )
        with self._lock:
            self.asked[key] += 1
        fault = self._fault_for(question.name)
        if fault == "drop":
            return None
        if fault is not None and fault.startswith("delay:"):
            time.sleep(float(fault.split(":", 1)[1]))
            fault = None
        if fault == "garbage":
            return wire[:2] + b"\x81\x80\xff\xff garbage"
        if fault in ("servfail", "refused", "nxdomain"):
            response = dns.message.make_response(query)
            response.set_rcode(
                {
                    "servfail": dns.rcode.SERVFAIL,
                    "refused": dns.rcode.REFUSED,
                    "nxdomain": dns.rcode.NXDOMAIN,
                }[fault]
            )
            return response.to_wire()
        response = self.answer(query)
        if fault == "wrongid":
            response.id = (query.id + 1) & 0xFFFF
            return response.to_wire()
        if fault == "truncate" and not tcp:
            response.answer.clear()
            response.authority.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()
        max_size = 65535 if tcp else max(512, query.payload if query.edns >= 0 else 512)
        try:
            return response.to_wire(max_size=max_size)
        except dns.exception.TooBig:
            response.answer.clear()
            response.flags |= dns.flags.TC
            return response.to_wire()


def _origin(zone: dns.zone.Zone) -> dns.name.Name:
    assert zone.origin is not None
    return zone.origin


def _rrset(name: dns.name.Name, rdataset: dns.rdataset.Rdataset) -> dns.rrset.RRset:
    return dns.rrset.from_rdata_list(name, rdataset.ttl, list(rdataset))


class _UDPServer(socketserver.ThreadingUDPServer):
    daemon_threads = True
    allow_reuse_address = False
    owner: LoopbackNameserver

    def server_bind(self) -> None:
        # A 1,000-host scan sends bursts of hundreds of queries: the default receive buffer
        # (about 200 KB) overflows and the kernel drops queries that the test did not mean to.
        with contextlib.suppress(OSError):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _UDP_BUFFER)
        super().server_bind()


class _TCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: LoopbackNameserver


class _UDPHandler(socketserver.BaseRequestHandler):
    server: _UDPServer

    def handle(self) -> None:
        data, sock = self.request
        reply = self.server.owner.handle_wire(data, tcp=False)
        if reply is not None:
            with contextlib.suppress(OSError):
                sock.sendto(reply, self.client_address)


class _TCPHandler(socketserver.BaseRequestHandler):
    server: _TCPServer

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(5)
        with contextlib.suppress(OSError, struct.error):
            while True:
                header = _recv_exact(conn, 2)
                if header is None:
                    return
                (length,) = struct.unpack("!H", header)
                data = _recv_exact(conn, length)
                if data is None:
                    return
                reply = self.server.owner.handle_wire(data, tcp=True)
                if reply is None:
                    return
                conn.sendall(struct.pack("!H", len(reply)) + reply)


def _recv_exact(conn: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf
