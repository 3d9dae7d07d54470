"""`scan --cluster` on a real Dask cluster: two worker processes over TCP on loopback (issue 23).

The workers resolve through the loopback nameserver of the tests, like a local scan. Checked:
the distributed scan gives the evidence of one local scan; a worker killed mid-scan (its
process, by PID) loses no endpoint and duplicates none; a scheduler that does not answer is exit
2 within seconds; without Dask, ``--cluster`` names the install command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dask.distributed import Client, LocalCluster
from test_shard_merge import INVENTORY, _normalized

from sovaudit.collect.dns import ResolverAddress
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.errors import UserError
from sovaudit.inventory import parse_inventory
from sovaudit.pipeline.cluster import (
    CONNECT_TIMEOUT,
    ClusterSpec,
    cluster_scan,
    parse_cluster,
    partitions,
)
from sovaudit.pipeline.options import ScanOptions

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[LocalCluster]:
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args], capture_output=True, text=True, timeout=180
    )


def test_parse_cluster_accepts_local_and_addresses_only() -> None:
    assert parse_cluster("local") == ClusterSpec(None, 2)
    assert parse_cluster("local:3") == ClusterSpec(None, 3)
    assert parse_cluster("tcp://scheduler:8786") == ClusterSpec("tcp://scheduler:8786")
    for bad in ("local:0", "local:x", "scheduler:8786", "http://x", ""):
        with pytest.raises(UserError, match="--cluster"):
            parse_cluster(bad)


def test_partitions_follow_organizations_and_are_sized_by_targets() -> None:
    inv = parse_inventory(INVENTORY)
    sizes = {o.id: parse_inventory(INVENTORY).target_count() for o in inv.organizations}
    assert sum(p.target_count() for p in partitions(inv, 10_000)) == inv.target_count()
    assert len(partitions(inv, 10_000)) == 1
    singles = partitions(inv, 1)
    assert [tuple(o.id for o in p.organizations) for p in singles] == [
        (o.id,) for o in inv.organizations
    ]
    # Every organization in exactly one partition, in inventory order, whatever the size.
    for size in (1, 3, 5, 8, 13):
        ids = [o.id for p in partitions(inv, size) for o in p.organizations]
        assert ids == [o.id for o in inv.organizations], size
    assert sizes  # the inventory has organizations with targets


def test_a_distributed_scan_equals_one_local_scan(
    nameserver: LoopbackNameserver, dask_cluster: LocalCluster, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(INVENTORY, encoding="utf-8")
    common = ["--resolver", nameserver.spec, "--timeout", "3", "--retries", "2", "-q"]
    local, remote = tmp_path / "local.json", tmp_path / "remote.json"
    assert _cli("scan", str(inv), "-o", str(local), *common).returncode == 0
    proc = _cli(
        "scan", str(inv), "-o", str(remote), *common,
        "--cluster", dask_cluster.scheduler_address, "--partition-targets", "1",
    )
    assert proc.returncode == 0, proc.stderr
    got, want = _normalized(remote), _normalized(local)
    record = got["options"].pop("cluster")
    assert record == {
        "cluster": dask_cluster.scheduler_address, "partitions": 4, "workers": 2,
        "partition_targets": 1,
    }
    assert got == want


def test_local_cluster_from_the_command_line(
    nameserver: LoopbackNameserver, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(INVENTORY, encoding="utf-8")
    out = tmp_path / "out.json"
    proc = _cli(
        "scan", str(inv), "-o", str(out), "--resolver", nameserver.spec, "--timeout", "3",
        "-q", "--cluster", "local:2", "--partition-targets", "5", "--strict",
    )
    # servfail.faults.test is unknown: --strict gives 3, as for a local scan.
    assert proc.returncode == 3, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["options"]["cluster"]["cluster"] == "local:2"
    assert data["options"]["cluster"]["workers"] == 2
    assert {e["organization"] for e in data["endpoints"]} == {"sante", "quebec", "spf", "ville"}


SLOW_HOSTS = 6
SLOW_ORGS = 4


def _slow_zone() -> tuple[str, dict[str, str]]:
    lines = [
        "$TTL 300",
        "@ IN SOA ns.slow.test. h.slow.test. 1 3600 600 86400 300",
        "@ IN NS ns.slow.test.",
    ]
    faults: dict[str, str] = {}
    for o in range(SLOW_ORGS):
        for h in range(SLOW_HOSTS):
            lines.append(f"h{o}-{h} IN A 20.190.151.{h + 1}")
            faults[f"h{o}-{h}.slow.test."] = "delay:1.5"
    return "\n".join(lines) + "\n", faults


def _slow_inventory() -> str:
    orgs = []
    for o in range(SLOW_ORGS):
        services = "".join(
            f"      - {{name: S{h}, host: h{o}-{h}.slow.test}}\n" for h in range(SLOW_HOSTS)
        )
        orgs.append(f"  - id: org{o}\n    name: Org {o}\n    services:\n{services}")
    return "version: 1\norganizations:\n" + "".join(orgs)


def test_a_worker_killed_mid_scan_loses_and_duplicates_nothing(
    dask_cluster: LocalCluster,
) -> None:
    text, faults = _slow_zone()
    inventory = parse_inventory(_slow_inventory())
    killed: list[int] = []

    def kill_a_busy_worker(address: str) -> None:
        with Client(address) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                busy = [w for w, keys in client.processing().items() if keys]
                if busy:
                    pids: dict[str, Any] = client.run(os.getpid, workers=[busy[0]])
                    pid = pids[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
                time.sleep(0.05)

    with LoopbackNameserver.from_zone_texts({"slow.test.": text}, faults=faults) as ns:
        options = ScanOptions(
            resolvers=(ResolverAddress.parse(ns.spec),), timeout=5.0, retries=0, use_cache=False
        )
        killer = threading.Thread(
            target=kill_a_busy_worker, args=(dask_cluster.scheduler_address,)
        )
        killer.start()
        run = cluster_scan(
            inventory, options, ClusterSpec(dask_cluster.scheduler_address), now=NOW,
            partition_targets=SLOW_HOSTS,
        )
        killer.join(timeout=70)
    assert killed, "no worker was busy: the test did not kill anything"
    keys = [e.key for e in run.scan.endpoints]
    assert len(keys) == len(set(keys)) == SLOW_ORGS * SLOW_HOSTS
    assert all(e.status.value == "ok" for e in run.scan.endpoints)
    assert run.scan.options["cluster"]["partitions"] == SLOW_ORGS


def test_an_unreachable_scheduler_is_exit_2_within_seconds(
    nameserver: LoopbackNameserver, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.txt"
    inv.write_text("sante.test\n", encoding="utf-8")
    # Interpreter start-up grows with the machine's load: measured, then subtracted.
    start = time.monotonic()
    subprocess.run(
        [sys.executable, "-c", "import sovaudit.cli, dask.distributed"], check=True, timeout=120
    )
    startup = time.monotonic() - start
    with socket_closed_port() as port:
        address = f"tcp://127.0.0.1:{port}"
        start = time.monotonic()
        proc = _cli("scan", str(inv), "--resolver", nameserver.spec, "--cluster", address)
    elapsed = time.monotonic() - start - startup
    assert proc.returncode == 2, proc.stderr
    assert f"{address}: no Dask scheduler answers" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert elapsed < CONNECT_TIMEOUT + 3


def test_the_scheduler_check_names_the_address(tmp_path: Path) -> None:
    with socket_closed_port() as port:
        address = f"tcp://127.0.0.1:{port}"
        start = time.monotonic()
        with pytest.raises(UserError, match=f"{address}: no Dask scheduler answers"):
            cluster_scan(
                parse_inventory(INVENTORY),
                ScanOptions(resolvers=(ResolverAddress.parse("127.0.0.1:9"),)),
                ClusterSpec(address),
                now=NOW,
            )
    assert time.monotonic() - start < 15


def test_without_dask_the_option_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(UserError, match=r"pip install 'sovaudit\[cluster\]'"):
        cluster_scan(
            parse_inventory(INVENTORY),
            ScanOptions(resolvers=(ResolverAddress.parse("127.0.0.1:9"),)),
            ClusterSpec(None, 1),
            now=NOW,
        )


class socket_closed_port:  # noqa: N801 - used like a function
    """A loopback TCP port with nothing listening (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        s.close()
        return port

    def __exit__(self, *exc: object) -> None:
        pass
