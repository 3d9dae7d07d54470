"""The provider registry: who operates an ASN or a name, who owns that operator, under which law.

The registry is data (``data/providers.yaml`` and ``data/tokens.yaml``); this module loads it,
validates it (every error is ``FILE:LINE: message``) and builds the indexes the attribution engine
uses. It does no network I/O.

Name patterns are globs over DNS names, as :mod:`sovaudit.collect.names` defines them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from sovaudit.attribute.datafile import load_yaml_lines, optional_text_field, text_field
from sovaudit.collect.names import compile_glob, normalize_name
from sovaudit.errors import DatasetError

CATEGORIES = ("cloud", "cdn", "mail", "dns", "saas", "isp", "datacenter", "public", "security")
OWNERSHIPS = ("public", "private", "not-for-profit")
PATTERN_ROLES = ("cname", "mx", "ns", "any")
_COUNTRY = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_GLOB = re.compile(r"^[a-z0-9*_.-]+$")
# The keys an entry may have: anything else is a typo, or the stray key an unquoted comma makes
# in a flow mapping ("name: Equinix, Inc." reads as name "Equinix" plus a key "Inc.").
ENTITY_KEYS = frozenset(
    "id name country ownership parent listed source reviewed verified unverified note".split()
)
OPERATOR_KEYS = frozenset(
    "id name category parent asns patterns spf_includes org_names exclude_asns source reviewed "
    "verified unverified note".split()
)
# Normalized organization names too generic to identify an operator by an AS name alone.
GENERIC_ORG_NAMES = frozenset(
    "cloud hosting host internet network networks net telecom telecommunications communications "
    "data datacenter data center online web server servers services service it isp dns mail "
    "cdn security government university public private global international group holding "
    "holdings systems technologies technology solutions digital media".split()
)
# Legal-form words dropped before comparing organization names (RDAP registrants, AS names).
_LEGAL_FORMS = frozenset(
    "inc incorporated llc ltd limited ltee ltée corp corporation co company sa sas gmbh bv b.v "
    "ag plc lp llp ab oy nv srl ulc the".split()
)


@dataclass(frozen=True, slots=True)
class Entity:
    """A legal entity in an ownership chain."""

    id: str
    name: str
    country: str
    ownership: str
    parent: str | None
    listed: str | None
    source: str
    reviewed: str
    unverified: bool = False
    note: str | None = None
    line: int = 0
    file: str = ""  # the data file that defines it ("" for the registry's main file)
    verified: str | None = None


@dataclass(frozen=True, slots=True)
class NamePattern:
    """One glob over DNS names, for one role (cname, mx, ns or any)."""

    role: str
    glob: str
    regex: re.Pattern[str]
    # Number of literal characters: the more specific pattern wins when two match.
    specificity: int


@dataclass(frozen=True, slots=True)
class Operator:
    """Something that runs infrastructure: an ASN, a service, a brand, tied to a legal entity."""

    id: str
    name: str
    category: str
    entity: str
    asns: tuple[int, ...]
    patterns: tuple[NamePattern, ...]
    spf_includes: tuple[str, ...]
    org_names: tuple[str, ...]
    source: str
    reviewed: str
    unverified: bool = False
    note: str | None = None
    line: int = 0
    file: str = ""  # the data file that defines it ("" for the registry's main file)
    # ASNs whose AS name matches the operator's names but that are not its networks, with why.
    exclude_asns: tuple[tuple[int, str], ...] = ()
    verified: str | None = None


@dataclass(frozen=True, slots=True)
class SiblingMatch:
    """An AS name equal (normalized) to a registry name of an operator or of a subsidiary."""

    operator: Operator
    name: str  # the registry name it equals
    key: str  # the normalized form both share


@dataclass(frozen=True, slots=True)
class Token:
    """A TXT verification-token prefix that shows a tenant of a provider."""

    prefix: str
    operator: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class NameMatch:
    """A name matched by an operator's pattern."""

    operator: Operator
    pattern: NamePattern


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A pattern in the suffix index, with its operator's and its own position (for ties)."""

    op_rank: int
    pat_rank: int
    operator: Operator
    pattern: NamePattern


def _literal_suffix(glob: str) -> str:
    """The trailing labels of ``glob`` that hold no ``*`` ("" when the last label has one).

    A name matched by the glob always ends with these labels, so they are an exact index key.
    """
    labels = glob.split(".")
    tail: list[str] = []
    for label in reversed(labels):
        if "*" in label:
            break
        tail.append(label)
    return ".".join(reversed(tail))


