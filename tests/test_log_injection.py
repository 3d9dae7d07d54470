"""Terminal and CI-log injection (issue 21, class 4), through the CLI and a hostile zone.

A zone's owner writes TXT records: DMARC ``rua`` hosts are percent-decoded, so ``%0A`` becomes a
line feed; any TXT string can hold a CR, a C1 control (U+009B, a CSI on many terminals) or a
bidi override. None of it may reach standard output as itself, and no output line may start a
GitHub Actions workflow command (``::error::``, ``::add-mask::``, ``::stop-commands::``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sovaudit.demo.nameserver import LoopbackNameserver

HOSTILE_TXT = "x\\010::error::forged-by-txt\\013\\226\\128\\174gnp.exe"  # LF, CR, U+202E
RUA = "mailto:a@evil%0A::error::forged.test,mailto:b@x%C2%9B.example,mailto:ok@reports.example"
ZONE = f"""\
$TTL 300
@      IN SOA ns.hostile.test. hostmaster.hostile.test. 1 3600 600 86400 300
@      IN NS  ns.hostile.test.
@      IN A   192.0.2.10
@      IN MX  10 mail.hostile.test.
mail   IN A   192.0.2.11
www    IN A   192.0.2.10
@      IN TXT "v=spf1 include:inc\\010::warning::spf.hostile.test -all"
@      IN TXT "{HOSTILE_TXT}"
_dmarc IN TXT "v=DMARC1; p=none; rua={RUA}"
"""

FORBIDDEN = set("\r\x9b\u202e\u2066\x1b")


@pytest.fixture(scope="module")
def zone() -> Iterator[LoopbackNameserver]:
    with LoopbackNameserver.from_zone_texts({"hostile.test.": ZONE}) as ns:
        yield ns


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args], capture_output=True, text=True, timeout=120
    )


def _assert_inert(text: str) -> None:
    assert not FORBIDDEN & set(text), [c for c in text if c in FORBIDDEN][:5]
    for line in text.splitlines():
        assert not line.lstrip().startswith("::"), line


@pytest.fixture(scope="module")
def scanned(zone: LoopbackNameserver, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("inj")
    inv = tmp / "domains.txt"
    inv.write_text("hostile.test\n", encoding="utf-8")
    proc = _run("scan", str(inv), "--resolver", zone.spec, "--no-cache", "--stream", "-")
    assert proc.returncode in (0, 1), proc.stderr
    _assert_inert(proc.stdout)  # --stream - : JSON Lines on standard output
    _assert_inert(proc.stderr)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[0]["record"] == "header" and lines[-1]["record"] == "end"
    assert "\\u202e" in proc.stdout or "\\u009b" in proc.stdout  # escaped, same JSON value
    lines_file = tmp / "scan.jsonl"
    lines_file.write_text(proc.stdout, encoding="utf-8")
    out = tmp / "scan.json"
    proc = _run("report", str(lines_file), "-f", "json", "-o", str(out))
    assert proc.returncode in (0, 1), proc.stderr
    return out


def test_discovered_hosts_are_validated_like_inventory_hosts(scanned: Path) -> None:
    data = json.loads(scanned.read_text(encoding="utf-8"))
    hosts = {e["host"] for e in data["endpoints"]}
    assert all("\n" not in h and "\x9b" not in h and ":" not in h for h in hosts), hosts
    mail = next(e for e in data["endpoints"] if e["layer"] == "mail")
    rua = mail["details"]["dmarc"]["rua"]
    dropped = [u for u in rua if u["domain"] is None]
    assert len(dropped) == 2 and all("invalid host name" in u["error"] for u in dropped), rua
    assert [u["domain"] for u in rua if u["domain"]] == ["reports.example"]
    spf = mail["details"]["spf"]
    assert spf["error"].startswith("permerror: invalid include target"), spf
    assert all("\n" not in i for i in spf["includes"])


@pytest.mark.parametrize("layer", ["mail", "web", "dns"])
def test_explain_is_inert(scanned: Path, layer: str) -> None:
    proc = _run("explain", str(scanned), "hostile.test", "--layer", layer, "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    _assert_inert(proc.stdout)


def test_report_json_and_md_to_stdout_are_inert(scanned: Path) -> None:
    for fmt in ("json", "md", "csv", "sarif"):
        proc = _run("report", str(scanned), "-f", fmt)
        assert proc.returncode in (0, 1), proc.stderr
        _assert_inert(proc.stdout)
    proc = _run("report", str(scanned), "-f", "json")
    json.loads(proc.stdout)  # still valid JSON


def test_diff_is_inert(scanned: Path, tmp_path: Path) -> None:
    empty = json.loads(scanned.read_text(encoding="utf-8"))
    empty["endpoints"] = []
    old = tmp_path / "old.json"
    old.write_text(json.dumps(empty), encoding="utf-8")
    for fmt in ("text", "md", "json"):
        proc = _run("diff", str(old), str(scanned), "-f", fmt)
        assert proc.returncode in (0, 1), proc.stderr
        _assert_inert(proc.stdout)
