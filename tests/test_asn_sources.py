"""--asn-source: Team Cymru through the scan's own resolver (loopback), offline by default."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.errors import UserError
from sovaudit.pipeline.enrich import check_sources

DATA = Path(__file__).parent / "data"
ZONE = """$TTL 300
@   IN SOA ns1.cymrutest.test. h.cymrutest.test. 1 3600 600 86400 300
@   IN NS  ns1.cymrutest.test.
www IN A   24.200.0.1
"""


def _scan(ns: LoopbackNameserver, tmp_path: Path, *extra: str) -> dict[str, object]:
    inv = tmp_path / "inv.txt"
    inv.write_text("www.cymrutest.test\n", encoding="utf-8")
    out = tmp_path / f"out{len(extra)}.json"
    proc = subprocess.run(
        [sys.executable, "-m", "sovaudit", "scan", str(inv), "--resolver", ns.spec,
         "--format", "json", "-o", str(out), "--timeout", "1", *extra],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_cymru_answers_feed_attribution(fresh_nameserver: LoopbackNameserver,
                                       tmp_path: Path) -> None:
    fresh_nameserver.add_zone_text("cymrutest.test.", ZONE)
    fresh_nameserver.add_zone_text("asn.cymru.com.",
                                   (DATA / "asn" / "cymru.zone").read_text(encoding="utf-8"))
    before = fresh_nameserver.queries
    offline = _scan(fresh_nameserver, tmp_path)
    offline_names = fresh_nameserver.queries - before
    (ep,) = offline["endpoints"]  # type: ignore[misc]
    sources = " ".join(s["source"] for a in ep["attributions"] for s in a["evidence"])
    assert "cymru" not in sources.lower()
    assert offline["options"]["asn_sources"] == ["offline"]  # type: ignore[index]

    online = _scan(fresh_nameserver, tmp_path, "--asn-source", "cymru", "--no-cache")
    assert fresh_nameserver.queries - before > offline_names  # Cymru was asked
    (ep,) = online["endpoints"]  # type: ignore[misc]
    (addr,) = [a for a in ep["attributions"] if a["role"] == "address"]
    assert addr["asn"] == 5769
    assert addr["jurisdiction"] == "CA"
    assert any("cymru" in s["source"].lower() for s in addr["evidence"]), addr["evidence"]


def test_check_sources() -> None:
    assert check_sources([]) == ("offline",)
    assert check_sources(["cymru", "offline", "cymru"]) == ("cymru", "offline")
    with pytest.raises(UserError, match="unknown source 'whois'"):
        check_sources(["whois"])