def _load_yaml(text: str, path: str) -> Any:
    return load_yaml_lines(text, path)


def normalize_org(name: str) -> str:
    """Reduce an organization name to comparable words (no case, punctuation or legal form)."""
    # Dots go first so "B.V." and "BV" (or "Inc." and "Inc") compare equal.
    words = re.split(r"[^a-z0-9]+", name.lower().replace(".", ""))
    return " ".join(w for w in words if w and w not in _LEGAL_FORMS)


_NO_HIT: Any = object()


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


class Registry:
    """The loaded, validated provider registry and its indexes."""

    def __init__(
        self,
        *,
        version: str,
        reviewed: str,
        operators: Iterable[Operator],
        entities: Iterable[Entity],
        tokens: Iterable[Token] = (),
        path: str = "providers.yaml",
        warnings: Iterable[str] = (),
    ) -> None:
        self.version = version
        # What the loader repaired (FILE:LINE: message), e.g. a name split by an unquoted comma.
        self.warnings: tuple[str, ...] = tuple(warnings)
        self.reviewed = reviewed
        self.path = path
        self.operators: dict[str, Operator] = {}
        self.entities: dict[str, Entity] = {}
        for ent in entities:
            if ent.id in self.entities:
                raise DatasetError(
                    f"duplicate entity id {ent.id!r}", path=ent.file or path, line=ent.line
                )
            self.entities[ent.id] = ent
        self._by_asn: dict[int, Operator] = {}
        self._spf: dict[str, Operator] = {}
        self._orgs: dict[str, Operator] = {}
        # Memos of pure functions of this (never modified) registry, bounded by its size.
        self._chains: dict[str, tuple[Entity, ...]] = {}
        self._roles: dict[str, frozenset[str]] = {}
        for op in operators:
            self._add_operator(op)
        self._index_patterns()
        self.tokens: tuple[Token, ...] = tuple(
            sorted(tokens, key=lambda t: len(t.prefix), reverse=True)
        )
        for tok in self.tokens:
            if tok.operator not in self.operators:
                raise DatasetError(
                    f"token {tok.prefix!r} refers to unknown operator {tok.operator!r}", path=path
                )
        self._check_entities()
        self._siblings: dict[str, SiblingMatch] | None = None
        self._sibling_memo: dict[str, Any] = {}
        self.ambiguous_names: dict[str, tuple[str, ...]] = {}

    def _add_operator(self, op: Operator) -> None:
        path = op.file or self.path
        if op.id in self.operators:
            raise DatasetError(f"duplicate operator id {op.id!r}", path=path, line=op.line)
        if op.entity not in self.entities:
            raise DatasetError(
                f"operator {op.id!r}: parent {op.entity!r} is not a known entity",
                path=path,
                line=op.line,
            )
        self.operators[op.id] = op
        for asn in op.asns:
            other = self._by_asn.get(asn)
            if other is not None:
                raise DatasetError(
                    f"AS{asn} is listed by both {other.id!r} and {op.id!r}", path=path, line=op.line
                )
            self._by_asn[asn] = op
        for inc in op.spf_includes:
            other = self._spf.get(inc)
            if other is not None:
                raise DatasetError(
                    f"SPF include {inc!r} is listed by both {other.id!r} and {op.id!r}",
                    path=path,
                    line=op.line,
                )
            self._spf[inc] = op
        for org in (*op.org_names, self.entities[op.entity].name):
            self._orgs.setdefault(normalize_org(org), op)

    def _index_patterns(self) -> None:
        """Index every name pattern by its literal trailing labels (the part after the last ``*``).

        ``match_name`` then looks up each suffix of a name (a handful of dict look-ups) instead
        of running all the registry's regexes; each candidate is still confirmed by its regex,
        so the result is exactly that of a full scan.
        """
        self._by_suffix: dict[str, list[_Candidate]] = {}
        self._no_suffix: list[_Candidate] = []
        for op_rank, op in enumerate(self.operators.values()):
            for pat_rank, pat in enumerate(op.patterns):
                cand = _Candidate(op_rank, pat_rank, op, pat)
                suffix = _literal_suffix(pat.glob)
                if suffix:
                    self._by_suffix.setdefault(suffix, []).append(cand)
                else:
                    self._no_suffix.append(cand)

    def _check_entities(self) -> None:
        for ent in self.entities.values():
            if ent.parent is not None and ent.parent not in self.entities:
                raise DatasetError(
                    f"entity {ent.id!r}: parent {ent.parent!r} is not a known entity",
                    path=ent.file or self.path,
                    line=ent.line,
                )
            self.chain_of_entity(ent.id)  # raises on cycles

    # -- ownership chains ------------------------------------------------------------------

    def chain_of_entity(self, entity_id: str) -> tuple[Entity, ...]:
        """The entity and its parents up to the ultimate parent (cycle-safe: raises on a cycle)."""
        chain: list[Entity] = []
        seen: set[str] = set()
        current: str | None = entity_id
        while current is not None:
            if current in seen:
                ids = " -> ".join([e.id for e in chain] + [current])
                first = self.entities[entity_id]
                raise DatasetError(
                    f"ownership cycle: {ids}", path=first.file or self.path, line=first.line
                )
            seen.add(current)
            ent = self.entities.get(current)
            if ent is None:
                raise DatasetError(f"unknown entity {current!r}", path=self.path)
            chain.append(ent)
            current = ent.parent
        return tuple(chain)

    def chain(self, operator_id: str) -> tuple[Entity, ...]:
        """The operator's own entity, then its parents; the last one is the ultimate parent."""
        chain = self._chains.get(operator_id)
        if chain is None:
            # Bounded by the number of operators; the registry never changes once built.
            chain = self.chain_of_entity(self.operators[operator_id].entity)
            self._chains[operator_id] = chain
        return chain

    def ultimate_parent(self, operator_id: str) -> Entity:
        """The entity at the top of the operator's ownership chain."""
        return self.chain(operator_id)[-1]

    def jurisdiction(self, operator_id: str) -> str:
        """Country of the operator's ultimate parent: the law that controls the operator."""
        return self.ultimate_parent(operator_id).country

    # -- look-ups --------------------------------------------------------------------------

    def by_asn(self, asn: int) -> Operator | None:
        """The operator that announces this ASN, if the registry lists it."""
        return self._by_asn.get(asn)

    def asns(self) -> dict[int, Operator]:
        """Every ASN of the registry and its operator."""
        return dict(self._by_asn)

    def match_name(self, name: str, role: str) -> list[NameMatch]:
        """Operators whose pattern for ``role`` (or ``any``) matches ``name``, best first."""
        name = normalize_name(name)
        roles = self._roles.get(role)
        if roles is None:
            # "*" asks for every role: a bare name looked up with no context.
            wanted = set(PATTERN_ROLES) if role == "*" else {role, "any"}
            if role == "autodiscover":
                wanted.add("cname")
            roles = frozenset(wanted)
            if len(self._roles) < 64:  # the engine asks for a handful of roles; stay bounded
                self._roles[role] = roles
        if "\n" in name:
            # "$" also matches before a final newline: keep the full scan's exact semantics.
            return self._match_name_scan(name, roles)
        candidates: list[_Candidate] = [c for c in self._no_suffix if c.pattern.role in roles]
        by_suffix = self._by_suffix
        # Every suffix made of whole labels: the name itself, then after each dot.
        start = 0
        while True:
            hits = by_suffix.get(name[start:])
            if hits is not None:
                candidates.extend(c for c in hits if c.pattern.role in roles)
            dot = name.find(".", start)
            if dot < 0:
                break
            start = dot + 1
        if not candidates:
            return []
        # The full scan keeps, per operator, the first pattern of the highest specificity.
        candidates.sort(key=lambda c: (c.op_rank, c.pat_rank))
        best: dict[int, _Candidate] = {}
        for cand in candidates:
            if cand.pattern.regex.match(name):
                kept = best.get(cand.op_rank)
                if kept is None or cand.pattern.specificity > kept.pattern.specificity:
                    best[cand.op_rank] = cand
        found = [NameMatch(c.operator, c.pattern) for c in best.values()]
        found.sort(key=lambda m: (-m.pattern.specificity, m.operator.id))
        return found

    def _match_name_scan(self, name: str, roles: frozenset[str]) -> list[NameMatch]:
        """``match_name`` by trying every pattern (the reference the index must agree with)."""
        found: list[NameMatch] = []
        for op in self.operators.values():
            best: NamePattern | None = None
            for pat in op.patterns:
                if pat.role in roles and pat.regex.match(name):
                    if best is None or pat.specificity > best.specificity:
                        best = pat
            if best is not None:
                found.append(NameMatch(op, best))
        found.sort(key=lambda m: (-m.pattern.specificity, m.operator.id))
        return found

    def match_spf_include(self, name: str) -> tuple[Operator, str] | None:
        """The operator of an SPF include: the listed name itself or any name under it."""
        name = normalize_name(name)
        labels = name.split(".")
        # Longest suffix first, so a specific entry beats a broader one.
        for i in range(len(labels) - 1):
            suffix = ".".join(labels[i:])
            op = self._spf.get(suffix)
            if op is not None:
                return op, suffix
        return None

    def match_token(self, txt: str) -> Token | None:
        """The verification token a TXT string starts with (case-insensitive), if any."""
        low = txt.strip().lower()
        for tok in self.tokens:
            if low.startswith(tok.prefix.lower()):
                return tok
        return None

    def match_org_name(self, name: str) -> Operator | None:
        """The operator whose registered organization name (RDAP registrant, AS name) is ``name``.

        Entity legal names count too: they map to the first operator of that entity.
        """
        key = normalize_org(name)
        return self._orgs.get(key) if key else None

    # -- sibling networks --------------------------------------------------------------------

    def registry_names(self, operator_id: str) -> tuple[str, ...]:
        """The names an operator is known by: its org_names, trading name and legal entity."""
        op = self.operators[operator_id]
        return (*op.org_names, op.name, self.entities[op.entity].name)

    def _sibling_index(self) -> dict[str, SiblingMatch]:
        """Normalized name -> operator, for every operator's names and its subsidiaries' names.

        A subsidiary is an entity of the registry whose parent chain reaches an operator's own
        entity without being any operator's entity itself (it maps to the first operator of its
        nearest such ancestor). A name that two operators under different ultimate parents both
        claim is dropped (``ambiguous_names``), and generic names (``GENERIC_ORG_NAMES``, or
        shorter than 3 characters) never match: an AS is recognized only by its full name.
        """
        if self._siblings is not None:
            return self._siblings
        first_op: dict[str, Operator] = {}
        for op in self.operators.values():
            first_op.setdefault(op.entity, op)
        claims: dict[str, list[tuple[Operator, str]]] = {}

        def claim(name: str, op: Operator) -> None:
            key = normalize_org(name)
            if len(key) < 3 or key in GENERIC_ORG_NAMES:
                return
            claims.setdefault(key, []).append((op, name))

        for op in self.operators.values():
            for name in self.registry_names(op.id):
                claim(name, op)
        for ent in self.entities.values():
            if ent.id in first_op:
                continue
            for ancestor in self.chain_of_entity(ent.id)[1:]:
                owner = first_op.get(ancestor.id)
                if owner is not None:
                    claim(ent.name, owner)
                    break
        index: dict[str, SiblingMatch] = {}
        for key, found in claims.items():
            parents = {self.ultimate_parent(op.id).id for op, _ in found}
            if len(parents) > 1:
                self.ambiguous_names[key] = tuple(sorted({op.id for op, _ in found}))
                continue
            op, name = found[0]
            index[key] = SiblingMatch(op, name, key)
        self._siblings = index
        return index

    def match_sibling(self, as_name: str, asn: int | None = None) -> SiblingMatch | None:
        """The operator whose registry name equals ``as_name`` once normalized, if any.

        Full-name equality only (never a substring), so "Amazon Web Services Look-alike LLC"
        is not Amazon. ``asn``, when given, must not be one the operator excludes.
        """
        hit = self._sibling_memo.get(as_name, _NO_HIT)
        if hit is _NO_HIT:
            # Memoised per name (an AS name recurs for every address of its ranges); bounded.
            key = normalize_org(as_name)
            hit = self._sibling_index().get(key) if key else None
            if len(self._sibling_memo) >= 131_072:
                self._sibling_memo.clear()
            self._sibling_memo[as_name] = hit
        if hit is None:
            return None
        found: SiblingMatch = hit
        if asn is not None and any(asn == ex for ex, _ in found.operator.exclude_asns):
            return None
        return found


