"""The domain layer: who controls the name itself, whatever hosts the services behind it.

A registry (the operator of a TLD, or of a listed suffix such as ``gouv.qc.ca``) and the
registrar through which a name is held answer to the courts of their own country: they can be
made to suspend, transfer or redirect the name even when every server of the organization is in
Québec. This module is pure: the table is data (``data/tld_registries.yaml``), and the optional
registrar facts come from a domain RDAP answer fetched elsewhere
(:mod:`sovaudit.collect.domain_rdap`).

Confidence, strongest first:

=========================================  ==========  =====================================
signal                                     confidence  notes
=========================================  ==========  =====================================
suffix listed in the registry table        0.95        role ``registry``
registrar IANA id in the table             0.95        role ``registrar``
registrar name in the table                0.80        role ``registrar``
registrar vCard country only               0.30        status unknown, flagged ``weak``
nothing                                    0.00        status unknown, reason given
=========================================  ==========  =====================================
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from sovaudit.attribute.datafile import load_yaml_lines, optional_text_field, text_field
from sovaudit.attribute.registry import (
    Entity,
    default_registry,
    normalize_org,
    parse_entity,
)
from sovaudit.collect.names import normalize_name
from sovaudit.errors import DatasetError
from sovaudit.models import (
    Attribution,
    DataClass,
    Dataset,
    Endpoint,
    EvidenceStep,
    Layer,
    SourceLocation,
    Status,
)

__all__ = [
    "CONF_REGISTRAR_COUNTRY",
    "CONF_REGISTRAR_ID",
    "CONF_REGISTRAR_NAME",
    "CONF_REGISTRY",
    "DOMAIN_REASONS",
    "DomainTable",
    "Registrar",
    "RegistryEntry",
    "attribute_domain",
    "default_domain_table",
    "domain_endpoint",
    "load_domain_table",
    "parse_domain_table",
]

CONF_REGISTRY = 0.95
CONF_REGISTRAR_ID = 0.95
CONF_REGISTRAR_NAME = 0.8
CONF_REGISTRAR_COUNTRY = 0.3

OWNERSHIPS = ("public", "private", "not-for-profit")
_COUNTRY = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_SUFFIX = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_TABLE_PATH = "sovaudit/attribute/data/tld_registries.yaml"

# Reason codes of unknown domain attributions, in both report languages; ``reason`` holds the
# English text so the JSON evidence reads on its own (same convention as the address engine).
DOMAIN_REASONS: dict[str, dict[str, str]] = {
    "suffix-not-in-table": {
        "en": "no registry of {domain} is listed in the domain table (TLD .{tld})",
        "fr": "aucun registre de {domain} n'est dans la table des domaines (domaine de premier "
        "niveau .{tld})",
    },
    "registrar-not-in-table": {
        "en": "registrar {name} (IANA id {iana_id}) is not in the domain table and RDAP gives no "
        "country",
        "fr": "le bureau d'enregistrement {name} (id IANA {iana_id}) n'est pas dans la table des "
        "domaines et RDAP ne donne aucun pays",
    },
    "registrar-country-only": {
        "en": "registrar {name} is not in the domain table; jurisdiction {country} is only the "
        "country of its RDAP contact card (weak)",
        "fr": "le bureau d'enregistrement {name} n'est pas dans la table des domaines; la "
        "juridiction {country} n'est que le pays de sa fiche RDAP (indice faible)",
    },
    "no-registrar": {
        "en": "the RDAP answer for {domain} names no registrar",
        "fr": "la réponse RDAP pour {domain} ne nomme aucun bureau d'enregistrement",
    },
    "rdap-failed": {
        "en": "domain RDAP lookup failed: {error}",
        "fr": "échec de la requête RDAP du domaine : {error}",
    },
}


def domain_reason(code: str, lang: str = "en", **values: object) -> str:
    """The text of an unknown domain-attribution reason in ``lang`` (fr or en)."""
    template = DOMAIN_REASONS[code].get(lang) or DOMAIN_REASONS[code]["en"]
    return template.format(**values)


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One suffix of the table (a TLD, or a listed second-level suffix) and its registry."""

    suffix: str
    operator: str
    entity: str
    backend: str | None
    sources: tuple[str, ...]
    reviewed: str
    unverified: bool = False
    note: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Registrar:
    """A well-known registrar: its IANA id and the names RDAP answers give it."""

    id: str
    name: str
    entity: str
    iana_id: str | None
    names: tuple[str, ...]
    source: str
    reviewed: str
    unverified: bool = False
    note: str | None = None
    line: int = 0


