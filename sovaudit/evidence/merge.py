"""Merge the evidence files of a sharded scan into the evidence one full scan would have given.

The parts must describe the same inventory, be shards ``K/N`` of one ``N``, and have used the same
datasets and rule options; anything else would make one report mix incomparable evidence, so it
is refused (exit 2) rather than merged with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sovaudit.errors import EvidenceError, UserError
from sovaudit.inventory.shard import Shard, parse_shard
from sovaudit.models import Dataset, Endpoint, Scan

# Options that change findings: parts that differ on them cannot form one report.
MUST_MATCH_OPTIONS = ("lang", "rules", "default_rules", "skip_rules", "profile")
# Options kept per part; they only describe how the part ran.
PART_OPTIONS = ("shard",)


@dataclass(frozen=True, slots=True)
class EvidencePart:
    """One evidence file to merge and the name it is reported under (its path)."""

    name: str
    scan: Scan


@dataclass(frozen=True, slots=True)
class MergeResult:
    """The merged evidence and the warnings the user should see (missing shards...)."""

    scan: Scan
    warnings: tuple[str, ...] = ()


def merge_scans(parts: Sequence[EvidencePart]) -> MergeResult:
    """Merge shard evidence files; EvidenceError (exit 2) when they cannot form one scan."""
    if not parts:
        raise EvidenceError("nothing to merge: give at least one evidence file")
    warnings: list[str] = []
    first = parts[0]
    for part in parts[1:]:
        if part.scan.inventory != first.scan.inventory:
            raise EvidenceError(
                f"comes from inventory {part.scan.inventory!r}, {first.name} from "
                f"{first.scan.inventory!r}: only shards of one inventory can be merged",
                path=part.name,
            )
    warnings += _check_shards(parts)
    datasets = _merged_datasets(parts)
    warnings += _check_options(parts)
    endpoints = _endpoints(parts)
    resolvers: list[str] = []
    for part in parts:
        resolvers += [r for r in part.scan.resolvers if r not in resolvers]
    if any(tuple(p.scan.resolvers) != tuple(first.scan.resolvers) for p in parts):
        warnings.append("the parts used different resolvers; the merged file lists them all")
    versions = {p.scan.tool_version for p in parts}
    if len(versions) > 1:
        warnings.append(f"the parts come from different sovaudit versions: {sorted(versions)}")
    options = {k: v for k, v in first.scan.options.items() if k not in PART_OPTIONS}
    merged = Scan(
        tool_version=first.scan.tool_version,
        generated_at=min((p.scan.generated_at for p in parts), key=_instant),
        inventory=first.scan.inventory,
        resolvers=tuple(resolvers),
        endpoints=tuple(sorted(endpoints, key=lambda e: e.key)),
        datasets=datasets,
        partial=any(p.scan.partial for p in parts),
        options=options,
    )
    return MergeResult(merged, tuple(warnings))


def _check_shards(parts: Sequence[EvidencePart]) -> list[str]:
    shards: dict[str, Shard | None] = {}
    for part in parts:
        spec = part.scan.options.get("shard")
        if spec is None:
            shards[part.name] = None
            continue
        try:
            shards[part.name] = parse_shard(str(spec))
        except UserError:
            raise EvidenceError(f"malformed shard option {spec!r}", path=part.name) from None
    unsharded = [name for name, s in shards.items() if s is None]
    if len(unsharded) == len(parts):
        # Not produced with --shard: fine if they cover disjoint endpoints (checked later).
        return ["the files were not produced with --shard; merging them as disjoint parts"]
    if unsharded:
        raise EvidenceError(
            "was not produced with --shard while the other files were: "
            "it would duplicate their organizations",
            path=unsharded[0],
        )
    counts = {s.count for s in shards.values() if s is not None}
    if len(counts) > 1:
        raise EvidenceError(
            "the files are shards of different splits "
            f"({', '.join(f'{n}: {s}' for n, s in shards.items())}); rescan with one N"
        )
    count = counts.pop()
    seen: dict[int, str] = {}
    for name, s in shards.items():
        assert s is not None
        if s.index in seen:
            raise EvidenceError(f"shard {s} is also in {seen[s.index]}", path=name)
        seen[s.index] = name
    missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in seen]
    if missing:
        return [f"missing shard(s) {', '.join(missing)}: the merged report is incomplete"]
    return []


def _merged_datasets(parts: Sequence[EvidencePart]) -> tuple[Dataset, ...]:
    """Every dataset the parts used, each at the one version they all used.

    A part may lack a dataset another one has (a shard without domains never reads the domain
    table): that is not a conflict. Two versions of one dataset are (EvidenceError). The order
    is that of the part that used the most datasets, the others' extra ones after it.
    """
    versions: dict[str, tuple[str, str]] = {}
    for part in parts:
        for d in part.scan.datasets:
            seen = versions.setdefault(d.name, (d.version, part.name))
            if seen[0] != d.version:
                raise EvidenceError(
                    f"dataset versions differ ({d.name}: {seen[0]} in {seen[1]}, {d.version} "
                    "here); rescan every shard with the same sovaudit, IP -> ASN table and "
                    "rule packs",
                    path=part.name,
                )
    widest = max(parts, key=lambda p: len(p.scan.datasets))
    out = {d.name: d for d in widest.scan.datasets}
    for part in parts:
        for d in part.scan.datasets:
            out.setdefault(d.name, d)
    return tuple(out.values())


def _check_options(parts: Sequence[EvidencePart]) -> list[str]:
    first = parts[0]
    warnings: list[str] = []
    for part in parts[1:]:
        for key in MUST_MATCH_OPTIONS:
            if part.scan.options.get(key) != first.scan.options.get(key):
                raise EvidenceError(
                    f"option {key!r} is {part.scan.options.get(key)!r} here and "
                    f"{first.scan.options.get(key)!r} in {first.name}: the findings differ",
                    path=part.name,
                )
        others = (first.scan.options.keys() | part.scan.options.keys()) - set(
            MUST_MATCH_OPTIONS + PART_OPTIONS
        )
        warnings.extend(
            f"{part.name}: option {key!r} differs from {first.name} "
            f"({part.scan.options.get(key)!r} vs {first.scan.options.get(key)!r}); "
            f"the merged file keeps {first.name}'s"
            for key in sorted(others)
            if part.scan.options.get(key) != first.scan.options.get(key)
        )
    return warnings


def _endpoints(parts: Sequence[EvidencePart]) -> list[Endpoint]:
    owner: dict[tuple[str, str, str, str], str] = {}
    out: list[Endpoint] = []
    for part in parts:
        for e in part.scan.endpoints:
            if e.key in owner:
                raise EvidenceError(
                    f"endpoint {'/'.join(e.key)} is also in {owner[e.key]}: "
                    "the files overlap (same shard twice, or not shards of one split)",
                    path=part.name,
                )
            owner[e.key] = part.name
            out.append(e)
    return out


def _instant(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise EvidenceError(f"generated_at is not an ISO 8601 timestamp: {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
