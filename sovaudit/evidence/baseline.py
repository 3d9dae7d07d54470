"""Compare a scan with an earlier one: findings new / unchanged / resolved, and what moved.

Matching is by organization, service, host, layer and rule, so re-ordered records or changed
addresses within the same operator never count as new exposure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sovaudit.evidence.exposure import Exposure, exposures
from sovaudit.evidence.read import read_evidence
from sovaudit.models import Endpoint, Finding, Scan, Severity, Status, controls_data

FindingKey = tuple[str, str, str, str, str]
EndpointKey = tuple[str, str, str, str]


def load_scan(path: Path) -> Scan:
    """Read an evidence file (JSON or JSON Lines) written by ``sovaudit scan``."""
    return read_evidence(path)


def finding_key(endpoint: Endpoint, finding: Finding) -> FindingKey:
    return (*endpoint.key, finding.rule_id)


def live(finding: Finding, threshold: Severity) -> bool:
    """A finding that counts for an exit code: not accepted, at or above the threshold."""
    return not finding.accepted and finding.severity.rank >= threshold.rank


@dataclass(frozen=True, slots=True)
class ResolvedFinding:
    organization: str
    service: str
    host: str
    layer: str
    rule_id: str
    severity: str
    title: str


def mark_against(scan: Scan, baseline: Scan) -> tuple[Scan, list[ResolvedFinding]]:
    """Mark every finding of ``scan`` new or unchanged; list the baseline's resolved ones."""
    old: dict[FindingKey, tuple[Endpoint, Finding]] = {
        finding_key(e, f): (e, f) for e in baseline.endpoints for f in e.findings
    }
    seen: set[FindingKey] = set()
    endpoints = []
    for e in scan.endpoints:
        marked = []
        for f in e.findings:
            key = finding_key(e, f)
            seen.add(key)
            marked.append(replace(f, status="unchanged" if key in old else "new"))
        endpoints.append(replace(e, findings=tuple(marked)))
    # An endpoint that could not be resolved this time keeps its old findings unresolved:
    # "we could not see it" is not "it was fixed".
    unknown_now = {e.key for e in scan.endpoints if e.status is Status.UNKNOWN}
    resolved = [
        ResolvedFinding(*key[:4], key[4], f.severity.value, f.title)
        for key, (_e, f) in sorted(old.items())
        if key not in seen and key[:4] not in unknown_now
    ]
    return replace(scan, endpoints=tuple(endpoints)), resolved


def control_summary(endpoint: Endpoint) -> str:
    """Who controls an endpoint, e.g. 'Microsoft Corporation (US)', from its attributions."""
    parts: list[str] = []
    for a in endpoint.attributions:
        if a.status is not Status.OK or not controls_data(a):
            continue
        who = a.ultimate_parent or a.operator_name or a.operator or "?"
        label = f"{who} ({a.jurisdiction or '?'})"
        if label not in parts:
            parts.append(label)
    if not parts:
        return "unknown" if endpoint.status is not Status.SKIPPED else "nothing (skipped)"
    return ", ".join(sorted(parts))


@dataclass(frozen=True, slots=True)
class Move:
    """One endpoint whose controllers changed between two scans."""

    organization: str
    service: str
    host: str
    layer: str
    before: str
    after: str

    def sentence(self) -> str:
        return f"{self.layer} for {self.host} moved from {self.before} to {self.after}"


@dataclass(frozen=True, slots=True)
class Diff:
    moves: tuple[Move, ...]
    new: tuple[tuple[EndpointKey, Finding], ...]
    resolved: tuple[ResolvedFinding, ...]
    added_endpoints: tuple[EndpointKey, ...]
    removed_endpoints: tuple[EndpointKey, ...]
    # What a reader counts: exposures (endpoint, controlling party) gained and lost, and good
    # outcomes (domestic control) gained and lost. Mail moving from a Québec host to Microsoft
    # gains an exposure and loses a good outcome: never a "resolved finding".
    exposures_gained: tuple[Exposure, ...] = ()
    exposures_lost: tuple[Exposure, ...] = ()
    good_gained: tuple[Exposure, ...] = ()
    good_lost: tuple[Exposure, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "exposures_gained": [_exposure_dict(x) for x in self.exposures_gained],
            "exposures_lost": [_exposure_dict(x) for x in self.exposures_lost],
            "good_outcomes_gained": [_exposure_dict(x) for x in self.good_gained],
            "good_outcomes_lost": [_exposure_dict(x) for x in self.good_lost],
            "moves": [_move_dict(m) for m in self.moves],
            "new_findings": [
                {
                    "organization": k[0],
                    "service": k[1],
                    "host": k[2],
                    "layer": k[3],
                    "rule_id": f.rule_id,
                    "severity": f.severity.value,
                    "title": f.title,
                    "accepted": f.accepted,
                }
                for k, f in self.new
            ],
            "resolved_findings": [_resolved_dict(r) for r in self.resolved],
            "added_endpoints": [list(k) for k in self.added_endpoints],
            "removed_endpoints": [list(k) for k in self.removed_endpoints],
        }


