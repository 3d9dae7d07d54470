"""Streamed evidence (``scan --stream FILE``): JSON Lines written as endpoints complete.

What must hold: the streamed file reads back as the same evidence as an in-memory scan; every
command that takes evidence takes it; a file cut short by a killed process is still readable
(partial); an interrupted streamed scan resumes; memory holds a batch of endpoints, not the scan.
"""

from __future__ import annotations

import gc
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sovaudit.collect.dns import ResolverAddress
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.errors import EvidenceError
from sovaudit.evidence.read import evidence_schema, read_evidence
from sovaudit.evidence.stream import FORMAT, EvidenceWriter, read_evidence_lines
from sovaudit.inventory import load_inventory, parse_inventory
from sovaudit.models import Endpoint, Scan
from sovaudit.pipeline.options import ScanOptions
from sovaudit.pipeline.run import STREAM_BATCH, ListSink, run_scan
from sovaudit.report import render

INVENTORY = (Path(__file__).parent / "data" / "inventories" / "four-orgs.yaml").read_text(
    encoding="utf-8"
)
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args], capture_output=True, text=True, timeout=timeout
    )


def _normalized(scan: Scan) -> dict[str, Any]:
    """Evidence with what differs between two runs blanked: times and record arrival order."""
    data = scan.to_dict()
    data["generated_at"] = ""
    for e in data["endpoints"]:
        for r in e["records"]:
            r["timestamp"] = ""
        e["records"].sort(key=lambda r: (r["name"], r["type"]))
    return data


@pytest.fixture()
def inv(tmp_path: Path) -> Path:
    path = tmp_path / "inv.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


def test_streamed_scan_reads_back_as_the_in_memory_scan(
    nameserver: LoopbackNameserver, inv: Path, tmp_path: Path
) -> None:
    common = ["--resolver", nameserver.spec, "--timeout", "3", "--retries", "2", "--lang", "en"]
    full, lines = tmp_path / "full.json", tmp_path / "ev.jsonl"
    proc = run("scan", str(inv), "-o", str(full), "-q", *common)
    assert proc.returncode == 0, proc.stderr
    proc = run("scan", str(inv), "--stream", str(lines), *common)
    # No report asked for: the evidence file is the output, and stdout stays empty.
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert f"wrote {lines}" in proc.stderr

    raw = lines.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in raw]
    assert records[0]["record"] == "header" and records[0]["format"] == FORMAT
    assert records[-1] == {**records[-1], "record": "end", "partial": False}
    assert records[-1]["endpoints"] == len(raw) - 2
    assert {r["record"] for r in records[1:-1]} == {"endpoint"}
    # Each line follows the shipped schema: the header is the evidence file without endpoints,
    # an endpoint line is the schema's endpoint plus its 'record' member.
    schema = evidence_schema()
    head = {k: v for k, v in records[0].items() if k not in ("record", "format")}
    jsonschema.validate({**head, "endpoints": []}, schema)
    endpoint_schema = {"$ref": "#/$defs/endpoint", "$defs": schema["$defs"]}
    for r in records[1:-1]:
        jsonschema.validate({k: v for k, v in r.items() if k != "record"}, endpoint_schema)

    want, got = read_evidence(full), read_evidence(lines)
    assert got.partial is False
    assert _normalized(got) == _normalized(want)
    # Every reader of evidence takes the stream: report, explain, merge, diff, --baseline.
    out = tmp_path / "out"
    proc = run("report", str(lines), "-o", str(out), "--format", "md", "--format", "html")
    assert proc.returncode == 0, proc.stderr
    assert "servfail.faults.test" in (out / "report.md").read_text(encoding="utf-8")
    proc = run("explain", str(lines), "portail.sante.test")
    assert proc.returncode == 0 and "portail.sante.test" in proc.stdout, proc.stderr
    proc = run("diff", str(full), str(lines))
    assert proc.returncode == 0, proc.stderr
    proc = run("scan", str(inv), "--stream", str(tmp_path / "again.jsonl"), "--baseline",
               str(lines), "-o", str(tmp_path / "marked.json"), "-q", *common)
    assert proc.returncode == 0, proc.stderr
    marked = json.loads((tmp_path / "marked.json").read_text(encoding="utf-8"))
    statuses = {f["status"] for e in marked["endpoints"] for f in e["findings"]}
    assert statuses == {"unchanged"}
    # The same evidence renders the same reports as the in-memory scan.
    for fmt, lang in (("md", "fr"), ("json", "en")):
        assert render(Scan.from_dict(_normalized(got)), fmt, lang=lang, now=NOW) == render(
            Scan.from_dict(_normalized(want)), fmt, lang=lang, now=NOW
        )


