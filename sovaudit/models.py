"""Frozen dataclasses and string enums shared by every stage.

The evidence file (JSON) is built from these types with :func:`to_jsonable` and read back with
the ``from_dict`` constructors; the JSON contract is documented in ``docs/schema.md`` and in the
JSON Schema shipped with the package.
"""

from __future__ import annotations

import functools
import json
import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass, replace
from enum import StrEnum
from typing import Any, Literal, cast

from sovaudit.errors import INTERNAL_DETAILS_KEY


class Layer(StrEnum):
    """What an endpoint is for: each layer is a place where someone can read the data."""

    WEB = "web"
    MAIL = "mail"
    DNS = "dns"
    REPORTING = "reporting"
    COLLABORATION = "collaboration"
    SAAS = "saas"
    THIRD_PARTY = "third-party"
    DOMAIN = "domain"


# Layers a user may write in an inventory; the others are discovered by the scan.
INVENTORY_LAYERS = (Layer.WEB, Layer.MAIL, Layer.DNS)


class DataClass(StrEnum):
    """The kind of data a service holds; it selects the severity of a finding."""

    HEALTH = "health"
    TAX = "tax"
    JUSTICE = "justice"
    IDENTITY = "identity"
    EDUCATION = "education"
    PERSONAL = "personal"
    FINANCIAL = "financial"
    INFRASTRUCTURE = "infrastructure"
    PUBLIC = "public"


class Status(StrEnum):
    """Whether a result is complete. UNKNOWN always carries a reason."""

    OK = "ok"
    UNKNOWN = "unknown"
    SKIPPED = "skipped"


class Severity(StrEnum):
    """Finding severity, ordered from least to most severe."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where something was declared: a file and a 1-based line."""

    file: str
    line: int


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to resolve, as declared (or expanded) from the inventory."""

    organization: str
    organization_name: str
    service: str
    host: str
    layer: Layer
    data_classes: tuple[DataClass, ...]
    source: SourceLocation | None = None
    # "service" when written explicitly, "domain" when expanded from a domain entry.
    origin: str = "service"


@dataclass(frozen=True, slots=True)
class DnsRecord:
    """One DNS answer as evidence."""

    name: str
    type: str
    rcode: str
    answers: tuple[str, ...]
    ttl: int | None
    resolver: str
    timestamp: str
    error: str | None = None


@dataclass(frozen=True, slots=True)
class EvidenceStep:
    """One link of an evidence chain: which source said what."""

    step: str
    value: str
    source: str


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who operates one address or name, who controls that operator and under which law."""

    subject: str
    role: str  # address, cname, mx, ns, autodiscover, spf, txt, ...
    address: str | None = None
    asn: int | None = None
    asn_name: str | None = None
    operator: str | None = None
    operator_name: str | None = None
    category: str | None = None
    ultimate_parent: str | None = None
    jurisdiction: str | None = None
    operator_jurisdiction: str | None = None
    ownership: str | None = None
    confidence: float = 0.0
    status: Status = Status.UNKNOWN
    reason: str | None = None
    flags: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    evidence: tuple[EvidenceStep, ...] = ()


# Attribution roles that describe who vouches for an endpoint, not who holds or carries its data:
# they never count toward who controls the endpoint (a certificate authority sees no traffic).
NON_DATA_ROLES = frozenset({"certificate-authority"})


def controls_data(attribution: Attribution) -> bool:
    """True when the attributed party handles the endpoint's data (hosting, mail, DNS, CDN...)."""
    return attribution.role not in NON_DATA_ROLES


@dataclass(frozen=True, slots=True)
class Reference:
    title: str
    url: str | None = None


