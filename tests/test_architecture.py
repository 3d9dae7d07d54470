"""The package layout the README's architecture section describes, checked on the source.

Every import of every module (module-level and function-level alike: both are dependencies) is
read with ``ast``. The test fails on an import cycle, on an import that points up the layers, and
on a module at the package root other than the few shared by every layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "sovaudit"

# The only modules allowed at the package root: the facade, the entry point, and what every
# layer shares (the evidence data model, the error hierarchy, the bilingual strings).
ROOT_MODULES = {"__init__", "__main__", "models", "errors", "i18n"}

# Layers, lowest first: a module may import its own layer and the layers below it, never one
# above. The root modules (models, errors, i18n) are below every layer. ``inventory`` sits above
# ``evaluate`` because an inventory names a rule profile and is checked against the profiles
# the rule loader knows; no stage of the scan imports the inventory reader.
LAYERS = (
    "collect",
    "attribute",
    "evaluate",
    "inventory",
    "evidence",
    "report",
    "pipeline",
    "demo",
    "cli",
)
RANK = {name: rank for rank, name in enumerate(LAYERS, start=1)}

# ``sovaudit/__init__.py`` is the library's public facade (``from sovaudit import scan``): it
# imports the pipeline lazily, on first use, and sits on top of the layers rather than below.
# ``__main__`` is the ``python -m sovaudit`` entry point into the CLI.
TOP_OF_STACK = {"sovaudit", "sovaudit.__main__"}


def _modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: Path) -> set[str]:
    """The sovaudit modules ``path`` imports, anywhere in it (names resolved to modules)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "sovaudit":
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "sovaudit")
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; write the absolute module name")
    return found


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def _rank(module: str) -> int:
    layer = _layer(module)
    return RANK[layer] if layer is not None else 0


def test_the_graph_sees_every_package() -> None:
    # A test that reads nothing would pass for the wrong reason.
    assert {_layer(m) for m in MODULES} >= set(LAYERS)
    assert len(MODULES) > 60
    assert "sovaudit.pipeline.options" in GRAPH["sovaudit.pipeline.webstage"]


def test_only_shared_modules_at_the_package_root() -> None:
    loose = sorted(
        p.stem for p in PACKAGE.glob("*.py") if p.stem not in ROOT_MODULES
    )
    assert loose == [], f"modules at the package root belong in a package: {loose}"


def test_imports_never_point_up_the_layers() -> None:
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module not in TOP_OF_STACK
        for target in targets
        if _rank(target) > _rank(module)
    )
    assert upward == [], "imports that point up the layers:\n" + "\n".join(upward)


def test_collect_never_imports_attribute() -> None:
    # The rule the layer order implies, spelled out because it is the one most often broken.
    bad = sorted(
        f"{m} -> {t}"
        for m, targets in GRAPH.items()
        if _layer(m) == "collect"
        for t in targets
        if _layer(t) == "attribute"
    )
    assert bad == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work: list[tuple[str, list[str]]] = [(start, sorted(graph[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, todo = work[-1]
            if todo:
                nxt = todo.pop()
                if nxt not in graph:
                    continue
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(graph[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_no_import_cycle() -> None:
    # The facade's lazy import runs on first use, never while a module loads: leave it out, or
    # every `from sovaudit import __version__` would close a loop through it.
    graph = {m: (set() if m in TOP_OF_STACK else t) for m, t in GRAPH.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_every_error_exits_2_and_every_exit_code_has_one_meaning() -> None:
    import importlib

    from sovaudit.errors import ExitCode, SovauditError

    for module in MODULES:
        if module != "sovaudit.__main__":  # it runs the CLI
            importlib.import_module(module)
    errors: list[type[SovauditError]] = []
    todo: list[type[SovauditError]] = [SovauditError]
    while todo:
        cls = todo.pop()
        errors.append(cls)
        todo.extend(cls.__subclasses__())
    assert len(errors) >= 8  # UserError and its kinds, RdapError...
    # 3 means "incomplete under --strict": an error must never be mistaken for it.
    assert {cls.__name__: cls.exit_code for cls in errors if cls.exit_code != ExitCode.ERROR} == {}
    assert len({int(code) for code in ExitCode}) == len(ExitCode)
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    cells = [row.split("|")[1].strip() for row in table.splitlines() if row.startswith("| ")]
    assert [int(code) for code in ExitCode] == [int(c) for c in cells if c.isdigit()]