class DomainRdapLike(Protocol):
    """What :func:`attribute_domain` reads from a domain RDAP answer (dataclass or mapping)."""

    @property
    def registrar_name(self) -> str | None: ...
    @property
    def registrar_iana_id(self) -> str | None: ...
    @property
    def registrar_country(self) -> str | None: ...
    @property
    def source_url(self) -> str: ...


class DomainTable:
    """The loaded, validated domain table with its suffix and registrar indexes."""

    def __init__(
        self,
        *,
        version: str,
        reviewed: str,
        entities: Mapping[str, Entity],
        registries: Sequence[RegistryEntry],
        registrars: Sequence[Registrar],
        path: str = _TABLE_PATH,
    ) -> None:
        self.version = version
        self.reviewed = reviewed
        self.path = path
        self.entities = dict(entities)
        self.registries: dict[str, RegistryEntry] = {}
        for entry in registries:
            if entry.suffix in self.registries:
                raise DatasetError(f"duplicate suffix {entry.suffix!r}", path=path, line=entry.line)
            self._known(entry.entity, f"suffix {entry.suffix!r}", entry.line)
            if entry.backend is not None:
                self._known(entry.backend, f"suffix {entry.suffix!r} backend", entry.line)
            self.registries[entry.suffix] = entry
        self.registrars: dict[str, Registrar] = {}
        self._by_iana: dict[str, Registrar] = {}
        self._by_name: dict[str, Registrar] = {}
        for reg in registrars:
            if reg.id in self.registrars:
                raise DatasetError(f"duplicate registrar id {reg.id!r}", path=path, line=reg.line)
            self._known(reg.entity, f"registrar {reg.id!r}", reg.line)
            self.registrars[reg.id] = reg
            if reg.iana_id is not None:
                other = self._by_iana.get(reg.iana_id)
                if other is not None:
                    raise DatasetError(
                        f"IANA id {reg.iana_id} is listed by both {other.id!r} and {reg.id!r}",
                        path=path,
                        line=reg.line,
                    )
                self._by_iana[reg.iana_id] = reg
            for name in (reg.name, *reg.names, self.entities[reg.entity].name):
                self._by_name.setdefault(normalize_org(name), reg)
        for ent in self.entities.values():
            if ent.parent is not None:
                self._known(ent.parent, f"entity {ent.id!r} parent", ent.line)
            self.chain(ent.id)  # raises on a cycle

    def _known(self, entity_id: str, what: str, line: int) -> None:
        if entity_id not in self.entities:
            raise DatasetError(
                f"{what}: {entity_id!r} is not a known entity (here or in providers.yaml)",
                path=self.path,
                line=line,
            )

    def chain(self, entity_id: str) -> tuple[Entity, ...]:
        """The entity and its parents; the last one is the ultimate parent (raises on a cycle)."""
        chain: list[Entity] = []
        current: str | None = entity_id
        while current is not None:
            ent = self.entities.get(current)
            if ent is None:
                raise DatasetError(f"unknown entity {current!r}", path=self.path)
            if ent in chain:
                ids = " -> ".join([e.id for e in chain] + [current])
                raise DatasetError(f"ownership cycle: {ids}", path=self.path, line=ent.line)
            chain.append(ent)
            current = ent.parent
        return tuple(chain)

    def match_suffix(self, domain: str) -> RegistryEntry | None:
        """The listed suffix that is the longest suffix of ``domain`` (the domain itself counts)."""
        labels = normalize_name(domain).split(".")
        for i in range(len(labels)):
            entry = self.registries.get(".".join(labels[i:]))
            if entry is not None:
                return entry
        return None

    def delegation(self, domain: str) -> list[RegistryEntry]:
        """Every listed suffix of ``domain``, longest first (gouv.qc.ca, qc.ca, ca)."""
        labels = normalize_name(domain).split(".")
        found = [self.registries.get(".".join(labels[i:])) for i in range(len(labels))]
        return [e for e in found if e is not None]

    def registrar_by_iana(self, iana_id: str) -> Registrar | None:
        """The registrar with this IANA id, if the table lists it."""
        return self._by_iana.get(iana_id.strip())

    def registrar_by_name(self, name: str) -> Registrar | None:
        """The registrar whose listed name (or legal entity name) is ``name``."""
        key = normalize_org(name)
        return self._by_name.get(key) if key else None

    def dataset(self) -> Dataset:
        """The table as a dataset of the scan (printed in every report)."""
        return Dataset(
            name="sovaudit domain registry table",
            version=self.version,
            date=self.reviewed,
            source=_TABLE_PATH,
            licence="Apache-2.0",
        )