# A finding's status against a baseline (``--baseline``, ``sovaudit diff``).
BaselineMark = Literal["new", "unchanged", "resolved"]


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that matched an endpoint, with the attribution evidence that triggered it."""

    rule_id: str
    severity: Severity
    title: str
    rationale: str
    references: tuple[Reference, ...] = ()
    accepted: bool = False
    accepted_reason: str | None = None
    subject: str | None = None
    evidence: tuple[EvidenceStep, ...] = ()
    status: BaselineMark | None = None  # against a baseline; None without one


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One resolved endpoint: the unit of every report."""

    organization: str
    service: str
    host: str
    layer: Layer
    data_classes: tuple[DataClass, ...]
    status: Status
    reason: str | None = None
    organization_name: str = ""
    records: tuple[DnsRecord, ...] = ()
    addresses: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # CNAME chain, MX targets, NS hosts... in resolution order
    attributions: tuple[Attribution, ...] = ()
    findings: tuple[Finding, ...] = ()
    source: SourceLocation | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity used for ordering, baselines and merges."""
        return (self.organization, self.service, self.host, self.layer.value)


def with_internal_error(endpoint: Endpoint, reason: str, *, unknown: bool) -> Endpoint:
    """``endpoint`` with an internal error (a bug in sovaudit met while handling it) recorded.

    ``unknown``: the stage that failed was needed for the endpoint's answer (collection,
    attribution, rules), so its status becomes unknown with ``reason``; otherwise (a web probe,
    a network source) the endpoint keeps its status and the error is only listed.
    """
    details = dict(endpoint.details)
    details[INTERNAL_DETAILS_KEY] = [*details.get(INTERNAL_DETAILS_KEY, ()), reason]
    if not unknown:
        return replace(endpoint, details=details)
    return replace(
        endpoint, status=Status.UNKNOWN, reason=reason, attributions=(), findings=(),
        details=details,
    )


def internal_errors(endpoint: Endpoint) -> list[str]:
    """The internal errors met while handling ``endpoint`` (empty for nearly every endpoint)."""
    found = endpoint.details.get(INTERNAL_DETAILS_KEY)
    return [str(x) for x in found] if isinstance(found, list) else []


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset a scan used, printed in every report."""

    name: str
    version: str
    date: str
    source: str
    licence: str


def field_copier(cls: type, *changed: str) -> Callable[..., Any]:
    """A function ``copy(obj, *values)``: ``obj`` with the ``changed`` fields set to ``values``.

    The same result as ``dataclasses.replace(obj, **dict(zip(changed, values)))``, built from
    ``fields(cls)`` once: each call reads every field with one C-level ``attrgetter`` and makes
    one positional constructor call (replace walks the fields on every call, about twice the
    cost). A field added to the model is copied without an edit here.
    """
    names = [f.name for f in fields(cls)]
    unknown = [n for n in changed if n not in names]
    if unknown or any(not f.init or f.kw_only for f in fields(cls)):
        raise TypeError(f"cannot build a positional copy of {cls.__name__} ({unknown})")
    read_all = operator.attrgetter(*names)
    positions = [names.index(n) for n in changed]
    if len(positions) == 1:
        at = positions[0]

        def copy_one(obj: Any, value: Any) -> Any:
            values = read_all(obj)
            return cls(*values[:at], value, *values[at + 1 :])

        return copy_one

    def copy(obj: Any, *values: Any) -> Any:
        args = list(read_all(obj))
        for at, value in zip(positions, values, strict=True):
            args[at] = value
        return cls(*args)

    return copy


