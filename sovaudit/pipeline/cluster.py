"""Scans past one machine on Dask (``scan --cluster``): partitions of an inventory as Dask tasks.

The inventory is cut into organization-aligned partitions of about ``partition_targets``
targets (an organization is never split: its accepted risks and its report section stay
together). Each partition is one Dask task that runs the ordinary pipeline
(:func:`sovaudit.pipeline.run.scan`) on a worker, through the resolvers of the scan's options,
and returns its evidence; the client merges the parts with the semantics of ``sovaudit merge``.

Dask, not a scheduler of our own: it reschedules the partition of a worker that dies
(``retries``), steals work from busy workers, and serves its dashboard. ``dask[distributed]`` is
an optional dependency (``pip install 'sovaudit[cluster]'``); without it ``--cluster`` is a
usage error that names the install command.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sovaudit.errors import UserError
from sovaudit.evidence.merge import EvidencePart, merge_scans
from sovaudit.inventory import Inventory, Organization
from sovaudit.models import Scan
from sovaudit.pipeline.options import ScanOptions
from sovaudit.pipeline.run import scan

# Targets per partition: big enough that a task's overhead (a few ms of scheduling, the
# inventory and evidence pickled over TCP) is small, small enough to balance and to retry.
PARTITION_TARGETS = 2_000
# A scheduler that does not answer within this is reported as unreachable (exit 2).
CONNECT_TIMEOUT = 5.0
# A partition whose worker dies is run again this many times on another worker.
RETRIES = 2
MAX_LOCAL_WORKERS = 256
INSTALL_HINT = "pip install 'sovaudit[cluster]'"

_LOCAL = re.compile(r"^local(?::(\d{1,3}))?$")
_REMOTE = re.compile(r"^(tcp|tls|ws|wss|inproc)://\S+$")


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """Where to run: a local cluster of ``workers`` processes, or a scheduler's address."""

    address: str | None  # None: start a LocalCluster
    workers: int = 2

    def __str__(self) -> str:
        return self.address or f"local:{self.workers}"


def parse_cluster(spec: str) -> ClusterSpec:
    """``local``, ``local:N`` or a scheduler address (``tcp://host:8786``); UserError else."""
    text = spec.strip()
    m = _LOCAL.match(text)
    if m is not None:
        workers = int(m.group(1) or 2)
        if not 1 <= workers <= MAX_LOCAL_WORKERS:
            raise UserError(f"--cluster {spec}: N must be between 1 and {MAX_LOCAL_WORKERS}")
        return ClusterSpec(None, workers)
    if _REMOTE.match(text):
        return ClusterSpec(text)
    raise UserError(
        f"--cluster expects local, local:N or a scheduler address such as "
        f"tcp://scheduler:8786, not {spec!r}"
    )


def _org_targets(org: Organization, inventory: Inventory) -> int:
    return replace(inventory, organizations=(org,)).target_count()


def partitions(inventory: Inventory, size: int = PARTITION_TARGETS) -> list[Inventory]:
    """Organization-aligned slices of about ``size`` targets each, in inventory order.

    Sized by targets, not by organizations: one ministry with 3,000 services and fifty towns
    with two each make partitions of similar work. An organization larger than ``size`` is a
    partition of its own. Every organization is in exactly one partition.
    """
    size = max(1, size)
    out: list[Inventory] = []
    current: list[Organization] = []
    count = 0
    for org in inventory.organizations:
        n = _org_targets(org, inventory)
        if current and count + n > size:
            out.append(replace(inventory, organizations=tuple(current)))
            current, count = [], 0
        current.append(org)
        count += n
    if current:
        out.append(replace(inventory, organizations=tuple(current)))
    return out


def scan_partition(inventory: Inventory, options: ScanOptions, now: datetime) -> Scan:
    """One Dask task: the ordinary scan of one partition, on whichever worker runs it."""
    return scan(inventory, options, now=now)


def _dask() -> Any:
    try:
        import dask.distributed as distributed
    except ImportError:
        raise UserError(f"--cluster needs Dask: {INSTALL_HINT}") from None
    return distributed


@dataclass(frozen=True, slots=True)
class ClusterRun:
    """The merged evidence of a distributed scan and what the merge warned about."""

    scan: Scan
    warnings: tuple[str, ...]


def cluster_scan(
    inventory: Inventory,
    options: ScanOptions,
    spec: ClusterSpec,
    *,
    now: datetime,
    partition_targets: int = PARTITION_TARGETS,
    on_partition: Callable[[int], None] | None = None,
) -> ClusterRun:
    """Scan ``inventory`` on a Dask cluster; the merged evidence records how it ran.

    ``on_partition(targets)`` is called as each partition completes (a progress bar over the
    whole cluster). A scheduler that cannot be reached within :data:`CONNECT_TIMEOUT` is a
    UserError (exit 2); a partition that fails after :data:`RETRIES` reruns raises.
    """
    distributed = _dask()
    parts = partitions(inventory, partition_targets)
    with _client(distributed, spec) as client:
        workers = len(client.scheduler_info().get("workers", {}))
        futures = {
            client.submit(
                scan_partition, part, options, now, key=f"sovaudit-partition-{i}",
                retries=RETRIES, pure=False,
            ): (i, part)
            for i, part in enumerate(parts)
        }
        results: dict[int, Scan] = {}
        for future in distributed.as_completed(list(futures)):
            index, part = futures[future]
            results[index] = future.result()
            if on_partition is not None:
                on_partition(part.target_count())
    merged = merge_scans(
        [EvidencePart(f"partition {i + 1}", results[i]) for i in sorted(results)]
    )
    record = {
        "cluster": str(spec),
        "partitions": len(parts),
        "workers": workers,
        "partition_targets": partition_targets,
    }
    evidence = replace(merged.scan, options={**merged.scan.options, "cluster": record})
    return ClusterRun(evidence, merged.warnings)


def _check_reachable(address: str) -> None:
    """For ``tcp://host:port``, one TCP connection first: a refused port fails at once
    (Dask's client would retry it until its timeout). OSError when nothing answers."""
    if not address.startswith("tcp://"):
        return
    host, _, port = address[len("tcp://") :].rpartition(":")
    if not port.isdigit():
        return  # let Dask parse (and refuse) an unusual form
    with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT):
        pass


class _client:  # noqa: N801 - a context manager used like a function
    """A Dask client on ``spec``: connect to a scheduler, or start and stop a LocalCluster."""

    def __init__(self, distributed: Any, spec: ClusterSpec) -> None:
        self.distributed = distributed
        self.spec = spec
        self.cluster: Any = None
        self.client: Any = None

    def __enter__(self) -> Any:
        d = self.distributed
        if self.spec.address is None:
            # Processes, one thread each: the scan's DNS client is asyncio, CPU-bound in Python.
            self.cluster = d.LocalCluster(
                n_workers=self.spec.workers, threads_per_worker=1, processes=True,
                dashboard_address=None,
            )
            self.client = d.Client(self.cluster)
            return self.client
        try:
            _check_reachable(self.spec.address)
            self.client = d.Client(self.spec.address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise UserError(
                f"--cluster {self.spec.address}: no Dask scheduler answers there "
                f"within {CONNECT_TIMEOUT:g} s ({type(exc).__name__})"
            ) from None
        return self.client

    def __exit__(self, *exc: object) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

