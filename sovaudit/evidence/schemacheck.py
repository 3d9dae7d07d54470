"""Evidence read back is checked against the shipped JSON schema before it is used (issue 21).

A mutated or hostile evidence file (a ``null`` where a string is expected, ``answers: [null]``)
must give one line, ``FILE: endpoints[3].records[0].answers[0]: expected string, got null``, and
exit 2, never a traceback from deep inside a renderer. Nesting and number sizes are capped
*before* ``json.loads`` (:mod:`sovaudit.collect.jsontext`): 100,000 nested ``[`` or a
5,000-digit integer must not reach the parser.

The validator covers the keywords ``evidence.schema.json`` uses (type, properties, required,
additionalProperties, items, $ref to ``#/$defs``, enum, const, minimum, maximum, oneOf,
uniqueItems); a test checks it against ``jsonschema`` on mutated files. It has no dependency.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

__all__ = [
    "endpoint_problem",
    "evidence_problem",
]

_TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


@functools.cache
def _schema() -> dict[str, Any]:
    ref = resources.files("sovaudit.evidence") / "schema" / "evidence.schema.json"
    data: dict[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    return data


def _name(value: Any) -> str:
    if value is None:
        return "null"
    for name, kind in _TYPES.items():
        if type(value) is kind:
            return name
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return type(value).__name__


def _is(value: Any, kind: str) -> bool:
    if kind == "integer":  # JSON Schema: 1.0 is an integer too
        if isinstance(value, float):
            return value.is_integer()
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return type(value) is _TYPES.get(kind, object)


def _problem(
    value: Any, schema: Mapping[str, Any], where: str, root: Mapping[str, Any]
) -> str | None:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return _problem(value, target, where, root)
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_is(value, k) for k in names):
            return f"{where}: expected {' or '.join(names)}, got {_name(value)}"
    if "const" in schema and value != schema["const"]:
        return f"{where}: expected {schema['const']!r}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: {str(value)[:40]!r} is not one of {', '.join(map(str, schema['enum']))}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return f"{where}: below {schema['minimum']}"
        if "maximum" in schema and value > schema["maximum"]:
            return f"{where}: above {schema['maximum']}"
    if "oneOf" in schema:
        matches = [s for s in schema["oneOf"] if _problem(value, s, where, root) is None]
        if len(matches) != 1:
            first = _problem(value, schema["oneOf"][-1], where, root)
            return first or f"{where}: matches {len(matches)} alternatives, expected one"
    if isinstance(value, dict):
        props: Mapping[str, Any] = schema.get("properties") or {}
        for key in schema.get("required") or ():
            if key not in value:
                return f"{where}: missing {key!r}"
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            here = f"{where}.{key}" if where else str(key)
            if key in props:
                found = _problem(item, props[key], here, root)
            elif extra is False:
                found = f"{where or '(top)'}: unexpected member {str(key)[:40]!r}"
            elif isinstance(extra, dict):
                found = _problem(item, extra, here, root)
            else:
                found = None
            if found:
                return found
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                found = _problem(item, items, f"{where}[{i}]", root)
                if found:
                    return found
        if schema.get("uniqueItems"):
            seen = [json.dumps(v, sort_keys=True) for v in value]
            if len(set(seen)) != len(seen):
                return f"{where}: duplicate items"
    return None


def evidence_problem(data: Any) -> str | None:
    """The first place where ``data`` breaks the evidence schema, as ``path: message``."""
    root = _schema()
    return _problem(data, root, "", root)


def endpoint_problem(data: Any, where: str = "endpoint") -> str | None:
    """The same for one endpoint (a JSON Lines ``endpoint`` record, ``record`` removed)."""
    root = _schema()
    return _problem(data, root["$defs"]["endpoint"], where, root)