# -- loading -------------------------------------------------------------------------------


def _str_list(d: Mapping[str, Any], key: str, path: str, line: int, what: str) -> tuple[str, ...]:
    value = d.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise DatasetError(f"{what}: {key!r} must be a list of strings", path=path, line=line)
    return tuple(value)


def _reviewed(d: Mapping[str, Any], path: str, line: int, what: str) -> str:
    value = d.get("reviewed")
    text = value.isoformat() if isinstance(value, date) else value
    if not isinstance(text, str) or not _is_date(text):
        raise DatasetError(f"{what}: 'reviewed' must be an ISO date", path=path, line=line)
    return text


def _known_keys(
    d: dict[str, Any],
    allowed: frozenset[str],
    path: str,
    line: int,
    what: str,
    warnings: list[str] | None,
) -> dict[str, Any]:
    """``d`` with only ``allowed`` keys: an unknown key is an error, except one left by a comma.

    In a flow mapping, ``name: Equinix, Inc.`` reads as ``name: Equinix`` plus a key ``Inc.``
    with no value. Such null keys right after a text value are joined back to it (the name
    becomes "Equinix, Inc." as written) and reported in ``warnings``; any other unknown key
    raises, so a typo never silently drops a fact.
    """
    if all(k in allowed for k in d):
        return d
    repaired: dict[str, Any] = {}
    previous: str | None = None
    for key, value in d.items():
        if key in allowed:
            repaired[key] = value
            previous = key if isinstance(value, str) else None
            continue
        if value is None and previous is not None and warnings is not None:
            repaired[previous] = f"{repaired[previous]}, {key}"
            warnings.append(
                f"{path}:{line}: {what}: {previous!r} was split by an unquoted comma and read "
                f"back as {repaired[previous]!r}; quote it"
            )
            continue
        raise DatasetError(
            f"{what}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))}); "
            "an unquoted comma in a value? quote it",
            path=path,
            line=line,
        )
    return repaired


