"""The attribution engine: facts about an endpoint -> operator -> ultimate parent -> jurisdiction.

Pure code: every network answer (ASN table, Team Cymru, RDAP) is passed in. The engine never
guesses silently: when it cannot say who operates something it returns an UNKNOWN attribution
with a reason, and a weak fallback (country of registration) is flagged ``weak``.

Precedence, strongest first (see docs/attribution.md):

==========================================  ==========  =====================================
signal                                      confidence  notes
==========================================  ==========  =====================================
name pattern or TXT tenant token            0.95        for names (cname, mx, ns, spf, txt)
ASN listed in the registry                  0.90        for addresses
RDAP/whois registrant matches the registry  0.60        for addresses
sibling: AS name equals an operator's name  0.50        flagged ``sibling``, ``name-match``
country of registration only                0.30        operator unknown, flagged ``weak``
nothing                                     0.00        status unknown, jurisdiction None
==========================================  ==========  =====================================

Speed: a scan meets the same few hundred provider addresses and names again and again, so an
Attributor memoises what is a pure function of its own data (an address's class, origin ASN,
operator and ownership chain; a name's pattern matches) in bounded per-instance caches, and adds
the per-endpoint parts (the DNS record or "via" step first, a conflict with the name that led to
the address) on each call. Results are identical with or without the caches
(tests/test_attribution_cache.py).

The module is large on purpose: the precedence core and its memo caches share one instance's
state, and splitting it would put the caches and the rules they serve in different places.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Protocol, TypeVar, cast

from sovaudit.attribute.asncountry import AsnCountryTable
from sovaudit.attribute.asntable import AsnTable
from sovaudit.attribute.mail import MailEvidence, mail_verdict
from sovaudit.attribute.netclass import classify
from sovaudit.attribute.registry import Entity, NameMatch, Operator, Registry, default_registry
from sovaudit.collect.mailsignals import default_dkim_selectors, mailbox_operators
from sovaudit.collect.names import normalize_name
from sovaudit.collect.websignals import default_web_signals, match_ca
from sovaudit.i18n import french_typography
from sovaudit.models import (
    Attribution,
    Dataset,
    DnsRecord,
    Endpoint,
    EvidenceStep,
    Layer,
    Status,
    field_copier,
)

CONF_PATTERN = 0.95
CONF_TOKEN = 0.95
CONF_ASN = 0.9
CONF_RDAP = 0.6
CONF_AS_NAME = 0.5  # a sibling network: the AS name equals an operator's (normalized, in full)
CONF_SIBLING = CONF_AS_NAME
CONF_COUNTRY = 0.3

# The three levels an answer comes from (lookup and reports say which, in both languages).
LEVEL_CHAIN = "chain"  # an operator of the registry, with its ownership chain
LEVEL_COUNTRY = "country"  # only the country where the AS's addresses are registered (weak)
LEVEL_NONE = "none"  # neither operator nor country
LEVEL_TITLE = {"en": "Level", "fr": "Niveau"}
LEVEL_LABELS: dict[str, dict[str, str]] = {
    LEVEL_CHAIN: {
        "en": "operator and ownership chain (registry)",
        "fr": "exploitant et chaîne de propriété (registre)",
    },
    LEVEL_COUNTRY: {
        "en": "country only: registered in {country}; owner not in the registry",
        "fr": "pays seulement : enregistré en {country} ; propriétaire absent du registre",
    },
    LEVEL_NONE: {
        "en": "nothing: operator and country unknown",
        "fr": "rien : exploitant et pays inconnus",
    },
}


def attribution_level(at: Attribution) -> str:
    """Which of the three levels an attribution comes from: chain, country or none."""
    if at.status is Status.OK and at.operator is not None:
        return LEVEL_CHAIN
    if at.jurisdiction:
        return LEVEL_COUNTRY
    return LEVEL_NONE


# Short forms, where the context already says why (the Markdown report's evidence chains).
LEVEL_SHORT: dict[str, dict[str, str]] = {
    LEVEL_CHAIN: {"en": "operator chain", "fr": "chaîne de l'exploitant"},
    LEVEL_NONE: {"en": "nothing", "fr": "rien"},
}


def level_label(at: Attribution, lang: str = "en", *, short: bool = False) -> str:
    """The level of ``at`` in plain words, in ``lang`` (fr or en); ``short`` for terse lists.

    The country level keeps its full wording even when short: "registered in CH; owner not in
    the registry" is what sets a weak answer apart.
    """
    level = attribution_level(at)
    labels = LEVEL_SHORT.get(level, LEVEL_LABELS[level]) if short else LEVEL_LABELS[level]
    template = labels.get(lang) or labels["en"]
    text = template.format(country=at.jurisdiction or "?")
    return french_typography(text) if lang == "fr" else text


def is_weak(at: Attribution) -> bool:
    """True for a weak attribution (a country of registration, never an operator's chain)."""
    return "weak" in at.flags

# Web probe attributions. A response header is only what the server says about itself: any
# server can send "CF-Ray", so it weighs less than DNS or ASN facts.
CONF_WEB_HEADER = 0.7
CONF_WEB_IDP = 0.8  # a redirect or form to the sign-in host was seen, not guessed
CONF_WEB_CA = 0.9  # the issuer is in the certificate the server presented
ROLE_WEB_SIGNAL = "web-signal"
ROLE_IDP = "identity-provider"
ROLE_CA = "certificate-authority"
WEB_SIGNAL_KINDS = frozenset({"cdn", "waf", "host", "platform"})
HEADER_CAVEAT = "response headers can be forged by any server: an indication, not proof"
_WEB_SIGNALS_SOURCE = "web_signals.yaml"

# Categories that sit in front of a service (their own layer of exposure): TLS terminates there.
_FRONT_CATEGORIES = frozenset({"cdn", "security"})

# Reason codes (also set as flags) with their text in both report languages; ``reason`` on an
# attribution holds the English text so the JSON evidence is readable on its own.
UNKNOWN_REASONS: dict[str, dict[str, str]] = {
    "private-address": {
        "en": "private address {address} in public DNS ({label})",
        "fr": "adresse privée {address} dans le DNS public ({label})",
    },
    "bogon": {
        "en": "non-routable address {address} in public DNS ({label})",
        "fr": "adresse non routable {address} dans le DNS public ({label})",
    },
    "no-asn": {
        "en": "no ASN found for {address} (unrouted, or absent from the IP-to-ASN table)",
        "fr": "aucun ASN trouvé pour {address} (non routée, ou absente de la table IP-ASN)",
    },
    "asn-not-in-registry": {
        "en": "AS{asn} ({asn_name}) is not in the provider registry",
        "fr": "l'AS{asn} ({asn_name}) n'est pas dans le registre des fournisseurs",
    },
    "reserved-asn": {
        "en": "AS{asn} is private-use or reserved: it is never announced on the Internet",
        "fr": "l'AS{asn} est privé ou réservé : il n'est jamais annoncé sur Internet",
    },
    "country-only": {
        "en": "AS{asn} ({asn_name}) is not in the provider registry; registered in {country} "
        "(weak)",
        "fr": "l'AS{asn} ({asn_name}) n'est pas dans le registre des fournisseurs ; enregistré "
        "en {country} (indice faible)",
    },
    "no-pattern": {
        "en": "{name} matches no provider pattern and no address was resolved for it",
        "fr": "{name} ne correspond à aucun motif de fournisseur et aucune adresse n'a été résolue",
    },
    "spf-unknown": {
        "en": "SPF include {name} is not in the provider registry",
        "fr": "l'inclusion SPF {name} n'est pas dans le registre des fournisseurs",
    },
    "unresolved": {
        "en": "endpoint not resolved: {reason}",
        "fr": "point d'accès non résolu : {reason}",
    },
}


def reason_text(code: str, lang: str = "en", **values: object) -> str:
    """The text of an unknown-attribution reason in ``lang`` (fr or en)."""
    template = UNKNOWN_REASONS[code].get(lang) or UNKNOWN_REASONS[code]["en"]
    return template.format(**values)


def translate_reason(text: str, flags: Sequence[str], lang: str) -> str:
    """An attribution's stored (English) ``reason`` in ``lang``, when a flag names its code.

    The evidence keeps the English sentence; reports in French rebuild the French one from the
    same template, with the values read back out of the English text. Anything that does not
    match its template exactly is returned unchanged (never a half-translated sentence).
    """
    if lang == "en" or not text:
        return text
    for code in flags:
        pattern = _reason_pattern(code)
        if pattern is None:
            continue
        match = pattern.fullmatch(text)
        if match is not None:
            return reason_text(code, lang, **match.groupdict())
    return text


@functools.lru_cache(maxsize=64)
def _reason_pattern(code: str) -> re.Pattern[str] | None:
    templates = UNKNOWN_REASONS.get(code)
    if templates is None:
        return None
    parts = re.split(r"\{(\w+)\}", templates["en"])
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.*?)" for i, part in enumerate(parts)
    )
    return re.compile(regex, re.DOTALL)


