"""How much of the announced Internet the knowledge base answers, and at which level.

Computed from the data files only (IP -> ASN table, ASN -> country table, provider registry),
offline and deterministically, by ``scripts/coverage.py``; the committed result
(``data/coverage.json``) is what ``sovaudit data info`` and docs/attribution.md show.

Every announcing ASN gets one of the three levels of an answer (see ``engine.attribution_level``):

- ``chain``: an operator of the registry with its ownership chain, because the registry lists
  the ASN (``listed``) or because its AS name equals an operator's name in full (``sibling``);
- ``country``: only the country where its address space is registered (weak);
- ``none``: neither.

Shares are of announced IPv4 addresses, announced IPv6 space (in /48 units), and announcing
ASNs; the same for the largest networks (the committed ranking ``data/top-networks.tsv`` when
there is one, else the ASNs with the most announced IPv4 space, then IPv6, then number).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sovaudit.attribute.asncountry import AsnCountryTable
from sovaudit.attribute.asntable import AsnTable
from sovaudit.attribute.registry import Registry

__all__ = [
    "COVERAGE_FILE",
    "RANKING_FILE",
    "asn_levels",
    "compute_coverage",
    "coverage_lines",
    "load_committed",
    "top_asns",
]

COVERAGE_FILE = "coverage.json"
RANKING_FILE = "top-networks.tsv"
COMMAND = "python scripts/coverage.py --write"
LEVELS = ("chain", "country", "none")


def announced(table: AsnTable) -> tuple[Counter[int], Counter[int]]:
    """IPv4 addresses and IPv6 /48 blocks announced per ASN (the table's ranges are disjoint)."""
    v4: Counter[int] = Counter()
    v6: Counter[int] = Counter()
    fam4 = table._family(4)
    for start, end, asn in zip(fam4.starts, fam4.ends, fam4.asns, strict=True):
        v4[asn] += end - start + 1
    fam6 = table._family(6)
    for start, end, asn in zip(fam6.starts, fam6.ends, fam6.asns, strict=True):
        v6[asn] += max(1, (end - start + 1) >> 80)
    return v4, v6


def asn_levels(
    asns: set[int], table: AsnTable, countries: AsnCountryTable, registry: Registry
) -> dict[int, str]:
    """Per ASN: ``listed``, ``sibling``, ``country`` or ``none``."""
    out: dict[int, str] = {}
    for asn in asns:
        if registry.by_asn(asn) is not None:
            out[asn] = "listed"
            continue
        name = table.name_of(asn)
        if name and registry.match_sibling(name, asn) is not None:
            out[asn] = "sibling"
        elif countries.country_of(asn) is not None:
            out[asn] = "country"
        else:
            out[asn] = "none"
    return out


def top_asns(
    v4: Counter[int], v6: Counter[int], count: int, ranking: Path | None
) -> tuple[list[int], str]:
    """The ``count`` largest networks: from the committed ranking if given, else by space."""
    if ranking is not None and ranking.is_file():
        found: list[int] = []
        for line in ranking.read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) > 1 and fields[0].isdigit() and fields[1].isdigit():
                found.append(int(fields[1]))
            if len(found) == count:
                break
        return found, f"{ranking.name} (first {len(found)} rows)"
    ranked = sorted(set(v4) | set(v6), key=lambda a: (-v4[a], -v6[a], a))[:count]
    return ranked, f"the {count} ASNs with most announced IPv4 space (then IPv6)"


def _shares(
    levels: dict[int, str], weights: Counter[int], asns: list[int] | set[int]
) -> dict[str, Any]:
    total = sum(weights[a] for a in asns)
    by: Counter[str] = Counter()
    for asn in asns:
        by[levels[asn]] += weights[asn]
    out: dict[str, Any] = {
        "chain": _pct(by["listed"] + by["sibling"], total),
        "chain_listed": _pct(by["listed"], total),
        "chain_sibling": _pct(by["sibling"], total),
        "country": _pct(by["country"], total),
        "none": _pct(by["none"], total),
    }
    return out


def _pct(part: int, total: int) -> float:
    return round(100.0 * part / total, 2) if total else 0.0


def _facts(registry: Registry) -> dict[str, Any]:
    entities = list(registry.entities.values())
    operators = list(registry.operators.values())
    ent_ok = sum(1 for e in entities if not e.unverified)
    op_ok = sum(1 for o in operators if not o.unverified)
    dated = sum(1 for e in entities if e.verified) + sum(1 for o in operators if o.verified)
    total = len(entities) + len(operators)
    return {
        "entities": len(entities),
        "entities_verified": ent_ok,
        "operators": len(operators),
        "operators_verified": op_ok,
        "verified_pct": _pct(ent_ok + op_ok, total),
        "with_verified_date": dated,
        "definition": "an entity or operator with a source and a 'reviewed' (or 'verified') "
        "date and without 'unverified: true'",
    }


def compute_coverage(
    table: AsnTable,
    countries: AsnCountryTable,
    registry: Registry,
    *,
    top: int = 300,
    ranking: Path | None = None,
) -> dict[str, Any]:
    """The coverage figures (JSON-ready) of these data files."""
    v4, v6 = announced(table)
    asns = set(v4) | set(v6)
    levels = asn_levels(asns, table, countries, registry)
    ones: Counter[int] = Counter(dict.fromkeys(asns, 1))
    largest, chosen_by = top_asns(v4, v6, top, ranking)
    largest = [a for a in largest if a in levels]
    return {
        "datasets": {
            "ip2asn": table.source_label,
            "asn_country": countries.source_label,
            "registry": registry.version,
        },
        "ipv4_space": _shares(levels, v4, set(v4)),
        "ipv6_space": _shares(levels, v6, set(v6)),
        "asns": {**_shares(levels, ones, asns), "count": len(asns)},
        "top_networks": {
            "chosen_by": chosen_by,
            "count": len(largest),
            "asns": _shares(levels, ones, largest),
            "ipv4_space": _shares(levels, v4, largest),
            "missing_chain": [
                a for a in largest if levels[a] not in ("listed", "sibling")
            ][:50],
        },
        "facts": _facts(registry),
        "command": COMMAND,
    }


def load_committed(directory: Path) -> dict[str, Any] | None:
    """The committed figures (``data/coverage.json``), or None when absent or unreadable."""
    try:
        data = json.loads((directory / COVERAGE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def coverage_lines(figures: dict[str, Any]) -> list[str]:
    """The figures as short lines (for ``data info`` and the script's output)."""

    def row(label: str, shares: dict[str, Any]) -> str:
        return (
            f"{label}: chain {shares['chain']} % (listed {shares['chain_listed']}, sibling "
            f"{shares['chain_sibling']}), country only {shares['country']} %, nothing "
            f"{shares['none']} %"
        )

    topn = figures["top_networks"]
    facts = figures["facts"]
    return [
        row("announced IPv4 space", figures["ipv4_space"]),
        row("announced IPv6 space", figures["ipv6_space"]),
        row(f"announcing ASNs ({figures['asns']['count']})", figures["asns"]),
        row(f"{topn['count']} largest networks (ASNs)", topn["asns"]),
        row(f"{topn['count']} largest networks (IPv4 space)", topn["ipv4_space"]),
        f"registry facts verified: {facts['verified_pct']} % "
        f"({facts['entities_verified']}/{facts['entities']} entities, "
        f"{facts['operators_verified']}/{facts['operators']} operators)",
    ]
