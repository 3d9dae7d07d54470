"""``sovaudit report`` as a user runs it: a real process, offline, byte-identical to ``scan``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.evidence.read import read_evidence
from sovaudit.report import FORMATS, render

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
GOLDEN = Path(__file__).parent / "data" / "golden"
SCAN_TIME = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # generated_at of the sample
# Until sovaudit/cli/__init__.py imports report_cmd, import it before handing over to main().
ENTRY = (
    "import sys; import sovaudit.cli.report_cmd; from sovaudit.cli import main; "
    "sys.argv[0] = 'sovaudit'; main()"
)

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
"""


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES")}
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=base | (env or {}),
    )


def test_report_to_stdout_in_the_language_of_the_environment() -> None:
    proc = run("report", str(SAMPLE), "--format", "md", env={"LANG": "fr_CA.UTF-8"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == render(read_evidence(SAMPLE), "md", lang="fr", now=SCAN_TIME)


def test_report_every_format_to_a_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = [a for f in FORMATS for a in ("-f", f)]
    proc = run("report", str(SAMPLE), "-o", str(out), "--lang", "en", *args)
    assert proc.returncode == 0, proc.stderr
    scan = read_evidence(SAMPLE)
    for fmt in FORMATS:
        written = (out / f"report.{fmt}").read_bytes()
        assert written == render(scan, fmt, lang="en", now=SCAN_TIME).encode("utf-8"), fmt
    assert (out / "report.json").read_bytes() == (GOLDEN / "report.json").read_bytes()
    assert f"wrote {out / 'report.md'}" in proc.stderr


def test_report_file_format_from_extension(tmp_path: Path) -> None:
    out = tmp_path / "audit.sarif"
    proc = run("report", str(SAMPLE), "-o", str(out), "--lang", "fr", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "2.1.0"
    assert proc.stderr == ""


def test_report_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": "1",\n "endpoints": [}\n', encoding="utf-8")
    proc = run("report", str(bad))
    assert proc.returncode == 2
    assert f"{bad}:2: invalid JSON" in proc.stderr
    proc = run("report", str(SAMPLE), "--lang", "de")
    assert proc.returncode == 2 and "unknown language 'de'" in proc.stderr
    proc = run("report", str(SAMPLE), "-f", "pdf")
    assert proc.returncode == 2 and "pdf" in proc.stderr
    proc = run("report", str(tmp_path / "missing.json"))
    assert proc.returncode == 2 and "cannot read evidence file" in proc.stderr


def test_report_reproduces_what_scan_wrote(nameserver: LoopbackNameserver, tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(INVENTORY, encoding="utf-8")
    first = tmp_path / "first"
    scan = run("scan", str(inv), "--resolver", nameserver.spec, "--timeout", "0.5",
               "--retries", "0", "--lang", "fr", "-o", str(first),
               *[a for f in FORMATS for a in ("-f", f)])
    assert scan.returncode == 0, scan.stderr
    second = tmp_path / "second"
    proc = run("report", str(first / "report.json"), "--lang", "fr", "-o", str(second),
               "--inventory", str(inv), *[a for f in FORMATS for a in ("-f", f)])
    assert proc.returncode == 0, proc.stderr
    for fmt in FORMATS:
        name = f"report.{fmt}"
        assert (second / name).read_bytes() == (first / name).read_bytes(), name


def test_report_with_history(tmp_path: Path) -> None:
    from dataclasses import replace

    from sovaudit.evidence import history

    db = tmp_path / "h.sqlite"
    scan = read_evidence(SAMPLE)
    history.append(db, replace(scan, generated_at="2026-11-18T12:00:00Z"))
    history.append(db, scan)
    proc = run("report", str(SAMPLE), "-f", "md", "--lang", "en", "--history", str(db))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == render(scan, "md", lang="en", now=SCAN_TIME,
                                 history=history.series(db))
    assert "| `2026-11-18T12:00:00Z` | 6 | 33.3 | 33.3 |" in proc.stdout
    proc = run("report", str(SAMPLE), "--history", str(tmp_path / "missing.sqlite"))
    assert proc.returncode == 2 and "no such history database" in proc.stderr


def test_report_for_one_organization(tmp_path: Path) -> None:
    proc = run("report", str(SAMPLE), "--format", "md", "--lang", "en", "--org", "sante-qc")
    assert proc.returncode == 0, proc.stderr
    assert "### Santé Québec" in proc.stdout and '<a id="org-sante-qc"></a>' in proc.stdout
    assert "Ville d'Exemple" not in proc.stdout and "hostile" not in proc.stdout
    missing = run("report", str(SAMPLE), "--format", "md", "--org", "nope")
    assert missing.returncode == 2
    assert "no organization 'nope'" in missing.stderr and "sante-qc" in missing.stderr
