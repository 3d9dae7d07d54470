"""Files and data loss (issue 21, classes 5 and 6), through the real CLI.

Writes never follow a link or replace a device or a FIFO; readers refuse what is not a regular
file (``/dev/zero``, a FIFO) instead of reading forever or hanging; a partial result never
replaces a complete one; a streamed file is flushed on a timer; a broken history database does
not cost the evidence.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_interrupt import _inventory, _scan_args, _wait_for_progress

from sovaudit.demo.nameserver import LoopbackNameserver

HOSTS = 16


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args], capture_output=True, text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete evidence file from the demo (no network)."""
    out = tmp_path_factory.mktemp("sample") / "good.json"
    proc = run("demo", "-o", str(out.parent), "--format", "json")
    if proc.returncode not in (0, 1) or not out.parent.joinpath("report.json").exists():
        pytest.skip(f"demo unavailable: {proc.stderr[-300:]}")
    out.parent.joinpath("report.json").rename(out)
    return out


def _one_line_error(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


# -- class 5: non-regular targets and sources ---------------------------------------------------


def test_report_refuses_to_write_through_a_link(sample: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    link = tmp_path / "report.md"
    link.symlink_to(victim)
    proc = run("report", str(sample), "-o", str(link), "-f", "md")
    _one_line_error(proc)
    assert "symbolic link" in proc.stderr
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert link.is_symlink()


def test_report_refuses_a_fifo_or_a_device_target(sample: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "out.md"
    os.mkfifo(fifo)
    proc = run("report", str(sample), "-o", str(fifo), "-f", "md", timeout=30)
    _one_line_error(proc)
    assert "FIFO" in proc.stderr
    proc = run("report", str(sample), "-o", "/dev/null", "-f", "md", timeout=30)
    _one_line_error(proc)
    assert "device" in proc.stderr
    assert Path("/dev/null").is_char_device()


@pytest.mark.parametrize("source", ["/dev/zero", "fifo", "dir"])
def test_readers_refuse_non_regular_files_at_once(tmp_path: Path, source: str) -> None:
    path = Path(source)
    if source == "fifo":
        path = tmp_path / "ev.json"
        os.mkfifo(path)
    elif source == "dir":
        path = tmp_path
    started = time.monotonic()
    for command in (["report", str(path)], ["explain", str(path), "a.example"]):
        proc = run(*command, timeout=30)
        _one_line_error(proc)
        assert "not a regular file" in proc.stderr
    assert time.monotonic() - started < 20


def test_stream_refuses_a_link_and_a_fifo(tmp_path: Path, nameserver: LoopbackNameserver) -> None:
    inv = tmp_path / "d.txt"
    inv.write_text("mail-clean.test\n", encoding="utf-8")
    victim = tmp_path / "victim.jsonl"
    victim.write_text("precious\n", encoding="utf-8")
    link = tmp_path / "ev.jsonl"
    link.symlink_to(victim)
    fifo = tmp_path / "fifo.jsonl"
    os.mkfifo(fifo)
    for target in (link, fifo):
        proc = run("scan", str(inv), "--resolver", nameserver.spec, "--no-cache",
                   "--stream", str(target), timeout=30)
        _one_line_error(proc)
        assert "refusing to write over" in proc.stderr
    assert victim.read_text(encoding="utf-8") == "precious\n"


# -- class 6: a partial result never replaces a complete one --------------------------------------


@pytest.fixture()
def slow_ns() -> Iterator[LoopbackNameserver]:
    from test_interrupt import _zone

    faults = {f"s{i}.slow.test.": "delay:0.2" for i in range(HOSTS)}
    with LoopbackNameserver.from_zone_texts({"slow.test.": _zone()}, faults=faults) as ns:
        yield ns


def _interrupted(args: list[str], ns: LoopbackNameserver, signum: int) -> tuple[int, str]:
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_progress(ns)
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err


def test_an_interrupted_scan_does_not_replace_a_complete_report(
    slow_ns: LoopbackNameserver, sample: Path, tmp_path: Path
) -> None:
    good = tmp_path / "good.json"
    good.write_bytes(sample.read_bytes())
    rc, err = _interrupted(_scan_args(_inventory(tmp_path), slow_ns, good, "-q"), slow_ns,
                           signal.SIGINT)
    assert rc == 130, err
    assert good.read_bytes() == sample.read_bytes()  # the complete report is intact
    partial = tmp_path / "good.partial.json"
    assert json.loads(partial.read_text(encoding="utf-8"))["partial"] is True
    assert f"{good} left as it was" in " ".join(err.split())


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_a_killed_stream_leaves_the_old_file_intact(
    slow_ns: LoopbackNameserver, sample: Path, tmp_path: Path, signum: int
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text("complete earlier evidence\n", encoding="utf-8")
    args = [sys.executable, "-m", "sovaudit", "scan", str(_inventory(tmp_path)), "--resolver",
            slow_ns.spec, "--timeout", "2", "--retries", "0", "--concurrency", "2", "-q",
            "--stream", str(good)]
    rc, err = _interrupted(args, slow_ns, signum)
    assert good.read_text(encoding="utf-8") == "complete earlier evidence\n"
    partial = tmp_path / "good.partial.jsonl"
    lines = partial.read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[0])["record"] == "header"
    if signum == signal.SIGINT:
        assert rc == 130
        assert f"partial evidence in {partial}" in " ".join(err.split())


def test_the_stream_is_flushed_on_a_timer(tmp_path: Path) -> None:
    # One name answers at once, the other after 25 s: the first endpoint must be on disk within
    # about a second although no other endpoint completes meanwhile.
    zone = "$TTL 300\n@ IN SOA ns1 h 1 3600 600 86400 300\nfast IN A 203.0.113.1\n" \
           "slow IN A 203.0.113.2\n"
    faults = {"slow.timer.test.": "delay:25"}
    inv = tmp_path / "inv.yaml"
    inv.write_text("version: 1\norganizations:\n  - id: o\n    services:\n"
                   "      - {name: F, host: fast.timer.test}\n"
                   "      - {name: S, host: slow.timer.test}\n", encoding="utf-8")
    out = tmp_path / "ev.jsonl"
    with LoopbackNameserver.from_zone_texts({"timer.test.": zone}, faults=faults) as ns:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sovaudit", "scan", str(inv), "--resolver", ns.spec,
             "--timeout", "30", "--retries", "0", "-q", "--stream", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            working = tmp_path / "ev.partial.jsonl"
            deadline = time.monotonic() + 20.0  # interpreter start-up on a loaded machine
            hosts: set[str] = set()
            while time.monotonic() < deadline and "fast.timer.test" not in hosts:
                time.sleep(0.1)
                if working.exists():
                    for line in working.read_text(encoding="utf-8").splitlines():
                        try:
                            hosts.add(json.loads(line).get("host", ""))
                        except ValueError:
                            pass
            assert "fast.timer.test" in hosts
            assert "slow.timer.test" not in hosts and proc.poll() is None
        finally:
            proc.kill()
            proc.wait()


def test_a_broken_history_database_does_not_cost_the_evidence(
    tmp_path: Path, nameserver: LoopbackNameserver
) -> None:
    inv = tmp_path / "d.txt"
    inv.write_text("mail-clean.test\n", encoding="utf-8")
    history = tmp_path / "history.sqlite"
    history.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)  # a corrupt database
    out = tmp_path / "scan.json"
    proc = run("scan", str(inv), "--resolver", nameserver.spec, "--no-cache", "-o", str(out),
               "--history", str(history))
    assert proc.returncode == 2, proc.stderr
    assert "history" in proc.stderr and "evidence and reports were written" in proc.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["endpoints"]


def test_a_locked_history_database_does_not_cost_the_evidence(
    tmp_path: Path, nameserver: LoopbackNameserver
) -> None:
    inv = tmp_path / "d.txt"
    inv.write_text("mail-clean.test\n", encoding="utf-8")
    history = tmp_path / "history.sqlite"
    conn = sqlite3.connect(history)
    conn.execute("CREATE TABLE x (a)")
    conn.commit()
    conn.execute("BEGIN EXCLUSIVE")  # held while the scan runs
    out = tmp_path / "scan.json"
    try:
        proc = run("scan", str(inv), "--resolver", nameserver.spec, "--no-cache", "-o",
                   str(out), "--history", str(history), timeout=120)
    finally:
        conn.rollback()
        conn.close()
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "locked" in proc.stderr
    assert out.exists()
