"""The `sovaudit` command end to end, as a user runs it (a real process, a real nameserver)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sovaudit.demo.nameserver import LoopbackNameserver

INVENTORY = """\
version: 1
organizations:
  - id: sante
    name: Santé Test
    data_classes: [health, personal]
    domains: [sante.test]
    services:
      - name: Portail
        host: portail.sante.test
      - name: Broken
        host: servfail.faults.test
"""


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def test_scan_writes_json_evidence_and_markdown(
    nameserver: LoopbackNameserver, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(INVENTORY, encoding="utf-8")
    out = tmp_path / "out"
    proc = run("scan", str(inv), "--resolver", nameserver.spec, "--timeout", "0.5",
               "--retries", "0", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["schema_version"] == "1"
    assert data["tool"]["name"] == "sovaudit"
    assert data["resolvers"] == [nameserver.spec]
    by_key = {(e["host"], e["layer"]): e for e in data["endpoints"]}
    portail = by_key[("portail.sante.test", "web")]
    assert portail["status"] == "ok"
    assert portail["addresses"] == ["13.107.246.40", "2620:1ec:bdf::40"]
    assert portail["source"] == {"file": str(inv), "line": 8}
    broken = by_key[("servfail.faults.test", "web")]
    assert broken["status"] == "unknown" and "SERVFAIL" in broken["reason"]
    assert by_key[("sante.test", "mail")]["details"]["mx"][0]["host"] == (
        "sante-test.mail.protection.outlook.com"
    )
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "portail.sante.test" in md
    # The 7th is the domain endpoint of sante.test: skipped, .test is a reserved TLD.
    assert "7 endpoints: 5 ok, 1 unknown, 1 skipped" in proc.stderr
    assert by_key[("sante.test", "domain")]["status"] == "skipped"


def test_plain_list_from_stdin_to_stdout(nameserver: LoopbackNameserver) -> None:
    proc = run("scan", "-", "--resolver", nameserver.spec, "--format", "json", "-q",
               stdin="sante.test\n")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {e["host"] for e in data["endpoints"]} == {"sante.test", "www.sante.test"}
    assert {e["layer"] for e in data["endpoints"]} == {"web", "mail", "dns", "domain"}


def test_bad_inventory_is_one_line_exit_2(tmp_path: Path) -> None:
    inv = tmp_path / "bad.yaml"
    inv.write_text("version: 1\norganizations:\n  - id: a\n    domain: [a.test]\n")
    proc = run("scan", str(inv), "--resolver", "127.0.0.1:9")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{inv}:4: unknown key 'domain'" in lines[0]
    assert "Traceback" not in proc.stderr


def test_unreachable_resolver_fails_fast_with_exit_2(tmp_path: Path) -> None:
    import socket
    import time

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    inv = tmp_path / "inv.txt"
    inv.write_text("example.test\n")
    start = time.monotonic()
    proc = run("scan", str(inv), "--resolver", f"127.0.0.1:{port}")
    assert time.monotonic() - start < 10  # includes interpreter start-up
    assert proc.returncode == 2
    assert "no resolver answers" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_resolver_and_format_are_usage_errors(tmp_path: Path) -> None:
    inv = tmp_path / "inv.txt"
    inv.write_text("example.test\n")
    proc = run("scan", str(inv), "--resolver", "dns.google")
    assert proc.returncode == 2 and "not an IP address" in proc.stderr
    proc = run("scan", str(inv), "--resolver", "127.0.0.1", "-o", str(tmp_path / "x.pdf"))
    assert proc.returncode == 2 and "cannot tell the format" in proc.stderr


def test_version() -> None:
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("sovaudit ")
