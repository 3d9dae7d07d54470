"""The command line speaks French when LC_ALL / LANG say French; ``--lang`` wins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer

from sovaudit.cli import app
from sovaudit.cli.help_fr import COMMANDS_FR, OPTIONS_FR


def run(*args: str, lang: str = "fr_CA.UTF-8") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
    env.update({"LANG": lang, "COLUMNS": "140"})
    return subprocess.run([sys.executable, "-m", "sovaudit", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def test_help_in_french_from_the_locale_and_lang_wins() -> None:
    fr = run("scan", "--help").stdout
    assert "Résoudre chaque point d'accès" in fr
    for panel in ("Entrée", "Réseau", "Règles", "Sortie", "Intégration continue"):
        assert f"╭─ {panel} ─" in fr
    assert "Secondes d'attente d'une réponse." in fr and "[défaut : 2.0]" in fr
    assert "Afficher cette aide et quitter." in fr
    en = run("scan", "--help", "--lang", "en").stdout
    assert "Resolve every endpoint" in en and "╭─ Network ─" in en
    assert "Résoudre" in run("scan", "--help", "--lang", "fr", lang="C").stdout
    top = run("--help").stdout
    assert "Auditer la souveraineté" in top and "╭─ Commandes ─" in top


def test_every_command_and_scan_option_has_its_french_help() -> None:
    root = typer.main.get_command(app)
    paths = [""]
    for name, cmd in root.commands.items():  # type: ignore[attr-defined]
        paths.append(name)
        paths += [f"{name} {sub}" for sub in getattr(cmd, "commands", {})]
    assert [p for p in paths if p not in COMMANDS_FR] == []
    scan = root.commands["scan"]  # type: ignore[attr-defined]
    missing = [p.name for p in scan.params if p.help and p.help not in OPTIONS_FR]
    assert missing == []


def test_messages_in_french(tmp_path: Path) -> None:
    missing = run("scan", str(tmp_path / "nope.yaml"), "-r", "127.0.0.1:9")
    assert missing.returncode == 2
    assert missing.stderr.startswith("erreur : ")
    bad = tmp_path / "bad.txt"
    bad.write_text("".join(f"bad..{i}.test\n" for i in range(60)), encoding="utf-8")
    many = run("scan", str(bad), "-r", "127.0.0.1:9")
    assert "erreur : d'autres erreurs ne sont pas affichées : corrigez d'abord ces 50" in (
        many.stderr
    )
    demo = run("demo", "-o", str(tmp_path / "d"), "-f", "json")
    assert demo.returncode == 0
    assert "points d'accès : " in demo.stderr and "constats : " in demo.stderr
    assert "écrit : " in demo.stderr
    english = run("demo", "-o", str(tmp_path / "e"), "-f", "json", "--lang", "en")
    assert " endpoints: " in english.stderr and "wrote " in english.stderr
