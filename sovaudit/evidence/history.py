"""Scan history in SQLite: the share of endpoints under foreign and US control over time."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sovaudit.errors import UserError
from sovaudit.evaluate.home import home_of
from sovaudit.models import Endpoint, Scan, Status, controls_data

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scans (
    id INTEGER PRIMARY KEY,
    generated_at TEXT NOT NULL,
    inventory TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counts (
    scan_id INTEGER NOT NULL REFERENCES scans(id),
    organization TEXT NOT NULL,
    endpoints INTEGER NOT NULL,
    attributed INTEGER NOT NULL,
    foreign_controlled INTEGER NOT NULL,
    us_controlled INTEGER NOT NULL,
    PRIMARY KEY (scan_id, organization)
);
"""


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    generated_at: str
    endpoints: int
    attributed: int
    foreign_controlled: int
    us_controlled: int

    @property
    def foreign_share(self) -> float:
        return self.foreign_controlled / self.endpoints if self.endpoints else 0.0

    @property
    def us_share(self) -> float:
        return self.us_controlled / self.endpoints if self.endpoints else 0.0


def jurisdictions(endpoint: Endpoint) -> set[str]:
    return {
        a.jurisdiction
        for a in endpoint.attributions
        if a.status is Status.OK and a.jurisdiction is not None and controls_data(a)
    }


def _open(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(path, timeout=10)
        conn.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise UserError(f"not a usable history database: {exc}", path=str(path)) from None
    return conn


def append(path: Path, scan: Scan) -> None:
    """Add one scan's counts (per organization) to the history database."""
    per_org: dict[str, list[int]] = {}
    home = home_of(scan.options.get("profile"))  # "foreign" is the profile's, not Canada's
    for e in scan.endpoints:
        if e.status is Status.SKIPPED:
            continue
        row = per_org.setdefault(e.organization, [0, 0, 0, 0])
        jur = jurisdictions(e)
        row[0] += 1
        row[1] += 1 if jur else 0
        row[2] += 1 if any(home.is_foreign(j) for j in jur) else 0
        row[3] += 1 if "US" in jur else 0
    conn = _open(path)
    try:
        with conn:
            cur = conn.execute(
                "INSERT INTO scans (generated_at, inventory) VALUES (?, ?)",
                (scan.generated_at, scan.inventory),
            )
            scan_id = cur.lastrowid
            conn.executemany(
                "INSERT INTO counts VALUES (?, ?, ?, ?, ?, ?)",
                [(scan_id, org, *row) for org, row in sorted(per_org.items())],
            )
    except sqlite3.Error as exc:  # locked, read-only, a foreign schema, a corrupt page
        raise UserError(f"cannot add this scan to the history: {exc}", path=str(path)) from None
    finally:
        conn.close()


def series(path: Path, organization: str | None = None) -> list[HistoryPoint]:
    """The history, oldest first; one point per scan (summed over organizations unless given)."""
    if not path.exists():
        raise UserError("no such history database", path=str(path))
    conn = _open(path)
    query = (
        "SELECT s.generated_at, SUM(c.endpoints), SUM(c.attributed), "
        "SUM(c.foreign_controlled), SUM(c.us_controlled) "
        "FROM scans s JOIN counts c ON c.scan_id = s.id "
        + ("WHERE c.organization = ? " if organization else "")
        + "GROUP BY s.id ORDER BY s.generated_at, s.id"
    )
    try:
        rows = conn.execute(query, (organization,) if organization else ()).fetchall()
    except sqlite3.Error as exc:  # a foreign schema, an integer overflow, a corrupt page
        raise UserError(f"not a usable history database: {exc}", path=str(path)) from None
    finally:
        conn.close()
    points = []
    for r in rows:
        if not isinstance(r[0], str) or not all(
            isinstance(n, int) and 0 <= n < 2**53 for n in r[1:5]
        ):
            raise UserError(
                f"not a usable history database: unexpected row {str(r)[:80]}", path=str(path)
            )
        points.append(HistoryPoint(r[0], r[1], r[2], r[3], r[4]))
    return points
