#!/usr/bin/env python3
"""Measure the knowledge base's coverage: which share of the announced Internet gets which answer.

Usage::

    python scripts/coverage.py            # print the figures
    python scripts/coverage.py --write    # also write sovaudit/attribute/data/coverage.json
    python scripts/coverage.py --json     # print the JSON

Reads only the package's data files (never a user-updated table), so the figures are
reproducible from the repository: the IP -> ASN table, the ASN -> country table, the provider
registry (providers.yaml and providers.d/), and the committed ranking of the largest networks
(sovaudit/attribute/data/top-networks.tsv, written by scripts/rank_networks.py) when it exists;
without it the largest networks are the ASNs with the most announced IPv4 space. Method and
levels: sovaudit/attribute/coverage.py and docs/attribution.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sovaudit.attribute.asncountry import AsnCountryTable  # noqa: E402
from sovaudit.attribute.asntable import AsnTable, package_data_dir  # noqa: E402
from sovaudit.attribute.coverage import (  # noqa: E402
    COVERAGE_FILE,
    RANKING_FILE,
    compute_coverage,
    coverage_lines,
)
from sovaudit.attribute.registry import default_registry  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    """Compute, print and optionally write the coverage figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=300, help="number of largest networks")
    parser.add_argument("--write", action="store_true", help=f"write data/{COVERAGE_FILE}")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    data = package_data_dir()
    started = time.perf_counter()
    figures = compute_coverage(
        AsnTable.from_files(data),
        AsnCountryTable.from_files(data),
        default_registry(),
        top=args.top,
        ranking=data / RANKING_FILE,
    )
    elapsed = time.perf_counter() - started
    text = json.dumps(figures, indent=2, sort_keys=True) + "\n"
    if args.write:
        (data / COVERAGE_FILE).write_text(text, encoding="utf-8")
    if args.json:
        sys.stdout.write(text)
    else:
        for line in coverage_lines(figures):
            print(line)
        print(f"(largest networks: {figures['top_networks']['chosen_by']}; {elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
