"""Coverage figures: computed from the data files, committed, shown by `sovaudit data info`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from sovaudit.attribute.asncountry import AsnCountryTable
from sovaudit.attribute.asntable import AsnTable, package_data_dir
from sovaudit.attribute.coverage import (
    RANKING_FILE,
    compute_coverage,
    coverage_lines,
    load_committed,
)
from sovaudit.attribute.registry import default_registry
from sovaudit.cli import data_cmd  # noqa: F401  registers `data` on the app
from sovaudit.cli.app import app

ROOT = Path(__file__).resolve().parent.parent


def _live() -> dict[str, object]:
    data = package_data_dir()
    return compute_coverage(
        AsnTable.from_files(data),
        AsnCountryTable.from_files(data),
        default_registry(),
        ranking=data / RANKING_FILE,
    )


def test_committed_coverage_is_up_to_date_and_sums_to_100() -> None:
    live = _live()
    committed = load_committed(package_data_dir())
    assert committed == json.loads(json.dumps(live)), (
        "stale sovaudit/attribute/data/coverage.json: run python scripts/coverage.py --write"
    )
    for key in ("ipv4_space", "ipv6_space", "asns"):
        shares = live[key]
        assert isinstance(shares, dict)
        total = shares["chain"] + shares["country"] + shares["none"]
        assert abs(total - 100.0) < 0.05, (key, shares)
        assert abs(shares["chain"] - shares["chain_listed"] - shares["chain_sibling"]) < 0.02
    # Every public address with an ASN has at least a country: "nothing" is a rounding error.
    v4 = live["ipv4_space"]
    assert isinstance(v4, dict) and v4["chain"] + v4["country"] >= 99.9
    assert len(coverage_lines(live)) == 6


def test_data_info_shows_the_figures() -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["data", "info", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["kind"]: r for r in json.loads(result.stdout)}
    assert rows["coverage"]["origin"] == "package"
    assert rows["coverage"]["command"] == "python scripts/coverage.py --write"
    text = runner.invoke(app, ["data", "info"]).output
    assert "announced IPv4 space" in text and "registry facts verified" in text


def test_script_prints_the_figures() -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "coverage.py"), "--top", "50"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    assert "announced IPv4 space: chain" in out.stdout
    assert "50 largest networks" in out.stdout