def _exposure_dict(x: Exposure) -> dict[str, Any]:
    e = x.endpoint
    return {
        "organization": e.organization,
        "service": e.service,
        "host": e.host,
        "layer": e.layer.value,
        "parent": x.party.parent,
        "operator": x.party.operator,
        "jurisdiction": x.party.jurisdiction,
        "severity": x.severity.value,
        "rules": list(x.rules),
    }


def exposure_changes(
    old: Scan, new: Scan
) -> tuple[list[Exposure], list[Exposure], list[Exposure], list[Exposure]]:
    """``(exposures gained, exposures lost, good outcomes gained, good outcomes lost)``.

    An exposure is matched by endpoint and controlling party. As for findings, an endpoint that
    could not be resolved in the new scan loses nothing: "not seen" is not "fixed".
    """
    old_bad, old_good = exposures(old.endpoints)
    new_bad, new_good = exposures(new.endpoints)
    unknown_now = {e.key for e in new.endpoints if e.status is Status.UNKNOWN}

    def changes(before: list[Exposure], after: list[Exposure]) -> tuple[list[Exposure],
                                                                         list[Exposure]]:
        keys_before = {x.key for x in before}
        keys_after = {x.key for x in after}
        gained = [x for x in after if x.key not in keys_before]
        lost = [x for x in before
                if x.key not in keys_after and x.endpoint.key not in unknown_now]
        order = lambda x: (-x.severity.rank, x.key)  # noqa: E731
        return sorted(gained, key=order), sorted(lost, key=order)

    gained, lost = changes(old_bad, new_bad)
    good_gained, good_lost = changes(old_good, new_good)
    return gained, lost, good_gained, good_lost


def _move_dict(m: Move) -> dict[str, str]:
    return {
        "organization": m.organization,
        "service": m.service,
        "host": m.host,
        "layer": m.layer,
        "before": m.before,
        "after": m.after,
        "summary": m.sentence(),
    }


def _resolved_dict(r: ResolvedFinding) -> dict[str, str]:
    return {
        "organization": r.organization,
        "service": r.service,
        "host": r.host,
        "layer": r.layer,
        "rule_id": r.rule_id,
        "severity": r.severity,
        "title": r.title,
    }


def diff(old: Scan, new: Scan) -> Diff:
    """What changed between two evidence files, deterministically ordered."""
    old_eps = {e.key: e for e in old.endpoints}
    new_eps = {e.key: e for e in new.endpoints}
    moves = []
    for key in sorted(old_eps.keys() & new_eps.keys()):
        before, after = control_summary(old_eps[key]), control_summary(new_eps[key])
        if before != after and "unknown" not in (before, after):
            moves.append(Move(*key, before=before, after=after))
    marked, resolved = mark_against(new, old)
    new_findings = [
        (e.key, f)
        for e in sorted(marked.endpoints, key=lambda x: x.key)
        for f in sorted(e.findings, key=lambda x: (-x.severity.rank, x.rule_id))
        if f.status == "new"
    ]
    gained, lost, good_gained, good_lost = exposure_changes(old, new)
    return Diff(
        exposures_gained=tuple(gained),
        exposures_lost=tuple(lost),
        good_gained=tuple(good_gained),
        good_lost=tuple(good_lost),
        moves=tuple(moves),
        new=tuple(new_findings),
        resolved=tuple(resolved),
        added_endpoints=tuple(sorted(new_eps.keys() - old_eps.keys())),
        removed_endpoints=tuple(sorted(old_eps.keys() - new_eps.keys())),
    )


def worst(findings: Iterable[Finding]) -> Severity | None:
    ranked = [f.severity for f in findings if not f.accepted]
    return max(ranked, key=lambda s: s.rank) if ranked else None
