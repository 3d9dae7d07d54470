"""Attribution and rule evaluation of collected endpoints, batch by batch (:class:`Analyser`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sovaudit.attribute.domain import attribute_domain, default_domain_table
from sovaudit.attribute.engine import Attributor
from sovaudit.evaluate import evaluate, load_rules
from sovaudit.evaluate.loader import RuleSet
from sovaudit.models import AcceptedRisk, Dataset, Endpoint, Layer, Status
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
    ) -> None:
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
        self.saw_domain = False

    def run(self, endpoints: Sequence[Endpoint]) -> list[Endpoint]:
        """``endpoints`` attributed and evaluated, in the same order."""
        out = list(endpoints)
        if self.attributor is not None:
            attributor, registrars = self.attributor, self.registrars
            out = [
                e
                if e.layer is Layer.DOMAIN and e.status is Status.SKIPPED
                else attribute_domain(e, rdap=registrars.get(e.host))
                if e.layer is Layer.DOMAIN
                else attributor.attribute_endpoint(e)
                for e in out
            ]
            self.saw_domain = self.saw_domain or any(e.layer is Layer.DOMAIN for e in out)
        # Skipped endpoints (a name that does not exist) hold nothing to evaluate.
        live = [e for e in out if e.status is not Status.SKIPPED]
        if not live:
            return out
        evaluated = iter(
            evaluate(
                live, self.rules, lang=self.options.lang, accepted=self.accepted, now=self.today
            )
        )
        return [next(evaluated) if e.status is not Status.SKIPPED else e for e in out]

    def datasets(self) -> list[Dataset]:
        """Every dataset the endpoints analysed so far depended on, then the rule packs."""
        out: list[Dataset] = []
        if self.attributor is not None:
            out.extend(self.attributor.datasets())
            if self.saw_domain:
                out.append(default_domain_table().dataset())
        out.extend(self.rules.datasets())
        return out
