"""Interrupting a scan (SIGINT, SIGTERM) and resuming it, through the real CLI process.

The zone is slow on purpose (every name has a ``delay`` fault) so that the signal lands in the
middle of the scan; the faults are cleared before resuming so the rest is fast.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sovaudit.collect.dns import ResolverAddress
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.inventory import load_inventory
from sovaudit.pipeline.options import ScanOptions
from sovaudit.pipeline.run import scan

HOSTS = 16
DELAY = "delay:0.2"


def _zone() -> str:
    lines = ["$TTL 300", "@ IN SOA ns1 h 1 3600 600 86400 300"]
    lines += [f"s{i} IN A 203.0.113.{i + 1}" for i in range(HOSTS)]
    return "\n".join(lines) + "\n"


def _inventory(tmp_path: Path) -> Path:
    services = "\n".join(
        f"      - {{name: S{i}, host: s{i}.slow.test}}" for i in range(HOSTS)
    )
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "version: 1\norganizations:\n  - id: slow\n    data_classes: [health]\n"
        f"    services:\n{services}\n",
        encoding="utf-8",
    )
    return inv


@pytest.fixture()
def slow_ns() -> Iterator[LoopbackNameserver]:
    faults = {f"s{i}.slow.test.": DELAY for i in range(HOSTS)}
    with LoopbackNameserver.from_zone_texts({"slow.test.": _zone()}, faults=faults) as ns:
        yield ns


def _scan_args(inv: Path, ns: LoopbackNameserver, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "sovaudit", "scan", str(inv), "--resolver", ns.spec,
        "--timeout", "2", "--retries", "0", "--concurrency", "2", "-o", str(out), *extra,
    ]


def _wait_for_progress(ns: LoopbackNameserver) -> None:
    """Wait until some endpoints are complete: every A is asked first, then the AAAA."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sum(n for (_name, qtype), n in ns.asked.items() if qtype == "AAAA") >= 6:
            time.sleep(0.3)  # the AAAA answers (0.2 s delay) arrive
            return
        time.sleep(0.02)
    raise AssertionError("the scan made no progress")


class _Watcher(threading.Thread):
    """Reads the output file as fast as it can; every read must be complete, parseable JSON."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.reads = 0
        self.broken: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                continue
            self.reads += 1
            try:
                json.loads(text)
            except ValueError:
                self.broken.append(text[-80:])


def _strip_times(endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for e in endpoints:
        for rec in e["records"]:
            rec.pop("timestamp")
    return endpoints


def _interrupt(
    ns: LoopbackNameserver, inv: Path, out: Path, signum: signal.Signals
) -> tuple[int, str, _Watcher]:
    """Start a scan, send ``signum`` once some endpoints are done; watch the output meanwhile."""
    watcher = _Watcher(out)
    watcher.start()
    proc = subprocess.Popen(
        _scan_args(inv, ns, out, "-q"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for_progress(ns)
        proc.send_signal(signum)
        _stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    time.sleep(0.05)
    watcher.stop.set()
    watcher.join()
    return proc.returncode, stderr, watcher


def _check_partial(out: Path, rc: int, stderr: str, watcher: _Watcher) -> dict[str, Any]:
    assert rc == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted: partial evidence written; continue with --resume" in stderr
    assert watcher.broken == []  # never a half-written file, however often it was read
    assert watcher.reads >= 1
    # Nothing half-written left behind: the temporary file was renamed or removed.
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name, "inv.yaml"]
    partial: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    assert partial["partial"] is True
    assert 1 <= len(partial["endpoints"]) < HOSTS
    assert all(e["status"] == "ok" for e in partial["endpoints"])
    return partial


def test_sigint_then_resume_asks_only_the_rest_and_equals_a_full_scan(
    slow_ns: LoopbackNameserver, tmp_path: Path
) -> None:
    inv = _inventory(tmp_path)
    out = tmp_path / "evidence.json"
    rc, stderr, watcher = _interrupt(slow_ns, inv, out, signal.SIGINT)
    partial = _check_partial(out, rc, stderr, watcher)
    done = {e["host"] for e in partial["endpoints"]}

    # Resume with a fast network: what is done is not asked again.
    for i in range(HOSTS):
        slow_ns.set_fault(f"s{i}.slow.test.", None)
    slow_ns.asked.clear()
    before = slow_ns.queries
    final = tmp_path / "final.json"
    resumed = subprocess.run(
        _scan_args(inv, slow_ns, final, "-q", "--resume", str(out)),
        capture_output=True, text=True, timeout=60,
    )
    assert resumed.returncode == 0, resumed.stderr
    asked_hosts = {name for name, _type in slow_ns.asked if name.endswith(".slow.test")}
    assert asked_hosts == {f"s{i}.slow.test" for i in range(HOSTS)} - done
    # A and AAAA per remaining host, plus the resolver check (one SOA question).
    assert slow_ns.queries - before == 2 * (HOSTS - len(done)) + 1
    result = json.loads(final.read_text(encoding="utf-8"))
    assert result["partial"] is False
    assert len(result["endpoints"]) == HOSTS

    # The resumed result equals a full scan (timestamps aside), run here through the library.
    options = ScanOptions(
        resolvers=(ResolverAddress.parse(slow_ns.spec),),
        timeout=2,
        retries=0,
        concurrency=2,
        lang=result["options"]["lang"],
    )
    full = scan(load_inventory(inv), options, now=datetime.now(UTC)).to_dict()
    assert _strip_times(result["endpoints"]) == _strip_times(full["endpoints"])
    assert result["datasets"] == full["datasets"]


def test_sigterm_with_html_output_still_writes_resumable_evidence(
    slow_ns: LoopbackNameserver, tmp_path: Path
) -> None:
    """SIGTERM (a cancelled CI job) acts like Ctrl-C; --resume needs JSON even for -o x.html."""
    inv = _inventory(tmp_path)
    out = tmp_path / "report.html"
    evidence = tmp_path / "report.partial.json"
    watcher = _Watcher(evidence)
    watcher.start()
    rc, stderr, _html_watcher = _interrupt(slow_ns, inv, out, signal.SIGTERM)
    watcher.stop.set()
    watcher.join()
    assert rc == 130, stderr
    assert "Traceback" not in stderr
    assert watcher.broken == []
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "inv.yaml", "report.html", "report.partial.json"
    ]
    data = json.loads(evidence.read_text(encoding="utf-8"))
    assert data["partial"] is True and 1 <= len(data["endpoints"]) < HOSTS
    assert "<html" in out.read_text(encoding="utf-8").lower()