def _optional_date(d: Mapping[str, Any], key: str, path: str, line: int, what: str) -> str | None:
    value = d.get(key)
    if value is None:
        return None
    text = value.isoformat() if isinstance(value, date) else value
    if not isinstance(text, str) or not _is_date(text):
        raise DatasetError(f"{what}: {key!r} must be an ISO date", path=path, line=line)
    return text


def parse_entity(d: Any, path: str, warnings: list[str] | None = None) -> Entity:
    """One ownership entity (provider registry or domain table), validated with FILE:LINE.

    ``warnings`` collects what was repaired (see ``_known_keys``); without it, any unknown key
    is an error.
    """
    line = getattr(d, "line", 0)
    if not isinstance(d, dict):
        raise DatasetError("each entity must be a mapping", path=path, line=line)
    eid = text_field(d, "id", path, line, "entity")
    what = f"entity {eid!r}"
    d = _known_keys(d, ENTITY_KEYS, path, line, what, warnings)
    if not _ID.match(eid):
        raise DatasetError(f"{what}: id must match {_ID.pattern}", path=path, line=line)
    country = text_field(d, "country", path, line, what)
    if not _COUNTRY.match(country):
        raise DatasetError(
            f"{what}: country {country!r} is not ISO 3166 (e.g. US, CA, CA-QC)",
            path=path,
            line=line,
        )
    ownership = text_field(d, "ownership", path, line, what)
    if ownership not in OWNERSHIPS:
        raise DatasetError(
            f"{what}: ownership must be one of {', '.join(OWNERSHIPS)}", path=path, line=line
        )
    return Entity(
        id=eid,
        name=text_field(d, "name", path, line, what),
        country=country,
        ownership=ownership,
        parent=optional_text_field(d, "parent", path, line, what),
        listed=optional_text_field(d, "listed", path, line, what),
        source=text_field(d, "source", path, line, what),
        reviewed=_reviewed(d, path, line, what),
        unverified=bool(d.get("unverified", False)),
        note=optional_text_field(d, "note", path, line, what),
        line=line,
        file=path,
        verified=_optional_date(d, "verified", path, line, what),
    )


