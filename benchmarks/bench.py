"""The performance harness: sovaudit's stages measured against native tools on the same server.

``python -m benchmarks.bench run`` (or ``benchmarks/run``):

1. installs nsd, adns-tools, dnsperf and dnsutils with apt-get if they are missing (as root);
2. generates synthetic zones of N hosts (``benchmarks/gen_zones.py``) for each size;
3. serves them with nsd on loopback (its own port, config in a temp dir, RRL off), plus a
   second listener on ``<alt-ip>:53`` because adns cannot query another port;
4. measures, on the same server in the same run: dnsperf (the server's ceiling), adnshost
   (``--pipe --asynch``, type A), ``dig -f`` (A + AAAA), sovaudit's ``DnsClient.resolve_chain``
   over every host and the full ``collect_all`` on an inventory of those hosts, then the same
   sovaudit runs (and adnshost) through a proxy that adds a round-trip delay;
5. measures the offline stages: IP -> ASN lookups, attribution, rule evaluation, HTML report
   (a stage whose module does not import is reported "n/a (not importable)");
6. prints two tables with the targets and writes every figure to a JSON file.

sovaudit's DNS runs happen in a child process (``python -m benchmarks.bench worker ...``) so each
gets a fresh interpreter and its own peak RSS (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.gen_zones import Expected, generate

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {"nsd": "nsd", "adnshost": "adns-tools", "dnsperf": "dnsperf", "dig": "dnsutils"}
NSD_BINARY = ("nsd", "/usr/sbin/nsd")
FIXED_NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
ADNS_CHUNKS = (100, 200, 500)
REPEAT = 3  # offline stages: best of REPEAT runs
RUN_TIMEOUT = 600.0  # seconds; one DNS run longer than this is reported as killed

# Targets from issue 8.
TARGET_RATIO_ADNS = 0.10  # sovaudit names/s >= 1/10 of adnshost's
TARGET_DELAYED_SECONDS = 15.0  # 10,000 hosts with 50 ms RTT
TARGET_ASN_PER_S = 200_000.0
TARGET_RULES_PER_S = 50_000.0
TARGET_HTML_SECONDS = 5.0
TARGET_HTML_BYTES = 5 * 1024 * 1024
TARGET_RSS_MB = 300.0
# The whole scan (DNS, attribution, rules, report) against dig -f doing A+AAAA alone.
TARGET_RATIO_DIG = 1.0


# -- results -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DnsRun:
    """One tool resolving one host list on one server."""

    tool: str
    what: str
    hosts: int
    seconds: float | None
    queries: int | None = None
    resolved: int | None = None  # hosts with at least one address (or NOERROR for adns)
    nxdomain: int | None = None
    failed: int | None = None  # timeouts, SERVFAIL, ... (never expected on loopback)
    delay_ms: float = 0.0
    rss_mb: float | None = None
    note: str = ""

    @property
    def names_per_s(self) -> float | None:
        """Hosts per second (dnsperf: queries per second)."""
        if not self.seconds:
            return None
        return self.hosts / self.seconds


@dataclass(frozen=True, slots=True)
class StageRun:
    """One offline stage: a rate or a duration, against its target."""

    stage: str
    value: str
    target: str
    ok: bool | None  # None: not measured
    detail: str = ""
    figures: dict[str, float] = field(default_factory=dict)


# -- tools ---------------------------------------------------------------------------------------


def ensure_tools(install: bool) -> dict[str, str | None]:
    """Path of each native tool; installs the missing ones with apt-get when allowed."""
    found = {tool: _which(tool) for tool in PACKAGES}
    missing = sorted({PACKAGES[t] for t, path in found.items() if path is None})
    if missing and install and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        print(f"# installing {' '.join(missing)} with apt-get", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=False, env=env)
        found = {tool: _which(tool) for tool in PACKAGES}
    return found


def _which(tool: str) -> str | None:
    return shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/usr/bin:/sbin:/bin")


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on ``host`` (nsd listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
            return port
    raise OSError("no free port")


def check_free(host: str, port: int) -> None:
    """Raise OSError if ``host:port`` is already bound (UDP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise OSError(
                f"{host}:{port} is in use ({exc.strerror}); stop the old server"
            ) from None


def die_with_parent() -> None:
    """In a child, before exec: ask Linux to SIGTERM it when the harness dies (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)


def wait_for_dns(host: str, port: int, qname: str, timeout: float = 60.0) -> None:
    """Block until ``host:port`` answers a query for ``qname`` (nsd loads zones in the back)."""
    import dns.message
    import dns.query

    deadline = time.monotonic() + timeout
    query = dns.message.make_query(qname, "SOA")
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            reply = dns.query.udp(query, host, port=port, timeout=0.5)
            if reply.answer:
                return
        time.sleep(0.1)
    raise TimeoutError(f"no answer from {host}:{port} for {qname} after {timeout:g} s")


@dataclass
class Nsd:
    """nsd serving a generated zone directory on loopback, from a config in a temp dir."""

    zonedir: Path
    port: int
    alt_ip: str | None = None  # extra listener on <alt_ip>:53 for adns
    server_count: int = 2
    process: subprocess.Popen[bytes] | None = None
    confdir: Path | None = None

    def config(self, confdir: Path) -> str:
        """The nsd.conf text: loopback listeners, RRL off, one ``zone:`` per origin."""
        origins = (self.zonedir / "zones.txt").read_text(encoding="ascii").split()
        listen = [f"    ip-address: 127.0.0.1@{self.port}"]
        if self.alt_ip:
            listen.append(f"    ip-address: {self.alt_ip}@53")
        lines = [
            "server:",
            *listen,
            f"    server-count: {self.server_count}",
            "    reuseport: yes",
            "    rrl-ratelimit: 0",
            '    database: ""',
            '    username: ""',
            '    chroot: ""',
            f'    zonesdir: "{self.zonedir}"',
            f'    pidfile: "{confdir / "nsd.pid"}"',
            f'    zonelistfile: "{confdir / "zone.list"}"',
            f'    xfrdfile: "{confdir / "xfrd.state"}"',
            f'    xfrdir: "{confdir}"',
            f'    logfile: "{confdir / "nsd.log"}"',
            "    verbosity: 0",
            "    receive-buffer-size: 8388608",
            "    send-buffer-size: 8388608",
            "    hide-version: yes",
            "remote-control:",
            "    control-enable: no",
        ]
        for origin in origins:
            lines += ["zone:", f"    name: {origin}", f'    zonefile: "{origin}.zone"']
        return "\n".join(lines) + "\n"

    def start(self) -> Nsd:
        """Write the config, start nsd in the foreground and wait until it answers."""
        binary = next((b for b in map(_which, NSD_BINARY) if b), None)
        if binary is None:
            raise FileNotFoundError("nsd is not installed")
        # nsd uses SO_REUSEPORT: a stale server on the same address would silently share the
        # traffic (and answer REFUSED for zones it does not have), so insist on free ports.
        check_free("127.0.0.1", self.port)
        if self.alt_ip:
            check_free(self.alt_ip, 53)
        self.confdir = Path(tempfile.mkdtemp(prefix="sovaudit-bench-nsd-"))
        conf = self.confdir / "nsd.conf"
        conf.write_text(self.config(self.confdir), encoding="ascii")
        self.process = subprocess.Popen(
            [binary, "-d", "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        try:
            last = (self.zonedir / "zones.txt").read_text(encoding="ascii").split()[-1]
            wait_for_dns("127.0.0.1", self.port, last, timeout=120)
        except TimeoutError:
            err = self._stderr()
            self.stop()
            raise RuntimeError(f"nsd did not start: {err}") from None
        return self

    def _stderr(self) -> str:
        log = self.confdir / "nsd.log" if self.confdir else None
        text = log.read_text(errors="replace") if log and log.exists() else ""
        return text[-2000:]

    def stop(self) -> None:
        """Stop nsd (SIGTERM, then SIGKILL) and remove its temp dir."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.confdir is not None:
            shutil.rmtree(self.confdir, ignore_errors=True)
            self.confdir = None

    def __enter__(self) -> Nsd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def delay_proxy(
    upstream: tuple[str, int], delay: float, listen: tuple[str, int] = ("127.0.0.1", 0)
) -> Iterator[tuple[str, int]]:
    """Run ``benchmarks/delay_proxy.py`` in a child process; yields the address it listens on.

    A child process, not a thread: the proxy must not share the measured client's event loop
    or its GIL.
    """
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "benchmarks.delay_proxy",
            "--upstream",
            f"{upstream[0]}:{upstream[1]}",
            "--delay",
            str(delay),
            "--listen",
            f"{listen[0]}:{listen[1]}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if len(line) != 3 or line[0] != "LISTENING":
            raise RuntimeError(f"delay proxy did not start: {line}")
        yield (line[1], int(line[2]))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# -- native tools --------------------------------------------------------------------------------


def run_adnshost(
    binary: str,
    hosts_file: Path,
    server_ip: str,
    hosts: int,
    delay: float = 0.0,
    chunk: int | None = None,
) -> DnsRun:
    """``adnshost --pipe --asynch --type a`` on every host, against ``server_ip``:53.

    ``chunk=None`` feeds every name to one process, as the issue asks. adns sends every query
    it reads at once, and with the default 208 KiB socket buffer the burst of replies overflows
    it (counted in /proc/net/snmp RcvbufErrors); adns then retries every 2 s. ``chunk=K`` runs
    one process per K names, one after the other: adns' best rate on this machine, the
    stricter reference for the ratio.
    """
    cmd = [binary, "+e", "--config", f"nameserver {server_ip}", "--asynch", "--pipe"]
    cmd += ["--type", "a", "--fmt-asynch"]
    names = hosts_file.read_bytes().split()
    what = "A, --pipe --asynch, " + ("1 process" if chunk is None else f"{chunk}/process")
    batches = (
        [names] if chunk is None else [names[i : i + chunk] for i in range(0, len(names), chunk)]
    )
    statuses: dict[str, int] = {}
    codes: set[int] = set()
    start = time.perf_counter()
    for batch in batches:
        try:
            proc = subprocess.run(
                cmd,
                input=b"\n".join(batch) + b"\n",
                capture_output=True,
                check=False,
                timeout=RUN_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return DnsRun("adnshost", what, hosts, None, note=f"killed after {RUN_TIMEOUT:g} s")
        codes.add(proc.returncode)
        for line in proc.stdout.decode("ascii", "replace").splitlines():
            parts = line.split()
            # Status lines: "<id> <nrrs> <statustype> <statusnum> <statusabbrev> ..."
            if len(parts) >= 5 and parts[0].isdigit() and parts[1].isdigit() and parts[3].isdigit():
                statuses[parts[4]] = statuses.get(parts[4], 0) + 1
    seconds = time.perf_counter() - start
    answered = sum(statuses.values())
    nx = statuses.get("nxdomain", 0)
    ok = statuses.get("ok", 0)
    # Expected non-successes: nodata, and prohibitedcname (adns refuses CNAME -> CNAME chains).
    failed = answered - ok - nx - statuses.get("nodata", 0) - statuses.get("prohibitedcname", 0)
    failed += hosts - answered
    return DnsRun(
        tool="adnshost",
        what=what,
        hosts=hosts,
        seconds=seconds,
        queries=None,
        resolved=ok,
        nxdomain=nx,
        failed=failed,
        delay_ms=delay * 1000,
        note=f"exit {sorted(codes)}; statuses {dict(sorted(statuses.items()))}",
    )


def best_adnshost(
    binary: str,
    hosts_file: Path,
    server_ip: str,
    hosts: int,
    delay: float = 0.0,
    whole_max: int = 10_000,
) -> list[DnsRun]:
    """adnshost in one process (up to ``whole_max`` names), and the fastest of a few chunk sizes."""
    whole = (
        [run_adnshost(binary, hosts_file, server_ip, hosts, delay)] if hosts <= whole_max else []
    )
    chunked = [
        run_adnshost(binary, hosts_file, server_ip, hosts, delay, chunk=k)
        for k in ADNS_CHUNKS
        if k < hosts
    ]
    best = min(chunked, key=lambda r: r.seconds or float("inf"), default=None)
    return whole if best is None else [*whole, best]


def run_dig(binary: str, batch_file: Path, port: int, hosts: int) -> DnsRun:
    """``dig -f`` (A and AAAA for every host, one query after the other)."""
    cmd = [
        binary,
        "@127.0.0.1",
        "-p",
        str(port),
        "+tries=1",
        "+time=2",
        "+noall",
        "+comments",
        "-f",
        str(batch_file),
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, check=False)
    seconds = time.perf_counter() - start
    statuses = re.findall(rb"status: ([A-Z]+)", proc.stdout)
    nx = sum(1 for s in statuses if s == b"NXDOMAIN") // 2
    return DnsRun(
        tool="dig -f",
        what="A + AAAA, sequential",
        hosts=hosts,
        seconds=seconds,
        queries=len(statuses),
        resolved=None,
        nxdomain=nx,
        failed=2 * hosts - len(statuses),
        note=f"exit {proc.returncode}",
    )


def run_dnsperf(
    binary: str, data_file: Path, port: int, hosts: int, seconds: float = 5.0
) -> DnsRun:
    """dnsperf for ``seconds`` on the host list: the server's ceiling on this machine."""
    cmd = [
        binary,
        "-s",
        "127.0.0.1",
        "-p",
        str(port),
        "-d",
        str(data_file),
        "-l",
        str(seconds),
        "-c",
        "4",
        "-T",
        "2",
        "-q",
        "500",
    ]
    proc = subprocess.run(cmd, capture_output=True, check=False, text=True)
    qps = re.search(r"Queries per second:\s+([\d.]+)", proc.stdout)
    completed = re.search(r"Queries completed:\s+(\d+)", proc.stdout)
    lost = re.search(r"Queries lost:\s+(\d+)", proc.stdout)
    if qps is None or completed is None:
        return DnsRun(
            "dnsperf",
            "A, server ceiling",
            hosts,
            None,
            note=f"failed: {proc.stderr.strip()[-200:]}",
        )
    done = int(completed.group(1))
    rate = float(qps.group(1))
    return DnsRun(
        tool="dnsperf",
        what="A, server ceiling (queries/s)",
        hosts=done,
        seconds=done / rate if rate else None,
        queries=done,
        failed=int(lost.group(1)) if lost else None,
        note="-c 4 -T 2 -q 500; names/s = queries/s",
    )


def run_worker(kind: str, args: Sequence[str]) -> dict[str, Any]:
    """Run ``python -m benchmarks.bench worker KIND ...``; its JSON line, or ``{"error": ...}``.

    A worker that fails or runs longer than RUN_TIMEOUT is a result to report, not a crash that
    would lose every figure measured before it.
    """
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench", "worker", kind, *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=RUN_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"killed after {RUN_TIMEOUT:g} s"}
    if proc.returncode != 0:
        return {"error": f"worker failed: {proc.stderr.strip()[-300:]}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _experiment(rcvbuf: int) -> tuple[list[str], str]:
    if not rcvbuf:
        return [], ""
    return ["--rcvbuf", str(rcvbuf)], f" [experiment: SO_RCVBUF {rcvbuf // 2**20} MiB]"


def sovaudit_chain(
    hosts_file: Path,
    resolver: str,
    hosts: int,
    delay: float = 0.0,
    concurrency: int = 256,
    rcvbuf: int = 0,
) -> DnsRun:
    """``resolve_chain`` over every host, in a worker process."""
    flag, label = _experiment(rcvbuf)
    r = run_worker("chain", [str(hosts_file), resolver, "--concurrency", str(concurrency), *flag])
    what = "DnsClient.resolve_chain (A+AAAA, CNAMEs)" + label
    if "error" in r:
        return DnsRun("sovaudit", what, hosts, None, delay_ms=delay * 1000, note=r["error"])
    return DnsRun(
        tool="sovaudit",
        what=what,
        hosts=hosts,
        seconds=r["seconds"],
        queries=r["sent"],
        resolved=r["resolved"],
        nxdomain=r["nxdomain"],
        failed=r["failed"],
        delay_ms=delay * 1000,
        rss_mb=r["maxrss_mb"],
        note=(
            f"CPU {r.get('cpu_seconds', 0):.2f} s; concurrency {concurrency}; "
            f"timeouts {r['timeouts']}; cache hits {r['cache_hits']}"
        ),
    )


def sovaudit_collect(
    inventory: Path,
    resolver: str,
    hosts: int,
    delay: float = 0.0,
    evidence: Path | None = None,
    concurrency: int = 256,
    rcvbuf: int = 0,
) -> DnsRun:
    """The full ``collect_all`` on the generated inventory, in a worker process."""
    flag, label = _experiment(rcvbuf)
    flag += ["--evidence", str(evidence)] if evidence else []
    r = run_worker("collect", [str(inventory), resolver, "--concurrency", str(concurrency), *flag])
    if "error" in r:
        what = "collect_all" + label
        return DnsRun("sovaudit", what, hosts, None, delay_ms=delay * 1000, note=r["error"])
    return DnsRun(
        tool="sovaudit",
        what=f"collect_all ({r['targets']} targets: web+mail+dns)" + label,
        hosts=hosts,
        seconds=r["seconds"],
        queries=r["sent"],
        resolved=r["ok"],
        nxdomain=None,
        failed=r["unknown"],
        delay_ms=delay * 1000,
        rss_mb=r["maxrss_mb"],
        note=(
            f"CPU {r.get('cpu_seconds', 0):.2f} s; "
            f"inventory load {r['load_seconds']:.2f} s; skipped {r['skipped']}; "
            f"timeouts {r['timeouts']}; cache hits {r['cache_hits']}"
        ),
    )


SCAN_TOOL = "sovaudit scan"


def scan_has_stream() -> bool:
    """Whether this checkout's ``sovaudit scan`` has ``--stream`` (added during issue 8)."""
    proc = subprocess.run(
        [sys.executable, "-m", "sovaudit", "scan", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )
    return "--stream" in proc.stdout


def sovaudit_scan(
    inventory: Path,
    resolver: str,
    hosts: int,
    output: Path,
    *,
    concurrency: int = 256,
    stream: Path | None = None,
) -> DnsRun:
    """The WHOLE scan as a user runs it: ``sovaudit scan INVENTORY -o OUT.json -q ...``.

    With ``stream``: ``sovaudit scan INVENTORY --stream OUT.jsonl -q ...`` (no report).

    DNS, attribution, rules and the JSON report, interpreter start-up included (as ``dig -f``'s
    row includes dig's), timed from outside; the peak RSS is the scan process's own.
    """
    args = [str(inventory), resolver, str(output), "--concurrency", str(concurrency)]
    if stream is not None:
        args += ["--stream", str(stream)]
    r = run_worker("scan", args)
    what = "whole scan: DNS + attribution + rules + " + (
        "JSON Lines evidence (--stream)" if stream is not None else "JSON report"
    )
    if "error" in r:
        return DnsRun(SCAN_TOOL, what, hosts, None, note=r["error"])
    size = f"stream {r['stream_mb']:.1f} MB" if stream else f"report {r['output_mb']:.1f} MB"
    note = f"CPU {r['cpu_seconds']:.2f} s; exit {r['exit']}; {size}"
    if r["exit"] not in (0, 1):
        note += f"; stderr: {r['stderr']}"
    return DnsRun(
        tool=SCAN_TOOL,
        what=what,
        hosts=hosts,
        seconds=r["seconds"] if r["exit"] in (0, 1) else None,
        rss_mb=r["maxrss_mb"],
        note=note,
    )


# -- workers (child processes) -------------------------------------------------------------------


def _maxrss_mb() -> float:
    # Linux reports KiB, macOS bytes.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


async def resolve_all(
    hosts: Sequence[str], resolver: str, *, concurrency: int = 256, parallel: int = 512
) -> dict[str, Any]:
    """``resolve_chain`` over every host through one DnsClient; counts and timing."""
    from sovaudit.collect.dns import DnsClient, ResolverAddress

    semaphore = asyncio.Semaphore(parallel)
    async with DnsClient([ResolverAddress.parse(resolver)], concurrency=concurrency) as client:

        async def one(host: str) -> Any:
            async with semaphore:
                return await client.resolve_chain(host)

        start = time.perf_counter()
        results = await asyncio.gather(*(one(h) for h in hosts))
        seconds = time.perf_counter() - start
        stats = client.stats
    return {
        "seconds": seconds,
        "hosts": len(hosts),
        "resolved": sum(1 for r in results if r.addresses),
        "nxdomain": sum(1 for r in results if r.nxdomain),
        "failed": sum(1 for r in results if r.errors),
        "sent": stats.sent,
        "timeouts": stats.timeouts,
        "cache_hits": stats.cache_hits,
    }


def patch_rcvbuf(size: int) -> None:
    """Experiment only: give DnsClient's UDP sockets a ``size``-byte receive buffer.

    This is the change proposed for ``sovaudit/collect/dns.py`` (``DnsClient._protocol``),
    applied in the worker process so its gain is measured on the same server in the same run.
    """
    from sovaudit.collect import dns as sdns

    async def _protocol(self: Any, resolver: Any) -> Any:
        proto = self._protocols.get(resolver)
        if proto is None:
            family = socket.AF_INET6 if ":" in resolver.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
            sock.setblocking(False)
            sock.connect((resolver.host, resolver.port))
            loop = asyncio.get_running_loop()
            _transport, proto = await loop.create_datagram_endpoint(sdns._UdpProtocol, sock=sock)
            self._protocols[resolver] = proto
        return proto

    sdns.DnsClient._protocol = _protocol  # type: ignore[method-assign]


def _worker_parser(prog: str, source: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog)
    p.add_argument(source, type=Path)
    p.add_argument("resolver")
    p.add_argument("--concurrency", type=int, default=256)
    p.add_argument("--rcvbuf", type=int, default=0, help="experiment: SO_RCVBUF in bytes")
    return p


def worker_chain(argv: Sequence[str]) -> dict[str, Any]:
    """Worker: ``resolve_chain`` over a host file; prints counts, timing and peak RSS."""
    a = _worker_parser("worker chain", "hosts_file").parse_args(argv)
    if a.rcvbuf:
        patch_rcvbuf(a.rcvbuf)
    hosts = a.hosts_file.read_text(encoding="ascii").split()
    cpu = time.process_time()
    result = asyncio.run(resolve_all(hosts, a.resolver, concurrency=a.concurrency))
    return {**result, "cpu_seconds": time.process_time() - cpu, "maxrss_mb": _maxrss_mb()}


def worker_collect(argv: Sequence[str]) -> dict[str, Any]:
    """Worker: load an inventory and run ``collect_all``; counts, timing, peak RSS."""
    from sovaudit.collect.dns import DnsClient, QueryStats, ResolverAddress
    from sovaudit.collect.endpoints import collect_all
    from sovaudit.inventory import load_inventory
    from sovaudit.models import Endpoint, Scan, Status

    p = _worker_parser("worker collect", "inventory")
    p.add_argument("--evidence", type=Path)
    a = p.parse_args(argv)
    if a.rcvbuf:
        patch_rcvbuf(a.rcvbuf)
    start = time.perf_counter()
    inventory = load_inventory(a.inventory)
    targets = inventory.targets()
    load_seconds = time.perf_counter() - start
    resolvers = [ResolverAddress.parse(a.resolver)]

    async def run() -> tuple[list[Endpoint], QueryStats]:
        # What pipeline.collect does, with the client kept to read its statistics.
        async with DnsClient(resolvers, concurrency=a.concurrency) as client:
            return await collect_all(client, targets), client.stats

    start, cpu = time.perf_counter(), time.process_time()
    endpoints, stats = asyncio.run(run())
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    counts = {s.value: sum(1 for e in endpoints if e.status is s) for s in Status}
    if a.evidence:
        scan = Scan(
            tool_version="bench",
            generated_at="2026-01-15T12:00:00Z",
            inventory=str(a.inventory),
            resolvers=(a.resolver,),
            endpoints=tuple(sorted(endpoints, key=lambda e: e.key)),
        )
        a.evidence.write_text(json.dumps(scan.to_dict()), encoding="utf-8")
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,  # this process's CPU time: steadier than wall time on a busy machine
        "load_seconds": load_seconds,
        "targets": len(targets),
        "ok": counts["ok"],
        "unknown": counts["unknown"],
        "skipped": counts["skipped"],
        "sent": stats.sent,
        "timeouts": stats.timeouts,
        "cache_hits": stats.cache_hits,
        "maxrss_mb": _maxrss_mb(),
    }


def worker_scan(argv: Sequence[str]) -> dict[str, Any]:
    """Worker: run the ``sovaudit scan`` CLI once as its only child; time, exit, peak RSS.

    Why a worker around the CLI: ``RUSAGE_CHILDREN`` reports the largest peak of every child
    a process has waited for, so only a process with this one child measures the scan alone.
    """
    p = argparse.ArgumentParser(prog="worker scan")
    p.add_argument("inventory", type=Path)
    p.add_argument("resolver")
    p.add_argument("output", type=Path)
    p.add_argument("--concurrency", type=int, default=256)
    p.add_argument("--stream", type=Path)
    a = p.parse_args(argv)
    cmd = [sys.executable, "-m", "sovaudit", "scan", str(a.inventory), "-q"]
    cmd += ["--resolver", a.resolver, "--concurrency", str(a.concurrency)]
    # Streamed: the JSON Lines file is the whole output (asking for -o too would read it back
    # into memory to write the report, which is what --stream avoids).
    cmd += ["--stream", str(a.stream)] if a.stream is not None else ["-o", str(a.output)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = usage.ru_maxrss
    sizes = {}
    for key, path in (("output_mb", a.output), ("stream_mb", a.stream)):
        sizes[key] = path.stat().st_size / 2**20 if path is not None and path.exists() else 0.0
        if path is not None:
            path.unlink(missing_ok=True)  # hundreds of MB at 10k hosts: measured, not kept
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "exit": proc.returncode,
        "stderr": proc.stderr.strip()[-300:],
        "maxrss_mb": rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024,
        **sizes,
    }


# -- offline stages ------------------------------------------------------------------------------


def _import(module: str) -> Any | None:
    try:
        return importlib.import_module(module)
    except Exception:  # a stage being written may fail to import in any way
        return None


def stage_or_na(
    stage: str, target: str, modules: Sequence[str], body: Callable[..., StageRun]
) -> StageRun:
    """Run ``body(*modules)``; "n/a (not importable)" if a module is missing, never a crash."""
    loaded = [_import(m) for m in modules]
    missing = [m for m, mod in zip(modules, loaded, strict=True) if mod is None]
    if missing:
        return StageRun(stage, "n/a (not importable)", target, None, ", ".join(missing))
    try:
        return body(*loaded)
    except Exception as exc:  # a broken stage is a result to report, not a harness crash
        return StageRun(stage, f"error: {type(exc).__name__}", target, None, str(exc)[:200])


T = TypeVar("T")


def best_of(repeat: int, fn: Callable[[], T]) -> tuple[T, float]:
    """``fn()``'s result and its fastest wall time over ``repeat`` runs.

    The fastest run is the one least disturbed by other processes on a shared 2-core machine.
    """
    best = float("inf")
    result: T | None = None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    assert result is not None
    return result, best


def random_addresses(count: int, seed: int = 8) -> list[str]:
    """Addresses to look up: 90 % IPv4 over the whole space, 10 % IPv6 in 2000::/3."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        if i % 10 == 9:
            words = [rng.randrange(0x2000, 0x3FFF)] + [rng.randrange(0x10000) for _ in range(7)]
            out.append(":".join(f"{w:x}" for w in words))
        else:
            out.append(socket.inet_ntoa(rng.getrandbits(32).to_bytes(4, "big")))
    return out


def bench_asn(n: int = 200_000) -> StageRun:
    """IP -> ASN lookups per second on the offline table (loading timed separately)."""

    def body(asntable: Any) -> StageRun:
        start = time.perf_counter()
        table = asntable.AsnTable.default().load()
        load = time.perf_counter() - start
        ips = random_addresses(n)
        lookup = table.lookup
        hits, seconds = best_of(REPEAT, lambda: sum(1 for ip in ips if lookup(ip) is not None))
        rate = n / seconds
        return StageRun(
            "IP -> ASN (offline table)",
            f"{rate:,.0f} lookups/s",
            f">= {TARGET_ASN_PER_S:,.0f}/s",
            rate >= TARGET_ASN_PER_S,
            f"{n} addresses (10 % IPv6), {hits} found; table load {load:.2f} s",
            {"per_s": rate, "load_s": load},
        )

    return stage_or_na(
        "IP -> ASN (offline table)",
        f">= {TARGET_ASN_PER_S:,.0f}/s",
        ["sovaudit.attribute.asntable"],
        body,
    )


def load_endpoints(evidence: Path | None, count: int) -> tuple[list[Any], str]:
    """``count`` endpoints: from a collected evidence file when there is one, else synthetic."""
    from sovaudit.models import Scan

    if evidence is not None and evidence.exists():
        scan = Scan.from_dict(json.loads(evidence.read_text(encoding="utf-8")))
        eps = list(scan.endpoints)
        if len(eps) >= count:
            return eps[:count], f"collected from nsd ({evidence.name})"
    return synthetic_endpoints(count), "synthetic"


def synthetic_endpoints(count: int, seed: int = 8) -> list[Any]:
    """Collected-looking endpoints (records and addresses) without a nameserver."""
    from sovaudit.models import DataClass, DnsRecord, Endpoint, Layer, Status

    rng = random.Random(seed)
    ips = random_addresses(count * 2, seed)
    layers = (Layer.WEB, Layer.WEB, Layer.MAIL, Layer.DNS)
    classes = (DataClass.HEALTH, DataClass.PERSONAL, DataClass.PUBLIC, DataClass.TAX)
    out = []
    for i in range(count):
        host = f"h{i}.o{i // 20}.bench.test"
        addr = (ips[2 * i],) if i % 7 else (ips[2 * i], ips[2 * i + 1])
        rec = DnsRecord(host, "A", "NOERROR", addr, 300, "127.0.0.1:53", "2026-01-15T12:00:00Z")
        out.append(
            Endpoint(
                organization=f"o{i // 20}",
                organization_name=f"Organisation {i // 20}",
                service=host,
                host=host,
                layer=layers[i % 4],
                data_classes=(classes[rng.randrange(4)],),
                status=Status.OK,
                records=(rec,),
                addresses=addr,
            )
        )
    return out


def synthetic_attributions(endpoints: Sequence[Any]) -> list[Any]:
    """Endpoints with plausible attributions, for when the attribution stage cannot import."""
    from dataclasses import replace

    from sovaudit.models import Attribution, EvidenceStep, Status

    parents = [
        ("microsoft", "US"),
        ("amazon", "US"),
        ("cloudflare", "US"),
        ("ovh", "FR"),
        ("bell", "CA"),
        ("cogeco", "CA"),
    ]
    out = []
    for i, ep in enumerate(endpoints):
        ats = []
        for j, ip in enumerate(ep.addresses or ("192.0.2.1",)):
            op, juris = parents[(i + j) % len(parents)]
            ats.append(
                Attribution(
                    subject=ip,
                    role="address",
                    address=ip,
                    asn=8075 + j,
                    operator=op,
                    operator_name=op.title(),
                    category="cloud",
                    ultimate_parent=op,
                    jurisdiction=juris,
                    operator_jurisdiction=juris,
                    confidence=0.9,
                    status=Status.OK,
                    evidence=(EvidenceStep("asn", f"AS{8075 + j}", "bench"),),
                )
            )
        out.append(replace(ep, attributions=tuple(ats)))
    return out


def bench_attribution(endpoints: Sequence[Any]) -> tuple[StageRun, list[Any] | None]:
    """Attribution endpoints/s with the shipped registry and table (no target in issue 8)."""
    result: list[Any] | None = None

    def body(engine: Any) -> StageRun:
        nonlocal result
        start = time.perf_counter()
        attributor = engine.Attributor.default()
        setup = time.perf_counter() - start
        result, seconds = best_of(
            REPEAT, lambda: [attributor.attribute_endpoint(e) for e in endpoints]
        )
        rate = len(endpoints) / seconds
        return StageRun(
            "Attribution",
            f"{rate:,.0f} endpoints/s",
            "(none)",
            None,
            f"{len(endpoints)} endpoints; setup {setup:.2f} s",
            {"per_s": rate},
        )

    run = stage_or_na("Attribution", "(none)", ["sovaudit.attribute.engine"], body)
    return run, result


def bench_rules(endpoints: Sequence[Any]) -> tuple[StageRun, list[Any] | None]:
    """Rule evaluation endpoints/s with the shipped packs."""
    result: list[Any] | None = None
    target = f">= {TARGET_RULES_PER_S:,.0f}/s"

    def body(evaluate: Any) -> StageRun:
        nonlocal result
        start = time.perf_counter()
        rules = evaluate.load_rules()
        load = time.perf_counter() - start
        evaluated, seconds = best_of(
            REPEAT, lambda: evaluate.evaluate(endpoints, rules, lang="fr", now=date(2026, 1, 15))
        )
        result = list(evaluated)
        rate = len(endpoints) / seconds
        findings = sum(len(e.findings) for e in result)
        return StageRun(
            "Rule evaluation",
            f"{rate:,.0f} endpoints/s",
            target,
            rate >= TARGET_RULES_PER_S,
            f"{len(endpoints)} endpoints, {len(rules.rules)} rules, {findings} findings; "
            f"load {load:.2f} s",
            {"per_s": rate},
        )

    run = stage_or_na("Rule evaluation", target, ["sovaudit.evaluate"], body)
    return run, result


def bench_html(endpoints: Sequence[Any]) -> StageRun:
    """HTML report time and size for the given endpoints."""
    target = f"< {TARGET_HTML_SECONDS:g} s and < {TARGET_HTML_BYTES // 2**20} MB"

    def body(report: Any, models: Any) -> StageRun:
        scan = models.Scan(
            tool_version="bench",
            generated_at="2026-01-15T12:00:00Z",
            inventory="benchmarks/inventory.yaml",
            resolvers=("127.0.0.1:53",),
            endpoints=tuple(sorted(endpoints, key=lambda e: e.key)),
        )
        html, seconds = best_of(
            REPEAT, lambda: report.render(scan, "html", lang="fr", now=FIXED_NOW)
        )
        size = len(html.encode("utf-8"))
        ok = seconds < TARGET_HTML_SECONDS and size < TARGET_HTML_BYTES
        return StageRun(
            f"HTML report ({len(endpoints)} endpoints)",
            f"{seconds:.2f} s, {size / 2**20:.2f} MB",
            target,
            ok,
            "lang=fr",
            {"seconds": seconds, "bytes": float(size)},
        )

    return stage_or_na(
        f"HTML report ({len(endpoints)} endpoints)",
        target,
        ["sovaudit.report", "sovaudit.models"],
        body,
    )


def offline_stages(evidence: Path | None, count: int = 10_000) -> list[StageRun]:
    """Every offline stage on ``count`` endpoints, each one guarded."""
    runs = [bench_asn()]
    endpoints, origin = load_endpoints(evidence, count)
    attribution, attributed = bench_attribution(endpoints)
    runs.append(replace_detail(attribution, f"{origin}; "))
    if attributed is None:
        attributed = synthetic_attributions(endpoints)
    rules, evaluated = bench_rules(attributed)
    runs.append(rules)
    runs.append(bench_html(evaluated if evaluated is not None else attributed))
    return runs


def replace_detail(run: StageRun, prefix: str) -> StageRun:
    """``run`` with ``prefix`` put before its detail."""
    from dataclasses import replace

    return replace(run, detail=prefix + run.detail)


# -- tables --------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str = ",.0f") -> str:
    return "-" if value is None else format(value, spec)


def fastest_adns(runs: Sequence[DnsRun]) -> dict[tuple[int, float], DnsRun]:
    """The fastest adnshost run per (hosts, delay): the reference sovaudit is compared with."""
    best: dict[tuple[int, float], DnsRun] = {}
    for r in runs:
        if r.tool != "adnshost" or not r.names_per_s:
            continue
        key = (r.hosts, r.delay_ms)
        if key not in best or r.names_per_s > (best[key].names_per_s or 0):
            best[key] = r
    return best


def dns_table(runs: Sequence[DnsRun]) -> str:
    """Markdown table of DNS runs, with the ratio to adnshost at the same size and delay."""
    adns = {k: r.names_per_s for k, r in fastest_adns(runs).items()}
    head = (
        "| hosts | RTT added | tool | what | time (s) | names/s | vs adnshost | queries "
        "| resolved | NXDOMAIN | failed | peak RSS MB |"
    )
    lines = [head, "|" + "---|" * 12]
    for r in runs:
        ref = adns.get((r.hosts, r.delay_ms))
        ratio = (
            f"{r.names_per_s / ref:.2f}" if r.tool == "sovaudit" and ref and r.names_per_s else ""
        )
        lines.append(
            f"| {r.hosts} | {r.delay_ms:g} ms | {r.tool} | {r.what} | {_fmt(r.seconds, '.2f')} "
            f"| {_fmt(r.names_per_s)} | {ratio} | {_fmt(r.queries)} | {_fmt(r.resolved)} "
            f"| {_fmt(r.nxdomain)} | {_fmt(r.failed)} | {_fmt(r.rss_mb, '.0f')} |"
        )
    return "\n".join(lines)


def stage_table(runs: Sequence[StageRun]) -> str:
    """Markdown table of targets and offline stages."""
    lines = ["| stage | measured | target | met | detail |", "|---|---|---|---|---|"]
    for r in runs:
        met = "-" if r.ok is None else ("yes" if r.ok else "**NO**")
        lines.append(f"| {r.stage} | {r.value} | {r.target} | {met} | {r.detail} |")
    return "\n".join(lines)


def dns_targets(runs: Sequence[DnsRun], delay: float) -> list[StageRun]:
    """The DNS targets of issue 8, checked on the runs that were made."""
    out: list[StageRun] = []
    adns = fastest_adns(runs)
    for r in runs:
        if r.tool != "sovaudit" or not r.names_per_s:
            continue
        ref = adns.get((r.hosts, r.delay_ms))
        if ref is not None and ref.names_per_s and r.delay_ms == 0:
            ratio = r.names_per_s / ref.names_per_s
            out.append(
                StageRun(
                    f"{r.what}, {r.hosts} hosts",
                    f"{ratio:.2f} x adnshost",
                    f">= {TARGET_RATIO_ADNS:.2f} x adnshost",
                    ratio >= TARGET_RATIO_ADNS,
                    f"{r.names_per_s:,.0f} vs {ref.names_per_s:,.0f} names/s",
                )
            )
        if r.delay_ms and r.hosts == 10_000 and r.seconds is not None:
            out.append(
                StageRun(
                    f"{r.what}, 10000 hosts, +{delay * 1000:g} ms RTT",
                    f"{r.seconds:.2f} s",
                    f"< {TARGET_DELAYED_SECONDS:g} s",
                    r.seconds < TARGET_DELAYED_SECONDS,
                )
            )
    digs = {(r.hosts, r.delay_ms): r for r in runs if r.tool == "dig -f" and r.names_per_s}
    for r in runs:
        dig = digs.get((r.hosts, r.delay_ms))
        if r.tool != SCAN_TOOL or not r.names_per_s or dig is None or not dig.names_per_s:
            continue
        ratio = r.names_per_s / dig.names_per_s
        out.append(
            StageRun(
                f"{r.what}, {r.hosts} hosts",
                f"{ratio:.2f} x dig -f",
                f"> {TARGET_RATIO_DIG:g} x dig -f (A+AAAA, sequential)",
                ratio > TARGET_RATIO_DIG,
                f"{r.names_per_s:,.0f} vs {dig.names_per_s:,.0f} names/s; "
                f"peak RSS {_fmt(r.rss_mb, '.0f')} MB",
                {"ratio": ratio, "names_per_s": r.names_per_s, "dig_names_per_s": dig.names_per_s},
            )
        )
    collects = [
        r
        for r in runs
        if r.tool == "sovaudit"
        and r.rss_mb is not None
        and r.hosts >= 100_000
        and r.what.startswith("collect_all")
        and not r.delay_ms
    ]
    for r in collects:
        assert r.rss_mb is not None
        out.append(
            StageRun(
                f"peak RSS, {r.what}, {r.hosts} hosts",
                f"{r.rss_mb:.0f} MB",
                f"< {TARGET_RSS_MB:g} MB",
                r.rss_mb < TARGET_RSS_MB,
                "ru_maxrss of the worker process",
            )
        )
    return out


def machine() -> str:
    """One line describing the CPU, Python and kernel."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} CPU ({cpu}), Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


# -- main ----------------------------------------------------------------------------------------


@dataclass
class Plan:
    sizes: list[int]
    delay: float
    delay_hosts: int
    dig_max: int
    dnsperf_seconds: float
    workdir: Path
    alt_ip: str
    install: bool
    concurrency: int
    rcvbuf: int = 0
    whole_max: int = 10_000
    scan_max: int = 10_000  # the whole-scan CLI rows run up to this size (0: never)


class RunLog(list[DnsRun]):
    """The runs so far; each one is also printed and appended to a JSON-lines file as it ends,
    so a long run interrupted halfway keeps its figures."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def append(self, run: DnsRun, /) -> None:
        super().append(run)
        rate = f"{run.names_per_s:,.0f} names/s" if run.names_per_s else run.note
        print(f"# {run.hosts} {run.tool} {run.what} +{run.delay_ms:g} ms: {rate}", file=sys.stderr)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({**asdict(run), "names_per_s": run.names_per_s}) + "\n")

    def extend(self, runs: Iterable[DnsRun], /) -> None:
        for run in runs:
            self.append(run)


def run_dns(plan: Plan, tools: dict[str, str | None]) -> tuple[list[DnsRun], Path | None]:
    """Every DNS measurement for every size; returns the runs and a 10k-target evidence file."""
    runs = RunLog(plan.workdir / "progress.jsonl")
    evidence: Path | None = None
    for n in plan.sizes:
        zdir = plan.workdir / f"z{n}"
        print(f"# {n} hosts: generating zones in {zdir}", file=sys.stderr)
        expected: Expected = generate(n, zdir)
        hosts_file = zdir / "hosts.txt"
        if tools["nsd"] is None:
            runs.append(DnsRun("nsd", "not installed", n, None, note="n/a"))
            continue
        port = free_port()
        with Nsd(zdir, port, alt_ip=plan.alt_ip if tools["adnshost"] else None):
            resolver = f"127.0.0.1:{port}"
            print(f"# {n} hosts: nsd on {resolver} ({expected.zones} zones)", file=sys.stderr)
            if tools["dnsperf"]:
                runs.append(
                    run_dnsperf(
                        tools["dnsperf"], zdir / "dnsperf.txt", port, n, plan.dnsperf_seconds
                    )
                )
            if tools["adnshost"]:
                runs.extend(
                    best_adnshost(
                        tools["adnshost"], hosts_file, plan.alt_ip, n, 0.0, plan.whole_max
                    )
                )
            if tools["dig"] and n <= plan.dig_max:
                runs.append(run_dig(tools["dig"], zdir / "dig.txt", port, n))
            runs.append(sovaudit_chain(hosts_file, resolver, n, concurrency=plan.concurrency))
            ev = plan.workdir / f"evidence-{n}.json" if n >= 10_000 and evidence is None else None
            runs.append(
                sovaudit_collect(
                    zdir / "inventory.yaml", resolver, n, evidence=ev, concurrency=plan.concurrency
                )
            )
            if ev is not None:
                evidence = ev
            if n <= plan.scan_max:
                runs.append(
                    sovaudit_scan(
                        zdir / "inventory.yaml",
                        resolver,
                        n,
                        plan.workdir / f"scan-{n}.json",
                        concurrency=plan.concurrency,
                    )
                )
                if scan_has_stream():
                    runs.append(
                        sovaudit_scan(
                            zdir / "inventory.yaml",
                            resolver,
                            n,
                            plan.workdir / f"scan-stream-{n}.json",
                            concurrency=plan.concurrency,
                            stream=plan.workdir / f"scan-stream-{n}.jsonl",
                        )
                    )
            if plan.rcvbuf:
                runs.append(
                    sovaudit_chain(
                        hosts_file, resolver, n, concurrency=plan.concurrency, rcvbuf=plan.rcvbuf
                    )
                )
                runs.append(
                    sovaudit_collect(
                        zdir / "inventory.yaml",
                        resolver,
                        n,
                        concurrency=plan.concurrency,
                        rcvbuf=plan.rcvbuf,
                    )
                )
            if plan.delay > 0 and n == plan.delay_hosts:
                with delay_proxy(("127.0.0.1", port), plan.delay) as (phost, pport):
                    spec = f"{phost}:{pport}"
                    runs.append(
                        sovaudit_chain(
                            hosts_file, spec, n, plan.delay, concurrency=plan.concurrency
                        )
                    )
                    runs.append(
                        sovaudit_collect(
                            zdir / "inventory.yaml",
                            spec,
                            n,
                            plan.delay,
                            concurrency=plan.concurrency,
                        )
                    )
                    if plan.rcvbuf:
                        runs.append(
                            sovaudit_chain(
                                hosts_file,
                                spec,
                                n,
                                plan.delay,
                                concurrency=plan.concurrency,
                                rcvbuf=plan.rcvbuf,
                            )
                        )
                if tools["adnshost"]:
                    alt_proxy = _alt_ip_next(plan.alt_ip)
                    with delay_proxy(("127.0.0.1", port), plan.delay, (alt_proxy, 53)):
                        runs.extend(
                            best_adnshost(
                                tools["adnshost"],
                                hosts_file,
                                alt_proxy,
                                n,
                                plan.delay,
                                plan.whole_max,
                            )
                        )
        _check(runs, expected, n)
    return runs, evidence


def _alt_ip_next(ip: str) -> str:
    parts = ip.split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    return ".".join(parts)


def _check(runs: Sequence[DnsRun], expected: Expected, n: int) -> None:
    """Warn when a tool's counts disagree with what the generator wrote (a wrong fast answer)."""
    for r in runs:
        if r.hosts != n or r.tool == "dnsperf":
            continue
        if r.nxdomain is not None and r.nxdomain != expected.nxdomain:
            print(
                f"# WARNING {r.tool} {r.what}: {r.nxdomain} NXDOMAIN, expected {expected.nxdomain}",
                file=sys.stderr,
            )
        if (
            r.tool == "sovaudit"
            and r.what.startswith("DnsClient")
            and (r.resolved != expected.with_address)
        ):
            print(
                f"# WARNING sovaudit: {r.resolved} hosts with addresses, expected "
                f"{expected.with_address}",
                file=sys.stderr,
            )


def set_run_timeout(seconds: float) -> None:
    """Change the per-run timeout of DNS runs."""
    global RUN_TIMEOUT
    RUN_TIMEOUT = seconds


def main_run(argv: Sequence[str]) -> int:
    """``benchmarks/run``: every measurement, two tables on stdout, JSON on request."""
    p = argparse.ArgumentParser(prog="benchmarks/run", description="sovaudit performance harness")
    p.add_argument("--sizes", default="10000,100000", help="comma-separated host counts")
    p.add_argument("--delay", type=float, default=0.05, help="injected RTT in seconds (0: none)")
    p.add_argument("--delay-hosts", type=int, default=10_000, help="size run through the proxy")
    p.add_argument("--dig-max", type=int, default=10_000, help="skip dig -f above this size")
    p.add_argument("--dnsperf-seconds", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=256, help="DnsClient concurrency")
    p.add_argument(
        "--experiment-rcvbuf",
        type=int,
        default=0,
        help="also run sovaudit with this SO_RCVBUF (bytes; 0: do not)",
    )
    p.add_argument("--workdir", type=Path, help="where zones go (default: a temp dir)")
    p.add_argument("--alt-ip", default="127.53.8.1", help="loopback IP for adns (port 53)")
    p.add_argument("--no-install", action="store_true", help="never run apt-get")
    p.add_argument("--no-dns", action="store_true", help="offline stages only")
    p.add_argument("--offline-count", type=int, default=10_000)
    p.add_argument("--json", type=Path, help="write every figure here")
    p.add_argument("--run-timeout", type=float, default=RUN_TIMEOUT, help="seconds per DNS run")
    p.add_argument(
        "--adns-whole-max",
        type=int,
        default=10_000,
        help="above this size, skip the one-process adnshost run (its retry storms take minutes)",
    )
    p.add_argument(
        "--scan-max",
        type=int,
        default=10_000,
        help="run the whole-scan CLI rows up to this size (0: never; 100k takes minutes)",
    )
    a = p.parse_args(argv)
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix="sovaudit-bench-"))
    plan = Plan(
        sizes=[int(s) for s in a.sizes.split(",") if s],
        delay=a.delay,
        delay_hosts=a.delay_hosts,
        dig_max=a.dig_max,
        dnsperf_seconds=a.dnsperf_seconds,
        workdir=workdir,
        alt_ip=a.alt_ip,
        install=not a.no_install,
        concurrency=a.concurrency,
        rcvbuf=a.experiment_rcvbuf,
        whole_max=a.adns_whole_max,
        scan_max=a.scan_max,
    )
    set_run_timeout(a.run_timeout)
    started = time.perf_counter()
    dns_runs: list[DnsRun] = []
    evidence: Path | None = None
    tools: dict[str, str | None] = {}
    if not a.no_dns:
        tools = ensure_tools(plan.install)
        dns_runs, evidence = run_dns(plan, tools)
    stages = offline_stages(evidence, a.offline_count)
    checks = dns_targets(dns_runs, plan.delay) + stages
    print(f"## Machine\n\n{machine()}\n")
    if dns_runs:
        print("## DNS collection (same nsd, same run)\n")
        print(dns_table(dns_runs) + "\n")
    print("## Targets and offline stages\n")
    print(stage_table(checks) + "\n")
    print(f"(harness wall time {time.perf_counter() - started:.0f} s; work dir {workdir})")
    if a.json:
        a.json.write_text(
            json.dumps(
                {
                    "machine": machine(),
                    "tools": tools,
                    "dns": [{**asdict(r), "names_per_s": r.names_per_s} for r in dns_runs],
                    "stages": [asdict(s) for s in checks],
                },
                indent=1,
            ),
            encoding="utf-8",
        )
    if a.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


WORKERS: dict[str, Callable[[Sequence[str]], dict[str, Any]]] = {
    "chain": worker_chain,
    "collect": worker_collect,
    "scan": worker_scan,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: ``run [options]`` (the default) or ``worker chain|collect ...``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["worker"] and len(args) >= 2 and args[1] in WORKERS:
        print(json.dumps(WORKERS[args[1]](args[2:])))
        return 0
    if args[:1] == ["run"]:
        args = args[1:]
    return main_run(args)


if __name__ == "__main__":
    raise SystemExit(main())
