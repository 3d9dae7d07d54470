"""Stable slices of an inventory, so one scan can be split across machines and merged back.

A slice is chosen by a hash of the organization id, never by list order: adding or removing an
organization does not move any other one to a different shard, and an organization is never
split across shards (its accepted risks and its report section stay together).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from sovaudit.errors import UserError
from sovaudit.inventory import Inventory

MAX_SHARDS = 10_000

_SPEC = re.compile(r"^\s*(\d{1,5})\s*/\s*(\d{1,5})\s*$")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count``, both 1-based as the user writes them (``2/4``)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, organization: str) -> bool:
        """Whether this shard scans ``organization`` (an inventory organization id)."""
        return shard_of(organization, self.count) == self.index


def parse_shard(spec: str) -> Shard:
    """Parse ``K/N`` (1 <= K <= N <= 10000); UserError with the accepted form otherwise."""
    m = _SPEC.match(spec)
    if m is None:
        raise UserError(f"--shard expects K/N, e.g. 2/4, not {spec!r}")
    index, count = int(m.group(1)), int(m.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise UserError(f"--shard {spec}: N must be between 1 and {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise UserError(f"--shard {spec}: K must be between 1 and N ({count})")
    return Shard(index, count)


def shard_of(organization: str, count: int) -> int:
    """The 1-based shard of an organization id among ``count`` shards.

    SHA-256 rather than ``hash()``: Python salts ``hash()`` per process, and every machine of a
    CI matrix must compute the same split.
    """
    digest = hashlib.sha256(organization.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def shard_inventory(inventory: Inventory, shard: Shard) -> Inventory:
    """The inventory restricted to the organizations of ``shard`` (accepted risks kept whole).

    Top-level accepted risks apply to every organization, so they are kept in every shard;
    risks tied to an organization are harmless where that organization is absent.
    """
    kept = tuple(o for o in inventory.organizations if shard.holds(o.id))
    return replace(inventory, organizations=kept)