def _parse_patterns(d: Mapping[str, Any], path: str, line: int, what: str) -> list[NamePattern]:
    raw = d.get("patterns") or {}
    if not isinstance(raw, dict):
        raise DatasetError(f"{what}: 'patterns' must map a role to globs", path=path, line=line)
    patterns: list[NamePattern] = []
    for role, globs in raw.items():
        if role not in PATTERN_ROLES:
            raise DatasetError(
                f"{what}: pattern role {role!r} is not one of {', '.join(PATTERN_ROLES)}",
                path=path,
                line=line,
            )
        if not isinstance(globs, list):
            raise DatasetError(f"{what}: patterns.{role} must be a list", path=path, line=line)
        for glob in globs:
            if not isinstance(glob, str) or not _GLOB.match(glob) or glob.strip("*.") == "":
                raise DatasetError(f"{what}: invalid name glob {glob!r}", path=path, line=line)
            if "*" in glob.rstrip("*") and glob.count(".") < 2 and glob.startswith("*."):
                # '*.com' style globs would claim a whole TLD.
                raise DatasetError(f"{what}: glob {glob!r} is too broad", path=path, line=line)
            patterns.append(NamePattern(role, glob, compile_glob(glob), len(glob.replace("*", ""))))
    return patterns


def _parse_exclusions(
    d: Mapping[str, Any], path: str, line: int, what: str
) -> tuple[tuple[int, str], ...]:
    raw = d.get("exclude_asns") or []
    out: list[tuple[int, str]] = []
    if not isinstance(raw, list):
        raise DatasetError(f"{what}: 'exclude_asns' must be a list", path=path, line=line)
    for item in raw:
        asn = item.get("asn") if isinstance(item, dict) else None
        reason = item.get("reason") if isinstance(item, dict) else None
        if (
            not isinstance(item, dict)
            or set(item) - {"asn", "reason"}
            or not isinstance(asn, int)
            or isinstance(asn, bool)
            or not 0 < asn < 2**32
            or not isinstance(reason, str)
            or not reason.strip()
        ):
            raise DatasetError(
                f"{what}: each 'exclude_asns' item is {{asn: N, reason: \"...\"}}",
                path=path,
                line=getattr(item, "line", line),
            )
        out.append((asn, reason.strip()))
    return tuple(out)


