"""Help that reads like a manual; rule ids as people type them; colour helpers."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer
from rich.console import Console

from sovaudit.cli import app
from sovaudit.cli.helpdoc import SCAN_PANELS
from sovaudit.cli.style import colour_text, jurisdiction_group


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "140", "LANG": "C", "LC_ALL": "C"}
    return subprocess.run([sys.executable, "-m", "sovaudit", *args], capture_output=True,
                          text=True, timeout=60, env=env, input=stdin)


def _commands() -> list[list[str]]:
    root = typer.main.get_command(app)
    out: list[list[str]] = [[]]
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(cmd, "commands", None)
        out += [[name, sub] for sub in subs] if subs else [[name]]
    return out


@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "sovaudit")
def test_help_has_real_metavars(command: list[str]) -> None:
    proc = run(*command, "--help")
    assert proc.returncode == 0, proc.stderr
    placeholders = re.findall(r"<(?:bool|str|int|float|path|list\[[^\]]*\])[^>]*>", proc.stdout)
    assert not placeholders, placeholders


def test_scan_options_are_in_panels_in_order() -> None:
    out = run("scan", "--help").stdout
    titles = re.findall(r"╭─ (\w+) ─", out)
    assert titles == ["Arguments", "Options", *SCAN_PANELS]
    assert "--timeout" in out and "SECONDS" in out and "IP[:PORT]" in out
    options_panel = out.split("╭─ Options ─", 1)[1].split("╰", 1)[0]
    assert "--help" in options_panel and "--resolver" not in options_panel


def test_rule_ids_match_whatever_the_case_with_did_you_mean() -> None:
    ok = run("rules", "show", "us-cloud-act-mail")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("US-CLOUD-ACT-MAIL")
    typo = run("rules", "show", "US-CLOUD-ACT-MAILS")
    assert typo.returncode == 2
    assert "did you mean US-CLOUD-ACT-MAIL" in typo.stderr
    assert "QC-LAW25" not in typo.stderr  # no dump of every id
    skip = run("scan", "-", "--skip-rule", "us-cloud-act-mailx", "-r", "127.0.0.1:9",
               stdin="sante.test\n")
    assert skip.returncode == 2
    assert "did you mean US-CLOUD-ACT-MAIL" in skip.stderr


def test_demo_quiet(tmp_path: object) -> None:
    proc = run("demo", "-q", "-o", str(tmp_path), "-f", "json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_colour_text_styles_severities_and_jurisdictions() -> None:
    console = Console(force_terminal=True, color_system="standard", highlight=False)
    line = "- [high] X on mail a.test (org) moved from BCE Inc. (CA) to Microsoft (US) [x]\n"
    with console.capture() as cap:
        console.print(colour_text(line), end="", soft_wrap=True)
    out = cap.get()
    assert "\x1b[1;31m[high]\x1b[0m" in out
    assert "(\x1b[32mCA\x1b[0m)" in out and "(\x1b[1;31mUS\x1b[0m)" in out
    assert re.sub(r"\x1b\[[0-9;]*m", "", out) == line  # the text itself is unchanged
    assert [jurisdiction_group(c) for c in ("CA-QC", "US", "FR", "CN", None)] == [
        "domestic", "us", "europe", "foreign", "unknown"
    ]


def test_data_info_lists_every_dataset_in_use() -> None:
    import json

    proc = run("data", "info", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    kinds = [r["kind"] for r in rows]
    assert kinds[:4] == ["ip-asn", "asn-country", "registry", "tld"] and kinds.count("rules") >= 5
    # The last row is the knowledge base's coverage (figures, not a dataset).
    assert kinds[-1] == "coverage" and rows[-1]["ipv4_space"]["chain"] > 0
    for row in rows[:-1]:
        for key in ("name", "version", "date", "source", "licence", "counts"):
            assert row[key] not in (None, ""), (row["name"], key)
        assert all(isinstance(n, int) and n > 0 for n in row["counts"].values()), row
    registry = rows[2]
    assert registry["counts"]["operators"] > 50
    table = run("data", "info").stdout
    for name in ("ip-location-db/asn", "provider registry", "domain registry table",
                 "rules:quebec", "rules:united-states"):
        assert name in table, name
