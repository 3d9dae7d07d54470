"""The named facts a rule can test, each documented and typed.

A rule never reads a model field directly: it names a fact, and this module says what the fact
means, which kind of value it holds and how to read it from an endpoint and one of its
attributions. Two scopes exist:

- ``endpoint`` facts describe the endpoint itself (layer, data classes, host...);
- ``attribution`` facts describe one attribution of the endpoint (operator, parent,
  jurisdiction...).

A rule whose condition uses only endpoint facts is evaluated once per endpoint; a rule that uses
at least one attribution fact matches when any attribution of the endpoint matches.

Any fact may be ``None`` (unknown). Operators treat unknown as "does not match", except ``exists``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from operator import attrgetter
from typing import Any

from sovaudit.evaluate.home import CANADA, HOMES, country
from sovaudit.evaluate.home import EEA_STATES as EEA_STATES  # re-exported
from sovaudit.evaluate.home import EU_MEMBER_STATES as EU_MEMBER_STATES  # re-exported
from sovaudit.models import Attribution, DataClass, Endpoint, Layer, Status


class FactKind(StrEnum):
    """The type of a fact's value; it decides which operators and values a rule may use."""

    STRING = "string"
    STRINGS = "strings"  # a list of strings (data_classes, flags)
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"


class FactScope(StrEnum):
    ENDPOINT = "endpoint"
    ATTRIBUTION = "attribution"


_CHAIN_FLAG = "chain:"

# Categories of the provider registry (sovaudit/attribute/data/providers.yaml).
CATEGORIES = (
    "cloud",
    "cdn",
    "mail",
    "dns",
    "saas",
    "isp",
    "datacenter",
    "public",
    "security",
    "registry",
    "registrar",
    "certificate-authority",  # set by the web probe's CA attribution, never by the registry
)
OWNERSHIPS = ("public", "private", "not-for-profit")
_JURISDICTION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")


class EndpointFacts:
    """Endpoint-level facts computed once per endpoint (the hot loop reads them many times)."""

    __slots__ = (
        "attributed",
        "data_classes",
        "endpoint_status",
        "host",
        "layer",
        "organization",
        "service",
    )

    def __init__(self, endpoint: Endpoint) -> None:
        # StrEnum members are str (same hash, same equality): no `.value` in the hot path.
        self.layer: str = endpoint.layer
        self.data_classes: tuple[str, ...] = endpoint.data_classes
        self.host = endpoint.host
        self.organization = endpoint.organization
        self.service = endpoint.service
        self.endpoint_status: str = endpoint.status
        self.attributed = any(a.status is Status.OK for a in endpoint.attributions)


# A reader takes the endpoint facts (endpoint scope) or one attribution (attribution scope).
Reader = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Fact:
    """One named fact: what it means, its kind, its scope, how to read it, and valid values."""

    name: str
    kind: FactKind
    scope: FactScope
    doc: str
    read: Reader
    # Known values: a value outside them in a rule is a typo, reported at load time.
    choices: tuple[str, ...] | None = None
    value_pattern: re.Pattern[str] | None = None

    def value(self, endpoint: EndpointFacts, attribution: Attribution | None) -> Any:
        """The fact's value for an endpoint and (for attribution facts) one of its attributions."""
        if self.scope is FactScope.ENDPOINT:
            return self.read(endpoint)
        return None if attribution is None else self.read(attribution)


def _foreign_controlled(at: Attribution) -> bool | None:
    # Unknown jurisdiction is unknown control, not domestic control. A province code (CA-QC,
    # CA-ON) belongs to Canada: control from another province is not foreign control.
    # Every pack that tests this fact is written for a Canadian profile (quebec, canada): their
    # home, from the one profile table (sovaudit.evaluate.home).
    return HOMES["quebec"].is_foreign(at.jurisdiction)


_country = country


def _in(countries: frozenset[str], jurisdiction: str | None) -> bool | None:
    country = _country(jurisdiction)
    return None if country is None else country in countries


def _operator_in_quebec(at: Attribution) -> bool | None:
    """Québec for CA-QC; outside Québec for another province (CA-ON) or another country.

    A bare ``CA`` does not say which province: unknown (None), like an unknown country.
    Québec's Law 25 treats another province as outside Québec (A-2.1 s. 70.1).
    """
    code = at.operator_jurisdiction
    if code is None or code == "CA":
        return None
    return code == "CA-QC"