class AsnMatchLike(Protocol):
    """What an IP-to-ASN table returns (sovaudit.attribute.asntable.AsnMatch)."""

    @property
    def asn(self) -> int: ...

    @property
    def name(self) -> str | None: ...

    @property
    def network(self) -> str: ...

    @property
    def source(self) -> str: ...


class CountryLookup(Protocol):
    """An ASN -> country-of-registration table (sovaudit.attribute.asncountry.AsnCountryTable)."""

    def country_of(self, asn: int) -> Any: ...


class AsnLookup(Protocol):
    """An IP-to-ASN table (sovaudit.attribute.asntable.AsnTable)."""

    def lookup(self, ip: str) -> AsnMatchLike | None: ...

    def name_of(self, asn: int) -> str | None: ...


@dataclass(frozen=True, slots=True)
class _AsnFact:
    asn: int
    name: str | None
    network: str | None
    country: Any  # a code (Team Cymru, RDAP), an AsnCountry (offline table) or None
    source: str


@dataclass(slots=True)
class _Draft:
    """An attribution under construction (the public result is the frozen Attribution)."""

    subject: str
    role: str
    address: str | None = None
    evidence: list[EvidenceStep] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    asn: int | None = None
    asn_name: str | None = None

    def flag(self, *names: str) -> None:
        for name in names:
            if name not in self.flags:
                self.flags.append(name)


_Add = Callable[[Attribution | None], None]

# SPF ranges and hosts attributed per domain (a record listing hundreds is not configuration).
MAX_SPF_SENDERS = 32

# Entries per Attributor memo (addresses, names, name matches). Scans reach 100k+ hosts, so
# every cache is bounded; a few hundred shared addresses and names (CDN, mail and DNS
# providers) carry most of the hits.
CACHE_SIZE = 32_768

_MISSING: Final = object()
_K = TypeVar("_K")
_V = TypeVar("_V")


