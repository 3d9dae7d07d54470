"""The whole `sovaudit scan` against sequential `dig -f` (A+AAAA): same hosts, nsd and run.

Usage: ``python -m benchmarks.scan_vs_dig N WORKDIR`` (nsd and dig installed; ``benchmarks/run``
installs nsd). Generates N hosts with :mod:`benchmarks.gen_zones`, writes a web-only inventory
of the same hosts (1,000 services per organization), starts nsd on loopback (``rrl-ratelimit:
0``) and times, twice each: ``dig -f``, ``scan -o out.json``, ``scan --stream out.jsonl``; then
once ``scan --cluster local:2 -o out.json``. Prints one JSON object (seconds, exit codes, bytes).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.bench import Nsd


def _timed(cmd: list[str]) -> tuple[float, int]:
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=1800)
    return time.monotonic() - start, proc.returncode


def _web_inventory(hosts: list[str], path: Path) -> None:
    lines = ["version: 1", "organizations:"]
    for k in range(0, len(hosts), 1000):
        lines += [f"  - id: o{k}", f"    name: O{k}", "    services:"]
        lines += [f"      - {{name: s{i}, host: {h}}}" for i, h in enumerate(hosts[k : k + 1000])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    n, out = int(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    zones = out / f"z{n}"
    if not zones.exists():
        subprocess.run(
            [sys.executable, "-m", "benchmarks.gen_zones", str(n), str(zones)], check=True
        )
    inventory = out / f"web{n}.yaml"
    _web_inventory((zones / "hosts.txt").read_text(encoding="ascii").split(), inventory)
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    sovaudit = shutil.which("sovaudit") or "sovaudit"
    scan = [sovaudit, "scan", str(inventory), "-r", f"127.0.0.1:{port}", "-q"]
    dig = ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=2", "+noall", "+comments",
           "-f", str(zones / "dig.txt")]
    result: dict[str, Any] = {"hosts": n}
    nsd = Nsd(zones, port).start()
    try:
        for _ in range(2):
            result.setdefault("dig", []).append(_timed(dig)[0])
            result.setdefault("scan_json", []).append(_timed([*scan, "-o", str(out / "o.json")]))
            result.setdefault("scan_stream", []).append(
                _timed([*scan, "--stream", str(out / "o.jsonl")])
            )
        result["cluster_local2"] = _timed(
            [*scan, "-o", str(out / "c.json"), "--cluster", "local:2"]
        )
        result["bytes_json"] = (out / "o.json").stat().st_size
        result["bytes_jsonl"] = (out / "o.jsonl").stat().st_size
    finally:
        nsd.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