# -- loading -------------------------------------------------------------------------------








def _date(d: Mapping[str, Any], path: str, line: int, what: str) -> str:
    value = d.get("reviewed")
    text = value.isoformat() if isinstance(value, date) else value
    try:
        date.fromisoformat(str(text))
    except ValueError:
        raise DatasetError(
            f"{what}: 'reviewed' must be an ISO date", path=path, line=line
        ) from None
    return str(text)


def _items(data: Mapping[str, Any], key: str, path: str) -> list[Any]:
    items = data.get(key) or []
    if not isinstance(items, list):
        raise DatasetError(f"{key!r} must be a list", path=path, line=1)
    for item in items:
        if not isinstance(item, dict):
            raise DatasetError(f"each of {key!r} must be a mapping", path=path, line=_ln(item))
    return items


def _ln(item: object) -> int:
    return int(getattr(item, "line", 0))


def _parse_registry(d: Mapping[str, Any], path: str) -> RegistryEntry:
    line = _ln(d)
    raw = d.get("suffix")
    # YAML reads a bare `no` as a boolean: insist on a string so .no cannot silently vanish.
    if not isinstance(raw, str):
        raise DatasetError("registry: 'suffix' must be a string (quote it)", path=path, line=line)
    suffix = normalize_name(raw)
    what = f"suffix {suffix!r}"
    if not _SUFFIX.match(suffix):
        raise DatasetError(f"{what}: not a DNS suffix", path=path, line=line)
    sources = d.get("source")
    if (
        not isinstance(sources, list)
        or not sources
        or not all(isinstance(s, str) and s.strip() for s in sources)
    ):
        raise DatasetError(f"{what}: 'source' must be a list of URLs", path=path, line=line)
    return RegistryEntry(
        suffix=suffix,
        operator=text_field(d, "operator", path, line, what),
        entity=text_field(d, "entity", path, line, what),
        backend=optional_text_field(d, "backend", path, line, what),
        sources=tuple(s.strip() for s in sources),
        reviewed=_date(d, path, line, what),
        unverified=bool(d.get("unverified", False)),
        note=optional_text_field(d, "note", path, line, what),
        line=line,
    )


