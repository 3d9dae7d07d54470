"""On a terminal (a real pty): colours by severity and jurisdiction, a progress bar with its
total right and a "writing reports" step; none of it with NO_COLOR or in a pipe."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sovaudit.demo.nameserver import LoopbackNameserver

pty = pytest.importorskip("pty")

# An SGR sequence that sets a foreground colour (30-37, 90-97, or 38;5;N / 38;2;R;G;B).
COLOUR = re.compile(r"\x1b\[(?:[0-9]+;)*(?:3[0-8]|9[0-7])(?:;[0-9]+)*m")


def in_pty(*args: str, extra_env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run sovaudit with stdout and stderr on a pseudo-terminal; return what it wrote."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CI")}
    env.update({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", "LANG": "C",
                "LC_ALL": "C", **(extra_env or {})})
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "sovaudit", *args], stdin=slave,
                            stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    proc.wait(timeout=120)
    return b"".join(chunks).decode("utf-8", "replace")


def test_rules_list_colours_severities_on_a_terminal_only() -> None:
    out = in_pty("rules", "list")
    assert COLOUR.search(out), out[:500]
    # "high" in bold red, "critical" on red: the styles of sovaudit.cli.style.
    assert re.search(r"\x1b\[1;31mhigh", out)
    no_colour = in_pty("rules", "list", extra_env={"NO_COLOR": "1"})
    assert "US-CLOUD-ACT-MAIL" in no_colour and not COLOUR.search(no_colour)
    piped = subprocess.run([sys.executable, "-m", "sovaudit", "rules", "list"],
                           capture_output=True, text=True, timeout=60)
    assert "US-CLOUD-ACT-MAIL" in piped.stdout and "\x1b[" not in piped.stdout


def test_lookup_colours_the_jurisdiction_group() -> None:
    out = in_pty("lookup", "AS8075")
    assert re.search(r"\x1b\[1;31mUS", out), out[:800]  # a US parent: bold red
    canada = in_pty("lookup", "AS5769")
    assert re.search(r"\x1b\[32mCA", canada), canada[:800]  # a Canadian parent: green


def test_progress_bar_total_and_writing_step(
    nameserver: LoopbackNameserver, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "version: 1\norganizations:\n  - id: sante\n    domains: [sante.test]\n"
        "    services:\n      - host: portail.sante.test\n", encoding="utf-8",
    )
    out = in_pty("scan", str(inv), "-r", nameserver.spec, "--timeout", "1", "-o",
                 str(tmp_path / "out"), "-f", "json", "-f", "html")
    assert "resolving" in out
    # 5 targets (4 for the domain, 1 service): the bar ends at 5/5, never past its total.
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", " ", out)
    totals = {(int(a), int(b)) for a, b in re.findall(r"\b(\d+)/(\d+)\b", plain)}
    assert (5, 5) in totals, out[-2000:]
    assert all(done <= total for done, total in totals)
    assert "writing reports" in out
    assert re.search(r"-:--:--|0:00:0\d", plain)  # the time-remaining column
    assert "endpoints: " in out and "wrote " in out


def test_progress_total_of_a_resumed_scan_leaves_out_what_is_reused() -> None:
    from sovaudit.cli.scan_cmd import progress_total
    from sovaudit.inventory import parse_inventory
    from sovaudit.models import DataClass, Endpoint, Layer, Scan, Status

    inv = parse_inventory(
        "version: 1\norganizations:\n  - id: a\n    domains: [a.test]\n", "i.yaml"
    )
    assert progress_total(inv, None) == 4  # apex and www (web), mail, dns

    def done(host: str, layer: Layer, status: Status) -> Endpoint:
        return Endpoint("a", "a.test", host, layer, (DataClass.PERSONAL,), status)

    resumed = Scan("0", "2026-12-03T00:00:00Z", "i.yaml", (), (
        done("a.test", Layer.WEB, Status.OK),
        done("a.test", Layer.MAIL, Status.UNKNOWN),  # unknown: asked again
    ))
    assert progress_total(inv, resumed) == 3
