"""Exposures: what a reader counts, one per endpoint and controlling party.

Rules overlap on purpose (one Microsoft-hosted mailbox triggers the CLOUD Act, FISA 702, Law 25
and a foreign-ownership rule): each is a legal basis, not a separate problem. An *exposure* is
one endpoint under one controlling party (operator, ultimate parent, country), with the data
classes at stake, its worst severity and the rule ids that apply. Rule-level findings stay in
the JSON and CSV outputs for analysts.

Some rules describe a favourable case (domestic public infrastructure, a domestic private host,
a domestic registry): they are *good outcomes*, listed apart, never counted as exposures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sovaudit.models import Attribution, DataClass, Endpoint, Finding, Severity

# Rules whose match is the favourable case (their severity is info): a good outcome to report,
# never a finding with a severity to fix.
GOOD_OUTCOME_RULES = frozenset({
    "SOV-PUBLIC-INFRA",
    "SOV-PRIVATE-DOMESTIC",
    "DOMAIN-REGISTRY-DOMESTIC",
})

_RANK = {s: s.rank for s in Severity}


def is_good_outcome(finding: Finding) -> bool:
    """True for a finding that reports a favourable case (see ``GOOD_OUTCOME_RULES``)."""
    return finding.rule_id in GOOD_OUTCOME_RULES


@dataclass(frozen=True, slots=True, order=True)
class Party:
    """Who controls the data: the operator, its ultimate parent and the parent's country.

    Empty strings and None mean unknown; a finding tied to no attribution (no operator found at
    all) has the empty party.
    """

    parent: str = ""
    jurisdiction: str = ""
    operator: str = ""

    @property
    def known(self) -> bool:
        return bool(self.parent or self.operator or self.jurisdiction)

    @property
    def name(self) -> str:
        """The parent's name, else the operator's: who a reader would name."""
        return self.parent or self.operator


def party_of(attribution: Attribution | None) -> Party:
    if attribution is None:
        return Party()
    return Party(
        parent=attribution.ultimate_parent or "",
        jurisdiction=attribution.jurisdiction or "",
        operator=attribution.operator_name or attribution.operator or "",
    )


def _attribution(endpoint: Endpoint, finding: Finding) -> Attribution | None:
    if finding.subject is None:
        return None
    return next((a for a in endpoint.attributions if a.subject == finding.subject), None)


@dataclass(frozen=True, slots=True)
class Exposure:
    """One endpoint under one controlling party, with every rule that applies to it.

    ``endpoint_index`` is the endpoint's 1-based position in the sequence it was built from;
    ``rules`` are rule ids, most severe first; ``subjects`` the addresses and names behind it.
    """

    endpoint: Endpoint
    endpoint_index: int
    party: Party
    severity: Severity
    rules: tuple[str, ...]
    findings: tuple[Finding, ...]
    subjects: tuple[str, ...]
    good: bool = False

    @property
    def data_classes(self) -> tuple[DataClass, ...]:
        return self.endpoint.data_classes

    @property
    def accepted(self) -> bool:
        """Every finding of the exposure was accepted (a risk the body has taken on)."""
        return all(f.accepted for f in self.findings)

    @property
    def new(self) -> bool:
        """At least one finding is new since the baseline."""
        return any(f.status == "new" for f in self.findings)

    @property
    def key(self) -> tuple[str, str, str, str, str, str]:
        """Stable identity across scans: the endpoint and who controls it."""
        return (*self.endpoint.key, self.party.parent or self.party.operator,
                self.party.jurisdiction)


def endpoint_exposures(endpoint: Endpoint, index: int = 0) -> list[Exposure]:
    """The endpoint's exposures and good outcomes (``good=True``), one per controlling party."""
    # Grouped by who controls: two operators of one parent (Azure and Azure Front Door) are
    # one exposure to Microsoft, with both operators named.
    groups: dict[tuple[bool, str, str], list[tuple[Finding, Party, str | None]]] = {}
    for f in endpoint.findings:
        p = party_of(_attribution(endpoint, f))
        key = (is_good_outcome(f), p.parent or p.operator, p.jurisdiction)
        groups.setdefault(key, []).append((f, p, f.subject))
    out = []
    for (good, _name, jurisdiction), items in groups.items():
        first = items[0][1]
        operators = sorted({p.operator for _, p, _ in items if p.operator})
        party = Party(first.parent, jurisdiction, ", ".join(operators))
        findings = tuple(sorted((f for f, _, _ in items), key=lambda f: (-_RANK[f.severity],
                                                                         f.rule_id)))
        out.append(Exposure(
            endpoint=endpoint,
            endpoint_index=index,
            party=party,
            severity=findings[0].severity,
            rules=tuple(dict.fromkeys(f.rule_id for f in findings)),
            findings=findings,
            subjects=tuple(sorted({s for _, _, s in items if s})),
            good=good,
        ))
    out.sort(key=lambda x: (-_RANK[x.severity], x.party))
    return out


def exposures(endpoints: Iterable[Endpoint]) -> tuple[list[Exposure], list[Exposure]]:
    """``(exposures, good outcomes)`` of the endpoints, in endpoint order (1-based index)."""
    bad: list[Exposure] = []
    good: list[Exposure] = []
    for i, e in enumerate(endpoints, start=1):
        for x in endpoint_exposures(e, i):
            (good if x.good else bad).append(x)
    return bad, good
