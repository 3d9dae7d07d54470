"""Apply compiled rules to attributed endpoints and attach findings.

Pure code: no I/O, no clock (``now`` is injected for accepted-risk expiry). Each endpoint gets
one finding per matching rule; an attribution rule records the first attribution that matched
(its subject and evidence), an endpoint-only rule evaluates once on the endpoint facts.

Speed (issue 8): a rule's predicate reads nothing but the facts its condition names (the
operators read each fact through ``Fact.read``), so which rules match an endpoint is a function
of the values of those facts alone. Scans repeat the same few operators, jurisdictions and roles
over thousands of endpoints, so the engine computes a small key per endpoint (the endpoint facts
the rules use, then per attribution the attribution facts they use) and evaluates the
predicates once per distinct key. Only building the findings (subject, evidence, accepted risk)
stays per endpoint.
"""

from __future__ import annotations

import datetime
import gc
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from sovaudit.errors import InventoryError
from sovaudit.evaluate.facts import CONTROL_FACTS, FACTS, EndpointFacts, FactScope, Reader
from sovaudit.evaluate.loader import Rule, RuleSet
from sovaudit.evaluate.operators import Predicate
from sovaudit.i18n import check_lang
from sovaudit.models import (
    AcceptedRisk,
    Attribution,
    Endpoint,
    EvidenceStep,
    Finding,
    Reference,
    Severity,
    Status,
    field_copier,
)

