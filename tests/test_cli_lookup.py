"""``sovaudit lookup`` through the real command: the answer in one line first, exit codes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from sovaudit.demo.nameserver import LoopbackNameserver


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LANG": "C", "LC_ALL": "C"}
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", "lookup", *args], capture_output=True, text=True,
        timeout=60, env=env,
    )


def dead_port() -> int:
    """A loopback UDP port nobody listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_host_answer_comes_first_in_one_line(nameserver: LoopbackNameserver) -> None:
    proc = run("www.sante.test", "-r", nameserver.spec)
    assert proc.returncode == 0, proc.stderr
    first, *rest = proc.stdout.splitlines()
    assert first == (
        "www.sante.test -> Azure Front Door / Azure CDN, Microsoft Azure -> "
        "Microsoft Corporation (US), via CNAME sante-portal.azurefd.net and AS8075"
    )
    assert any("Evidence" in line for line in rest)  # the tables follow


def test_brief_prints_the_line_only(nameserver: LoopbackNameserver) -> None:
    proc = run("www.sante.test", "-r", nameserver.spec, "--brief")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1 and "-> Microsoft Corporation (US)" in proc.stdout
    asn = run("AS5769", "--brief")
    assert asn.returncode == 0, asn.stderr
    assert asn.stdout.startswith("AS5769 -> Vidéotron -> ")
    assert "(CA)" in asn.stdout


def test_dead_resolver_is_exit_2_not_an_unknown_name() -> None:
    proc = run("www.sante.test", "-r", f"127.0.0.1:{dead_port()}", "--timeout", "0.5")
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "no resolver answers" in proc.stderr
    assert "not resolved" not in proc.stdout + proc.stderr


def test_one_dead_resolver_of_two_is_dropped_with_a_warning(
    nameserver: LoopbackNameserver,
) -> None:
    dead = f"127.0.0.1:{dead_port()}"
    proc = run("sante.test", "-r", dead, "-r", nameserver.spec, "--brief", "--timeout", "0.5")
    assert proc.returncode == 0, proc.stderr
    assert f"resolver(s) not answering, not used: {dead}" in proc.stderr
    assert "Microsoft Corporation (US)" in proc.stdout


def test_a_name_that_does_not_exist_says_so_as_a_host(nameserver: LoopbackNameserver) -> None:
    proc = run("nx.sante.test", "-r", nameserver.spec)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == (
        "nx.sante.test -> unknown (not resolved: no such name (NXDOMAIN))"
    )
    assert "(cname)" not in proc.stdout and "nx.sante.test (host)" in proc.stdout