def _parse_registrar(d: Mapping[str, Any], path: str) -> Registrar:
    line = _ln(d)
    rid = text_field(d, "id", path, line, "registrar")
    what = f"registrar {rid!r}"
    iana = d.get("iana_id")
    if iana is not None and not (isinstance(iana, str) and iana.isdigit()):
        raise DatasetError(f"{what}: 'iana_id' must be a quoted number", path=path, line=line)
    names = d.get("names") or []
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise DatasetError(f"{what}: 'names' must be a list of strings", path=path, line=line)
    return Registrar(
        id=rid,
        name=text_field(d, "name", path, line, what),
        entity=text_field(d, "entity", path, line, what),
        iana_id=iana,
        names=tuple(names),
        source=text_field(d, "source", path, line, what),
        reviewed=_date(d, path, line, what),
        unverified=bool(d.get("unverified", False)),
        note=optional_text_field(d, "note", path, line, what),
        line=line,
    )


def parse_domain_table(
    text: str, *, path: str = _TABLE_PATH, providers: Mapping[str, Entity] | None = None
) -> DomainTable:
    """Parse and validate the domain table; ``providers`` are the provider registry's entities
    (parents may point into them). Raises :class:`DatasetError` with FILE:LINE."""
    data = load_yaml_lines(text, path)
    if not isinstance(data, dict):
        raise DatasetError("top level must be a mapping", path=path, line=1)
    version = data.get("version")
    if not isinstance(version, str) or not version.strip():
        raise DatasetError("'version' is required (a string)", path=path, line=1)
    reviewed = _date(data, path, 1, "table")
    entities: dict[str, Entity] = dict(providers or {})
    for item in _items(data, "entities", path):
        ent = parse_entity(item, path)
        if ent.id in entities:
            raise DatasetError(
                f"duplicate entity id {ent.id!r} (here or in providers.yaml)",
                path=path,
                line=ent.line,
            )
        entities[ent.id] = ent
    return DomainTable(
        version=version.strip(),
        reviewed=reviewed,
        entities=entities,
        registries=[_parse_registry(i, path) for i in _items(data, "registries", path)],
        registrars=[_parse_registrar(i, path) for i in _items(data, "registrars", path)],
        path=path,
    )


