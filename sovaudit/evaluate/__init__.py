"""The legal rule engine: YAML rule packs compiled into predicates over named facts.

``load_rules`` reads and validates the packs of a profile (``PROFILES``; errors name FILE:LINE),
``evaluate`` attaches one finding per (endpoint, matching rule). Facts are documented in
:mod:`sovaudit.evaluate.facts`, operators in :mod:`sovaudit.evaluate.operators`.
"""

from __future__ import annotations

from sovaudit.evaluate.engine import evaluate
from sovaudit.evaluate.facts import FACTS, Fact
from sovaudit.evaluate.loader import (
    DEFAULT_PROFILE,
    PROFILES,
    Profile,
    Rule,
    RulePack,
    RuleReference,
    RuleSet,
    Text,
    default_pack_paths,
    get_profile,
    load_pack,
    load_rules,
    shipped_pack_paths,
)
from sovaudit.evaluate.operators import OPERATOR_DOCS, OPERATORS

__all__ = [
    "DEFAULT_PROFILE",
    "FACTS",
    "OPERATORS",
    "OPERATOR_DOCS",
    "PROFILES",
    "Fact",
    "Profile",
    "Rule",
    "RulePack",
    "RuleReference",
    "RuleSet",
    "Text",
    "default_pack_paths",
    "evaluate",
    "get_profile",
    "load_pack",
    "load_rules",
    "shipped_pack_paths",
]