def to_jsonable(value: Any) -> Any:
    """Convert dataclasses, enums and tuples to plain JSON values (dict keys keep their order)."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


class JsonConverter:
    """:func:`to_jsonable` and compact ``json.dumps`` for writing evidence fast.

    Per-class field lists replace ``is_dataclass``/``fields`` calls, and each shared immutable
    object (an evidence step, a rule's references: the same objects appear in thousands of
    findings) is converted once. :meth:`text` returns exactly
    ``json.dumps(to_jsonable(value), ensure_ascii=False, separators=(",", ":"))``;
    :meth:`__call__` returns the values of :func:`to_jsonable`, which may be shared between
    calls: give them to ``json.dumps`` and drop them, never mutate them.
    """

    def __init__(self, limit: int = 16_384) -> None:
        self._limit = limit
        # id -> (the object, kept alive so that its id cannot be reused; its conversion)
        self._memo: dict[int, tuple[object, Any]] = {}
        self._texts: dict[int, tuple[object, str]] = {}
        self._fields: dict[type, tuple[tuple[str, str], ...]] = {}

    def __call__(self, value: Any) -> Any:
        kind = type(value)
        if kind is str or kind is int or kind is float or kind is bool or value is None:
            return value
        if kind is tuple or kind is list:
            return [self(v) for v in value]
        names = self._fields.get(kind)
        if names is not None or _is_instance(value):
            shared = kind in _SHARED
            if shared:
                entry = self._memo.get(id(value))
                if entry is not None and entry[0] is value:
                    return entry[1]
            out = {name: self(getattr(value, name)) for name, _key in self._names(kind)}
            if shared:
                self._remember(self._memo, value, out)
            return out
        if isinstance(value, StrEnum):
            return value.value
        if kind is dict:
            return {str(k): self(v) for k, v in value.items()}
        return value

    def text(self, value: Any) -> str:
        """Compact JSON text of ``value`` (no whitespace, UTF-8 kept as is)."""
        kind = type(value)
        if kind is str:
            if len(value) < _LONG_STRING:
                return _encode_string(value)
            # Rule rationales and titles: one string object per rule, in every finding.
            entry = self._texts.get(id(value))
            if entry is not None and entry[0] is value:
                return entry[1]
            encoded = _encode_string(value)
            self._remember(self._texts, value, encoded)
            return encoded
        if value is None:
            return "null"
        if kind is bool:
            return "true" if value else "false"
        if kind is int:
            return int.__repr__(value)
        if kind is float and math.isfinite(value):
            return float.__repr__(value)
        if kind is tuple or kind is list:
            text = self.text
            return "[" + ",".join([text(v) for v in value]) + "]"
        names = self._fields.get(kind)
        if names is not None or _is_instance(value):
            shared = kind in _SHARED
            if shared:
                entry = self._texts.get(id(value))
                if entry is not None and entry[0] is value:
                    return entry[1]
            parts = []
            for name, key in names or self._names(kind):
                item = getattr(value, name)
                # Inline the two commonest cases: short strings and null (most fields).
                if type(item) is str and len(item) < _LONG_STRING:
                    parts.append(key + _encode_string(item))
                elif item is None:
                    parts.append(key + "null")
                else:
                    parts.append(key + self.text(item))
            out = "{" + ",".join(parts) + "}"
            if shared:
                self._remember(self._texts, value, out)
            return out
        if isinstance(value, StrEnum):
            return _encode_string(value.value)
        if kind is dict:
            return (
                "{"
                + ",".join([_encode_string(str(k)) + ":" + self.text(v) for k, v in value.items()])
                + "}"
            )
        return _dumps(value)  # NaN, infinities, subclasses: exactly as json.dumps writes them

    def _names(self, kind: type) -> tuple[tuple[str, str], ...]:
        names = self._fields.get(kind)
        if names is None:
            names = self._fields[kind] = tuple(
                (f.name, _encode_string(f.name) + ":") for f in fields(kind)
            )
        return names

    def _remember(self, memo: dict[int, tuple[object, Any]], value: object, out: Any) -> None:
        if len(memo) >= self._limit:
            memo.clear()  # bounded: a long scan keeps converting, it only loses reuse
        memo[id(value)] = (value, out)


# Small objects that many endpoints or findings share (one evidence step object serves every
# finding of every endpoint behind the same address): their text is kept, keyed by identity.
_LONG_STRING = 96
_SHARED: frozenset[type] = frozenset(
    {EvidenceStep, Reference, DnsRecord, SourceLocation, Dataset, Attribution}
)


def _is_instance(value: Any) -> bool:
    return is_dataclass(value) and not isinstance(value, type)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_encode_string: Callable[[str], str] = getattr(json.encoder, "c_encode_basestring", None) or (
    json.encoder.py_encode_basestring
)


def _tuple(items: Any, build: Any) -> tuple[Any, ...]:
    return tuple(build(i) for i in (items or ()))


def record_from_dict(d: dict[str, Any]) -> DnsRecord:
    return DnsRecord(
        name=d["name"],
        type=d["type"],
        rcode=d["rcode"],
        answers=tuple(d.get("answers") or ()),
        ttl=d.get("ttl"),
        resolver=d.get("resolver", ""),
        timestamp=d.get("timestamp", ""),
        error=d.get("error"),
    )


def step_from_dict(d: dict[str, Any]) -> EvidenceStep:
    return _shared_step(d["step"], d["value"], d["source"])


# An evidence file repeats the same steps and references in thousands of findings (every
# finding carries its chain): reading them back as one object each keeps a 100k-endpoint
# report in a fraction of the memory. Bounded; a non-string value is a TypeError (malformed).
@functools.lru_cache(maxsize=65_536)
def _shared_step(step: str, value: str, source: str) -> EvidenceStep:
    return EvidenceStep(step=step, value=value, source=source)


def reference_from_dict(d: dict[str, Any]) -> Reference:
    return _shared_reference(d["title"], d.get("url"))


@functools.lru_cache(maxsize=4_096)
def _shared_reference(title: str, url: str | None) -> Reference:
    return Reference(title, url)


def attribution_from_dict(d: dict[str, Any]) -> Attribution:
    return Attribution(
        subject=d["subject"],
        role=d["role"],
        address=d.get("address"),
        asn=d.get("asn"),
        asn_name=d.get("asn_name"),
        operator=d.get("operator"),
        operator_name=d.get("operator_name"),
        category=d.get("category"),
        ultimate_parent=d.get("ultimate_parent"),
        jurisdiction=d.get("jurisdiction"),
        operator_jurisdiction=d.get("operator_jurisdiction"),
        ownership=d.get("ownership"),
        confidence=float(d.get("confidence", 0.0)),
        status=Status(d.get("status", "unknown")),
        reason=d.get("reason"),
        flags=tuple(d.get("flags") or ()),
        conflicts=tuple(d.get("conflicts") or ()),
        evidence=_tuple(d.get("evidence"), step_from_dict),
    )


def finding_from_dict(d: dict[str, Any]) -> Finding:
    return Finding(
        rule_id=d["rule_id"],
        severity=Severity(d["severity"]),
        title=d["title"],
        rationale=d["rationale"],
        references=_tuple(d.get("references"), reference_from_dict),
        accepted=bool(d.get("accepted", False)),
        accepted_reason=d.get("accepted_reason"),
        subject=d.get("subject"),
        evidence=_tuple(d.get("evidence"), step_from_dict),
        status=cast("BaselineMark | None", d.get("status")),
    )


def endpoint_from_dict(d: dict[str, Any]) -> Endpoint:
    src = d.get("source")
    return Endpoint(
        organization=d["organization"],
        service=d["service"],
        host=d["host"],
        layer=Layer(d["layer"]),
        data_classes=tuple(DataClass(c) for c in d.get("data_classes") or ()),
        status=Status(d["status"]),
        reason=d.get("reason"),
        organization_name=d.get("organization_name", ""),
        records=_tuple(d.get("records"), record_from_dict),
        addresses=tuple(d.get("addresses") or ()),
        names=tuple(d.get("names") or ()),
        attributions=_tuple(d.get("attributions"), attribution_from_dict),
        findings=_tuple(d.get("findings"), finding_from_dict),
        source=SourceLocation(src["file"], src["line"]) if src else None,
        details=dict(d.get("details") or {}),
    )


def dataset_from_dict(d: dict[str, Any]) -> Dataset:
    return Dataset(
        name=d["name"],
        version=d.get("version", ""),
        date=d.get("date", ""),
        source=d.get("source", ""),
        licence=d.get("licence", ""),
    )


@dataclass(frozen=True, slots=True)
class Scan:
    """The whole evidence of one scan: what the JSON file holds."""

    tool_version: str
    generated_at: str
    inventory: str
    resolvers: tuple[str, ...]
    endpoints: tuple[Endpoint, ...]
    datasets: tuple[Dataset, ...] = ()
    partial: bool = False
    options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, convert: Callable[[Any], Any] = to_jsonable) -> dict[str, Any]:
        """The evidence file's content (``convert``: a :class:`JsonConverter` to go faster)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "sovaudit", "version": self.tool_version},
            "generated_at": self.generated_at,
            "inventory": self.inventory,
            "resolvers": list(self.resolvers),
            "datasets": convert(self.datasets),
            "partial": self.partial,
            "options": convert(self.options),
            "endpoints": convert(self.endpoints),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scan:
        return cls(
            tool_version=d.get("tool", {}).get("version", ""),
            generated_at=d["generated_at"],
            inventory=d.get("inventory", ""),
            resolvers=tuple(d.get("resolvers") or ()),
            endpoints=tuple(endpoint_from_dict(e) for e in d.get("endpoints") or ()),
            datasets=tuple(dataset_from_dict(x) for x in d.get("datasets") or ()),
            partial=bool(d.get("partial", False)),
            options=dict(d.get("options") or {}),
        )


SCHEMA_VERSION = "1"


@dataclass(frozen=True, slots=True)
class AcceptedRisk:
    """A risk the inventory's owner accepted: the finding is shown as accepted until ``until``."""

    rule: str
    reason: str
    host: str | None = None  # None: every host of the organization (or of the inventory)
    organization: str | None = None  # None: declared at the top level of the inventory
    until: str | None = None  # ISO date; after it the finding is live again
    source: SourceLocation | None = None