def _remember(cache: dict[_K, _V], key: _K, value: _V, cap: int) -> _V:
    """Store ``value`` in ``cache`` and return it; when full, first drop the older half.

    Dropping half at once keeps the cost O(1) per insertion (popping a dict's first key one at
    a time is not) and keeps the entries stored most recently. ``cap`` <= 0 stores nothing.
    """
    if cap <= 0:
        return value
    if len(cache) >= cap:
        recent = list(cache.items())[len(cache) - cap // 2 :]
        cache.clear()
        cache.update(recent)
    cache[key] = value
    return value


@dataclass(frozen=True, slots=True)
class _Tail:
    """What ``_resolved`` adds for one operator: a pure function of the registry, built once."""

    operator: Operator
    steps: tuple[EvidenceStep, ...]
    flags: tuple[str, ...]
    top: Entity
    first: Entity


# One positional constructor call each (dataclasses.replace walks the fields on every call);
# tests/test_attribution_cache.py checks them against replace with every field set.
_with_attributions: Callable[[Endpoint, tuple[Attribution, ...], dict[str, Any]], Endpoint] = (
    field_copier(Endpoint, "attributions", "details")
)
_with_evidence: Callable[[Attribution, tuple[EvidenceStep, ...]], Attribution] = field_copier(
    Attribution, "evidence"
)


def _flagging(add: _Add, flag: str) -> _Add:
    """An ``add`` that sets ``flag`` on every attribution it passes on."""

    def wrapped(at: Attribution | None) -> None:
        if at is not None and flag not in at.flags:
            at = replace(at, flags=(*at.flags, flag))
        add(at)

    return wrapped


# AS numbers that are never announced on the Internet (RFC 6996, RFC 7300, RFC 5398, RFC 7607).
_RESERVED_ASNS = ((0, 0), (23456, 23456), (64496, 65535), (4200000000, 4294967295))


def _attr(obj: object, name: str) -> Any:
    """Read a field of a pre-fetched answer that may be a dataclass or a plain mapping."""
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


@functools.lru_cache(maxsize=65_536)
def _answer_key(text: str) -> str:
    # "10 mx.example.com." -> "mx.example.com"; "1.2.3.4" -> "1.2.3.4"
    parts = text.split()
    return normalize_name(parts[-1]) if parts else ""


class Attributor:
    """Attributes the addresses and names of endpoints to operators, parents and jurisdictions."""

    def __init__(
        self,
        registry: Registry,
        asn_table: AsnLookup | None,
        *,
        cymru: Mapping[str, object] | None = None,
        rdap: Mapping[str, object] | None = None,
        cache_size: int = CACHE_SIZE,
        country_table: CountryLookup | None = None,
    ) -> None:
        self.registry = registry
        self.asn_table = asn_table
        # ASN -> country of registration: the weak, country-only answer for unlisted ASNs.
        self.country_table = country_table
        # Copies: the caches below assume these answers never change after construction.
        self.cymru: Mapping[str, object] = dict(cymru or {})
        self.rdap: Mapping[str, object] = dict(rdap or {})
        self._registry_source = f"providers.yaml {registry.version}"
        # Memos of pure functions of (this attributor's data, the arguments), never shared
        # between attributors: one built with other Cymru/RDAP answers computes its own.
        # Each holds at most ``cache_size`` entries (0: no memo, for comparisons).
        self.cache_size = cache_size
        self._address_cache: dict[
            tuple[str, str | None, str | None, str | None, str | None, str], Attribution
        ] = {}
        self._address_core: dict[str, Attribution] = {}
        self._name_core: dict[tuple[str, str], Attribution | None] = {}
        self._match_cache: dict[tuple[str, str], tuple[NameMatch, ...]] = {}
        self._tails: dict[str, _Tail] = {}

    @classmethod
    def default(
        cls,
        *,
        cymru: Mapping[str, object] | None = None,
        rdap: Mapping[str, object] | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> Attributor:
        """The shipped registry with the default IP-to-ASN table (user's update if any)."""
        return cls(
            default_registry(),
            AsnTable.default(),
            cymru=cymru,
            rdap=rdap,
            cache_size=cache_size,
            country_table=AsnCountryTable.default(),
        )

    # -- public API ------------------------------------------------------------------------

    def datasets(self) -> list[Dataset]:
        """The datasets this attributor uses: the registry, and the ASN table if it has one."""
        out = [
            Dataset(
                name="sovaudit provider registry",
                version=self.registry.version,
                date=self.registry.reviewed,
                source="sovaudit/attribute/data/providers.yaml",
                licence="Apache-2.0",
            )
        ]
        for table in (self.asn_table, self.country_table):
            table_ds = getattr(table, "dataset", None)
            if isinstance(table_ds, Dataset):
                out.append(table_ds)
        return out

    def attribute_name(self, name: str, role: str) -> Attribution | None:
        """Attribute a DNS name by the registry's patterns (or SPF includes); None if none match."""
        return self._name(name, role, {})

    def attribute_address(self, ip: str, *, via: str | None = None) -> Attribution:
        """Attribute one address; ``via`` is the name that resolved to it (for conflict checks)."""
        return self._address(ip, via, "cname", {})

    def attribute_asn(self, asn: int) -> Attribution:
        """Attribute an autonomous system number (offline: registry and table names only)."""
        draft = _Draft(subject=f"AS{asn}", role="asn", asn=asn)
        draft.asn_name = self.asn_table.name_of(asn) if self.asn_table is not None else None
        op = self.registry.by_asn(asn)
        if op is not None:
            draft.evidence.append(EvidenceStep("asn", f"AS{asn}", self._registry_source))
            return self._resolved(draft, op, CONF_ASN)
        if any(lo <= asn <= hi for lo, hi in _RESERVED_ASNS):
            draft.flag("bogon", "reserved-asn")
            return self._unknown(draft, reason_text("reserved-asn", asn=asn))
        source = getattr(self.asn_table, "source_label", "asn table")
        if draft.asn_name:
            draft.evidence.append(EvidenceStep("asn", f"AS{asn} {draft.asn_name}", source))
            sibling = self._sibling(asn, draft.asn_name, source, draft)
            if sibling is not None:
                return sibling
        fact = _AsnFact(asn, draft.asn_name, None, self._country(asn), source)
        if fact.country is not None:
            return self._country_only(fact, draft)
        draft.flag("asn-not-in-registry")
        return self._unknown(
            draft,
            reason_text("asn-not-in-registry", asn=asn, asn_name=draft.asn_name or "name unknown"),
        )

    def attribute_endpoint(self, endpoint: Endpoint) -> Endpoint:
        """Return a copy of ``endpoint`` with ``attributions`` and ``details["control"]`` filled."""
        index = _record_index(endpoint.records)
        out: list[Attribution] = []
        seen: set[tuple[str, str]] = set()

        def add(at: Attribution | None) -> None:
            if at is not None and (at.role, at.subject) not in seen:
                seen.add((at.role, at.subject))
                out.append(at)

        details = endpoint.details or {}
        own_domain = normalize_name(endpoint.host)

        # The host itself may be a provider's name (contoso.sharepoint.com in an inventory).
        add(self._name(endpoint.host, "cname", index))

        chain = [str(n) for n in details.get("cname_chain") or ()]
        if not chain and "mx" not in details and "ns" not in details:
            chain = list(endpoint.names)
        self._chain(chain, (), endpoint.host, "cname", index, add)

        for mx in details.get("mx") or ():
            host = str(_attr(mx, "host") or "")
            if host:
                self._server(mx, host, "mx", index, add)
        for ns in details.get("ns") or ():
            host = str(_attr(ns, "host") or "")
            if host:
                if _attr(ns, "nxdomain"):
                    self._server(ns, host, "ns", index, _flagging(add, "dangling-ns"))
                else:
                    self._server(ns, host, "ns", index, add)

        auto = details.get("autodiscover")
        if auto:
            auto_chain = [str(n) for n in _attr(auto, "cname_chain") or ()]
            auto_host = str(_attr(auto, "host") or "")
            addrs = [str(a) for a in _attr(auto, "addresses") or ()]
            self._chain(auto_chain, addrs, auto_host, "autodiscover", index, add)

        spf = details.get("spf")
        if spf:
            for inc in _attr(spf, "includes") or ():
                name = normalize_name(str(inc))
                if name == own_domain or name.endswith("." + own_domain):
                    continue  # the organization's own include: its own senders are listed there
                at = self._name(name, "spf-include", index)
                if at is None:
                    draft = _Draft(subject=name, role="spf-include")
                    draft.flag("spf-unknown")
                    at = self._unknown(draft, reason_text("spf-unknown", name=name))
                add(at)

        # Mail evidence with the full signal set (DKIM, DMARC...) gets the gateway/mailbox
        # verdict; older evidence files lack those signals and keep the earlier attribution.
        signals = endpoint.layer is Layer.MAIL and "dkim" in details
        mail_summary: dict[str, Any] | None = None
        if signals:
            self._spf_senders(spf, own_domain, index, add)
            self._dkim_and_policy(details, own_domain, index, add)
            mail_summary = self._mail_verdict(endpoint, details, index, add)
        elif endpoint.layer is Layer.MAIL:
            # A verification token proves an account, not where anything is hosted: it never
            # counts on a DNS endpoint, and with full mail evidence it is a tenant, not hosting.
            for txt in details.get("txt") or ():
                add(self._token(str(txt)))

        # Endpoint-level addresses last: an address already seen behind an MX, NS or
        # autodiscover name keeps that more specific context.
        via = chain[-1] if chain else endpoint.host
        for ip in endpoint.addresses:
            add(self._address(str(ip), via, "cname", index))

        web = details.get("web")
        if isinstance(web, Mapping):
            # After DNS and addresses: a finding cites the first attribution that matched, and
            # the DNS facts are stronger than what an HTTP answer says about itself.
            self._web(web, add)

        if not out:
            # Nothing at all to attribute: say why instead of returning an empty, "clean" list.
            role = {"mail": "mx", "dns": "ns"}.get(endpoint.layer.value, "address")
            draft = _Draft(subject=endpoint.host, role=role)
            draft.flag("unresolved")
            why = endpoint.reason or "no address or name to attribute"
            add(self._unknown(draft, reason_text("unresolved", reason=why)))

        # The certificate authority vouches for the name; it neither hosts nor sees the data.
        jurisdictions: set[str] = set()
        operators: dict[str, None] = {}
        ok = unknown = 0
        for a in out:  # one pass: this runs for every endpoint of a scan
            if a.role != ROLE_CA:
                # A weak answer (registration country only) says nothing about control.
                if a.jurisdiction and "weak" not in a.flags:
                    jurisdictions.add(a.jurisdiction)
                if a.operator:
                    operators.setdefault(a.operator)
            if a.status is Status.OK:
                ok += 1
            elif a.status is Status.UNKNOWN:
                unknown += 1
        control = {
            "jurisdictions": sorted(jurisdictions),
            "operators": list(operators),
            "attributed": ok > 0 and unknown == 0,
            "unknown": unknown,
        }
        new_details = {**details, "control": control}
        if mail_summary is not None:
            new_details["mail"] = mail_summary
        return _with_attributions(endpoint, tuple(out), new_details)

    # -- web probe (details["web"], see sovaudit/collect/web.py) ----------------------------

    def _web(self, web: Mapping[str, Any], add: _Add) -> None:
        """CDN/host signals, identity providers and the certificate authority of a web probe."""
        source = str(web.get("final_url") or web.get("url") or "")
        headers: dict[str, str] = {}
        for pair in web.get("headers") or ():
            if isinstance(pair, (list, tuple)) and len(pair) == 2:
                headers.setdefault(str(pair[0]), str(pair[1]))
        signals = [s for s in web.get("signals") or () if isinstance(s, Mapping)]
        # One attribution per operator, with one evidence step per header or cookie seen.
        by_operator: dict[str, list[Mapping[str, Any]]] = {}
        for sig in signals:
            op_id = sig.get("operator")
            kind = sig.get("kind")
            if kind in WEB_SIGNAL_KINDS and op_id in self.registry.operators:
                by_operator.setdefault(str(op_id), []).append(sig)
        for op_id, sigs in by_operator.items():
            draft = _Draft(subject=str(sigs[0].get("provider") or op_id), role=ROLE_WEB_SIGNAL)
            for sig in sigs:
                draft.evidence.append(
                    EvidenceStep("http", _http_value(str(sig.get("evidence", "")), headers), source)
                )
            draft.evidence.append(EvidenceStep("caveat", HEADER_CAVEAT, "sovaudit web probe"))
            draft.flag("http-header")
            op = self.registry.operators[op_id]
            if op.category in _FRONT_CATEGORIES:
                draft.flag("gateway")  # TLS terminates there: it reads every request in clear
            add(self._resolved(draft, op, CONF_WEB_HEADER))
        for sig in signals:
            if sig.get("kind") == "identity-provider":
                add(self._identity_provider(sig, source))
        tls = web.get("tls")
        if isinstance(tls, Mapping):
            add(self._certificate_authority(tls, source))

    def _identity_provider(self, sig: Mapping[str, Any], source: str) -> Attribution | None:
        evidence = str(sig.get("evidence", ""))
        host = normalize_name(evidence.rsplit(" ", 1)[-1]) if evidence else ""
        draft = _Draft(subject=host or str(sig.get("provider", "")), role=ROLE_IDP)
        draft.evidence.append(EvidenceStep("http", evidence, source))
        draft.evidence.append(
            EvidenceStep("identity-provider", str(sig.get("provider", "")), _WEB_SIGNALS_SOURCE)
        )
        op_id = sig.get("operator")
        if op_id in self.registry.operators:
            return self._resolved(draft, self.registry.operators[str(op_id)], CONF_WEB_IDP)
        draft.flag("idp-not-in-registry")
        return self._unknown(
            draft, f"identity provider {sig.get('provider')} is not in the provider registry"
        )

    def _certificate_authority(self, tls: Mapping[str, Any], source: str) -> Attribution | None:
        issuer_org = tls.get("issuer_organization")
        rule = match_ca(str(issuer_org) if issuer_org else None, default_web_signals())
        if rule is None:
            return None
        draft = _Draft(subject=rule.name, role=ROLE_CA)
        draft.evidence.append(
            EvidenceStep("http", f"certificate issuer: {tls.get('issuer', '')}", source)
        )
        draft.evidence.append(
            EvidenceStep("ca", f"{rule.name} ({rule.country})", _WEB_SIGNALS_SOURCE)
        )
        if not tls.get("verified", False):
            draft.flag("tls-unverified")
        if rule.operator is not None and rule.operator in self.registry.operators:
            at = self._resolved(draft, self.registry.operators[rule.operator], CONF_WEB_CA)
            # The registry files the company under its main business (e.g. security); here it
            # acts as a CA, and rules about hosting or CDNs must not read it as one.
            return replace(at, category=ROLE_CA)
        country = rule.parent_country or rule.country
        if rule.parent_country:
            draft.evidence.append(
                EvidenceStep("parent", f"parent country {rule.parent_country}", _WEB_SIGNALS_SOURCE)
            )
        draft.evidence.append(EvidenceStep("jurisdiction", country, _WEB_SIGNALS_SOURCE))
        draft.flag("ca-table")
        return Attribution(
            subject=draft.subject,
            role=draft.role,
            operator_name=rule.name,
            category=ROLE_CA,
            jurisdiction=country,
            operator_jurisdiction=rule.country,
            confidence=CONF_WEB_CA,
            status=Status.OK,
            flags=tuple(draft.flags),
            evidence=tuple(draft.evidence),
        )

    # -- mail ------------------------------------------------------------------------------

    def _spf_senders(
        self, spf: object, own_domain: str, index: Mapping[str, DnsRecord], add: _Add
    ) -> None:
        """ip4/ip6/a/mx mechanisms the domain chose itself (or found under unknown includes).

        A range listed inside a known provider's include is that provider's, already attributed
        through the include; attributing each of its ranges again would only add noise.
        """
        if not spf:
            return
        origins = _attr(spf, "origins") or {}
        count = 0
        for kind in ("ip4", "ip6", "a", "mx"):
            for value in _attr(spf, kind) or ():
                origin = normalize_name(str(origins.get(f"{kind}:{value}", own_domain)))
                own = origin == own_domain or origin.endswith("." + own_domain)
                if not own and self.registry.match_spf_include(origin) is not None:
                    continue
                if count >= MAX_SPF_SENDERS:
                    return
                count += 1
                if kind in ("ip4", "ip6"):
                    add(self._spf_range(str(value), origin, index))
                    continue
                name = normalize_name(str(value))
                if name == own_domain or name.endswith("." + own_domain):
                    continue  # the domain's own hosts: their addresses are in other endpoints
                at = self._name(name, "mx" if kind == "mx" else "cname", index)
                if at is None:
                    draft = _Draft(subject=name, role="spf-host")
                    draft.flag("no-pattern")
                    at = self._unknown(draft, reason_text("no-pattern", name=name))
                add(replace(at, role="spf-host"))

    def _spf_range(self, cidr: str, origin: str, index: Mapping[str, DnsRecord]) -> Attribution:
        """An SPF range, attributed through its network address (the ASN table knows ranges)."""
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            draft = _Draft(subject=cidr, role="spf-ip")
            draft.flag("invalid")
            return self._unknown(draft, f"invalid SPF range {cidr}")
        at = self._address(str(network.network_address), None, "spf-ip", index)
        step = EvidenceStep("spf", f"{cidr} listed by {origin}", "SPF record")
        return replace(at, subject=cidr, role="spf-ip", evidence=(step, *at.evidence))

    def _dkim_and_policy(
        self, details: Mapping[str, Any], own_domain: str, index: Mapping[str, DnsRecord], add: _Add
    ) -> None:
        """DKIM selector CNAME targets (who holds the signing key) and the MTA-STS policy host."""
        names: list[tuple[str, str, str]] = []
        for entry in details.get("dkim") or ():
            chain = [str(n) for n in _attr(entry, "cname_chain") or ()]
            if chain:
                names.append((chain[0], "dkim", f"selector {_attr(entry, 'selector')}"))
        sts = details.get("mta_sts") or {}
        names.extend(
            (str(name), "mta-sts", "MTA-STS policy host")
            for name in _attr(_attr(sts, "policy_host") or {}, "cname_chain") or ()
        )
        for name, role, what in names:
            subject = normalize_name(name)
            if subject == own_domain or subject.endswith("." + own_domain):
                continue
            at = self._name(subject, "cname", index)
            if at is None:
                draft = _Draft(subject=subject, role=role)
                draft.flag("no-pattern")
                at = self._unknown(draft, reason_text("no-pattern", name=subject))
            step = EvidenceStep(role, what, "dns")
            add(replace(at, role=role, evidence=(step, *at.evidence)))

    def _mail_verdict(
        self,
        endpoint: Endpoint,
        details: Mapping[str, Any],
        index: Mapping[str, DnsRecord],
        add: _Add,
    ) -> dict[str, Any]:
        """Gateway and mailbox host (sovaudit.attribute.mail) as attributions and a summary."""
        servers: dict[str, str] = {}
        mx_hosts: list[str] = []
        for mx in details.get("mx") or ():
            host = normalize_name(str(_attr(mx, "host") or ""))
            if not host:
                continue
            mx_hosts.append(host)
            op = self._first_address_operator(mx, host, "mx", index)
            if op is not None:
                servers.setdefault(host, op)
        auto = details.get("autodiscover") or {}
        auto_names = [normalize_name(str(n)) for n in _attr(auto, "cname_chain") or ()]
        auto_host = normalize_name(str(_attr(auto, "host") or ""))
        if auto_host and (_attr(auto, "addresses") or auto_names):
            op = self._first_address_operator(
                auto, auto_names[-1] if auto_names else auto_host, "autodiscover", index
            )
            if op is not None:
                for n in (auto_host, *auto_names):
                    servers.setdefault(n, op)
            if not auto_names:
                auto_names = [auto_host]
        spf = details.get("spf") or {}
        hints = {s.selector: s.operator for s in default_dkim_selectors() if s.operator}
        dkim: list[tuple[str, str | None]] = []
        for entry in details.get("dkim") or ():
            chain = [str(n) for n in _attr(entry, "cname_chain") or ()]
            dkim.append((str(_attr(entry, "selector")), chain[0] if chain else None))
        verdict = mail_verdict(
            MailEvidence(
                domain=endpoint.host,
                mx=tuple(mx_hosts),
                spf_includes=tuple(str(i) for i in _attr(spf, "includes") or ()),
                autodiscover=tuple(auto_names),
                dkim=tuple(dkim),
                tokens=tuple(str(t) for t in details.get("txt") or ()),
                server_operators=servers,
                selector_hints=hints,
                mailbox_operators=mailbox_operators(),
            ),
            self.registry,
        )
        summary: dict[str, Any] = {"gateway": None, "mailbox": None}
        for role, party in (("gateway", verdict.gateway), ("mailbox", verdict.mailbox)):
            if party is None:
                continue
            part: dict[str, Any] = {
                "subject": party.subject,
                "operator": party.operator,
                "operator_name": None,
                "jurisdiction": None,
                "confidence": party.confidence,
                "signals": [s.as_dict() for s in party.signals],
            }
            if party.operator is not None:
                at = self._party(
                    role, party.subject, party.operator, party.confidence, party.signals
                )
                add(at)
                part.update(operator_name=at.operator_name, jurisdiction=at.jurisdiction)
            summary[role] = part
        summary["fronted"] = verdict.fronted
        summary["senders"] = [
            {"operator": op, "jurisdiction": self.registry.jurisdiction(op)}
            for op in verdict.senders
        ]
        summary["tenants"] = [
            {
                "token": t.subject,
                "operator": t.operator,
                "operator_name": self.registry.operators[t.operator].name,
                "jurisdiction": self.registry.jurisdiction(t.operator),
            }
            for t in verdict.tenants
        ]
        summary["scores"] = [[op, score] for op, score in verdict.scores]
        return summary

    def _first_address_operator(
        self, entry: object, via: str, role: str, index: Mapping[str, DnsRecord]
    ) -> str | None:
        for ip in _attr(entry, "addresses") or ():
            at = self._address(str(ip), via, role, index)
            if at.operator is not None:
                return at.operator
        return None

    def _party(
        self, role: str, subject: str, operator: str, confidence: float, signals: Sequence[Any]
    ) -> Attribution:
        draft = _Draft(subject=subject, role=role)
        for sig in signals:
            draft.evidence.append(
                EvidenceStep(
                    f"{role}-signal",
                    f"{sig.kind} {sig.subject} (weight {sig.weight:g})",
                    "sovaudit mail verdict",
                )
            )
        if role == "gateway" and self.registry.operators[operator].category == "security":
            draft.flag("gateway")
        return self._resolved(draft, self.registry.operators[operator], round(confidence, 2))

    # -- endpoint walkers ------------------------------------------------------------------

    def _chain(
        self,
        chain: Sequence[str],
        addresses: Sequence[str],
        host: str,
        role: str,
        index: Mapping[str, DnsRecord],
        add: _Add,
    ) -> None:
        """A CNAME chain (names after ``host``) and the addresses at its end."""
        for name in chain:
            add(self._name(name, role, index))
        via = chain[-1] if chain else host
        for ip in addresses:
            add(self._address(str(ip), via or None, role, index))

    def _server(
        self, entry: object, host: str, role: str, index: Mapping[str, DnsRecord], add: _Add
    ) -> None:
        """An MX or NS host with its optional CNAME chain and addresses."""
        named = self._name(host, role, index)
        chain = [str(n) for n in _attr(entry, "cname_chain") or ()]
        addresses = [str(a) for a in _attr(entry, "addresses") or ()]
        if named is not None:
            add(named)
        elif not addresses:
            draft = _Draft(subject=normalize_name(host), role=role)
            draft.flag("no-pattern")
            add(self._unknown(draft, reason_text("no-pattern", name=normalize_name(host))))
        for name in chain:
            add(self._name(name, "cname", index))
        via = chain[-1] if chain else host
        for ip in addresses:
            add(self._address(ip, via, role, index))

    # -- single subjects -------------------------------------------------------------------

    def _name(self, name: str, role: str, index: Mapping[str, DnsRecord]) -> Attribution | None:
        subject = normalize_name(name)
        if not subject:
            return None
        key = (subject, role)
        hit = self._name_core.get(key, _MISSING)  # one look-up: None is a cached answer too
        if hit is _MISSING:
            core = _remember(
                self._name_core, key, self._name_uncached(subject, role), self.cache_size
            )
        else:
            core = cast("Attribution | None", hit)
        if core is None:
            return None
        rec = index.get(subject)
        if rec is None:
            return core
        # The record step comes first; nothing else in the attribution depends on it.
        return _with_evidence(core, (_record_step(rec, subject), *core.evidence))

    def _matches(self, name: str, role: str) -> tuple[NameMatch, ...]:
        """``registry.match_name``, memoised: a host is matched as a name, then as ``via``."""
        key = (name, role)
        found = self._match_cache.get(key)
        if found is None:
            found = tuple(self.registry.match_name(name, role))
            _remember(self._match_cache, key, found, self.cache_size)
        return found

    def _name_uncached(self, subject: str, role: str) -> Attribution | None:
        """``_name`` without the DNS record step: a pure function of (subject, role)."""
        draft = _Draft(subject=subject, role=role)
        if role == "spf-include":
            hit = self.registry.match_spf_include(subject)
            if hit is None:
                return None
            op, listed = hit
            draft.evidence.append(EvidenceStep("spf-include", listed, self._registry_source))
            return self._resolved(draft, op, CONF_PATTERN)
        matches = self._matches(subject, role)
        if not matches:
            return None
        best = matches[0]
        draft.evidence.append(EvidenceStep("pattern", best.pattern.glob, self._registry_source))
        best_country = self.registry.jurisdiction(best.operator.id)
        for other in matches[1:]:
            same_parent = self.registry.ultimate_parent(
                other.operator.id
            ) == self.registry.ultimate_parent(best.operator.id)
            if other.pattern.specificity == best.pattern.specificity and not same_parent:
                draft.flag("conflict")
                draft.conflicts.append(
                    f"{subject} also matches {other.pattern.glob} -> {other.operator.id} "
                    f"({self.registry.jurisdiction(other.operator.id)}), kept "
                    f"{best.operator.id} ({best_country})"
                )
        if role in ("cname", "mx", "autodiscover") and best.operator.category in _FRONT_CATEGORIES:
            draft.flag("gateway")
        return self._resolved(draft, best.operator, CONF_PATTERN)

    def _token(self, txt: str) -> Attribution | None:
        tok = self.registry.match_token(txt)
        if tok is None:
            return None
        # Keep the token's prefix and a short tail: the full value adds nothing to a report.
        shown = txt if len(txt) <= 64 else txt[:61] + "..."
        draft = _Draft(subject=shown, role="txt-token")
        draft.evidence.append(EvidenceStep("record", f"TXT {shown}", "apex TXT"))
        draft.evidence.append(EvidenceStep("token", tok.prefix, "tokens.yaml"))
        return self._resolved(draft, self.registry.operators[tok.operator], CONF_TOKEN)

    def _address(
        self, ip: str, via: str | None, via_role: str, index: Mapping[str, DnsRecord]
    ) -> Attribution:
        ip = ip.strip()
        rec = index.get(ip)
        # Everything the result depends on: the record's fields used by _record_step, and via.
        key = (
            (ip, rec.type, rec.name, rec.resolver, via, via_role)
            if rec is not None
            else (ip, None, None, None, via, via_role)
        )
        cached = self._address_cache.get(key)
        if cached is not None:
            return cached
        core = self._address_core.get(ip)
        if core is None:
            core = _remember(self._address_core, ip, self._address_uncached(ip), self.cache_size)
        prefix: EvidenceStep | None = None
        if rec is not None:
            prefix = _record_step(rec, ip)
        elif via:
            prefix = EvidenceStep("via", normalize_name(via), "dns")
        at = core if prefix is None else _with_evidence(core, (prefix, *core.evidence))
        at = self._check_via(at, via, via_role)
        return _remember(self._address_cache, key, at, self.cache_size)

    def _address_uncached(self, ip: str) -> Attribution:
        """Classification, origin ASN and operator chain of ``ip``: a pure function of ``ip``.

        The record or "via" step that ``_address`` puts first changes no flag, conflict or
        verdict, so it is added afterwards and this part is shared by every endpoint.
        """
        draft = _Draft(subject=ip, role="address", address=ip)
        special = classify(ip)
        if special is not None:
            draft.flag(special.flag, special.kind)
            draft.evidence.append(EvidenceStep("address", f"{ip}: {special.label}", "RFC 6890"))
            return self._unknown(draft, reason_text(special.flag, address=ip, label=special.label))
        draft.evidence.append(EvidenceStep("address", ip, "public unicast"))

        fact = self._asn_fact(ip, draft)
        attribution: Attribution
        if fact is None:
            attribution = self._fallback_without_asn(ip, draft)
        else:
            draft.asn, draft.asn_name = fact.asn, fact.name
            where = f" {fact.network}" if fact.network else ""
            draft.evidence.append(
                EvidenceStep("asn", f"AS{fact.asn} {fact.name or ''}".strip() + where, fact.source)
            )
            op = self.registry.by_asn(fact.asn)
            if op is not None:
                attribution = self._resolved(draft, op, CONF_ASN)
            else:
                attribution = self._fallback_unlisted_asn(ip, fact, draft)
        return attribution

    # -- address helpers -------------------------------------------------------------------

    def _asn_fact(self, ip: str, draft: _Draft) -> _AsnFact | None:
        """Origin ASN of ``ip``: live Team Cymru answer first, offline table second."""
        table: _AsnFact | None = None
        if self.asn_table is not None:
            m = self.asn_table.lookup(ip)
            if m is not None:
                table = _AsnFact(int(m.asn), m.name, m.network, self._country(int(m.asn)), m.source)
        live: _AsnFact | None = None
        c = self.cymru.get(ip)
        if c is not None and _attr(c, "asn") is not None:
            try:
                asn = int(str(_attr(c, "asn")).removeprefix("AS"))
            except ValueError:
                asn = 0
            if asn > 0:
                name = _attr(c, "as_name") or (table.name if table and table.asn == asn else None)
                if name is None and self.asn_table is not None:
                    name = self.asn_table.name_of(asn)
                cached = _attr(c, "cached")  # an answer from the cache says so, from where, when
                source = f"team-cymru ({cached})" if cached else "team-cymru (live DNS)"
                live = _AsnFact(asn, name, _attr(c, "prefix"), _attr(c, "country"), source)
                self._other_origins(asn, _attr(c, "other_origins") or (), draft)
        if live is not None and table is not None and live.asn != table.asn:
            # Routing moved or the table is stale: say so, trust the live origin.
            draft.flag("conflict")
            draft.conflicts.append(
                f"ASN table says AS{table.asn} ({table.source}), Team Cymru says AS{live.asn}"
            )
        return live or table

    def _other_origins(self, asn: int, others: Iterable[object], draft: _Draft) -> None:
        """A prefix announced by several ASNs (anycast, migration): report other owners."""
        main = self.registry.by_asn(asn)
        for other in others:
            try:
                other_asn = int(str(other))
            except ValueError:
                continue
            draft.flag("multi-origin")
            op = self.registry.by_asn(other_asn)
            if op is None or main is None:
                draft.conflicts.append(f"prefix also announced by AS{other_asn}")
                continue
            if self.registry.ultimate_parent(op.id) != self.registry.ultimate_parent(main.id):
                draft.flag("conflict")
                draft.conflicts.append(
                    f"prefix also announced by AS{other_asn} -> {op.id} "
                    f"({self.registry.jurisdiction(op.id)})"
                )

    def _rdap_operator(self, ip: str, draft: _Draft) -> tuple[Operator | None, str | None]:
        """Operator from the RDAP registrant, and the registrant's country."""
        r = self.rdap.get(ip)
        if r is None:
            return None, None
        country = _attr(r, "registrant_country") or _attr(r, "country")
        url = str(_attr(r, "source_url") or "rdap")
        for key in ("registrant_name", "network_name"):
            value = _attr(r, key)
            if value:
                op = self.registry.match_org_name(str(value))
                if op is not None:
                    draft.evidence.append(EvidenceStep("rdap", f"{key}: {value}", url))
                    return op, country
        name = _attr(r, "registrant_name") or _attr(r, "network_name")
        if name or country:
            draft.evidence.append(
                EvidenceStep("rdap", f"registrant: {name or '?'} ({country or '?'})", url)
            )
        return None, country

    def _country(self, asn: int) -> Any:
        """The registration country of ``asn`` from the offline table (an AsnCountry), or None."""
        if self.country_table is None:
            return None
        return self.country_table.country_of(asn)

    def _sibling(
        self, asn: int, as_name: str, source: str, draft: _Draft
    ) -> Attribution | None:
        """An unlisted ASN whose AS name is, in full, the name of a registry operator."""
        hit = self.registry.match_sibling(as_name, asn)
        if hit is None:
            return None
        draft.flag("sibling", "name-match")
        draft.evidence.append(
            EvidenceStep(
                "as-name",
                f"{as_name} = {hit.name} (sibling network of {hit.operator.id}, matched by name)",
                source,
            )
        )
        return self._resolved(draft, hit.operator, CONF_SIBLING)

    def _country_only(self, fact: _AsnFact, draft: _Draft) -> Attribution:
        """The weak answer: the AS's name as the operator's and its country of registration."""
        country = fact.country
        name = fact.name or "name unknown"
        if isinstance(country, str):
            code, where, source = country.upper(), "", f"country of registration ({fact.source})"
        else:  # an AsnCountry from the offline table
            code = str(country.country).upper()
            where = f" ({country.share} % of the AS's space)"
            source = country.source
        draft.flag("weak", "country-only")
        if fact.name:
            draft.evidence.append(EvidenceStep("as-name", fact.name, fact.source))
        draft.evidence.append(
            EvidenceStep("registration-country", f"{code}{where}", source)
        )
        return Attribution(
            subject=draft.subject,
            role=draft.role,
            address=draft.address,
            asn=draft.asn,
            asn_name=draft.asn_name,
            operator_name=fact.name,
            jurisdiction=code,
            confidence=CONF_COUNTRY,
            status=Status.UNKNOWN,
            reason=reason_text("country-only", asn=fact.asn, asn_name=name, country=code),
            flags=tuple(draft.flags),
            conflicts=tuple(draft.conflicts),
            evidence=tuple(draft.evidence),
        )

    def _fallback_unlisted_asn(self, ip: str, fact: _AsnFact, draft: _Draft) -> Attribution:
        op, rdap_country = self._rdap_operator(ip, draft)
        if op is not None:
            draft.flag("rdap-match")
            return self._resolved(draft, op, CONF_RDAP)
        if fact.name:
            sibling = self._sibling(fact.asn, fact.name, fact.source, draft)
            if sibling is not None:
                return sibling
        if fact.country is None and rdap_country:
            fact = replace(fact, country=str(rdap_country))
        if fact.country:
            return self._country_only(fact, draft)
        name = fact.name or "name unknown"
        draft.flag("asn-not-in-registry")
        return self._unknown(draft, reason_text("asn-not-in-registry", asn=fact.asn, asn_name=name))

    def _fallback_without_asn(self, ip: str, draft: _Draft) -> Attribution:
        op, country = self._rdap_operator(ip, draft)
        if op is not None:
            draft.flag("rdap-match")
            return self._resolved(draft, op, CONF_RDAP)
        if country:
            draft.flag("weak", "country-only")
            return replace(
                self._unknown(
                    draft,
                    reason_text("country-only", asn="?", asn_name="no ASN", country=country),
                ),
                jurisdiction=str(country).upper(),
                confidence=CONF_COUNTRY,
            )
        draft.flag("no-asn")
        return self._unknown(draft, reason_text("no-asn", address=ip))

    def _check_via(self, at: Attribution, via: str | None, via_role: str) -> Attribution:
        """Report (never hide) a name pattern that disagrees with the address's own ASN."""
        if not via or at.operator is None:
            return at
        matches = self._matches(via, via_role)
        if not matches:
            return at
        named = matches[0].operator
        if self.registry.ultimate_parent(named.id) == self.registry.ultimate_parent(at.operator):
            return at
        text = (
            f"name {normalize_name(via)} matches {matches[0].pattern.glob} -> {named.id} "
            f"({self.registry.jurisdiction(named.id)}), but {at.subject} is announced by "
            f"AS{at.asn} -> {at.operator} ({at.jurisdiction}); the address keeps its ASN"
        )
        flags = at.flags if "conflict" in at.flags else (*at.flags, "conflict")
        return replace(at, flags=flags, conflicts=(*at.conflicts, text))

    # -- building results ------------------------------------------------------------------

    def _tail(self, op: Operator) -> _Tail:
        """Operator, ownership-chain and jurisdiction steps and flags of ``op`` (memoised)."""
        tail = self._tails.get(op.id)
        if tail is not None and tail.operator is op:
            return tail
        chain = self.registry.chain(op.id)
        top = chain[-1]
        steps = [EvidenceStep("operator", f"{op.id} ({op.name})", self._registry_source)]
        for i, ent in enumerate(chain):
            step = "entity" if i == 0 else "parent"
            steps.append(EvidenceStep(step, f"{ent.name} ({ent.country})", ent.source))
        steps.append(EvidenceStep("jurisdiction", top.country, top.source))
        flags: list[str] = []
        if op.unverified or any(e.unverified for e in chain):
            flags.append("unverified")
        # A US subsidiary under a French parent is still a US company: keep it visible.
        flags.extend(
            f"chain:{country}"
            for country in dict.fromkeys(e.country for e in chain)
            if country != top.country
        )
        tail = _Tail(op, tuple(steps), tuple(flags), top, chain[0])
        if len(self._tails) < len(self.registry.operators) + 64:  # bounded: one per operator
            self._tails[op.id] = tail
        return tail

    def _resolved(self, draft: _Draft, op: Operator, confidence: float) -> Attribution:
        tail = self._tail(op)
        top = tail.top
        draft.evidence.extend(tail.steps)
        draft.flag(*tail.flags)
        return Attribution(
            subject=draft.subject,
            role=draft.role,
            address=draft.address,
            asn=draft.asn,
            asn_name=draft.asn_name,
            operator=op.id,
            operator_name=op.name,
            category=op.category,
            ultimate_parent=top.name,
            jurisdiction=top.country,
            operator_jurisdiction=tail.first.country,
            ownership=top.ownership,
            confidence=confidence,
            status=Status.OK,
            reason=None,
            flags=tuple(draft.flags),
            conflicts=tuple(draft.conflicts),
            evidence=tuple(draft.evidence),
        )

    @staticmethod
    def _unknown(draft: _Draft, reason: str) -> Attribution:
        return Attribution(
            subject=draft.subject,
            role=draft.role,
            address=draft.address,
            asn=draft.asn,
            asn_name=draft.asn_name,
            confidence=0.0,
            status=Status.UNKNOWN,
            reason=reason,
            flags=tuple(draft.flags),
            conflicts=tuple(draft.conflicts),
            evidence=tuple(draft.evidence),
        )


def _record_index(records: Iterable[DnsRecord]) -> dict[str, DnsRecord]:
    """Map each answer value (address or target name) to the first record that gave it."""
    index: dict[str, DnsRecord] = {}
    for rec in records:
        if rec.type not in ("A", "AAAA", "CNAME", "MX", "NS"):
            continue
        for ans in rec.answers:
            index.setdefault(_answer_key(ans), rec)
    return index


def _http_value(evidence: str, headers: Mapping[str, str]) -> str:
    """``Name: value`` for a header signal ("CF-Ray header"), the cookie name for a cookie one."""
    if evidence.endswith(" header"):
        name = evidence[: -len(" header")]
        value = headers.get(name.lower())
        return f"{name}: {value}" if value is not None else f"{name} (header)"
    if evidence.endswith(" cookie"):
        return f"Set-Cookie: {evidence[: -len(' cookie')]}=…"
    return evidence


def _record_step(rec: DnsRecord, value: str) -> EvidenceStep:
    return EvidenceStep(
        "record", f"{rec.type} {normalize_name(rec.name)} -> {value}", f"dns@{rec.resolver}"
    )