def test_streamed_scan_exit_codes_come_from_the_tally(
    nameserver: LoopbackNameserver, inv: Path, tmp_path: Path
) -> None:
    common = ["--resolver", nameserver.spec, "--timeout", "3", "-q"]
    # servfail.faults.test is unknown: --strict gives 3; findings exist: --fail-on info gives 1.
    proc = run("scan", str(inv), "--stream", str(tmp_path / "a.jsonl"), "--strict", *common)
    assert proc.returncode == 3, proc.stderr
    proc = run("scan", str(inv), "--stream", str(tmp_path / "b.jsonl"), "--fail-on", "info",
               *common)
    assert proc.returncode == 1, proc.stderr
    proc = run("scan", str(inv), "--stream", str(tmp_path / "c.jsonl"), *common)
    assert proc.returncode == 0, proc.stderr


def test_sharded_streams_merge_like_json_shards(
    nameserver: LoopbackNameserver, inv: Path, tmp_path: Path
) -> None:
    common = ["--resolver", nameserver.spec, "--timeout", "3", "--retries", "2", "-q",
              "--lang", "en"]
    full = tmp_path / "full.json"
    assert run("scan", str(inv), "-o", str(full), *common).returncode == 0
    for k in (1, 2):
        proc = run("scan", str(inv), "--shard", f"{k}/2", "--stream", str(tmp_path / f"{k}.jsonl"),
                   *common)
        assert proc.returncode == 0, proc.stderr
    merged = tmp_path / "all.json"
    proc = run("merge", str(tmp_path / "1.jsonl"), str(tmp_path / "2.jsonl"), "-o", str(merged))
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr
    assert _normalized(read_evidence(merged)) == _normalized(read_evidence(full))


def test_stream_refuses_to_overwrite_the_file_it_resumes(inv: Path, tmp_path: Path) -> None:
    ev = tmp_path / "ev.jsonl"
    ev.write_text("", encoding="utf-8")
    proc = run("scan", str(inv), "--stream", str(ev), "--resume", str(ev), "-r", "127.0.0.1:9")
    assert proc.returncode == 2
    assert "--stream" in proc.stderr and "give a new file" in proc.stderr
    assert "Traceback" not in proc.stderr


# -- reading files cut short or damaged -------------------------------------------------------


def _write_sample(path: Path, *, close: bool = True) -> Scan:
    sample = read_evidence(Path(__file__).parent / "data" / "evidence" / "sample.json")
    writer = EvidenceWriter(path, replace(sample, endpoints=()).to_dict())
    for e in sample.endpoints:
        writer.add([e])
    if close:
        writer.close(partial=sample.partial, datasets=sample.datasets)
    else:
        writer.abandon()
    return sample


def test_a_complete_stream_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    sample = _write_sample(path)
    ordered = tuple(sorted(sample.endpoints, key=lambda e: e.key))
    assert read_evidence(path) == replace(sample, endpoints=ordered)


