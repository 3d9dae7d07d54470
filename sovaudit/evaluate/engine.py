"""Apply compiled rules to attributed endpoints and attach findings.

Pure code: no I/O, no clock (``now`` is injected for accepted-risk expiry). Each endpoint gets
one finding per matching rule; an attribution rule records the first attribution that matched
(its subject and evidence), an endpoint-only rule evaluates once on the endpoint facts.
"""

from __future__ import annotations

import datetime
import gc
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sovaudit.errors import InventoryError, UserError
from sovaudit.evaluate.facts import EndpointFacts
from sovaudit.evaluate.loader import Rule, RuleSet
from sovaudit.evaluate.operators import Predicate
from sovaudit.models import (
    AcceptedRisk,
    Endpoint,
    EvidenceStep,
    Finding,
    Reference,
    Severity,
    Status,
)

LANGS = ("fr", "en")
_RANK = {s: s.rank for s in Severity}


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A rule with its texts already in the report language (built once per evaluate call)."""

    rule: Rule
    predicate: Predicate
    title: str
    rationale: str
    references: tuple[Reference, ...]
    rule_step: EvidenceStep


@dataclass(frozen=True, slots=True)
class _Acceptance:
    host: str | None
    organization: str | None
    reason: str


def _prepare(rule: Rule, lang: str) -> _Prepared:
    return _Prepared(
        rule=rule,
        predicate=rule.predicate,
        title=rule.title.get(lang),
        rationale=rule.rationale.get(lang),
        references=tuple(Reference(r.title.get(lang), r.url) for r in rule.references),
        rule_step=EvidenceStep("rule", rule.id, rule.source),
    )


def _live_acceptances(
    accepted: Sequence[AcceptedRisk], now: datetime.date
) -> dict[str, list[_Acceptance]]:
    out: dict[str, list[_Acceptance]] = {}
    for risk in accepted:
        if risk.until is not None:
            try:
                until = datetime.date.fromisoformat(risk.until)
            except ValueError:
                src = risk.source
                raise InventoryError(
                    f"accepted risk for {risk.rule}: 'until' must be a date (YYYY-MM-DD), "
                    f"got {risk.until!r}",
                    path=src.file if src else None,
                    line=src.line if src else None,
                ) from None
            if until < now:
                continue  # expired: the finding is live again
        out.setdefault(risk.rule, []).append(
            _Acceptance(risk.host, risk.organization, risk.reason)
        )
    return out


def _accepted_reason(candidates: Sequence[_Acceptance], endpoint: Endpoint) -> str | None:
    for acc in candidates:
        if (acc.host is None or acc.host == endpoint.host) and (
            acc.organization is None or acc.organization == endpoint.organization
        ):
            return acc.reason
    return None


def _unknown_evidence(endpoint: Endpoint) -> tuple[EvidenceStep, ...]:
    # An endpoint-only finding has no single attribution: show why each one failed.
    steps = [
        EvidenceStep(
            "attribution",
            f"{a.subject} ({a.role}): {a.status.value}"
            + (f": {a.reason}" if a.reason else ""),
            "attribute",
        )
        for a in endpoint.attributions
        if a.status is not Status.OK
    ]
    if endpoint.status is not Status.OK:
        steps.insert(
            0,
            EvidenceStep(
                "endpoint",
                f"{endpoint.host}: {endpoint.status.value}"
                + (f": {endpoint.reason}" if endpoint.reason else ""),
                "collect",
            ),
        )
    return tuple(steps)



def evaluate(
    endpoints: Sequence[Endpoint],
    rules: RuleSet,
    *,
    lang: str = "en",
    accepted: Sequence[AcceptedRisk] = (),
    now: datetime.date,
) -> list[Endpoint]:
    """Return copies of ``endpoints`` whose ``findings`` hold every rule that matched.

    Findings are sorted by severity (most severe first), then rule id. A finding matching a live
    accepted risk (same rule; same host or any; same organization or any; ``until`` not before
    ``now``) is marked accepted with its reason. Existing findings are replaced.
    """
    if lang not in LANGS:
        raise UserError(f"unknown language {lang!r} (use fr or en)")
    prepared = [_prepare(r, lang) for r in rules.rules]
    acceptances = _live_acceptances(accepted, now)
    plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}
    # The loop allocates many small objects and creates no reference cycles: pausing the cyclic
    # collector makes large scans markedly faster and changes nothing else.
    collector_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [_evaluate_one(e, prepared, acceptances, plans) for e in endpoints]
    finally:
        if collector_was_enabled:
            gc.enable()


# For one (layer, data classes) combination: the applicable rules with their severity, sorted
# most severe first then by id, so findings come out in report order without a sort.
_Plan = list[tuple[_Prepared, Severity, bool]]


def _plan(prepared: Sequence[_Prepared], layer: str, data_classes: tuple[str, ...]) -> _Plan:
    plan = [
        (p, p.rule.severity_for(data_classes), p.rule.endpoint_only)
        for p in prepared
        if p.rule.applies_to(layer)
    ]
    plan.sort(key=lambda item: (-_RANK[item[1]], item[0].rule.id))
    return plan


def _evaluate_one(
    endpoint: Endpoint,
    prepared: Sequence[_Prepared],
    acceptances: dict[str, list[_Acceptance]],
    plans: dict[tuple[str, tuple[str, ...]], _Plan],
) -> Endpoint:
    facts = EndpointFacts(endpoint)
    key = (facts.layer, facts.data_classes)
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = _plan(prepared, facts.layer, facts.data_classes)
    attributions = endpoint.attributions
    findings: list[Finding] = []
    for p, severity, endpoint_only in plan:
        predicate = p.predicate
        if endpoint_only:
            if not predicate(facts, None):
                continue
            subject = endpoint.host
            evidence = (*_unknown_evidence(endpoint), p.rule_step)
        else:
            for attribution in attributions:
                if predicate(facts, attribution):
                    break
            else:
                continue
            subject = attribution.subject
            evidence = (*attribution.evidence, p.rule_step)
        accepted_reason = None
        if acceptances:
            accepted_reason = _accepted_reason(acceptances.get(p.rule.id, ()), endpoint)
        findings.append(
            Finding(
                rule_id=p.rule.id,
                severity=severity,
                title=p.title,
                rationale=p.rationale,
                references=p.references,
                accepted=accepted_reason is not None,
                accepted_reason=accepted_reason,
                subject=subject,
                evidence=evidence,
            )
        )
    if not findings and not endpoint.findings:
        return endpoint
    return replace(endpoint, findings=tuple(findings))
