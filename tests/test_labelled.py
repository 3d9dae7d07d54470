"""The attribution engine against a labelled table of real endpoints (tests/data/).

Offline rows (AS numbers, names) always run; address rows need the embedded IP-to-ASN table and
are skipped with a reason when ``sovaudit.attribute.asntable`` cannot be imported.
"""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from sovaudit.attribute.engine import AsnLookup, Attributor
from sovaudit.attribute.registry import default_registry
from sovaudit.models import Attribution, Status

DATA = Path(__file__).parent / "data" / "labelled_endpoints.yaml"
HAS_TABLE = importlib.util.find_spec("sovaudit.attribute.asntable") is not None


def _rows() -> list[dict[str, Any]]:
    rows = yaml.safe_load(DATA.read_text(encoding="utf-8"))["rows"]
    assert isinstance(rows, list)
    return rows


def _table() -> AsnLookup | None:
    if not HAS_TABLE:
        return None
    from sovaudit.attribute.asntable import AsnTable

    return AsnTable.default()


def _attribute(att: Attributor, row: dict[str, Any]) -> Attribution | None:
    if "ip" in row:
        return att.attribute_address(str(row["ip"]))
    if "asn" in row:
        return att.attribute_asn(int(row["asn"]))
    return att.attribute_name(str(row["name"]), str(row["role"]))


def _score(rows: list[dict[str, Any]], att: Attributor, label: str) -> None:
    confusion: Counter[tuple[str, str]] = Counter()
    wrong: list[str] = []
    for row in rows:
        at = _attribute(att, row)
        got_op = at.operator if at is not None and at.status is Status.OK else None
        got_jur = at.jurisdiction if at is not None else None
        want_op, want_jur = row.get("operator"), row.get("jurisdiction")
        confusion[(str(want_jur), str(got_jur))] += 1
        key = row.get("ip") or row.get("asn") or row.get("name")
        if (got_op, got_jur) != (want_op, want_jur):
            wrong.append(f"{key}: expected {want_op}/{want_jur}, got {got_op}/{got_jur}")
        elif "parent" in row and got_op is not None:
            # The ultimate parent the registry gives must be the labelled one too.
            top = att.registry.ultimate_parent(got_op).id
            if top != row["parent"]:
                wrong.append(f"{key}: expected parent {row['parent']}, got {top}")
    total = len(rows)
    accuracy = (total - len(wrong)) / total
    print(f"\n{label}: {total - len(wrong)}/{total} correct, accuracy {accuracy:.3f}")
    print("confusion (expected jurisdiction -> given):")
    for (want, got), n in sorted(confusion.items()):
        mark = "" if want == got else "   <-- mismatch"
        print(f"  {want:>6} -> {got:<6} {n:4d}{mark}")
    for line in wrong:
        print("  wrong:", line)
    us_missed = [
        (w, g) for (w, g), n in confusion.items() for _ in range(n) if w == "US" and g != "US"
    ]
    assert not us_missed, f"US-controlled endpoints given another jurisdiction: {us_missed}"
    assert accuracy >= 0.95, f"accuracy {accuracy:.3f} < 0.95: {wrong}"


def test_labelled_table_is_large_and_well_formed() -> None:
    rows = _rows()
    assert len(rows) >= 100
    registry = default_registry()
    for row in rows:
        kinds = [k for k in ("ip", "asn", "name") if k in row]
        assert len(kinds) == 1, row
        if "name" in row:
            assert row["role"] in ("cname", "mx", "ns", "spf-include", "autodiscover"), row
        # A label that names an operator the registry lacks would test nothing.
        assert row["operator"] is None or row["operator"] in registry.operators, row
        assert "parent" not in row or row["parent"] in registry.entities, row


def test_labelled_offline_rows() -> None:
    rows = [r for r in _rows() if "ip" not in r]
    assert len(rows) >= 50
    _score(rows, Attributor(default_registry(), _table()), "offline rows (ASN, names)")


@pytest.mark.skipif(
    not HAS_TABLE, reason="sovaudit.attribute.asntable (IP-to-ASN table) is not importable"
)
def test_labelled_address_rows() -> None:
    rows = [r for r in _rows() if "ip" in r]
    assert len(rows) >= 50
    _score(rows, Attributor(default_registry(), _table()), "address rows (IP-to-ASN table)")