_RANK = {s: s.rank for s in Severity}
# Distinct keys remembered per evaluate call. Rules on unique facts (host, subject...) make every
# key distinct: past this bound new keys are evaluated without being stored, so memory stays flat.
_MAX_CACHED_KEYS = 65_536


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A rule with its texts already in the report language (built once per evaluate call)."""

    rule: Rule
    rule_id: str
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
        rule_id=rule.id,
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


# -- fact keys ------------------------------------------------------------------------------------


def _condition_facts(condition: Any, out: set[str]) -> bool:
    """Add the fact names a condition tree uses to ``out``; False if the tree is not understood.

    The tree is the rule's ``when`` as the loader accepted it: ``{fact: NAME, OP: VALUE}`` leaves
    under ``all`` / ``any`` / ``not``.
    """
    if not isinstance(condition, dict):
        return False
    if "fact" in condition:
        name = condition["fact"]
        if not isinstance(name, str) or name not in FACTS:
            return False
        out.add(name)
        return True
    if len(condition) != 1:
        return False
    key, value = next(iter(condition.items()))
    if key == "not":
        return _condition_facts(value, out)
    if key in ("all", "any") and isinstance(value, list) and value:
        return all(_condition_facts(item, out) for item in value)
    return False


def _reader(names: Sequence[str]) -> Reader:
    """One callable returning the values of ``names`` (facts of one scope) as a hashable key.

    Plain field facts (``attrgetter``) are read by a single multi-name ``attrgetter`` (one C
    call); computed facts (foreign_controlled...) are called one by one after it.
    """
    plain: list[str] = []
    computed: list[Reader] = []
    for name in sorted(names):  # sorted: the same key layout whatever the rule order
        read = FACTS[name].read
        if type(read) is attrgetter:
            plain.extend(read.__reduce__()[1])
        else:
            computed.append(read)
    if not plain and not computed:
        return lambda _obj: ()
    get_plain: Reader = attrgetter(*plain) if plain else (lambda _obj: ())
    if not computed:
        return get_plain
    if len(computed) == 1:
        [one] = computed
        return lambda obj: (get_plain(obj), one(obj))
    frozen = tuple(computed)
    return lambda obj: (get_plain(obj), *[read(obj) for read in frozen])


# -- evaluation -----------------------------------------------------------------------------------

# For one (layer, data classes) combination: the applicable rules with their severity, sorted
# most severe first then by id, so findings come out in report order without a sort.
_Plan = list[tuple[_Prepared, Severity, bool]]
# The rules that match one endpoint, in report order: (rule id, severity, title, rationale,
# references, rule evidence step, index of the first matching attribution or -1 for an
# endpoint-only rule). Flat tuples: the finding loop unpacks them without attribute lookups.
_Match = tuple[str, Severity, str, str, tuple[Reference, ...], EvidenceStep, int]
_Matches = tuple[_Match, ...]
_NO_MATCH: _Matches = ()


def _plan(prepared: Sequence[_Prepared], layer: str, data_classes: tuple[str, ...]) -> _Plan:
    plan = [
        (p, p.rule.severity_for(data_classes), p.rule.endpoint_only)
        for p in prepared
        if p.rule.applies_to(layer)
    ]
    plan.sort(key=lambda item: (-_RANK[item[1]], item[0].rule.id))
    return plan


def _match(
    plan: _Plan, facts: EndpointFacts, attributions: tuple[Attribution, ...]
) -> _Matches:
    """Run the predicates: every rule of ``plan`` that matches, with its first attribution."""
    out: list[_Match] = []
    for p, severity, endpoint_only in plan:
        predicate = p.predicate
        if endpoint_only:
            if predicate(facts, None):
                out.append((p.rule_id, severity, p.title, p.rationale, p.references,
                            p.rule_step, -1))
            continue
        for index, attribution in enumerate(attributions):
            if predicate(facts, attribution):
                out.append((p.rule_id, severity, p.title, p.rationale, p.references,
                            p.rule_step, index))
                break
    return tuple(out) if out else _NO_MATCH


# One positional constructor call (dataclasses.replace walks the fields on every call).
_with_findings: Callable[[Endpoint, tuple[Finding, ...]], Endpoint] = field_copier(
    Endpoint, "findings"
)


# Findings are built with the ordinary constructor: storing through slot descriptors would be
# ~20 % faster but ties the engine to Finding's layout; the rate is already twice the target.
_finding = Finding


class _Evaluator:
    """The state of one evaluate call: prepared rules, plans and the match cache."""

    def __init__(
        self, rules: RuleSet, lang: str, acceptances: dict[str, list[_Acceptance]]
    ) -> None:
        self.prepared = [_prepare(r, lang) for r in rules.rules]
        self.acceptances = acceptances
        self.plans: dict[tuple[str, tuple[str, ...]], _Plan] = {}
        self.cache: dict[Hashable, _Matches] = {}
        names: set[str] = set()
        self.cacheable = all(_condition_facts(r.when, names) for r in rules.rules)
        if names & CONTROL_FACTS:
            # Control facts read differently on weak attributions: the flags join the key.
            names.add("flags")
        scope = {n: FACTS[n].scope for n in names}
        self.endpoint_key = _reader([n for n in names if scope[n] is FactScope.ENDPOINT])
        self.attribution_key = _reader([n for n in names if scope[n] is FactScope.ATTRIBUTION])

    def matches(self, endpoint: Endpoint) -> _Matches:
        """The rules that match ``endpoint``, evaluated once per distinct key of fact values."""
        facts = EndpointFacts(endpoint)
        attributions = endpoint.attributions
        if not self.cacheable:
            return _match(self.plan(facts), facts, attributions)
        key = (
            facts.layer,
            facts.data_classes,
            self.endpoint_key(facts),
            tuple(map(self.attribution_key, attributions)),
        )
        try:
            found = self.cache.get(key)
        except TypeError:  # an unhashable fact value (a list in a hand-built model): no cache
            return _match(self.plan(facts), facts, attributions)
        if found is None:
            found = _match(self.plan(facts), facts, attributions)
            if len(self.cache) < _MAX_CACHED_KEYS:
                self.cache[key] = found
        return found

    def plan(self, facts: EndpointFacts) -> _Plan:
        """The applicable rules for the endpoint's layer and data classes, built once each."""
        key = (facts.layer, facts.data_classes)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = _plan(self.prepared, facts.layer, facts.data_classes)
        return plan

    def evaluate_one(self, endpoint: Endpoint) -> Endpoint:
        """``endpoint`` with its findings (the same object when it has none and had none)."""
        matched = self.matches(endpoint)
        if not matched:
            return _with_findings(endpoint, ()) if endpoint.findings else endpoint
        attributions = endpoint.attributions
        acceptances = self.acceptances
        unknown: tuple[EvidenceStep, ...] | None = None
        findings: list[Finding] = []
        for rule_id, severity, title, rationale, references, rule_step, index in matched:
            if index < 0:
                subject = endpoint.host
                if unknown is None:
                    unknown = _unknown_evidence(endpoint)
                evidence = (*unknown, rule_step)
            else:
                attribution = attributions[index]
                subject = attribution.subject
                evidence = (*attribution.evidence, rule_step)
            accepted_reason = None
            if acceptances:
                candidates = acceptances.get(rule_id)
                if candidates:
                    accepted_reason = _accepted_reason(candidates, endpoint)
            findings.append(
                _finding(
                    rule_id,
                    severity,
                    title,
                    rationale,
                    references,
                    accepted_reason is not None,
                    accepted_reason,
                    subject,
                    evidence,
                )
            )
        return _with_findings(endpoint, tuple(findings))


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
    check_lang(lang)
    evaluator = _Evaluator(rules, lang, _live_acceptances(accepted, now))
    # The loop allocates many small objects and creates no reference cycles: pausing the cyclic
    # collector makes large scans markedly faster and changes nothing else.
    collector_was_enabled = gc.isenabled()
    gc.disable()
    try:
        evaluate_one = evaluator.evaluate_one
        return [evaluate_one(e) for e in endpoints]
    finally:
        if collector_was_enabled:
            gc.enable()