def load_domain_table(path: Path) -> DomainTable:
    """Load a domain table from a file (a custom or updated copy), over the shipped providers."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"cannot read the domain table: {exc.strerror}", path=str(path)) from exc
    return parse_domain_table(text, path=str(path), providers=default_registry().entities)


@functools.cache
def default_domain_table() -> DomainTable:
    """The table shipped with the package (loaded once per process)."""
    text = (resources.files("sovaudit.attribute") / "data" / "tld_registries.yaml").read_text(
        encoding="utf-8"
    )
    return parse_domain_table(text, providers=default_registry().entities)


# -- endpoints -----------------------------------------------------------------------------


# Special-use names (RFC 2606, RFC 6761, RFC 6762, RFC 7686, RFC 8375) have no registry that a
# court could compel: there is nothing to attribute, so their domain endpoint is skipped.
RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost", "local", "onion", "arpa"})


def domain_endpoint(
    organization: str,
    organization_name: str,
    domain: str,
    data_classes: Sequence[DataClass],
    source: SourceLocation | None,
    *,
    table: DomainTable | None = None,
) -> Endpoint:
    """The ``domain`` endpoint of one inventory domain (no DNS needed: the name is the subject).

    Its service is the domain name, as for the web, mail and dns endpoints the inventory
    expands a domain entry into; its status is OK (there is nothing to resolve), or SKIPPED
    for a special-use TLD such as ``.example``.

    ``details["domain"]`` holds the name, its TLD and the longest suffix listed in the table
    (None when no suffix is listed).
    """
    table = table or default_domain_table()
    name = normalize_name(domain)
    entry = table.match_suffix(name)
    tld = name.rsplit(".", 1)[-1]
    reserved = tld in RESERVED_TLDS
    return Endpoint(
        organization=organization,
        service=name,  # as the inventory's own expansion of a domain entry names it
        host=name,
        layer=Layer.DOMAIN,
        data_classes=tuple(data_classes),
        status=Status.SKIPPED if reserved else Status.OK,
        reason=f"reserved top-level domain .{tld} (RFC 6761): no registry" if reserved else None,
        organization_name=organization_name,
        source=source,
        details={
            "domain": {
                "name": name,
                "tld": tld,
                "registry_suffix": entry.suffix if entry is not None else None,
            }
        },
    )


def attribute_domain(
    endpoint: Endpoint,
    *,
    rdap: Mapping[str, Any] | DomainRdapLike | BaseException | None,
    table: DomainTable | None = None,
) -> Endpoint:
    """Return ``endpoint`` with its registry attributions (one per listed suffix, longest first)
    and, when ``rdap`` is given, its registrar attribution.

    ``rdap`` is the domain RDAP answer (:class:`~sovaudit.collect.domain_rdap.DomainRdapResult`
    or its ``asdict``), the exception a failed lookup raised (an unknown registrar with the
    reason), or None when RDAP was not probed (no registrar attribution: it is opt-in).
    Attributions already on the endpoint are replaced: a domain endpoint has no addresses.
    """
    table = table or default_domain_table()
    name = normalize_name(endpoint.host)
    out = [_registry_attribution(name, entry, table) for entry in table.delegation(name)]
    if not out:
        tld = name.rsplit(".", 1)[-1]
        out.append(
            _unknown(
                name,
                "registry",
                [EvidenceStep("domain", name, "inventory")],
                ["suffix-not-in-table"],
                domain_reason("suffix-not-in-table", domain=name, tld=tld),
            )
        )
    if rdap is not None:
        out.append(_registrar_attribution(name, rdap, table))
    details = dict(endpoint.details or {})
    control = {
        "jurisdictions": sorted({a.jurisdiction for a in out if a.jurisdiction}),
        "operators": list(dict.fromkeys(a.operator for a in out if a.operator)),
        "attributed": any(a.status is Status.OK for a in out)
        and not any(a.status is Status.UNKNOWN for a in out),
        "unknown": sum(1 for a in out if a.status is Status.UNKNOWN),
    }
    return replace(endpoint, attributions=tuple(out), details={**details, "control": control})


def _table_source(table: DomainTable) -> str:
    return f"tld_registries.yaml {table.version}"


def _chain_steps(chain: Sequence[Entity], evidence: list[EvidenceStep], flags: list[str]) -> None:
    """Entity, parents and jurisdiction steps, with the flags the address engine also sets."""
    top = chain[-1]
    for i, ent in enumerate(chain):
        step = "entity" if i == 0 else "parent"
        evidence.append(EvidenceStep(step, f"{ent.name} ({ent.country})", ent.source))
    evidence.append(EvidenceStep("jurisdiction", top.country, top.source))
    if any(e.unverified for e in chain) and "unverified" not in flags:
        flags.append("unverified")
    # An operator abroad under a US parent (or the reverse) stays visible in reports.
    flags.extend(f"chain:{c}" for c in dict.fromkeys(e.country for e in chain) if c != top.country)


def _registry_attribution(name: str, entry: RegistryEntry, table: DomainTable) -> Attribution:
    evidence = [
        EvidenceStep("domain", name, "inventory"),
        EvidenceStep("suffix", entry.suffix, f"{_table_source(table)} (longest suffix match)"),
        EvidenceStep("registry", entry.operator, "; ".join(entry.sources)),
    ]
    flags: list[str] = ["unverified"] if entry.unverified else []
    chain = table.chain(entry.entity)
    _chain_steps(chain, evidence, flags)
    if entry.backend is not None:
        # The back-end provider runs the registry database: its law reaches the data too.
        back = table.chain(entry.backend)
        evidence.append(
            EvidenceStep(
                "backend",
                f"{back[0].name} ({back[0].country}, parent {back[-1].country})",
                back[0].source,
            )
        )
        if back[-1].country != chain[-1].country:
            flags.append(f"backend:{back[-1].country}")
    if entry.note:
        evidence.append(EvidenceStep("note", entry.note, _table_source(table)))
    top = chain[-1]
    return Attribution(
        subject=entry.suffix,
        role="registry",
        operator=entry.entity,
        operator_name=chain[0].name,
        category="registry",
        ultimate_parent=top.name,
        jurisdiction=top.country,
        operator_jurisdiction=chain[0].country,
        ownership=top.ownership,
        confidence=CONF_REGISTRY,
        status=Status.OK,
        flags=tuple(flags),
        evidence=tuple(evidence),
    )


def _field(obj: object, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _registrar_attribution(
    name: str, rdap: Mapping[str, Any] | DomainRdapLike | BaseException, table: DomainTable
) -> Attribution:
    if isinstance(rdap, BaseException):
        url = getattr(rdap, "url", None) or "rdap"
        error = str(getattr(rdap, "message", None) or rdap)[:200]
        return _unknown(
            name,
            "registrar",
            [EvidenceStep("rdap", f"error: {error}", str(url))],
            ["rdap-failed"],
            domain_reason("rdap-failed", error=error),
        )
    url = str(_field(rdap, "source_url") or "rdap")
    reg_name = _field(rdap, "registrar_name")
    iana_id = _field(rdap, "registrar_iana_id")
    country = _field(rdap, "registrar_country")
    evidence = [
        EvidenceStep("domain", name, "inventory"),
        EvidenceStep(
            "rdap",
            f"registrar: {reg_name or '?'} (IANA id {iana_id or '?'}, {country or '?'})",
            url,
        ),
    ]
    if not reg_name and not iana_id:
        return _unknown(
            name,
            "registrar",
            evidence,
            ["no-registrar"],
            domain_reason("no-registrar", domain=name),
        )
    hit: Registrar | None = None
    confidence = 0.0
    if iana_id:
        hit = table.registrar_by_iana(str(iana_id))
        confidence = CONF_REGISTRAR_ID
    if hit is None and reg_name:
        hit = table.registrar_by_name(str(reg_name))
        confidence = CONF_REGISTRAR_NAME
    subject = str(reg_name or f"IANA {iana_id}")
    if hit is not None:
        how = "IANA id" if confidence == CONF_REGISTRAR_ID else "name"
        evidence.append(
            EvidenceStep("registrar", f"{hit.name} (matched by {how})", _table_source(table))
        )
        flags: list[str] = ["unverified"] if hit.unverified else []
        chain = table.chain(hit.entity)
        _chain_steps(chain, evidence, flags)
        top = chain[-1]
        return Attribution(
            subject=subject,
            role="registrar",
            operator=hit.id,
            operator_name=chain[0].name,
            category="registrar",
            ultimate_parent=top.name,
            jurisdiction=top.country,
            operator_jurisdiction=chain[0].country,
            ownership=top.ownership,
            confidence=confidence,
            status=Status.OK,
            flags=tuple(flags),
            evidence=tuple(evidence),
        )
    shown = str(reg_name or "?")
    if country and _COUNTRY.match(str(country)):
        evidence.append(EvidenceStep("jurisdiction", str(country), f"registrar vCard ({url})"))
        return replace(
            _unknown(
                subject,
                "registrar",
                evidence,
                ["weak", "country-only"],
                domain_reason("registrar-country-only", name=shown, country=country),
            ),
            category="registrar",
            jurisdiction=str(country),
            operator_jurisdiction=str(country),
            confidence=CONF_REGISTRAR_COUNTRY,
        )
    return _unknown(
        subject,
        "registrar",
        evidence,
        ["registrar-not-in-table"],
        domain_reason("registrar-not-in-table", name=shown, iana_id=iana_id or "?"),
    )


def _unknown(
    subject: str, role: str, evidence: Sequence[EvidenceStep], flags: Sequence[str], reason: str
) -> Attribution:
    return Attribution(
        subject=subject,
        role=role,
        category=role,
        confidence=0.0,
        status=Status.UNKNOWN,
        reason=reason,
        flags=tuple(flags),
        evidence=tuple(evidence),
    )
