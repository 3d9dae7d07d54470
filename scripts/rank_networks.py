#!/usr/bin/env python3
"""Rank ASNs by the address space they announce in the embedded IP -> ASN table.

The ranking is how the provider registry's breadth is chosen and checked (issue 27): the largest
networks come first, and the last column says which registry operator (if any) already lists the
ASN. IPv4 is counted in addresses, IPv6 in /48 prefixes; ASNs are ordered by IPv4 space, then
IPv6 space, then number.

    python scripts/rank_networks.py --top 1000 > sovaudit/attribute/data/top-networks.tsv

Only the shipped table is read (never a user-updated copy), so the output is reproducible from
the repository alone.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter

from sovaudit.attribute.asntable import AsnTable, package_data_dir
from sovaudit.attribute.registry import default_registry


def announced_space(table: AsnTable) -> tuple[Counter[int], Counter[int]]:
    """IPv4 addresses and IPv6 /48s per ASN (ranges of the table are disjoint)."""
    v4: Counter[int] = Counter()
    v6: Counter[int] = Counter()
    fam4 = table._family(4)
    for start, end, asn in zip(fam4.starts, fam4.ends, fam4.asns, strict=True):
        if asn:
            v4[asn] += end - start + 1
    fam6 = table._family(6)
    for start, end, asn in zip(fam6.starts, fam6.ends, fam6.asns, strict=True):
        if asn:
            v6[asn] += (end - start + 1) >> 80
    return v4, v6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=300, help="number of ASNs to print")
    args = parser.parse_args(argv)
    table = AsnTable.from_files(package_data_dir())
    v4, v6 = announced_space(table)
    registry = default_registry()
    listed = registry.asns()
    ranked = sorted(set(v4) | set(v6), key=lambda a: (-v4[a], -v6[a], a))[: args.top]
    out = sys.stdout
    out.write(f"# The {args.top} largest ASNs by announced IPv4 space (then IPv6 /48s).\n")
    out.write(f"# Command: python scripts/rank_networks.py --top {args.top}\n")
    out.write(f"# IP -> ASN table: {table.source_label}; registry {registry.version}")
    out.write(f" with {len(registry.operators)} operators.\n")
    out.write("# registry_operator is empty when no operator of the registry lists the ASN.\n")
    out.write("rank\tasn\tas_name\tipv4_addresses\tipv6_48s\tregistry_operator\n")
    for rank, asn in enumerate(ranked, 1):
        name = (table.name_of(asn) or "").replace("\t", " ")
        op = listed.get(asn)
        out.write(f"{rank}\t{asn}\t{name}\t{v4[asn]}\t{v6[asn]}\t{op.id if op else ''}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