def _check_names(names: tuple[str, ...], path: str, line: int, what: str) -> None:
    for name in names:
        if not normalize_org(name):
            raise DatasetError(
                f"{what}: org name {name!r} is only a legal form: an unquoted comma split a "
                "name? quote it",
                path=path,
                line=line,
            )


def _parse_operator(d: Any, path: str, warnings: list[str] | None = None) -> Operator:
    line = getattr(d, "line", 0)
    if not isinstance(d, dict):
        raise DatasetError("each operator must be a mapping", path=path, line=line)
    oid = text_field(d, "id", path, line, "operator")
    what = f"operator {oid!r}"
    d = _known_keys(d, OPERATOR_KEYS, path, line, what, warnings)
    if not _ID.match(oid):
        raise DatasetError(f"{what}: id must match {_ID.pattern}", path=path, line=line)
    category = text_field(d, "category", path, line, what)
    if category not in CATEGORIES:
        raise DatasetError(
            f"{what}: category {category!r} is not one of {', '.join(CATEGORIES)}",
            path=path,
            line=line,
        )
    asns = d.get("asns") or []
    if not isinstance(asns, list) or not all(
        isinstance(a, int) and not isinstance(a, bool) and 0 < a < 2**32 for a in asns
    ):
        raise DatasetError(f"{what}: 'asns' must be a list of AS numbers", path=path, line=line)
    spf = tuple(normalize_name(s) for s in _str_list(d, "spf_includes", path, line, what))
    org_names = _str_list(d, "org_names", path, line, what)
    _check_names(org_names, path, line, what)
    exclusions = _parse_exclusions(d, path, line, what)
    clash = set(asns) & {asn for asn, _ in exclusions}
    if clash:
        raise DatasetError(
            f"{what}: AS{min(clash)} is both listed and excluded", path=path, line=line
        )
    return Operator(
        id=oid,
        name=text_field(d, "name", path, line, what),
        category=category,
        entity=text_field(d, "parent", path, line, what),
        asns=tuple(asns),
        patterns=tuple(_parse_patterns(d, path, line, what)),
        spf_includes=spf,
        org_names=org_names,
        source=text_field(d, "source", path, line, what),
        reviewed=_reviewed(d, path, line, what),
        unverified=bool(d.get("unverified", False)),
        note=optional_text_field(d, "note", path, line, what),
        line=line,
        file=path,
        exclude_asns=exclusions,
        verified=_optional_date(d, "verified", path, line, what),
    )


