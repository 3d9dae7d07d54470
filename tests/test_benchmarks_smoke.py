"""Smoke test of the performance harness on 50 hosts (the real runs live in benchmarks/).

The generator, the resolution worker and the delay proxy run against the Python loopback
nameserver; the whole harness runs against nsd only when nsd is installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` (unlike `python -m pytest`) does not add the checkout
    sys.path.insert(0, str(ROOT))

from benchmarks.bench import StageRun, resolve_all, stage_or_na  # noqa: E402
from benchmarks.delay_proxy import DelayProxy  # noqa: E402
from benchmarks.gen_zones import generate  # noqa: E402
from sovaudit.collect.dns import DnsClient, ResolverAddress  # noqa: E402
from sovaudit.demo.nameserver import LoopbackNameserver  # noqa: E402
from sovaudit.inventory import load_inventory  # noqa: E402
from sovaudit.models import Layer  # noqa: E402


@pytest.fixture(scope="module")
def zones(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("zones")
    generate(50, out)
    return out


def test_generator_writes_consistent_files(zones: Path) -> None:
    from benchmarks.gen_zones import read_expected

    expected = read_expected(zones)
    hosts = (zones / "hosts.txt").read_text().split()
    assert expected.hosts == len(hosts) == 50
    assert len(set(hosts)) == 50
    assert expected.nxdomain + expected.nodata + expected.with_address == 50
    assert len((zones / "dig.txt").read_text().splitlines()) == 100
    origins = (zones / "zones.txt").read_text().split()
    assert len(origins) == expected.zones
    assert all((zones / f"{o}.zone").is_file() for o in origins)
    # The same seed gives the same zones: figures are comparable between runs.
    again = zones.parent / "again"
    generate(50, again)
    assert (again / "o0.bench.test.zone").read_text() == (zones / "o0.bench.test.zone").read_text()
    inventory = load_inventory(zones / "inventory.yaml")
    targets = inventory.targets()
    # Each host is a web service; each organization's domain adds apex, www, mail and dns.
    assert len(targets) == 50 + 4 * expected.organizations
    assert {t.layer for t in targets} == {Layer.WEB, Layer.MAIL, Layer.DNS}


def test_resolve_all_finds_what_the_generator_wrote(zones: Path) -> None:
    from benchmarks.gen_zones import read_expected

    expected = read_expected(zones)
    hosts = (zones / "hosts.txt").read_text().split()
    with LoopbackNameserver.from_zone_dir(zones) as ns:
        result = asyncio.run(resolve_all(hosts, ns.spec))
    assert result["hosts"] == 50
    assert result["resolved"] == expected.with_address
    assert result["nxdomain"] == expected.nxdomain
    assert result["failed"] == 0
    assert result["timeouts"] == 0
    # CNAME targets are shared between hosts: the client's cache must have been used.
    assert result["cache_hits"] > 0


def test_delay_proxy_adds_the_round_trip_delay(zones: Path) -> None:
    delay = 0.2

    async def ask(port: int) -> tuple[float, Any]:
        async with DnsClient([ResolverAddress("127.0.0.1", port)], timeout=2, retries=0) as c:
            start = time.perf_counter()
            answer = await c.query("o0.bench.test", "SOA")
            return time.perf_counter() - start, answer

    async def run(upstream: int) -> tuple[float, Any, float, Any, int]:
        proxy = await DelayProxy(("127.0.0.1", upstream), delay).start()
        try:
            direct = await ask(upstream)
            delayed = await ask(proxy.address[1])
        finally:
            proxy.close()
        return (*direct, *delayed, proxy.replied)

    with LoopbackNameserver.from_zone_dir(zones) as ns:
        direct_s, direct, delayed_s, delayed, replied = asyncio.run(run(ns.port))
    assert direct.rcode == delayed.rcode == "NOERROR"
    assert delayed.records()[0].answers == direct.records()[0].answers
    assert replied == 1
    assert direct_s < delay
    assert delayed_s >= delay


def test_a_stage_that_does_not_import_is_reported_not_raised() -> None:
    called: list[str] = []

    def body(*_mods: object) -> StageRun:
        called.append("yes")
        return StageRun("x", "1", "t", True)

    missing = stage_or_na("x", "t", ["sovaudit.no_such_stage"], body)
    assert missing.value == "n/a (not importable)"
    assert missing.ok is None
    assert "sovaudit.no_such_stage" in missing.detail
    assert called == []

    def broken(_mod: object) -> StageRun:
        raise KeyError("boom")

    failed = stage_or_na("y", "t", ["json"], broken)
    assert failed.value == "error: KeyError"
    assert failed.ok is None


@pytest.mark.skipif(
    shutil.which("nsd", path="/usr/sbin:/usr/bin") is None,
    reason="nsd is not installed (benchmarks/run installs it)",
)
def test_whole_harness_on_nsd(tmp_path: Path) -> None:
    options = "--sizes 50 --delay 0 --no-install --offline-count 50 --dnsperf-seconds 0.5"
    options += " --experiment-rcvbuf 0 --dig-max 50"
    # A loopback address of this process's own for adns (port 53): parallel runs do not clash.
    alt_ip = f"127.53.{os.getpid() % 250}.1"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", "run", *options.split()]
        + ["--workdir", str(tmp_path), "--json", str(tmp_path / "out.json"), "--alt-ip", alt_ip],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads((tmp_path / "out.json").read_text())
    runs = {(r["tool"], r["what"].split(" (")[0]): r for r in data["dns"]}
    chain = runs[("sovaudit", "DnsClient.resolve_chain")]
    assert chain["hosts"] == 50 and chain["failed"] == 0 and chain["names_per_s"] > 0
    assert runs[("sovaudit", "collect_all")]["rss_mb"] > 0
    assert "| sovaudit |" in proc.stdout
    assert {s["stage"] for s in data["stages"]} >= {"IP -> ASN (offline table)", "Rule evaluation"}
