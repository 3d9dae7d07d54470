#!/usr/bin/env python3
"""Build the embedded IP -> ASN table (sovaudit/attribute/data/) from the ip-location-db dataset.

Usage::

    cd /tmp && npm pack @ip-location-db/asn
    npm view @ip-location-db/asn time --json   # note the publish date of the version
    python scripts/build_asn_table.py /tmp/ip-location-db-asn-<version>.tgz --published YYYY-MM-DD

The input is the npm tarball (or a CSV/TSV, see ``sovaudit.attribute.asntable.read_source``).
The output format is documented in ``sovaudit/attribute/asntable.py``; update
``sovaudit/attribute/data/NOTICE.ip2asn.md`` and ``NOTICE`` with the new version and dates.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sovaudit.attribute.asntable import (  # noqa: E402
    TABLE_FILES,
    AsnTable,
    build_files,
    package_data_dir,
    read_source,
    version_date,
)

LICENCE = "CC BY 4.0 (RouteViews, DB-IP, NRO)"
SOURCE = "npm @ip-location-db/asn, https://github.com/sapics/ip-location-db"


def main(argv: list[str] | None = None) -> int:
    """Convert the dataset and print the figures the NOTICE and the review need."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="npm tarball, CSV or TSV")
    parser.add_argument("--out", type=Path, default=package_data_dir())
    parser.add_argument("--published", default="", help="npm publish date of the version")
    parser.add_argument("--version", default=None, help="override the dataset version")
    args = parser.parse_args(argv)

    data = args.input.read_bytes()
    rows, info = read_source(data, str(args.input))
    version = args.version or info.get("version") or "unknown"
    meta = {
        "name": "ip-location-db/asn",
        "version": version,
        "date": version_date(version),
        "published": args.published,
        "source": SOURCE,
        "licence": LICENCE,
        "built_from": f"{args.input.name} (sha256 {hashlib.sha256(data).hexdigest()})",
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    counts = build_files(rows, meta, args.out)
    sizes = {name: (args.out / name).stat().st_size for name in TABLE_FILES}
    started = time.perf_counter()
    table = AsnTable.from_files(args.out).load()
    loaded = time.perf_counter() - started
    print(f"version {version} (data date {meta['date']}, published {args.published or '?'})")
    for key, value in counts.items():
        print(f"  {key}: {value}")
    for name, size in sizes.items():
        print(f"  {name}: {size} bytes")
    print(f"  total: {sum(sizes.values())} bytes; load {loaded:.3f} s; {table.dataset}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
