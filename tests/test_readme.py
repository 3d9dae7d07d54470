"""Every command and every option of the CLI is documented in the README."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from sovaudit.cli import app

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _walk(cmd: Any, path: list[str]) -> list[tuple[str, Any]]:
    # Typer may vendor click: walk the command tree by its attributes, not by click's classes.
    out = [(" ".join(path), cmd)]
    if hasattr(cmd, "commands"):
        for name, sub in sorted(cmd.commands.items()):
            out.extend(_walk(sub, [*path, name]))
    return out


def test_every_command_and_option_is_in_the_readme() -> None:
    root = typer.main.get_command(app)
    missing: list[str] = []
    for path, cmd in _walk(root, ["sovaudit"]):
        if path != "sovaudit" and f"`{path}" not in README:
            missing.append(f"command `{path}`")
        for param in cmd.params:
            if getattr(param, "param_type_name", "") != "option" or getattr(param, "hidden", False):
                continue
            longs = [o for o in param.opts if o.startswith("--")]
            if longs and not any(f"`{o}" in README for o in longs):
                missing.append(f"{path}: option {longs[0]}")
    assert not missing, "undocumented in README.md: " + ", ".join(missing)


def test_readme_starts_with_the_two_setup_commands() -> None:
    block = README.split("```sh", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2
    assert "pip install -r requirements.lock" in block[0] and "sovaudit demo" in block[0]
    assert "pip install -r requirements-test.lock" in block[1]
    assert "python -m pytest" in block[1]
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci and "requirements-test.lock" in ci


def test_the_lock_files_pin_every_dependency_with_hashes() -> None:
    """CI, Docker and the README install what was tested: every line pinned, every pin hashed."""
    root = Path(__file__).parent.parent
    runtime = _locked(root / "requirements.lock")
    test = _locked(root / "requirements-test.lock")
    assert {"typer", "rich", "dnspython", "lxml", "httpx", "jinja2", "pyyaml"} <= runtime
    assert runtime <= test and {"pytest", "pytest-xdist", "hypothesis", "mypy", "ruff"} <= test
    docker = (root / "Dockerfile").read_text(encoding="utf-8")
    assert "requirements.lock" in docker


def _locked(path: Path) -> set[str]:
    names: set[str] = set()
    entry: list[str] = []
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.strip().startswith("#"):
            continue
        if line and not line[0].isspace() and entry:
            names.add(_check_entry(entry))
            entry = []
        if line.strip():
            entry.append(line.strip())
    if entry:
        names.add(_check_entry(entry))
    return names


def _check_entry(entry: list[str]) -> str:
    head = entry[0]
    name, sep, _version = head.partition("==")
    assert sep, f"not pinned: {head}"
    assert any(part.startswith("--hash=sha256:") for part in entry), f"no hash: {head}"
    return name.strip().lower()


def test_every_command_help_has_an_example() -> None:
    root = typer.main.get_command(app)
    lacking = [
        path
        for path, cmd in _walk(root, ["sovaudit"])
        if not hasattr(cmd, "commands") and "Example:" not in (cmd.help or "")
    ]
    assert not lacking, f"--help without an 'Example:' line: {lacking}"
