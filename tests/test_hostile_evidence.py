"""Hostile evidence, history and registry answers (issue 21, class 7).

Every mutated evidence file gives one ``FILE: where: what`` line and exit 2, never a traceback;
nesting and number sizes are capped before parsing; a foreign or overflowing history database
gives one line; a registry answering 100,000 nested arrays makes that lookup unknown and the
scan goes on.
"""

from __future__ import annotations

import copy
import http.server
import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovaudit.errors import EvidenceError
from sovaudit.evidence.read import read_evidence
from sovaudit.evidence.schemacheck import evidence_problem

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
SCHEMA = json.loads(
    (Path(__file__).parent.parent / "sovaudit" / "evidence" / "schema" / "evidence.schema.json")
    .read_text(encoding="utf-8")
)


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args], capture_output=True, text=True,
        timeout=timeout,
    )


def _one_line(proc: subprocess.CompletedProcess[str], path: Path) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {path}: "), lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["endpoints"][0].update(host=None), "endpoints[0].host: expected string"),
        (lambda d: d["endpoints"][0]["records"][0].update(answers=[None]),
         "endpoints[0].records[0].answers[0]: expected string, got null"),
        (lambda d: d.update(endpoints={"a": 1}), "endpoints: expected array"),
        (lambda d: d["endpoints"].append(None), "expected object, got null"),
    ],
)
def test_mutated_evidence_gives_one_line(tmp_path: Path, mutate: Any, where: str) -> None:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "e.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    for command in (["report", str(path), "-f", "md"], ["explain", str(path), "x.example"]):
        line = _one_line(run(*command), path)
        assert where in line, line


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested deeper than"),
        ('{"schema_version": "1", "endpoints": [], "n": ' + "7" * 5000 + "}", "5000 digits"),
    ],
)
def test_nesting_and_number_caps_before_parsing(tmp_path: Path, text: str, message: str) -> None:
    for name in ("e.json", "e.jsonl"):
        path = tmp_path / name
        if name.endswith("l"):
            text = '{"record": "header", "format": "sovaudit-evidence-lines", "x": ' + text + "}"
        path.write_text(text, encoding="utf-8")
        line = _one_line(run("report", str(path)), path)
        assert message in line, line


def _mutations() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=5),
        st.floats(allow_nan=False), st.just([]), st.just({}), st.just([None]),
    )
    return leaves


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data[:3]):
            out += _paths(v, (*prefix, i))
    return out


BASE = json.loads(SAMPLE.read_text(encoding="utf-8"))
PATHS = [p for p in _paths(BASE) if p]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(PATHS), _mutations()), min_size=1, max_size=3))
def test_any_mutation_is_one_line_or_valid(tmp_path: Path, changes: list[Any]) -> None:
    data = copy.deepcopy(BASE)
    for where, value in changes:
        target = data
        try:
            for key in where[:-1]:
                target = target[key]
            target[where[-1]] = copy.deepcopy(value)
        except (KeyError, IndexError, TypeError):
            continue
    # Our validator and jsonschema agree on what the shipped schema accepts.
    ours = evidence_problem(data)
    theirs = next(iter(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data)), None)
    assert (ours is None) == (theirs is None), (ours, theirs and theirs.message)
    path = tmp_path / "e.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    try:
        read_evidence(path)
    except EvidenceError as exc:
        text = str(exc)
        assert "\n" not in text and text.startswith(f"{path}:")
    # Whatever read_evidence accepted renders without a traceback.
    else:
        from datetime import UTC, datetime

        from sovaudit.report import render

        for fmt in ("md", "csv"):
            render(read_evidence(path), fmt, lang="en", now=datetime(2026, 1, 1, tzinfo=UTC))


# -- history ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["foreign", "overflow", "text-counts", "not-sqlite"])
def test_a_foreign_or_overflowing_history_gives_one_line(tmp_path: Path, kind: str) -> None:
    db = tmp_path / "h.sqlite"
    if kind == "not-sqlite":
        db.write_bytes(b"\x00" * 5000)
    else:
        conn = sqlite3.connect(db)
        if kind == "foreign":
            conn.execute("CREATE TABLE scans (x)")
            conn.execute("CREATE TABLE counts (y)")
        else:
            conn.execute("CREATE TABLE scans (id INTEGER PRIMARY KEY, generated_at TEXT, "
                         "inventory TEXT)")
            conn.execute("CREATE TABLE counts (scan_id, organization, endpoints, attributed, "
                         "foreign_controlled, us_controlled)")
            conn.execute("INSERT INTO scans VALUES (1, '2026-01-01', 'x')")
            big = 2**63 - 1 if kind == "overflow" else "many"
            conn.execute("INSERT INTO counts VALUES (1, 'o', ?, 1, 1, 1)", (big,))
            conn.execute("INSERT INTO counts VALUES (1, 'p', ?, 1, 1, 1)", (big,))
        conn.commit()
        conn.close()
    line = _one_line(run("history", str(db)), db)
    assert "history database" in line


# -- RDAP ------------------------------------------------------------------------------------


class _Deep(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        body = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        self.send_response(200)
        self.send_header("Content-Type", "application/rdap+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def deep_registry() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Deep)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_deeply_nested_rdap_makes_one_lookup_unknown(
    deep_registry: str, nameserver: Any, tmp_path: Path
) -> None:
    import os

    inv = tmp_path / "d.txt"
    inv.write_text("example-body.com\n", encoding="utf-8")
    out = tmp_path / "scan.json"
    proc = subprocess.run(
        [sys.executable, "-m", "sovaudit", "scan", str(inv), "--resolver", nameserver.spec,
         "--no-cache", "--probe", "rdap", "--rdap-url", deep_registry, "-o", str(out)],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "SOVAUDIT_ALLOW_LOOPBACK": "1"},
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert "Traceback" not in proc.stderr
    text = out.read_text(encoding="utf-8")
    assert "nested deeper than" in text  # the reason is kept with the unknown registrar
    assert json.loads(text)["endpoints"]
