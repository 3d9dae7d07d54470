"""Malformed rule files never crash the loader: they load, or raise RuleError with FILE:LINE.

Rules that do load are then evaluated on a few endpoints, which must not crash either.
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovaudit.errors import RuleError
from sovaudit.evaluate import FACTS, OPERATORS, default_pack_paths, evaluate, load_rules
from sovaudit.evaluate.facts import Fact, FactKind
from sovaudit.models import Attribution, DataClass, Endpoint, Layer, Status

NOW = datetime.date(2026, 11, 25)
FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
VALID = (default_pack_paths()[0]).read_text(encoding="utf-8")
ENDPOINTS = [
    Endpoint(organization="o", service="s", host="www.example.qc.ca", layer=layer,
             data_classes=(DataClass.HEALTH, DataClass.PUBLIC), status=Status.OK,
             attributions=(
                 Attribution(subject="20.48.196.10", role="address", asn=8075,
                             operator_name="Microsoft Canada Inc.", category="cloud",
                             jurisdiction="US", operator_jurisdiction="CA", ownership="private",
                             confidence=0.9, status=Status.OK, flags=("weak",)),
                 Attribution(subject="203.0.113.7", role="cname"),
             ))
    for layer in Layer
] + [Endpoint(organization="o", service="s", host="x", layer=Layer.MAIL, data_classes=(),
              status=Status.UNKNOWN, reason="SERVFAIL")]


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def check(workdir: Path, content: str | bytes) -> None:
    """Load ``content`` as a pack: success (then evaluate) or a RuleError naming file and line."""
    path = workdir / "fuzz.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(content)
    try:
        rules = load_rules([path], include_default=False)
    except RuleError as exc:
        assert exc.path == str(path)
        assert isinstance(exc.line, int) and exc.line >= 1, str(exc)
        assert str(exc).startswith(f"{path}:{exc.line}: ")
        assert exc.message.strip()
        return
    for lang in ("fr", "en"):
        evaluate(ENDPOINTS, rules, lang=lang, now=NOW)


@FUZZ
@given(st.binary(max_size=400))
def test_random_bytes(workdir: Path, data: bytes) -> None:
    check(workdir, data)


@FUZZ
@given(st.text(alphabet=st.sampled_from(list("rules:-[]{}&*!|>'\"#%@`\t\n ?,.aZ09\\")),
               max_size=300))
def test_yaml_punctuation_soup(workdir: Path, text: str) -> None:
    check(workdir, "rules:\n" + text)


@FUZZ
@given(st.data())
def test_mutated_shipped_pack(workdir: Path, data: st.DataObject) -> None:
    lines = VALID.splitlines(keepends=True)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        actions = ["delete", "duplicate", "truncate", "replace", "indent"]
        action = data.draw(st.sampled_from(actions))
        if action == "delete":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "truncate":
            lines[i] = lines[i][: data.draw(st.integers(0, len(lines[i])))] + "\n"
        elif action == "indent":
            lines[i] = "  " + lines[i]
        else:
            snippet = data.draw(st.sampled_from([
                "      - {fact: nope, in: [US]}\n", "    severity: {default: 5}\n",
                "    reviewed: 2026-02-30\n", "    id: US-CLOUD-ACT-HOSTING\n",
                "    when: {not: {not: {}}}\n", "    layers: []\n", "  - 42\n",
                "    title: {fr: x}\n", "    when: {fact: operator_name, matches: '(a+)+'}\n",
                "    when: {fact: confidence, gte: .nan}\n", "!!python/name:os.system\n",
                "    references: [{title: x, url: 'javascript:alert(1)'}]\n",
                "    when: {fact: asn, in: [99999999999999999999999999999999]}\n",
            ]))
            lines[i] = snippet
        if not lines:
            break
    check(workdir, "".join(lines))


# Plain YAML values, to build arbitrary (mostly wrong) rule structures.
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
    st.text(max_size=12), st.sampled_from(list(FACTS) + list(OPERATORS) + [
        "US", "CA-QC", "cloud", "health", "high", "web", "all", "any", "not", "fr", "en",
    ]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(
            ["fact", "in", "all", "any", "not", "fr", "en", "default", "by_data_class"])),
            inner, max_size=4),
    ),
    max_leaves=20,
)


def _plausible_value(fact: Fact) -> st.SearchStrategy[Any]:
    """A value of the right type for the fact (often a known value), or a list of them."""
    if fact.kind in (FactKind.STRING, FactKind.STRINGS):
        one: st.SearchStrategy[Any] = st.sampled_from(
            list(fact.choices or ["US", "CA", "CA-QC", "FR", "weak", "Microsoft", "^www\\."])
        )
    elif fact.kind is FactKind.BOOLEAN:
        one = st.booleans()
    elif fact.kind is FactKind.INTEGER:
        one = st.integers(0, 70000)
    else:
        one = st.floats(0, 1)
    return st.one_of(one, st.lists(one, min_size=1, max_size=3))


@st.composite
def plausible_leaf(draw: st.DrawFn) -> dict[str, Any]:
    fact = draw(st.sampled_from(list(FACTS.values())))
    op = draw(st.sampled_from(list(OPERATORS)))
    value = draw(st.booleans() if op == "exists" else _plausible_value(fact))
    return {"fact": fact.name, op: value}


def conditions() -> st.SearchStrategy[Any]:
    leaf = st.one_of(
        plausible_leaf(),
        plausible_leaf(),
        st.builds(
            lambda fact, op, value: {"fact": fact, op: value},
            st.sampled_from(list(FACTS) + ["nope"]),
            st.sampled_from(list(OPERATORS) + ["nope"]),
            values,
        ),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.builds(lambda xs: {"all": xs}, st.lists(inner, max_size=3)),
            st.builds(lambda xs: {"any": xs}, st.lists(inner, max_size=3)),
            st.builds(lambda x: {"not": x}, inner),
        ),
        max_leaves=6,
    )


@FUZZ
@given(
    when=conditions(),
    title=st.one_of(values, st.just({"fr": "Titre", "en": "Title"})),
    severity=st.one_of(values, st.just({"default": "high"})),
    reviewed=st.one_of(values, st.dates().map(str)),
    extra=st.dictionaries(st.text(max_size=6), values, max_size=2),
)
def test_generated_rules(workdir: Path, when: Any, title: Any, severity: Any, reviewed: Any,
                         extra: dict[str, Any]) -> None:
    rule = {
        "id": "FUZZ-RULE",
        "title": title,
        "rationale": {"fr": "Justification", "en": "Rationale"},
        "references": [{"title": "x", "url": "https://example.org/"}],
        "reviewed": reviewed,
        "when": when,
        "severity": severity,
        **extra,
    }
    check(workdir, yaml.safe_dump({"rules": [rule]}, allow_unicode=True))


@FUZZ
@given(when=conditions())
def test_generated_conditions_in_a_valid_rule(workdir: Path, when: Any) -> None:
    rule = {
        "id": "FUZZ-RULE",
        "title": {"fr": "Titre", "en": "Title"},
        "rationale": {"fr": "Justification", "en": "Rationale"},
        "references": [{"title": "x", "url": "https://example.org/"}],
        "reviewed": "2026-11-01",
        "when": when,
        "severity": {"default": "high"},
    }
    check(workdir, yaml.safe_dump({"rules": [rule]}, allow_unicode=True))
