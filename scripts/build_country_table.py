#!/usr/bin/env python3
"""Build the embedded ASN -> country table (sovaudit/attribute/data/asn-country.tsv.xz).

Usage::

    cd /tmp && npm pack @ip-location-db/asn-country
    npm view @ip-location-db/asn-country time --json   # note the publish date of the version
    python scripts/build_country_table.py /tmp/ip-location-db-asn-country-<version>.tgz \\
        --published YYYY-MM-DD

The input's IP ranges -> country rows are joined with the embedded IP -> ASN table (the package
copy, never a user update, so the result is reproducible from the repository); the method and
the file format are documented in ``sovaudit/attribute/asncountry.py``. Update
``sovaudit/attribute/data/NOTICE.asn-country.md`` and ``NOTICE`` with the new version and dates.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sovaudit.attribute.asncountry import (  # noqa: E402
    COUNTRY_FILE,
    DEFAULT_LICENCE,
    DEFAULT_NAME,
    AsnCountryTable,
    build_country_file,
    derive_countries,
    read_country_source,
)
from sovaudit.attribute.asntable import AsnTable, package_data_dir, version_date  # noqa: E402

SOURCE = "npm @ip-location-db/asn-country, https://github.com/sapics/ip-location-db"


def main(argv: list[str] | None = None) -> int:
    """Derive the per-ASN countries and print the figures the NOTICE and the review need."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path, help="npm tarball, CSV or RIR statistics")
    parser.add_argument("--out", type=Path, default=package_data_dir())
    parser.add_argument("--published", default="", help="npm publish date of the version")
    parser.add_argument("--version", default=None, help="override the dataset version")
    args = parser.parse_args(argv)

    data = args.input.read_bytes()
    ranges, direct, info = read_country_source(data, str(args.input))
    version = args.version or info.get("version") or "unknown"
    asn_table = AsnTable.from_files(package_data_dir())
    started = time.perf_counter()
    countries = derive_countries(asn_table, ranges, direct)
    derived = time.perf_counter() - started
    meta = {
        "name": DEFAULT_NAME,
        "version": version,
        "date": version_date(version),
        "published": args.published,
        "source": SOURCE,
        "licence": DEFAULT_LICENCE,
        "built_from": f"{args.input.name} (sha256 {hashlib.sha256(data).hexdigest()})",
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "joined_with": asn_table.source_label,
        "method": "per ASN, the country holding most of its announced IPv4 space (IPv6 if none)",
    }
    count = build_country_file(countries, meta, args.out)
    size = (args.out / COUNTRY_FILE).stat().st_size
    started = time.perf_counter()
    table = AsnCountryTable.from_files(args.out).load()
    loaded = time.perf_counter() - started
    shares = Counter(min(share // 10 * 10, 90) for _cc, share in countries.values())
    print(f"version {version} (data date {meta['date']}, published {args.published or '?'})")
    print(f"  input ranges: {len(ranges)}; ASNs with a country: {count}; "
          f"derived in {derived:.1f} s")
    print(f"  {COUNTRY_FILE}: {size} bytes; load {loaded:.3f} s; {table.dataset}")
    print("  share of the AS's space in its country (deciles): "
          + ", ".join(f"{k}-{k + 9 if k < 90 else 100}%: {shares[k]}" for k in sorted(shares)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
