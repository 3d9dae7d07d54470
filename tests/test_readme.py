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
    assert "pip install ." in block[0] and "sovaudit demo" in block[0]
    assert "python -m pytest" in block[1]
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci


def test_every_command_help_has_an_example() -> None:
    root = typer.main.get_command(app)
    lacking = [
        path
        for path, cmd in _walk(root, ["sovaudit"])
        if not hasattr(cmd, "commands") and "Example:" not in (cmd.help or "")
    ]
    assert not lacking, f"--help without an 'Example:' line: {lacking}"