def _parse_tokens(data: Any, path: str) -> list[Token]:
    if data is None:
        return []
    items = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise DatasetError("top level must have a 'tokens' list", path=path, line=1)
    tokens: list[Token] = []
    seen: set[str] = set()
    for item in items:
        line = getattr(item, "line", 0)
        if not isinstance(item, dict):
            raise DatasetError("each token must be a mapping", path=path, line=line)
        prefix = text_field(item, "prefix", path, line, "token")
        if prefix.lower() in seen:
            raise DatasetError(f"duplicate token prefix {prefix!r}", path=path, line=line)
        seen.add(prefix.lower())
        tokens.append(
            Token(
                prefix=prefix,
                operator=text_field(item, "operator", path, line, f"token {prefix!r}"),
                note=optional_text_field(item, "note", path, line, f"token {prefix!r}"),
            )
        )
    return tokens


def parse_registry(
    providers_text: str,
    tokens_text: str | None = None,
    *,
    path: str = "providers.yaml",
    tokens_path: str = "tokens.yaml",
    fragments: Iterable[tuple[str, str]] = (),
) -> Registry:
    """Parse and validate the registry YAML (and the optional tokens YAML).

    ``fragments`` are further ``(text, path)`` files with ``entities`` and ``operators`` lists
    (``data/providers.d/*.yaml``): one registry split by region or kind, so that each part can
    be reviewed on its own. Ids, ASNs and SPF includes stay unique across all of them.
    """
    data = _load_yaml(providers_text, path)
    if not isinstance(data, dict):
        raise DatasetError("top level must be a mapping", path=path, line=1)
    version = data.get("version")
    if not isinstance(version, (str, int, float)) or str(version).strip() == "":
        raise DatasetError("'version' is required", path=path, line=1)
    reviewed = _reviewed(data, path, 1, "registry")
    entities: list[Entity] = []
    operators: list[Operator] = []
    warnings: list[str] = []
    _parse_registry_part(data, path, entities, operators, warnings)
    for text, fpath in fragments:
        part = _load_yaml(text, fpath)
        if not isinstance(part, dict):
            raise DatasetError("top level must be a mapping", path=fpath, line=1)
        _parse_registry_part(part, fpath, entities, operators, warnings)
    tokens = (
        _parse_tokens(_load_yaml(tokens_text, tokens_path), tokens_path)
        if tokens_text is not None
        else []
    )
    try:
        return Registry(
            version=str(version),
            reviewed=reviewed,
            operators=operators,
            entities=entities,
            tokens=tokens,
            path=path,
            warnings=warnings,
        )
    except DatasetError as exc:
        if exc.path == path and "token" in exc.message:
            exc.path = tokens_path
        raise


def _parse_registry_part(
    data: Mapping[str, Any],
    path: str,
    entities: list[Entity],
    operators: list[Operator],
    warnings: list[str],
) -> None:
    ents = data.get("entities") or []
    ops = data.get("operators") or []
    if not isinstance(ents, list) or not isinstance(ops, list):
        raise DatasetError("'entities' and 'operators' must be lists", path=path, line=1)
    entities.extend(parse_entity(e, path, warnings) for e in ents)
    operators.extend(_parse_operator(o, path, warnings) for o in ops)


def load_registry(providers: Path, tokens: Path | None = None) -> Registry:
    """Load a registry from files (a custom or updated copy)."""
    try:
        ptext = providers.read_text(encoding="utf-8")
        ttext = tokens.read_text(encoding="utf-8") if tokens is not None else None
    except OSError as exc:
        msg = f"cannot read the provider registry: {exc.strerror}"
        raise DatasetError(msg, path=str(exc.filename or providers)) from exc
    return parse_registry(
        ptext, ttext, path=str(providers), tokens_path=str(tokens) if tokens else "tokens.yaml"
    )


@functools.cache
def default_registry() -> Registry:
    """The registry shipped with the package (loaded once per process)."""
    data = resources.files("sovaudit.attribute") / "data"
    parts = data / "providers.d"
    fragments = (
        [
            (f.read_text(encoding="utf-8"), f"sovaudit/attribute/data/providers.d/{f.name}")
            for f in sorted(parts.iterdir(), key=lambda f: f.name)
            if f.name.endswith(".yaml")
        ]
        if parts.is_dir()
        else []
    )
    return parse_registry(
        (data / "providers.yaml").read_text(encoding="utf-8"),
        (data / "tokens.yaml").read_text(encoding="utf-8"),
        path="sovaudit/attribute/data/providers.yaml",
        tokens_path="sovaudit/attribute/data/tokens.yaml",
        fragments=fragments,
    )
