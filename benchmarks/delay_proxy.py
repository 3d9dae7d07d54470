"""A UDP proxy on loopback that adds a fixed round-trip delay to every DNS exchange.

Each client address gets its own upstream socket (so query ids never collide between
clients); a reply from the upstream server is held for ``delay`` seconds, then sent back.
The whole delay is put on the reply path: the client sees RTT = upstream RTT + delay, and the
proxy never reorders queries on their way to the server. UDP only: the synthetic answers are
small, so no client needs TCP here.

Usage: ``python -m benchmarks.delay_proxy --upstream 127.0.0.1:5300 --delay 0.05
[--listen 127.0.0.1:0]``; prints ``LISTENING host port`` once bound, runs until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

Address = tuple[str, int]
BUFFER_BYTES = 8 * 1024 * 1024


class _Upstream(asyncio.DatagramProtocol):
    """The proxy's socket towards the server, for one client."""

    def __init__(self, proxy: DelayProxy, client: Address) -> None:
        self.proxy = proxy
        self.client = client
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.proxy.replied += 1
        loop = asyncio.get_running_loop()
        loop.call_later(self.proxy.delay, self.proxy.send_to_client, data, self.client)


class _Front(asyncio.DatagramProtocol):
    """The socket clients talk to."""

    def __init__(self, proxy: DelayProxy) -> None:
        self.proxy = proxy

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.proxy.front = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.proxy.forward(data, (addr[0], addr[1]))


@dataclass
class DelayProxy:
    """Forwards datagrams from clients to ``upstream`` and delays each reply by ``delay``."""

    upstream: Address
    delay: float
    listen: Address = ("127.0.0.1", 0)
    front: asyncio.DatagramTransport | None = None
    forwarded: int = 0
    replied: int = 0
    _clients: dict[Address, _Upstream] = field(default_factory=dict)
    _pending: dict[Address, list[bytes]] = field(default_factory=dict)

    @property
    def address(self) -> Address:
        """Where clients should send their queries (known once started)."""
        assert self.front is not None
        host, port = self.front.get_extra_info("sockname")[:2]
        return (str(host), int(port))

    async def start(self) -> DelayProxy:
        """Bind the client-facing socket; returns self."""
        loop = asyncio.get_running_loop()
        sock = _udp_socket()
        sock.bind(self.listen)
        await loop.create_datagram_endpoint(lambda: _Front(self), sock=sock)
        return self

    def close(self) -> None:
        """Close every socket of the proxy."""
        if self.front is not None:
            self.front.close()
        for up in self._clients.values():
            if up.transport is not None:
                up.transport.close()
        self._clients.clear()

    def forward(self, data: bytes, client: Address) -> None:
        """Send one client datagram upstream (opening this client's upstream socket once)."""
        self.forwarded += 1
        up = self._clients.get(client)
        if up is not None and up.transport is not None:
            up.transport.sendto(data)
            return
        # First datagram of this client: open its upstream socket, queue until it is ready.
        queue = self._pending.get(client)
        if queue is not None:
            queue.append(data)
            return
        self._pending[client] = [data]
        asyncio.get_running_loop().create_task(self._open(client))

    async def _open(self, client: Address) -> None:
        loop = asyncio.get_running_loop()
        sock = _udp_socket()
        sock.connect(self.upstream)
        _transport, up = await loop.create_datagram_endpoint(
            lambda: _Upstream(self, client), sock=sock
        )
        self._clients[client] = up
        for data in self._pending.pop(client, []):
            _transport.sendto(data)

    def send_to_client(self, data: bytes, client: Address) -> None:
        """Deliver one (delayed) reply, unless the proxy was closed meanwhile."""
        if self.front is not None and not self.front.is_closing():
            self.front.sendto(data, client)


def _udp_socket() -> socket.socket:
    """A non-blocking UDP socket with large buffers: a burst of thousands of queries (adnshost
    sends them all at once) must queue, not be dropped and retried seconds later."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):
        # SO_RCVBUFFORCE (root) lifts the net.core.rmem_max cap; fall back to the capped size.
        force = {socket.SO_RCVBUF: 33, socket.SO_SNDBUF: 32}[opt]
        try:
            sock.setsockopt(socket.SOL_SOCKET, force, BUFFER_BYTES)
        except OSError:
            sock.setsockopt(socket.SOL_SOCKET, opt, BUFFER_BYTES)
    return sock


def _address(text: str) -> Address:
    host, _, port = text.rpartition(":")
    return (host.strip("[]") or "127.0.0.1", int(port))


async def _serve(args: argparse.Namespace) -> None:
    proxy = await DelayProxy(_address(args.upstream), args.delay, _address(args.listen)).start()
    host, port = proxy.address
    print(f"LISTENING {host} {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    proxy.close()
    print(f"forwarded {proxy.forwarded} replied {proxy.replied}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Command line: run the proxy until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description="UDP proxy that delays DNS replies")
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the real server")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds added per exchange")
    parser.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT to listen on")
    args = parser.parse_args(argv)
    asyncio.run(_serve(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