def _chain_countries(at: Attribution) -> tuple[str, ...]:
    """Countries of every company in the ownership chain: operator, intermediates, parent.

    The attributor flags ``chain:CC`` for each chain country other than the parent's; the
    operator's and the parent's countries are added here so a rule sees the whole chain.
    """
    found = [at.operator_jurisdiction, at.jurisdiction]
    found += [f[len(_CHAIN_FLAG):] for f in at.flags if f.startswith(_CHAIN_FLAG)]
    return tuple(dict.fromkeys(c for c in map(_country, found) if c))


def _chain_outside_eu(at: Attribution) -> bool | None:
    # Unknown parent: the chain is unknown, not European.
    if at.jurisdiction is None:
        return None
    return any(c not in EU_MEMBER_STATES for c in _chain_countries(at))


_E = FactScope.ENDPOINT
_A = FactScope.ATTRIBUTION
_K = FactKind

_FACT_LIST: tuple[Fact, ...] = (
    Fact("layer", _K.STRING, _E, "Layer of the endpoint (web, mail, dns, ...).",
         attrgetter("layer"), tuple(x.value for x in Layer)),
    Fact("data_classes", _K.STRINGS, _E,
         "Data classes the service holds, as declared in the inventory (health, tax, ...).",
         attrgetter("data_classes"), tuple(x.value for x in DataClass)),
    Fact("host", _K.STRING, _E, "Host name of the endpoint (the domain for mail and dns).",
         attrgetter("host")),
    Fact("organization", _K.STRING, _E, "Inventory id of the organization.",
         attrgetter("organization")),
    Fact("service", _K.STRING, _E, "Inventory id of the service.", attrgetter("service")),
    Fact("endpoint_status", _K.STRING, _E,
         "Whether DNS resolution of the endpoint completed (ok, unknown, skipped).",
         attrgetter("endpoint_status"), tuple(x.value for x in Status)),
    Fact("attributed", _K.BOOLEAN, _E,
         "True when at least one attribution of the endpoint has status ok.",
         attrgetter("attributed")),
    Fact("subject", _K.STRING, _A, "The address or name the attribution is about.",
         attrgetter("subject")),
    Fact("role", _K.STRING, _A,
         "What the subject is for the endpoint: address, cname, mx, ns, autodiscover, "
         "spf-include, spf-ip, spf-host, dkim, gateway, mailbox, txt-token, registry, "
         "registrar, asn, web-signal, identity-provider, certificate-authority.",
         attrgetter("role")),
    Fact("status", _K.STRING, _A, "Whether the attribution succeeded (ok, unknown, skipped).",
         attrgetter("status"), tuple(x.value for x in Status)),
    Fact("address", _K.STRING, _A, "IP address of the subject, when it is one.",
         attrgetter("address")),
    Fact("asn", _K.INTEGER, _A, "Autonomous system number announcing the address.",
         attrgetter("asn")),
    Fact("asn_name", _K.STRING, _A, "Name of that autonomous system.", attrgetter("asn_name")),
    Fact("operator", _K.STRING, _A, "Registry id of the operator (e.g. microsoft-azure).",
         attrgetter("operator")),
    Fact("operator_name", _K.STRING, _A, "Legal name of the operator.",
         attrgetter("operator_name")),
    Fact("category", _K.STRING, _A, "Category of the operator in the provider registry.",
         attrgetter("category"), CATEGORIES),
    Fact("ultimate_parent", _K.STRING, _A, "Name of the operator's ultimate parent company.",
         attrgetter("ultimate_parent")),
    Fact("ultimate_parent_jurisdiction", _K.STRING, _A,
         "Country of the ultimate parent (ISO 3166-1 alpha-2, or CA-QC for Québec public "
         "bodies): the law that controls the operator.", attrgetter("jurisdiction"),
         value_pattern=_JURISDICTION),
    Fact("operator_jurisdiction", _K.STRING, _A,
         "Country of the operator's own entity (e.g. CA for Microsoft Canada).",
         attrgetter("operator_jurisdiction"), value_pattern=_JURISDICTION),
    Fact("ownership", _K.STRING, _A,
         "Ownership of the ultimate parent: public (state-owned) or private.",
         attrgetter("ownership"), OWNERSHIPS),
    Fact("confidence", _K.NUMBER, _A, "Confidence of the attribution, from 0 to 1.",
         attrgetter("confidence")),
    Fact("flags", _K.STRINGS, _A,
         "Flags of the attribution (private-address, bogon, gateway, conflict, weak, ...).",
         attrgetter("flags")),
    Fact("conflicts", _K.STRINGS, _A, "Conflicting attributions, as text.",
         attrgetter("conflicts")),
    Fact("foreign_controlled", _K.BOOLEAN, _A,
         "True when the ultimate parent's country is not Canada (CA, CA-QC or another province "
         "code); unknown (None) when the jurisdiction is unknown.", _foreign_controlled),
    Fact("ultimate_parent_in_eu", _K.BOOLEAN, _A,
         "True when the ultimate parent's country is an EU member state (27, ISO codes); "
         "unknown (None) when the jurisdiction is unknown.",
         lambda at: _in(EU_MEMBER_STATES, at.jurisdiction)),
    Fact("ultimate_parent_in_eea", _K.BOOLEAN, _A,
         "True when the ultimate parent's country is in the EEA (EU + IS, LI, NO), the area "
         "beyond which GDPR Chapter V governs transfers; unknown (None) when unknown.",
         lambda at: _in(EEA_STATES, at.jurisdiction)),
    Fact("operator_in_eu", _K.BOOLEAN, _A,
         "True when the operator's own entity is in an EU member state; unknown (None) when "
         "its country is unknown.", lambda at: _in(EU_MEMBER_STATES, at.operator_jurisdiction)),
    Fact("operator_in_eea", _K.BOOLEAN, _A,
         "True when the operator's own entity is in the EEA; unknown (None) when unknown.",
         lambda at: _in(EEA_STATES, at.operator_jurisdiction)),
    Fact("operator_in_canada", _K.BOOLEAN, _A,
         "True when the operator's own entity is in Canada (CA or a province code such as "
         "CA-QC, CA-ON); unknown (None) when its country is unknown.",
         lambda at: _in(CANADA, at.operator_jurisdiction)),
    Fact("operator_in_quebec", _K.BOOLEAN, _A,
         "True when the operator's own entity is in Québec (CA-QC); false when it is in "
         "another province (CA-ON, ...) or another country; unknown (None) when its country "
         "is unknown or recorded as CA without a province.", _operator_in_quebec),
    Fact("chain_countries", _K.STRINGS, _A,
         "Countries (ISO 3166-1 alpha-2) of the companies in the ownership chain: the "
         "operator's entity, intermediates (flags chain:CC) and the ultimate parent.",
         _chain_countries, value_pattern=_JURISDICTION),
    Fact("chain_outside_eu", _K.BOOLEAN, _A,
         "True when any company of the ownership chain is outside the EU (SecNumCloud "
         "§ 19.6 asks for EU control); unknown (None) when the parent's country is unknown.",
         _chain_outside_eu),
)

