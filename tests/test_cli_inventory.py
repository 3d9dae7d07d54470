"""Forgiving inventories through the real command: URLs and duplicates are warnings, every
error of a file is reported at once (FILE:LINE each), and anything wrong is still exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.inventory import MAX_ERRORS, parse_inventory

FORGIVEN = """\
version: 1
organizations:
  - id: sante
    name: Santé
    domains:
      - https://www.sante.test/accueil
      - sante.test
    services:
      - host: https://portail.sante.test:8443/login
      - host: portail.sante.test
        data_classes: [health]
"""

BROKEN = """\
version: 1
organizations:
  - id: a
    domains:
      - bad..name
      - good.test
      - 1.2.3.4
  - id: Not Valid
    domains: [b.test]
  - id: c
    domains: [c.test]
    services:
      - host: x.c.test
        layer: teleport
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANG": "C", "LC_ALL": "C"}
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args], capture_output=True, text=True, timeout=60,
        env=env,
    )


def test_urls_and_duplicates_are_warnings_and_the_scan_runs(
    nameserver: LoopbackNameserver, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(FORGIVEN, encoding="utf-8")
    proc = run("scan", str(inv), "-r", nameserver.spec, "-f", "json", "-q", "--timeout", "1")
    assert proc.returncode == 0, proc.stderr
    err = proc.stderr.splitlines()
    assert err == [
        f"warning: {inv}:6: 'https://www.sante.test/accueil' is a URL: using its domain "
        "'sante.test'",
        f"warning: {inv}:7: duplicate domain 'sante.test' (first at line 6): merged",
        f"warning: {inv}:9: 'https://portail.sante.test:8443/login' is a URL: using its host "
        "'portail.sante.test'",
        f"warning: {inv}:10: duplicate service 'portail.sante.test' (web; first at line 9): "
        "merged",
    ]
    endpoints = json.loads(proc.stdout)["endpoints"]
    keys = sorted((e["host"], e["layer"]) for e in endpoints)
    assert keys == [("portail.sante.test", "web"), ("sante.test", "dns"),
                    ("sante.test", "domain"), ("sante.test", "mail"), ("sante.test", "web"),
                    ("www.sante.test", "web")]
    portail = next(e for e in endpoints if e["host"] == "portail.sante.test")
    # The merged service has the data classes of both entries, and the first one's line.
    assert set(portail["data_classes"]) == {"personal", "health"}
    assert portail["source"]["line"] == 9


def test_every_error_of_a_file_at_once(tmp_path: Path) -> None:
    inv = tmp_path / "bad.yaml"
    inv.write_text(BROKEN, encoding="utf-8")
    proc = run("scan", str(inv), "-r", "127.0.0.1:9")
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert [line.split(": ", 2)[1] for line in lines] == [
        f"{inv}:5", f"{inv}:7", f"{inv}:8", f"{inv}:14"
    ], proc.stderr
    assert all(line.startswith("error: ") for line in lines)
    assert "bad label" in lines[0] and "IP address" in lines[1]
    assert "invalid organization id" in lines[2] and "unknown layer 'teleport'" in lines[3]


def test_errors_are_capped(tmp_path: Path) -> None:
    inv = tmp_path / "many.txt"
    inv.write_text("".join(f"bad..{i}.test\n" for i in range(80)), encoding="utf-8")
    proc = run("scan", str(inv), "-r", "127.0.0.1:9")
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == MAX_ERRORS + 1, proc.stderr
    assert lines[0].startswith(f"error: {inv}:1: invalid host name")
    assert lines[MAX_ERRORS - 1].startswith(f"error: {inv}:{MAX_ERRORS}: ")
    assert lines[-1] == f"error: more errors not shown: fix these {MAX_ERRORS} first"


def test_plain_list_takes_urls_and_merges_duplicates() -> None:
    inv = parse_inventory(
        "https://www.ville.test/\nville.test\nhttp://ville.test/a\nportail.ville.test/x\n",
        "list.txt",
    )
    # As any list entry: a www. host is a web service, anything else a domain.
    assert sorted({t.host for t in inv.targets()}) == [
        "portail.ville.test", "ville.test", "www.portail.ville.test", "www.ville.test"
    ]
    assert inv.warnings[0] == (
        "list.txt:1: 'https://www.ville.test/' is a URL: using its host 'www.ville.test'"
    )
    assert "list.txt:3: duplicate 'ville.test' (first at line 2): merged" in inv.warnings
