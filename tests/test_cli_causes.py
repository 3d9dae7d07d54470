"""Exit 1 and 3 say why on standard error; -o and --format that contradict are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def run(*args: str, lang: str = "C") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANG": lang, "LC_ALL": lang, "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args], capture_output=True, text=True, timeout=120,
        env=env,
    )


@pytest.fixture()
def inv(tmp_path: Path) -> Path:
    path = tmp_path / "inv.yaml"
    path.write_text(INVENTORY, encoding="utf-8")
    return path


def scan(ns: LoopbackNameserver, inv: Path, *extra: str, lang: str = "C"):  # type: ignore[no-untyped-def]
    return run("scan", str(inv), "-r", ns.spec, "--timeout", "0.5", "--retries", "0", *extra,
               lang=lang)


def test_fail_on_lists_the_findings_over_the_threshold(
    nameserver: LoopbackNameserver, inv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    proc = scan(nameserver, inv, "-o", str(out), "--fail-on", "critical")
    assert proc.returncode == 1, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    critical = {(f["rule_id"], e["host"]) for e in data["endpoints"] for f in e["findings"]
                if f["severity"] == "critical" and not f["accepted"]}
    assert critical
    err = proc.stderr
    assert f"Exit 1: {len(critical)} finding(s) at or above --fail-on critical" in err
    for rule, host in critical:
        assert any(rule in line and host in line and "critical" in line
                   for line in err.splitlines()), (rule, host, err)
    assert "high " not in err  # below the threshold: not a cause
    # The summary line counts findings by severity, most severe first.
    by_sev: dict[str, int] = {}
    for e in data["endpoints"]:
        for f in e["findings"]:
            if not f["accepted"]:
                by_sev[f["severity"]] = by_sev.get(f["severity"], 0) + 1
    assert f"findings: {by_sev['critical']} critical, {by_sev['high']} high" in err


def test_cap_and_more_line_even_with_quiet(
    nameserver: LoopbackNameserver, inv: Path, tmp_path: Path
) -> None:
    proc = scan(nameserver, inv, "-o", str(tmp_path / "r.json"), "--fail-on", "info", "-q")
    assert proc.returncode == 1
    lines = proc.stderr.splitlines()
    title = next(line for line in lines if line.startswith("Exit 1: "))
    total = int(title.split()[2])
    assert total > 20
    rows = lines[lines.index(title) + 2 : lines.index(title) + 2 + 20]
    assert all(r.split()[0] in {"critical", "high", "medium", "low", "info"} for r in rows)
    assert f"... and {total - 20} more" in proc.stderr
    assert "endpoints:" not in proc.stderr  # -q: no summary, but the causes are printed


def test_strict_lists_unknown_endpoints_with_reasons(
    nameserver: LoopbackNameserver, inv: Path, tmp_path: Path
) -> None:
    proc = scan(nameserver, inv, "-o", str(tmp_path / "r.json"), "--strict", "-q")
    assert proc.returncode == 3, proc.stderr
    assert "Exit 3 (--strict): 1 endpoint(s) unknown" in proc.stderr
    assert "web servfail.faults.test" in proc.stderr and "SERVFAIL" in proc.stderr


def test_streamed_scan_prints_causes_too(
    nameserver: LoopbackNameserver, inv: Path, tmp_path: Path
) -> None:
    proc = scan(nameserver, inv, "--stream", str(tmp_path / "e.jsonl"), "--fail-on", "critical",
                lang="fr_CA.UTF-8")
    assert proc.returncode == 1, proc.stderr
    assert "Code 1 : " in proc.stderr and "US-CLOUD-ACT-MAIL" in proc.stderr
    assert "constats : " in proc.stderr and " critique" in proc.stderr


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("y.md", "html"), ("y.html", "json"), ("y.sarif", "md"), ("y.md", "md,json")],
)
def test_format_contradicting_the_file_name_is_refused(
    tmp_path: Path, inv: Path, name: str, fmt: str
) -> None:
    formats = [a for f in fmt.split(",") for a in ("-f", f)]
    proc = run("scan", str(inv), "-o", str(tmp_path / name), *formats, "-r", "127.0.0.1:9")
    assert proc.returncode == 2, proc.stderr
    assert "contradicts -o" in proc.stderr
    assert not (tmp_path / name).exists()


def test_format_agreeing_with_the_file_name_is_fine(
    nameserver: LoopbackNameserver, inv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "y.sarif.json"
    proc = scan(nameserver, inv, "-o", str(out), "-f", "sarif", "-q")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["version"] == "2.1.0"


def test_sarif_for_code_scanning_through_the_cli(
    nameserver: LoopbackNameserver, tmp_path: Path
) -> None:
    """URIs from the repository root, one result per exposure, fingerprints stable."""
    import jsonschema

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "inventories").mkdir()
    (repo / "ci").mkdir()
    inv = repo / "inventories" / "sante.yaml"
    inv.write_text(INVENTORY, encoding="utf-8")
    logs = []
    for name in ("a.sarif", "b.sarif"):
        proc = subprocess.run(
            [sys.executable, "-m", "sovaudit", "scan", "../inventories/sante.yaml", "-r",
             nameserver.spec, "--timeout", "1", "-o", name, "-q"],
            capture_output=True, text=True, timeout=120, cwd=repo / "ci",
            env={**os.environ, "LANG": "C", "LC_ALL": "C"},
        )
        assert proc.returncode == 0, proc.stderr
        logs.append(json.loads((repo / "ci" / name).read_text(encoding="utf-8")))
    schema = json.loads(
        (Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text(
            encoding="utf-8"
        )
    )
    jsonschema.Draft4Validator(schema).validate(logs[0])
    results = logs[0]["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"inventories/sante.yaml"}
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        for r in results
    )
    # One result per endpoint and controlling party: fewer results than findings.
    keys = [(r["properties"]["host"], r["properties"]["layer"], r["properties"]["controller"])
            for r in results]
    assert len(keys) == len(set(keys))
    findings = sum(len(r["properties"]["rules"]) for r in results)
    assert len(results) < findings
    portal = next(r for r in results if r["properties"]["host"] == "portail.sante.test")
    assert portal["properties"]["controller"] == "Microsoft Corporation"
    assert "Legal bases: " in portal["message"]["text"]
    assert "US-CLOUD-ACT-HOSTING" in portal["message"]["text"]

    def prints(log: dict[str, object]) -> list[str]:
        return sorted(r["partialFingerprints"]["sovauditExposure/v1"]  # type: ignore[index]
                      for r in log["runs"][0]["results"])  # type: ignore[index]

    assert prints(logs[0]) == prints(logs[1])  # the same exposures, run after run
