"""Operators of the rule language, compiled into closures at load time.

Each operator checks, when a rule is loaded, that it fits the fact's kind and that its value is
well-typed (and, for facts with known values, that the value is one of them), then returns a
predicate ``(EndpointFacts, Attribution | None) -> bool``. Unknown (``None``) facts never match,
except for ``exists``: unknown is not "not US".
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from sovaudit.evaluate.facts import EndpointFacts, Fact, FactKind, FactScope
from sovaudit.models import Attribution

with warnings.catch_warnings():
    # sre_parse is deprecated as a module name but is the only public view of the regex parser.
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants
    import sre_parse

Predicate = Callable[[EndpointFacts, Attribution | None], bool]

# Bounds that keep `matches` linear enough: a short pattern without nested quantifiers, applied
# to at most MAX_REGEX_INPUT characters (a DNS name is at most 253).
MAX_REGEX_LENGTH = 256
MAX_REGEX_INPUT = 1024
MAX_LIST_VALUES = 1000


class OperatorError(ValueError):
    """An operator does not fit its fact or value; the loader adds the file and line."""


def _scalar_ok(kind: FactKind, value: Any) -> bool:
    if kind in (FactKind.STRING, FactKind.STRINGS):
        return isinstance(value, str)
    if kind is FactKind.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is FactKind.NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, bool)


def _check_scalar(fact: Fact, op: str, value: Any) -> None:
    if not _scalar_ok(fact.kind, value):
        expected = "a string" if fact.kind is FactKind.STRINGS else f"a {fact.kind.value}"
        raise OperatorError(
            f"operator {op!r} on fact {fact.name!r} expects {expected}, got {_show(value)}"
        )
    if isinstance(value, str):
        if fact.choices is not None and value not in fact.choices:
            raise OperatorError(
                f"{value!r} is not a known value of fact {fact.name!r} "
                f"(known: {', '.join(fact.choices)})"
            )
        if fact.value_pattern is not None and not fact.value_pattern.match(value):
            raise OperatorError(
                f"{value!r} is not a valid value of fact {fact.name!r} "
                "(expected an ISO 3166 code such as US, CA or CA-QC)"
            )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _require_kind(fact: Fact, op: str, kinds: Sequence[FactKind]) -> None:
    if fact.kind not in kinds:
        raise OperatorError(
            f"operator {op!r} does not apply to fact {fact.name!r} ({fact.kind.value}); "
            f"it applies to {', '.join(k.value for k in kinds)} facts"
        )


def _on_attribution(fact: Fact) -> bool:
    # Attribution predicates are only ever called with a real attribution (the engine evaluates
    # rules without attribution facts once per endpoint with None), so readers need no None check.
    return fact.scope is FactScope.ATTRIBUTION


def _equals(fact: Fact, value: Any) -> Predicate:
    _require_kind(fact, "equals", (FactKind.STRING, FactKind.INTEGER, FactKind.NUMBER,
                                   FactKind.BOOLEAN))
    _check_scalar(fact, "equals", value)
    read = fact.read
    if fact.kind is FactKind.BOOLEAN:
        # Identity, so that `1 == True` cannot match a boolean fact.
        if _on_attribution(fact):
            return lambda ep, at: read(at) is value
        return lambda ep, at: read(ep) is value
    if _on_attribution(fact):
        return lambda ep, at: (v := read(at)) is not None and v == value
    return lambda ep, at: (v := read(ep)) is not None and v == value


def _values(fact: Fact, op: str, value: Any) -> frozenset[Any]:
    if not isinstance(value, list) or not value:
        raise OperatorError(f"operator {op!r} expects a non-empty list, got {_show(value)}")
    if len(value) > MAX_LIST_VALUES:
        raise OperatorError(f"operator {op!r} accepts at most {MAX_LIST_VALUES} values")
    for item in value:
        _check_scalar(fact, op, item)
    return frozenset(value)


def _in(fact: Fact, value: Any) -> Predicate:
    _require_kind(fact, "in", (FactKind.STRING, FactKind.INTEGER, FactKind.STRINGS))
    values = _values(fact, "in", value)
    read = fact.read
    if fact.kind is FactKind.STRINGS:
        # On a list fact: at least one element is among the values.
        if _on_attribution(fact):
            return lambda ep, at: not values.isdisjoint(read(at))
        return lambda ep, at: not values.isdisjoint(read(ep))
    if _on_attribution(fact):
        return lambda ep, at: (v := read(at)) is not None and v in values
    return lambda ep, at: (v := read(ep)) is not None and v in values


def _not_in(fact: Fact, value: Any) -> Predicate:
    _require_kind(fact, "not_in", (FactKind.STRING, FactKind.INTEGER, FactKind.STRINGS))
    values = _values(fact, "not_in", value)
    read = fact.read
    if fact.kind is FactKind.STRINGS:
        # A list fact is never unknown (empty at worst), so "no element among" is decidable.
        if _on_attribution(fact):
            return lambda ep, at: values.isdisjoint(read(at))
        return lambda ep, at: values.isdisjoint(read(ep))
    if _on_attribution(fact):
        return lambda ep, at: (v := read(at)) is not None and v not in values
    return lambda ep, at: (v := read(ep)) is not None and v not in values


def _contains(fact: Fact, value: Any) -> Predicate:
    _require_kind(fact, "contains", (FactKind.STRING, FactKind.STRINGS))
    if not isinstance(value, str):
        raise OperatorError(f"operator 'contains' expects a string, got {_show(value)}")
    if fact.kind is FactKind.STRINGS:
        _check_scalar(fact, "contains", value)
    read = fact.read
    # On a list fact: one element equals the value; on a string fact: substring.
    if _on_attribution(fact):
        return lambda ep, at: (v := read(at)) is not None and value in v
    return lambda ep, at: (v := read(ep)) is not None and value in v


def _repeats_inside(data: Any, under_repeat: bool) -> str | None:
    """Return why a parsed regex can backtrack catastrophically, or None."""
    for op, av in data:
        if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT,
                  sre_constants.POSSESSIVE_REPEAT):
            low, high, sub = av
            unbounded = high > 1
            if unbounded and under_repeat:
                return "nested quantifiers (such as (a+)+)"
            why = _repeats_inside(sub, under_repeat or unbounded)
            if why:
                return why
        elif op is sre_constants.BRANCH:
            if under_repeat:
                return "an alternation inside a repeated group (such as (a|ab)*)"
            for branch in av[1]:
                why = _repeats_inside(branch, under_repeat)
                if why:
                    return why
        elif op in (sre_constants.SUBPATTERN, sre_constants.ATOMIC_GROUP,
                    sre_constants.ASSERT, sre_constants.ASSERT_NOT):
            sub = av[-1]
            why = _repeats_inside(sub, under_repeat)
            if why:
                return why
        elif op in (sre_constants.GROUPREF, sre_constants.GROUPREF_EXISTS):
            return "a back-reference"
    return None


def compile_regex(pattern: str) -> re.Pattern[str]:
    """Compile a rule's regex, rejecting long patterns and shapes that backtrack exponentially."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise OperatorError(f"regex longer than {MAX_REGEX_LENGTH} characters")
    try:
        parsed = sre_parse.parse(pattern)
        compiled = re.compile(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        raise OperatorError(f"invalid regex {_show(pattern)}: {exc}") from None
    why = _repeats_inside(parsed.data, False)
    if why:
        raise OperatorError(
            f"regex {_show(pattern)} is rejected: {why} can take exponential time; "
            "anchor a simpler pattern instead (e.g. '\\.example\\.com$')"
        )
    return compiled


def _matches(fact: Fact, value: Any) -> Predicate:
    _require_kind(fact, "matches", (FactKind.STRING, FactKind.STRINGS))
    if not isinstance(value, str):
        raise OperatorError(f"operator 'matches' expects a regex string, got {_show(value)}")
    search = compile_regex(value).search
    cap = MAX_REGEX_INPUT

    def test(v: Any) -> bool:
        if v is None:
            return False
        if isinstance(v, str):
            return search(v[:cap]) is not None
        return any(search(s[:cap]) is not None for s in v)

    read = fact.read
    if _on_attribution(fact):
        return lambda ep, at: test(read(at))
    return lambda ep, at: test(read(ep))


def _exists(fact: Fact, value: Any) -> Predicate:
    if not isinstance(value, bool):
        raise OperatorError(f"operator 'exists' expects true or false, got {_show(value)}")
    read = fact.read
    # An empty list is "nothing there", like an absent value; 0 and "" are known values.
    if fact.kind is FactKind.STRINGS:
        if _on_attribution(fact):
            return lambda ep, at: bool(read(at)) is value
        return lambda ep, at: bool(read(ep)) is value
    if _on_attribution(fact):
        return lambda ep, at: (read(at) is not None) is value
    return lambda ep, at: (read(ep) is not None) is value


def _bound(op: str) -> Callable[[Fact, Any], Predicate]:
    def build(fact: Fact, value: Any) -> Predicate:
        _require_kind(fact, op, (FactKind.NUMBER, FactKind.INTEGER))
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise OperatorError(f"operator {op!r} expects a number, got {_show(value)}")
        if value != value:
            raise OperatorError(f"operator {op!r} expects a number, got NaN")
        read = fact.read
        on_attribution = _on_attribution(fact)
        if op == "gte":
            if on_attribution:
                return lambda ep, at: (v := read(at)) is not None and v >= value
            return lambda ep, at: (v := read(ep)) is not None and v >= value
        if on_attribution:
            return lambda ep, at: (v := read(at)) is not None and v <= value
        return lambda ep, at: (v := read(ep)) is not None and v <= value

    return build


OPERATORS: dict[str, Callable[[Fact, Any], Predicate]] = {
    "equals": _equals,
    "in": _in,
    "not_in": _not_in,
    "contains": _contains,
    "matches": _matches,
    "exists": _exists,
    "gte": _bound("gte"),
    "lte": _bound("lte"),
}

OPERATOR_DOCS: dict[str, str] = {
    "equals": "The fact equals the value (string, integer, number or boolean facts).",
    "in": "The fact is one of the listed values; on a list fact, at least one element is.",
    "not_in": "The fact is known and none of the listed values; on a list fact, no element is.",
    "contains": "List fact: one element equals the value. String fact: the value is a substring.",
    "matches": "Python regex search (bounded: pattern <= 256 characters, no nested quantifiers, "
    "alternations inside repeats or back-references; input cut at 1024 characters).",
    "exists": "true: the fact is known (a list fact is non-empty); false: it is unknown or empty.",
    "gte": "Number fact greater than or equal to the value.",
    "lte": "Number fact less than or equal to the value.",
}


def compile_leaf(fact: Fact, op: str, value: Any) -> Predicate:
    """Build the predicate for ``{fact: NAME, OP: VALUE}``; raises OperatorError when invalid."""
    try:
        build = OPERATORS[op]
    except KeyError:
        raise OperatorError(
            f"unknown operator {op!r} (known: {', '.join(OPERATORS)})"
        ) from None
    return build(fact, value)
