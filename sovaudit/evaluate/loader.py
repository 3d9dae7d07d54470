"""Load and validate rule packs (YAML) into compiled rules.

Rule files are untrusted input: they are read with ``yaml.safe_load`` semantics only (no tags
beyond the YAML core schema, no aliases, no merge keys), with a size cap and a nesting cap checked
on the event stream before anything is built. Every error is a :class:`RuleError` that names the
file and the 1-based line of the offending node.
"""

from __future__ import annotations

import datetime
import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from sovaudit.errors import RuleError
from sovaudit.evaluate.facts import FACTS, FactScope, weak_aware
from sovaudit.evaluate.operators import OperatorError, Predicate, compile_leaf
from sovaudit.i18n import LANGS
from sovaudit.models import DataClass, Dataset, Layer, Severity

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 32
RULE_ID = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*$")
MAX_RULE_ID = 64
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
_RULE_KEYS = (
    "id", "title", "rationale", "references", "reviewed", "layers", "when", "severity",
    "accept_weak",
)  # fmt: skip
_REQUIRED = ("id", "title", "rationale", "references", "reviewed", "when", "severity")
_SCALAR_TAGS = {
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:timestamp",
}
# libyaml when present (same safe semantics, several times faster); pure Python otherwise.
_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_DEFAULT_DIR = Path(__file__).resolve().parent.parent / "rules"
DEFAULT_PACK_NAMES = ("united-states.yaml", "quebec.yaml", "canada.yaml", "sovereignty.yaml")
DEFAULT_PROFILE = "quebec"
# Packs a profile may list before they exist (written in parallel): skipped when absent.
OPTIONAL_PACKS = frozenset({"domains.yaml", "mail-signals.yaml", "web.yaml"})
@dataclass(frozen=True, slots=True)
class Text:
    """A user-facing string in French and English."""

    fr: str
    en: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` (fr or en)."""
        return self.fr if lang == "fr" else self.en


@dataclass(frozen=True, slots=True)
class RuleReference:
    title: Text
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule. ``predicate`` is the condition tree precompiled into a closure."""

    id: str
    title: Text
    rationale: Text
    references: tuple[RuleReference, ...]
    reviewed: datetime.date
    layers: frozenset[str] | None
    when: Any  # the condition as written (plain data), for `rules show` and docs
    predicate: Predicate = field(repr=False, compare=False)
    endpoint_only: bool
    severity: Severity
    severity_by_data_class: tuple[tuple[str, Severity], ...]
    pack: str
    source: str  # the pack file, as shown in evidence
    line: int
    # Whether the jurisdiction-of-control facts may read weak attributions (a registration
    # country only); see facts.CONTROL_FACTS. Default: no, they read unknown on them.
    accept_weak: bool = False

    def applies_to(self, layer: str) -> bool:
        """Whether the rule is evaluated on endpoints of ``layer``."""
        return self.layers is None or layer in self.layers

    def severity_for(self, data_classes: Iterable[str]) -> Severity:
        """Highest severity among the endpoint's data classes in by_data_class, else default."""
        by_class = dict(self.severity_by_data_class)
        found = [by_class[c] for c in data_classes if c in by_class]
        return max(found, key=lambda s: s.rank) if found else self.severity


@dataclass(frozen=True, slots=True)
class RulePack:
    """One loaded pack file, reported as a dataset of the scan."""

    id: str
    title: Text | None
    source: str
    sha256: str
    rule_ids: tuple[str, ...]
    reviewed: datetime.date | None
    default: bool

    def dataset(self) -> Dataset:
        """The pack as a dataset of the scan: version is the file hash, date its latest review."""
        return Dataset(
            name=f"rules:{self.id}",
            version=self.sha256[:12],
            date=self.reviewed.isoformat() if self.reviewed else "",
            source=self.source,
            licence="Apache-2.0" if self.default else "",
        )


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules of every loaded pack, in load order, with the packs they came from."""

    rules: tuple[Rule, ...]
    packs: tuple[RulePack, ...]

    def get(self, rule_id: str) -> Rule | None:
        """The rule with this id, or None."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def datasets(self) -> list[Dataset]:
        """One dataset per loaded pack, in load order."""
        return [p.dataset() for p in self.packs]


# ---------------------------------------------------------------------------------------------
# Profiles


@dataclass(frozen=True, slots=True)
class Profile:
    """A named selection of shipped packs for one legal context, minus rules that do not fit it.

    ``packs`` are file names in ``sovaudit/rules/``, in evaluation order; a name in
    OPTIONAL_PACKS that is not shipped is skipped. ``exclude`` drops shipped rules written for
    another context (NO-COMITY-CANADA means nothing to an EU body).
    """

    name: str
    title: Text
    packs: tuple[str, ...]
    exclude: frozenset[str] = frozenset()

    def pack_paths(self) -> list[Path]:
        """The profile's pack files that exist (optional packs may be missing)."""
        paths = [_DEFAULT_DIR / name for name in self.packs]
        return [p for p in paths if p.name not in OPTIONAL_PACKS or p.is_file()]


# The US pack applies wherever a US-controlled provider holds the data; the Québec-centred
# sovereignty pack (CA is "domestic") only where Canada is home.
_US_OUTSIDE_CANADA = frozenset({"NO-COMITY-CANADA"})
PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            "quebec",
            Text("Organisme public québécois (Loi 25, référence fédérale, droit américain, "
                 "souveraineté, domaines, courriel)",
                 "Québec public body (Law 25, federal benchmark, US law, sovereignty, domains, "
                 "mail)"),
            (*DEFAULT_PACK_NAMES, "domains.yaml", "mail-signals.yaml", "web.yaml"),
        ),
        Profile(
            "canada",
            Text("Organisme public canadien hors Québec (fédéral, Nouvelle-Écosse, "
                 "Colombie-Britannique, droit américain, souveraineté, domaines, courriel)",
                 "Canadian public body outside Québec (federal, Nova Scotia, British Columbia, "
                 "US law, sovereignty, domains, mail)"),
            ("united-states.yaml", "canada.yaml", "canada-provinces.yaml", "sovereignty.yaml",
             "international.yaml", "domains.yaml", "mail-signals.yaml", "web.yaml"),
            # UNKNOWN-OPERATOR cites Law 25; INTL-UNKNOWN-OPERATOR says the same without it.
            frozenset({"UNKNOWN-OPERATOR"}),
        ),
        Profile(
            "eu",
            Text("Organisme de l'Union européenne (RGPD chapitre V et art. 48, Schrems II, "
                 "cadre de protection des données UE-É.-U., droit américain)",
                 "European Union body (GDPR Chapter V and Art. 48, Schrems II, EU-US Data "
                 "Privacy Framework, US law)"),
            ("united-states.yaml", "eu.yaml", "international.yaml"),
            _US_OUTSIDE_CANADA,
        ),
        Profile(
            "france",
            Text("Organisme public français (profil UE, SecNumCloud 3.2 § 19.6, loi SREN)",
                 "French public body (EU profile, SecNumCloud 3.2 § 19.6, SREN Act)"),
            ("united-states.yaml", "eu.yaml", "france.yaml", "international.yaml"),
            _US_OUTSIDE_CANADA,
        ),
        Profile(
            "switzerland",
            Text("Organisme suisse (nLPD, RS 235.1, art. 16-17, Swiss-US DPF, droit américain)",
                 "Swiss body (revised FADP, SR 235.1, Art. 16-17, Swiss-US DPF, US law)"),
            ("united-states.yaml", "switzerland.yaml", "international.yaml"),
            _US_OUTSIDE_CANADA,
        ),
    )
}



# ---------------------------------------------------------------------------------------------
# YAML with line numbers


class _Map(dict[str, Any]):
    """A mapping from a rule file that remembers where it and each of its keys were written."""

    line: int
    key_lines: dict[str, int]


class _List(list[Any]):
    line: int
    item_lines: list[int]


class _Reader:
    """Turns composed YAML nodes into plain values, checking tags, keys and aliases."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.constructor = yaml.SafeLoader("")
        self.seen: set[int] = set()

    def error(self, message: str, line: int) -> RuleError:
        return RuleError(message, path=self.source, line=line)

    def value(self, node: yaml.Node) -> Any:
        line = node.start_mark.line + 1
        if id(node) in self.seen:
            raise self.error("YAML aliases (*name) are not allowed in rule files", line)
        self.seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            if node.tag not in _SCALAR_TAGS:
                raise self.error(f"YAML tag {node.tag!r} is not allowed in rule files", line)
            try:
                return self.constructor.construct_object(node, deep=True)
            except (ValueError, OverflowError, yaml.YAMLError) as exc:
                raise self.error(f"invalid value {node.value[:40]!r}: {exc}", line) from None
        if isinstance(node, yaml.SequenceNode):
            if node.tag != "tag:yaml.org,2002:seq":
                raise self.error(f"YAML tag {node.tag!r} is not allowed in rule files", line)
            out = _List(self.value(item) for item in node.value)
            out.line = line
            out.item_lines = [item.start_mark.line + 1 for item in node.value]
            return out
        if isinstance(node, yaml.MappingNode):
            if node.tag != "tag:yaml.org,2002:map":
                raise self.error(f"YAML tag {node.tag!r} is not allowed in rule files", line)
            mapping = _Map()
            mapping.line = line
            mapping.key_lines = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != (
                    "tag:yaml.org,2002:str"
                ):
                    raise self.error("mapping keys must be plain strings", key_line)
                key = key_node.value
                if key in mapping:
                    raise self.error(f"duplicate key {key!r}", key_line)
                mapping[key] = self.value(value_node)
                mapping.key_lines[key] = key_line
            return mapping
        raise self.error("unsupported YAML node", line)  # pragma: no cover


def _parse_yaml(data: bytes, source: str) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RuleError("the file is not valid UTF-8", path=source, line=line) from None
    try:
        # The event stream is produced without recursion: check depth before composing nodes.
        depth = 0
        for event in yaml.parse(text, Loader=_YamlLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise RuleError(
                        f"nesting deeper than {MAX_DEPTH} levels",
                        path=source,
                        line=_line(event.start_mark),
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        node = yaml.compose(text, Loader=_YamlLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise RuleError(f"invalid YAML: {problem}", path=source, line=line) from None
    except yaml.reader.ReaderError as exc:
        # A forbidden character (a raw escape byte...): libyaml gives a position, not a line.
        line = text[: max(exc.position, 0)].count("\n") + 1
        char = exc.character
        code = char if isinstance(char, int) else ord(char) if char else 0
        raise RuleError(
            f"invalid YAML: unacceptable character #x{code:04x}", path=source, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise RuleError(f"invalid YAML: {exc}", path=source, line=1) from None
    if node is None:
        return None
    return _Reader(source).value(node)


# ---------------------------------------------------------------------------------------------
# Validation


class _Checker:
    """Validates one pack's plain data and compiles its rules; knows the file for errors."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, message: str, line: int) -> RuleError:
        return RuleError(message, path=self.source, line=line)

    def mapping(self, value: Any, what: str, line: int) -> _Map:
        if not isinstance(value, _Map):
            raise self.error(f"{what} must be a mapping, got {_kind(value)}", line)
        return value

    def keys(
        self, m: _Map, what: str, allowed: Sequence[str], required: Sequence[str] = ()
    ) -> None:
        for key in m:
            if key not in allowed:
                raise self.error(
                    f"unknown key {key!r} in {what} (allowed: {', '.join(allowed)})",
                    m.key_lines[key],
                )
        for key in required:
            if key not in m:
                raise self.error(f"{what} lacks the required key {key!r}", m.line)

    def text(self, m: _Map, key: str, what: str) -> Text:
        line = m.key_lines[key]
        value = self.mapping(m[key], f"{what} {key!r}", line)
        self.keys(value, f"{what} {key!r}", LANGS)
        for lang in LANGS:
            if lang not in value:
                raise self.error(f"{what} {key!r} lacks the {lang!r} translation", value.line)
            if not isinstance(value[lang], str) or not value[lang].strip():
                raise self.error(
                    f"{what} {key!r} {lang!r} must be a non-empty string",
                    value.key_lines[lang],
                )
        return Text(fr=value["fr"].strip(), en=value["en"].strip())

    def pack(self, data: Any, default_id: str) -> tuple[str, Text | None, _List]:
        if not isinstance(data, _Map):
            raise self.error(
                "a rule pack must be a mapping with a 'rules' list", getattr(data, "line", 1)
            )
        self.keys(data, "the pack file", ("pack", "rules"), ("rules",))
        pack_id, title = default_id, None
        if "pack" in data:
            meta = self.mapping(data["pack"], "'pack'", data.key_lines["pack"])
            self.keys(meta, "'pack'", ("id", "title"), ("id",))
            if not isinstance(meta["id"], str) or not RULE_ID.match(meta["id"].upper()):
                raise self.error("pack id must be a word like 'united-states'", meta.line)
            pack_id = meta["id"]
            if "title" in meta:
                title = self.text(meta, "title", "pack")
        rules = data["rules"]
        if not isinstance(rules, _List):
            raise self.error(f"'rules' must be a list, got {_kind(rules)}", data.key_lines["rules"])
        return pack_id, title, rules

    def rule(self, value: Any, line: int, pack_id: str) -> Rule:
        m = self.mapping(value, "a rule", line)
        rule_id = m.get("id")
        what = f"rule {rule_id}" if isinstance(rule_id, str) else "a rule"
        self.keys(m, what, _RULE_KEYS, _REQUIRED)
        if not isinstance(rule_id, str) or len(rule_id) > MAX_RULE_ID or not RULE_ID.match(
            rule_id
        ):
            raise self.error(
                f"rule id must be upper-case words joined by '-' (e.g. US-CLOUD-ACT-HOSTING), "
                f"at most {MAX_RULE_ID} characters; got {_show(rule_id)}",
                m.key_lines["id"],
            )
        title = self.text(m, "title", what)
        rationale = self.text(m, "rationale", what)
        references = self.references(m["references"], m.key_lines["references"], what)
        reviewed = self.date(m["reviewed"], m.key_lines["reviewed"], what)
        layers = None
        if "layers" in m:
            layers = self.layers(m["layers"], m.key_lines["layers"], what)
        accept_weak = m.get("accept_weak", False)
        if not isinstance(accept_weak, bool):
            raise self.error(
                f"{what}: 'accept_weak' must be true or false, got {_show(accept_weak)}",
                m.key_lines["accept_weak"],
            )
        predicate, scopes = self.condition(m["when"], m.key_lines["when"], accept_weak)
        default, by_class = self.severity(m["severity"], m.key_lines["severity"], what)
        return Rule(
            id=rule_id,
            title=title,
            rationale=rationale,
            references=references,
            reviewed=reviewed,
            layers=layers,
            when=_plain(m["when"]),
            predicate=predicate,
            endpoint_only=FactScope.ATTRIBUTION not in scopes,
            severity=default,
            severity_by_data_class=by_class,
            pack=pack_id,
            source=self.source,
            line=m.line,
            accept_weak=accept_weak,
        )

    def references(self, value: Any, line: int, what: str) -> tuple[RuleReference, ...]:
        if not isinstance(value, _List) or not value:
            raise self.error(f"{what} 'references' must be a non-empty list", line)
        out = []
        for item, item_line in zip(value, value.item_lines, strict=True):
            ref = self.mapping(item, "a reference", item_line)
            self.keys(ref, "a reference", ("title", "url"), ("title",))
            if isinstance(ref["title"], str) and ref["title"].strip():
                title = Text(ref["title"].strip(), ref["title"].strip())
            elif isinstance(ref["title"], _Map):
                title = self.text(ref, "title", "reference")
            else:
                raise self.error(
                    "reference 'title' must be a string or {fr, en}", ref.key_lines["title"]
                )
            url = ref.get("url")
            if url is not None and (not isinstance(url, str) or not _URL.match(url)):
                raise self.error(
                    f"reference url must be an http(s) URL, got {_show(url)}", ref.key_lines["url"]
                )
            out.append(RuleReference(title, url))
        return tuple(out)

    def date(self, value: Any, line: int, what: str) -> datetime.date:
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        if isinstance(value, str):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                pass
        raise self.error(f"{what} 'reviewed' must be a date (YYYY-MM-DD), got {_show(value)}", line)

    def layers(self, value: Any, line: int, what: str) -> frozenset[str]:
        known = [x.value for x in Layer]
        if not isinstance(value, _List) or not value:
            raise self.error(f"{what} 'layers' must be a non-empty list of layers", line)
        for item, item_line in zip(value, value.item_lines, strict=True):
            if item not in known:
                raise self.error(
                    f"unknown layer {_show(item)} (known: {', '.join(known)})", item_line
                )
        return frozenset(value)

    def severity(
        self, value: Any, line: int, what: str
    ) -> tuple[Severity, tuple[tuple[str, Severity], ...]]:
        m = self.mapping(value, f"{what} 'severity'", line)
        self.keys(m, f"{what} 'severity'", ("default", "by_data_class"), ("default",))
        default = self.one_severity(m["default"], m.key_lines["default"])
        by_class: list[tuple[str, Severity]] = []
        if "by_data_class" in m:
            classes = self.mapping(
                m["by_data_class"], "'by_data_class'", m.key_lines["by_data_class"]
            )
            known = [x.value for x in DataClass]
            for name, sev in classes.items():
                if name not in known:
                    raise self.error(
                        f"unknown data class {name!r} (known: {', '.join(known)})",
                        classes.key_lines[name],
                    )
                by_class.append((name, self.one_severity(sev, classes.key_lines[name])))
        return default, tuple(by_class)

    def one_severity(self, value: Any, line: int) -> Severity:
        try:
            return Severity(value)
        except (ValueError, TypeError):
            known = ", ".join(s.value for s in Severity)
            raise self.error(f"unknown severity {_show(value)} (known: {known})", line) from None

    def condition(
        self, value: Any, line: int, accept_weak: bool = False
    ) -> tuple[Predicate, set[FactScope]]:
        """Compile a condition tree; return the predicate and the scopes of the facts it uses."""
        m = self.mapping(value, "a condition", line)
        if "fact" in m:
            name = m["fact"]
            fact = FACTS.get(name) if isinstance(name, str) else None
            if fact is None:
                raise self.error(
                    f"unknown fact {_show(name)} (known: {', '.join(FACTS)})", m.key_lines["fact"]
                )
            ops = [k for k in m if k != "fact"]
            if len(ops) != 1:
                raise self.error(
                    f"a condition on fact {name!r} needs exactly one operator, got "
                    f"{len(ops)}{': ' + ', '.join(ops) if ops else ''}",
                    m.line,
                )
            op = ops[0]
            try:
                leaf = compile_leaf(weak_aware(fact, accept_weak), op, _plain(m[op]))
                return leaf, {fact.scope}
            except OperatorError as exc:
                raise self.error(str(exc), m.key_lines[op]) from None
        if len(m) != 1 or next(iter(m)) not in ("all", "any", "not"):
            raise self.error(
                "a condition is {fact: NAME, OPERATOR: VALUE} or one of all / any / not; got "
                f"keys {', '.join(map(repr, m)) or 'none'}",
                m.line,
            )
        key = next(iter(m))
        key_line = m.key_lines[key]
        if key == "not":
            inner, scopes = self.condition(m[key], key_line, accept_weak)
            return (lambda ep, at: not inner(ep, at)), scopes
        items = m[key]
        if not isinstance(items, _List) or not items:
            raise self.error(f"'{key}' must be a non-empty list of conditions", key_line)
        preds: list[Predicate] = []
        scopes = set()
        for item, item_line in zip(items, items.item_lines, strict=True):
            pred, item_scopes = self.condition(item, item_line, accept_weak)
            preds.append(pred)
            scopes |= item_scopes
        return (_all_of(preds) if key == "all" else _any_of(preds)), scopes


def _all_of(preds: list[Predicate]) -> Predicate:
    # Unrolled for the common short lists: the evaluation loop calls these millions of times.
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda ep, at: a(ep, at) and b(ep, at)
    if len(preds) == 3:
        a, b, c = preds
        return lambda ep, at: a(ep, at) and b(ep, at) and c(ep, at)
    frozen = tuple(preds)
    return lambda ep, at: all(p(ep, at) for p in frozen)


def _any_of(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        a, b = preds
        return lambda ep, at: a(ep, at) or b(ep, at)
    frozen = tuple(preds)
    return lambda ep, at: any(p(ep, at) for p in frozen)


def _line(mark: Any) -> int:
    return int(mark.line) + 1 if mark is not None else 1


def _plain(value: Any) -> Any:
    """Drop the line bookkeeping: plain dicts and lists, for operators and display."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"{type(value).__name__} {_show(value)}"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# ---------------------------------------------------------------------------------------------
# Public API


def default_pack_paths() -> list[Path]:
    """The rule packs of the default profile (quebec) without optional packs, in order."""
    return [_DEFAULT_DIR / name for name in DEFAULT_PACK_NAMES]


def shipped_pack_paths() -> list[Path]:
    """Every rule pack shipped with sovaudit, whatever the profile (sorted by file name)."""
    return sorted(p for p in _DEFAULT_DIR.glob("*.yaml") if p.is_file())


def get_profile(name: str | None) -> Profile:
    """The profile called ``name`` (None: the default, quebec); RuleError lists valid names."""
    if name is None:
        return PROFILES[DEFAULT_PROFILE]
    profile = PROFILES.get(name)
    if profile is None:
        raise RuleError(f"unknown profile {name!r} (known: {', '.join(PROFILES)})")
    return profile


def _display(path: Path, default: bool) -> str:
    # Shipped packs are shown by a stable name so evidence and reports are the same everywhere.
    return f"rules/{path.name}" if default else str(path)


def load_pack(path: Path, *, default: bool = False) -> tuple[RulePack, list[Rule]]:
    """Load and validate one pack file; raises RuleError with FILE:LINE on any problem."""
    source = _display(path, default)
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise RuleError(f"cannot read the rule file: {exc.strerror or exc}", path=source) from None
    if len(data) > MAX_FILE_BYTES:
        # Name the line where the cap is crossed, like every other error.
        line = data[:MAX_FILE_BYTES].count(b"\n") + 1
        raise RuleError(f"file larger than {MAX_FILE_BYTES} bytes", path=source, line=line)
    parsed = _parse_yaml(data, source)
    checker = _Checker(source)
    pack_id, title, items = checker.pack(parsed, path.stem)
    rules = [
        checker.rule(item, line, pack_id)
        for item, line in zip(items, items.item_lines, strict=True)
    ]
    first_line: dict[str, int] = {}
    for rule in rules:
        if rule.id in first_line:
            raise RuleError(
                f"duplicate rule id {rule.id} (first defined at line {first_line[rule.id]})",
                path=source,
                line=rule.line,
            )
        first_line[rule.id] = rule.line
    pack = RulePack(
        id=pack_id,
        title=title,
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        rule_ids=tuple(r.id for r in rules),
        reviewed=max((r.reviewed for r in rules), default=None),
        default=default,
    )
    return pack, rules


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def load_rules(
    paths: Sequence[Path] = (),
    *,
    include_default: bool = True,
    skip: Collection[str] = (),
    profile: str | None = None,
) -> RuleSet:
    """Load the packs of ``profile`` (unless ``include_default`` is false) and ``paths``.

    ``profile`` names an entry of PROFILES (None: quebec); an unknown name is a RuleError even
    with ``include_default`` false, so a typo never goes unnoticed. The profile's excluded rules
    are left out. A directory stands for the ``*.yaml`` files in it. Rule ids must be unique
    across every loaded pack; ``skip`` removes rules by id (an unknown id there is an error, not
    a no-op).
    """
    chosen = get_profile(profile)
    candidates: list[tuple[Path, bool]] = []
    if include_default:
        candidates += [(p, True) for p in chosen.pack_paths()]
    for p in paths:
        candidates += [(x, False) for x in _expand(Path(p))]
    shipped = {d.resolve() for d in shipped_pack_paths()}
    seen_files: set[Path] = set()
    packs: list[RulePack] = []
    rules: list[Rule] = []
    where: dict[str, Rule] = {}
    for path, default in candidates:
        resolved = path.resolve()
        if resolved in seen_files:
            continue
        seen_files.add(resolved)
        is_default = default or resolved in shipped
        pack, pack_rules = load_pack(path, default=is_default)
        if default:
            # Only the profile's own selection is filtered: a pack given with --rules is whole.
            pack_rules = [r for r in pack_rules if r.id not in chosen.exclude]
            pack = replace(pack, rule_ids=tuple(r.id for r in pack_rules))
        for rule in pack_rules:
            first = where.get(rule.id)
            if first is not None:
                raise RuleError(
                    f"duplicate rule id {rule.id} (first defined at {first.source}:{first.line})",
                    path=rule.source,
                    line=rule.line,
                )
            where[rule.id] = rule
        packs.append(pack)
        rules.extend(pack_rules)
    # Skipping a rule the profile already left out is harmless: same scan, no surprise.
    unknown = sorted(set(skip) - set(where) - chosen.exclude)
    if unknown:
        raise RuleError(f"cannot skip unknown rule id(s): {', '.join(unknown)}")
    kept = tuple(r for r in rules if r.id not in set(skip))
    return RuleSet(rules=kept, packs=tuple(packs))