FACTS: dict[str, Fact] = {f.name: f for f in _FACT_LIST}


# -- weak evidence --------------------------------------------------------------------------------

# Facts about who controls the operator and under which law. A weak attribution (flag ``weak``:
# only the country where the network is registered, no operator from the registry) is not
# evidence of control: unless a rule says ``accept_weak: true``, these facts read unknown (None,
# or an empty list) on it. Names of facts a pack may not define yet are harmless here.
CONTROL_FACTS = frozenset({
    "ultimate_parent_jurisdiction", "operator_jurisdiction", "ownership", "foreign_controlled",
    "ultimate_parent_in_eu", "ultimate_parent_in_eea", "operator_in_eu", "operator_in_eea",
    "chain_countries", "chain_outside_eu", "operator_in_canada", "operator_in_quebec",
})
# Even when a rule accepts weak evidence, the value that would clear a concern (domestic,
# inside the EU...) is never taken from it: weak evidence may raise a concern, never settle one.
_REASSURING = {
    "foreign_controlled": False,
    "chain_outside_eu": False,
    "ultimate_parent_in_eu": True,
    "ultimate_parent_in_eea": True,
    "operator_in_eu": True,
    "operator_in_eea": True,
    "operator_in_canada": True,
    "operator_in_quebec": True,
}


def weak_aware(fact: Fact, accept_weak: bool) -> Fact:
    """``fact`` with a reader that applies the weak-evidence policy above (others unchanged)."""
    if fact.name not in CONTROL_FACTS or fact.scope is not FactScope.ATTRIBUTION:
        return fact
    read = fact.read
    if not accept_weak:
        empty: Any = () if fact.kind is FactKind.STRINGS else None

        def guarded(at: Attribution) -> Any:
            return empty if "weak" in at.flags else read(at)

        return replace(fact, read=guarded)
    if fact.name not in _REASSURING:
        return fact
    reassuring = _REASSURING[fact.name]

    def never_reassuring(at: Attribution) -> Any:
        value = read(at)
        if value is reassuring and "weak" in at.flags:
            return None
        return value

    return replace(fact, read=never_reassuring)
