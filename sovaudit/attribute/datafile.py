"""Loading the curated YAML data files (provider registry, domain table) with line numbers.

The files ship with the package but users edit them too, so every error names FILE:LINE. libyaml
(C) parses when PyYAML has it: the registry is large enough that the pure-Python parser costs
most of a second at every start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from sovaudit.errors import DatasetError

_SafeBase: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class LineDict(dict[str, Any]):
    """A mapping that remembers the 1-based line where it starts."""

    line: int = 0


class _LineLoader(_SafeBase):  # type: ignore[misc]
    """Safe loading (no tags beyond YAML's own) that records the line of every mapping."""


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineDict:
    mapping = LineDict({str(k): v for k, v in loader.construct_mapping(node, deep=True).items()})
    mapping.line = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_lines(text: str, path: str) -> Any:
    """Parse ``text``; mappings come back as :class:`LineDict`. DatasetError with FILE:LINE."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise DatasetError(f"invalid YAML: {exc}", path=path, line=line) from exc


def text_field(d: Mapping[str, Any], key: str, path: str, line: int, what: str) -> str:
    """A required, non-empty string field of a data-file entry (DatasetError with FILE:LINE)."""
    value = d.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{what}: {key!r} must be a non-empty string", path=path, line=line)
    return value.strip()


def optional_text_field(
    d: Mapping[str, Any], key: str, path: str, line: int, what: str
) -> str | None:
    """An optional string field (None when absent or blank)."""
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise DatasetError(f"{what}: {key!r} must be a string", path=path, line=line)
    return value.strip() or None
