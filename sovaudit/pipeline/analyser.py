"""Attribution and rule evaluation of collected endpoints, batch by batch (:class:`Analyser`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sovaudit.attribute.domain import attribute_domain, default_domain_table
from sovaudit.attribute.engine import Attributor
from sovaudit.errors import internal_reason
from sovaudit.evaluate import evaluate, load_rules
from sovaudit.evaluate.loader import RuleSet
from sovaudit.models import AcceptedRisk, Dataset, Endpoint, Layer, Status, with_internal_error
from sovaudit.pipeline.enrich import NetworkAnswers
from sovaudit.pipeline.options import ScanOptions


def load_ruleset(options: ScanOptions) -> RuleSet:
    """The rule packs ``options`` ask for (broken rule files raise before any query is sent)."""
    return load_rules(
        options.rule_paths,
        include_default=options.default_rules,
        skip=options.skip_rules,
        profile=options.profile,
    )


class Analyser:
    """Attribute and evaluate endpoints batch by batch, with one set of datasets and rules.

    Pure given ``network`` (the Cymru / RDAP answers fetched for these endpoints, if any), so the
    same endpoints give the same findings whether they come in one batch or in many.
    """

    def __init__(
        self,
        options: ScanOptions,
        *,
        accepted: Sequence[AcceptedRisk] = (),
        today: date,
        ruleset: RuleSet | None = None,
        network: NetworkAnswers | None = None,
        domains: bool = False,
    ) -> None:
        """``domains``: domain endpoints will come (their table is then listed in the datasets)."""
        self.options = options
        self.accepted = tuple(accepted)
        self.today = today
        self.rules = ruleset if ruleset is not None else load_ruleset(options)
        self.attributor = (
            Attributor.default(
                cymru=network.cymru if network else None, rdap=network.rdap if network else None
            )
            if options.attribute
            else None
        )
        self.registrars = network.domain_rdap if network else {}
        self.internal = network.internal if network else {}
        self.saw_domain = domains

    def run(self, endpoints: Sequence[Endpoint]) -> list[Endpoint]:
        """``endpoints`` attributed and evaluated, in the same order.

        A bug met on one endpoint (an exception in attribution or in the rules) makes that
        endpoint ``unknown`` with an ``internal error in ...`` reason; the others go on.
        """
        out = list(endpoints)
        if self.internal:
            out = [self._network_errors(e) for e in out]
        if self.attributor is not None:
            out = [self._attribute(e) for e in out]
            self.saw_domain = self.saw_domain or any(e.layer is Layer.DOMAIN for e in out)
        # Skipped endpoints (a name that does not exist) hold nothing to evaluate.
        live = [e for e in out if e.status is not Status.SKIPPED]
        if not live:
            return out
        evaluated = iter(self._evaluate(live))
        return [next(evaluated) if e.status is not Status.SKIPPED else e for e in out]

    def _network_errors(self, endpoint: Endpoint) -> Endpoint:
        """List the network lookups (Cymru, RDAP) of this endpoint that hit a bug."""
        for key in (endpoint.host, *endpoint.addresses):
            reason = self.internal.get(key)
            if reason is not None:
                endpoint = with_internal_error(endpoint, reason, unknown=False)
        return endpoint

    def _attribute(self, endpoint: Endpoint) -> Endpoint:
        assert self.attributor is not None
        try:
            if endpoint.layer is Layer.DOMAIN:
                if endpoint.status is Status.SKIPPED:
                    return endpoint
                return attribute_domain(endpoint, rdap=self.registrars.get(endpoint.host))
            return self.attributor.attribute_endpoint(endpoint)
        except Exception as exc:  # attribution is pure code over collected data: a bug
            return with_internal_error(endpoint, internal_reason(exc), unknown=True)

    def _evaluate(self, live: list[Endpoint]) -> list[Endpoint]:
        def run(batch: list[Endpoint]) -> list[Endpoint]:
            return evaluate(
                batch, self.rules, lang=self.options.lang, accepted=self.accepted, now=self.today
            )

        try:
            return run(live)
        except Exception:  # rules are pure code over the endpoints: find the endpoint(s) hit
            out: list[Endpoint] = []
            for endpoint in live:
                try:
                    out.extend(run([endpoint]))
                except Exception as exc:
                    out.append(with_internal_error(endpoint, internal_reason(exc), unknown=True))
            return out

    def datasets(self) -> list[Dataset]:
        """Every dataset the endpoints analysed so far depended on, then the rule packs."""
        out: list[Dataset] = []
        if self.attributor is not None:
            out.extend(self.attributor.datasets())
            if self.saw_domain:
                out.append(default_domain_table().dataset())
        out.extend(self.rules.datasets())
        return out
