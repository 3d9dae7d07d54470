"""The legal rule engine: YAML rule packs compiled into predicates over named facts.

``load_rules`` reads and validates the packs (errors name FILE:LINE), ``evaluate`` attaches one
finding per (endpoint, matching rule). Facts are documented in :mod:`sovaudit.evaluate.facts`,
operators in :mod:`sovaudit.evaluate.operators`.
"""

from __future__ import annotations

from sovaudit.evaluate.engine import evaluate
from sovaudit.evaluate.facts import FACTS, Fact
from sovaudit.evaluate.loader import (
    Rule,
    RulePack,
    RuleReference,
    RuleSet,
    Text,
    default_pack_paths,
    load_pack,
    load_rules,
)
from sovaudit.evaluate.operators import OPERATOR_DOCS, OPERATORS

__all__ = [
    "FACTS",
    "OPERATORS",
    "OPERATOR_DOCS",
    "Fact",
    "Rule",
    "RulePack",
    "RuleReference",
    "RuleSet",
    "Text",
    "default_pack_paths",
    "evaluate",
    "load_pack",
    "load_rules",
]