def test_a_stream_cut_mid_line_reads_as_partial_with_every_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    sample = _write_sample(path, close=False)
    data = path.read_bytes()
    # A writer killed while writing its last endpoint: the line is torn, there is no 'end'.
    path.write_bytes(data[: len(data) - 40])
    got = read_evidence(path)
    assert got.partial is True
    assert len(got.endpoints) == len(sample.endpoints) - 1
    assert got.datasets == sample.datasets  # from the header
    proc = run("report", str(path), "--format", "md", "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    assert "partial" in proc.stdout.lower()


@pytest.mark.parametrize(
    ("mutate", "line", "message"),
    [
        (lambda ls: [ls[0], "{oops", *ls[1:]], 2, "invalid JSON line"),
        (lambda ls: ls[1:], 1, "not a sovaudit JSON Lines evidence file"),
        (lambda ls: [ls[0], '{"record": "mystery"}', *ls[1:]], 2, "unknown record 'mystery'"),
        (lambda ls: [*ls, ls[1]], None, "line after the 'end' record"),
        (lambda ls: [ls[0], '{"record": "endpoint", "host": "x"}'], 2, "malformed endpoint"),
        (
            lambda ls: [ls[0].replace('"schema_version":"1"', '"schema_version":"9"'), *ls[1:]],
            1,
            "schema version '9' is not supported",
        ),
    ],
)
def test_damaged_streams_name_the_file_and_line(
    tmp_path: Path, mutate: Any, line: int | None, message: str
) -> None:
    path = tmp_path / "ev.jsonl"
    _write_sample(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    # The first line stays a header whenever the case is not about the header.
    path.write_text("\n".join(mutate(lines)) + "\n", encoding="utf-8")
    with pytest.raises(EvidenceError) as info:
        read_evidence_lines(path)
    text = str(info.value)
    assert message in text
    where = f"{path}:{line if line is not None else len(lines) + 1}:"
    assert text.startswith(where), text


def test_an_overlong_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "ev.jsonl"
    _write_sample(path)
    head = path.read_text(encoding="utf-8").splitlines()[0]
    with path.open("w", encoding="utf-8") as handle:
        handle.write(head + "\n")
        handle.write('{"record": "endpoint", "host": "' + "a" * (17 * 1024 * 1024) + '"}\n')
    with pytest.raises(EvidenceError, match=r":2: line longer than"):
        read_evidence(path)


# -- interrupted streams and resume -----------------------------------------------------------

HOSTS = 16


@pytest.fixture()
def slow_ns() -> Iterator[LoopbackNameserver]:
    lines = ["$TTL 300", "@ IN SOA ns1 h 1 3600 600 86400 300"]
    lines += [f"s{i} IN A 203.0.113.{i + 1}" for i in range(HOSTS)]
    faults = {f"s{i}.slow.test.": "delay:0.2" for i in range(HOSTS)}
    zones = {"slow.test.": "\n".join(lines) + "\n"}
    with LoopbackNameserver.from_zone_texts(zones, faults=faults) as ns:
        yield ns


def _slow_inventory(tmp_path: Path) -> Path:
    services = "\n".join(f"      - {{name: S{i}, host: s{i}.slow.test}}" for i in range(HOSTS))
    inv = tmp_path / "slow.yaml"
    inv.write_text(
        f"version: 1\norganizations:\n  - id: slow\n    services:\n{services}\n", encoding="utf-8"
    )
    return inv


def _start(inv: Path, ns: LoopbackNameserver, stream: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sovaudit", "scan", str(inv), "--resolver", ns.spec, "--timeout",
         "2", "--retries", "0", "--concurrency", "2", "-q", "--stream", str(stream), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_lines(path: Path, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and path.read_text(encoding="utf-8").count("\n") >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} never reached {count} lines")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_or_killed_stream_keeps_its_endpoints_and_resumes(
    slow_ns: LoopbackNameserver, tmp_path: Path, signum: signal.Signals
) -> None:
    inv = _slow_inventory(tmp_path)
    first = tmp_path / "first.jsonl"
    # Lines go to first.partial.jsonl, renamed to first.jsonl when the scan ends (issue 21).
    working = tmp_path / "first.partial.jsonl"
    proc = _start(inv, slow_ns, first)
    try:
        # Endpoints are handed over at least every second: wait for the first ones on disk.
        _wait_for_lines(working, 3)
        proc.send_signal(signum)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if signum == signal.SIGKILL:
        assert not first.exists()  # nothing was renamed: the partial file is beside it
        first = working
    partial = read_evidence(first)
    assert partial.partial is True
    if signum == signal.SIGINT:
        assert proc.returncode == 130, err
        assert f"--resume {first} --stream NEW.jsonl" in err
        assert json.loads(first.read_text(encoding="utf-8").splitlines()[-1])["record"] == "end"
        assert 1 <= len(partial.endpoints) < HOSTS  # every completed endpoint was handed over
    else:
        assert proc.returncode == -signal.SIGKILL
        assert 2 <= len(partial.endpoints) < HOSTS
    done = {e.host for e in partial.endpoints}

    for i in range(HOSTS):
        slow_ns.set_fault(f"s{i}.slow.test.", None)
    slow_ns.asked.clear()
    second = tmp_path / "second.jsonl"
    resumed = _start(inv, slow_ns, second, "--resume", str(first))
    _out, err = resumed.communicate(timeout=60)
    assert resumed.returncode == 0, err
    asked = {name for name, _type in slow_ns.asked if name.endswith(".slow.test")}
    assert asked == {f"s{i}.slow.test" for i in range(HOSTS)} - done
    final = read_evidence(second)
    assert final.partial is False
    # issue 21: the resume source and its digest are recorded in the evidence.
    import hashlib

    digest = hashlib.sha256(first.read_bytes()).hexdigest()
    assert final.options["resumed_from"] == {"file": str(first), "sha256": digest}
    everything = sorted(f"s{i}.slow.test" for i in range(HOSTS))
    assert sorted(e.host for e in final.endpoints) == everything


# -- memory: a batch of endpoints, not the scan ------------------------------------------------


class _CountingSink:
    """Counts endpoints and, at every hand-over, how many Endpoint objects are alive."""

    def __init__(self) -> None:
        self.count = 0
        self.alive: list[int] = []

    def add(self, endpoints: Sequence[Endpoint]) -> None:
        self.count += len(endpoints)
        self.alive.append(sum(1 for o in gc.get_objects() if type(o) is Endpoint))


def test_a_streamed_run_keeps_a_bounded_number_of_endpoints_alive() -> None:
    hosts = 3_000
    zone = "$TTL 300\n@ IN SOA ns1 h 1 3600 600 86400 300\n" + "".join(
        f"h{i} IN A 198.51.100.{i % 250 + 1}\n" for i in range(hosts)
    )
    services = "".join(f"      - {{name: H{i}, host: h{i}.big.test}}\n" for i in range(hosts))
    inventory = parse_inventory(
        f"version: 1\norganizations:\n  - id: big\n    services:\n{services}", "big.yaml"
    )
    with LoopbackNameserver.from_zone_texts({"big.test.": zone}) as ns:
        options = ScanOptions(
            resolvers=(ResolverAddress.parse(ns.spec),), timeout=3, retries=2, lang="en"
        )
        sink = _CountingSink()
        result = run_scan(inventory, options, sink, started=NOW)
    assert not result.interrupted
    assert sink.count == result.tally.endpoints == hosts
    # A batch being analysed, its copy, and the targets in flight (512 at most): never the scan.
    assert max(sink.alive) < 2 * STREAM_BATCH + 600 < hosts // 2, sink.alive


def test_load_inventory_and_stream_from_a_file_path(tmp_path: Path) -> None:
    # The library entry point a batch engine would call: run_scan with the JSON Lines writer.
    path = tmp_path / "i.yaml"
    path.write_text("version: 1\norganizations:\n  - id: a\n    domains: [a.invalid]\n")
    inventory = load_inventory(str(path))
    options = ScanOptions(resolvers=(ResolverAddress.parse("127.0.0.1:9"),), lang="en",
                          timeout=0.2, retries=0)
    out = tmp_path / "ev.jsonl"
    header = Scan("0", "2026-11-25T12:00:00Z", str(path), (), ()).to_dict()
    writer = EvidenceWriter(out, header)
    result = run_scan(inventory, options, writer, started=NOW)
    writer.close(partial=result.interrupted, datasets=result.datasets)
    got = read_evidence(out)
    # Nothing answers on port 9: every endpoint is there, honestly unknown or skipped, none ok.
    assert len(got.endpoints) == result.tally.endpoints > 0
    assert {e.status.value for e in got.endpoints} <= {"unknown", "skipped"}
    assert got.datasets == result.datasets


def test_stream_to_stdout_and_unwritable_paths(
    nameserver: LoopbackNameserver, inv: Path, tmp_path: Path
) -> None:
    common = ["--resolver", nameserver.spec, "--timeout", "3", "--lang", "en"]
    # '-' streams to standard output (for jq, a queue...); the summary stays on stderr.
    proc = run("scan", str(inv), "--stream", "-", *common)
    assert proc.returncode == 0, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[0]["record"] == "header" and lines[-1]["record"] == "end"
    assert lines[-1]["endpoints"] == len(lines) - 2 > 0
    assert "endpoints:" in proc.stderr and "wrote" not in proc.stderr
    # Reports would need to read standard output back: refused before any query.
    proc = run("scan", str(inv), "--stream", "-", "-o", str(tmp_path / "r.html"), *common)
    assert proc.returncode == 2 and "--stream -: reports" in proc.stderr
    # A file that cannot be created: one line naming it, exit 2, no traceback.
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    for bad in (tmp_path, blocker / "sub" / "ev.jsonl"):
        proc = run("scan", str(inv), "--stream", str(bad), *common)
        assert proc.returncode == 2, proc.stderr
        assert f"error: {bad}: cannot write evidence file" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_network_stages_in_chunks_give_the_same_evidence_as_one_batch(
    nameserver: LoopbackNameserver, inv: Path
) -> None:
    # --probe rdap makes the run chunked (registrar answers are fetched per chunk); nothing
    # answers on port 9, so every registrar is honestly unknown, the same way in both runs.
    options = ScanOptions(
        resolvers=(ResolverAddress.parse(nameserver.spec),),
        timeout=3,
        retries=2,
        lang="en",
        probes=("rdap",),
        rdap_url="http://127.0.0.1:9",
        use_cache=False,
    )
    inventory = load_inventory(str(inv))
    runs = []
    for chunk in (None, 1):
        sink = ListSink()
        result = run_scan(inventory, options, sink, started=NOW, chunk_targets=chunk)
        assert not result.interrupted
        scan = Scan("0", "", str(inv), (), tuple(sorted(sink.endpoints, key=lambda e: e.key)))
        runs.append((_normalized(scan), result.tally.endpoints, result.datasets))
    (one, count_one, datasets_one), (many, count_many, datasets_many) = runs
    assert count_one == count_many == len(one["endpoints"]) > 0
    assert many == one
    assert datasets_many == datasets_one
