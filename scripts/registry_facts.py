#!/usr/bin/env python3
"""Count the verified facts of the provider registry (issue 27, point 4).

Usage::

    python scripts/registry_facts.py [--since YYYY-MM-DD] [--only GLOB ...] [--list-unverified]

One fact is one entity (legal name, country, parent) or one operator (operator -> legal entity,
ASNs) of ``sovaudit/attribute/data/providers.yaml`` and ``providers.d/*.yaml``. A fact counts as
verified when it has no ``unverified`` flag, its ``reviewed`` date is on or after ``--since``
(default 2026-12-01) and its ``source`` contains an http(s) URL. The script prints, per file and
in total, the number of entity and operator facts, how many are verified, and the share.
``--only`` keeps the files whose name (relative to the data folder, e.g. ``providers.yaml`` or
``providers.d/region-*.yaml``) matches one of the given shell patterns.
"""

from __future__ import annotations

import argparse
import fnmatch
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "sovaudit" / "attribute" / "data"
URL = re.compile(r"https?://\S+")


def registry_files(data: Path = DATA) -> list[Path]:
    """providers.yaml first, then the fragments in name order."""
    return [data / "providers.yaml", *sorted((data / "providers.d").glob("*.yaml"))]


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def is_verified(entry: dict[str, Any], since: date) -> bool:
    """No `unverified` flag, `reviewed` on or after `since`, and a URL in `source`."""
    if entry.get("unverified"):
        return False
    reviewed = _as_date(entry.get("reviewed"))
    if reviewed is None or reviewed < since:
        return False
    return bool(URL.search(str(entry.get("source") or "")))


def count_file(path: Path, since: date) -> dict[str, tuple[int, int, list[str]]]:
    """{"entities"|"operators": (facts, verified, ids of the unverified)}."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out: dict[str, tuple[int, int, list[str]]] = {}
    for kind in ("entities", "operators"):
        entries = [e for e in data.get(kind) or [] if isinstance(e, dict)]
        missing = [str(e.get("id")) for e in entries if not is_verified(e, since)]
        out[kind] = (len(entries), len(entries) - len(missing), missing)
    return out


def _share(verified: int, total: int) -> str:
    return f"{100.0 * verified / total:5.1f} %" if total else "    - "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", default="2026-12-01", type=date.fromisoformat,
                        help="oldest `reviewed` date that counts (default 2026-12-01)")
    parser.add_argument("--only", action="append", metavar="GLOB",
                        help="count only the files matching this pattern (repeatable), "
                             "e.g. 'providers.d/region-*.yaml'")
    parser.add_argument("--list-unverified", action="store_true",
                        help="also list the ids of the facts not verified")
    args = parser.parse_args(argv)
    header = f"{'file':<34} {'entities':>13} {'operators':>13} {'all facts':>13} {'share':>8}"
    print(f"verified = no `unverified` flag, reviewed >= {args.since}, source with a URL")
    print(header)
    total = [0, 0, 0, 0]
    unverified: list[tuple[str, str, str]] = []
    for path in registry_files():
        name = path.relative_to(DATA).as_posix()
        if args.only and not any(fnmatch.fnmatch(name, pat) for pat in args.only):
            continue
        counts = count_file(path, args.since)
        ef, ev, emiss = counts["entities"]
        of, ov, omiss = counts["operators"]
        total = [total[0] + ef, total[1] + ev, total[2] + of, total[3] + ov]
        unverified += [(name, "entity", i) for i in emiss] + [(name, "operator", i) for i in omiss]
        print(f"{name:<34} {ev:>5} / {ef:<5} {ov:>5} / {of:<5} {ev + ov:>5} / {ef + of:<5}"
              f" {_share(ev + ov, ef + of):>8}")
    ef, ev, of, ov = total
    print(f"{'total':<34} {ev:>5} / {ef:<5} {ov:>5} / {of:<5} {ev + ov:>5} / {ef + of:<5}"
          f" {_share(ev + ov, ef + of):>8}")
    print(f"{'  entities only':<34} {_share(ev, ef):>8}   operators only {_share(ov, of)}")
    if args.list_unverified:
        for name, kind, ident in unverified:
            print(f"unverified {name} {kind} {ident}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
