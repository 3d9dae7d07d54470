"""The configuration file: defaults for options, their sources, and FILE:LINE errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from sovaudit.cli import app
from sovaudit.cli.config import load_config
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.errors import UserError

PYPROJECT = """\
[project]
name = "my-audit"

[tool.sovaudit]
lang = "fr"
# the CI resolver
resolvers = "192.0.2.53:5353"

[tool.other]
lang = "xx"
"""


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    # CI is dropped too: in CI a discovered file is read only on request (tested below).
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOVAUDIT_") and k != "CI"}
    env.update(extra or {})
    return env


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "sovaudit", *args],
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=_env(),
    )


def _in_process(
    monkeypatch: pytest.MonkeyPatch, cwd: Path, *args: str, env: dict[str, str] | None = None
) -> Result:
    # In-process (no interpreter start-up): the root callback reads the real cwd and environ.
    monkeypatch.chdir(cwd)
    for name in [k for k in os.environ if k.startswith("SOVAUDIT_") or k == "CI"]:
        monkeypatch.delenv(name)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(app, list(args))


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=_env(env),
    )


def test_sovaudit_toml_values_and_their_lines(tmp_path: Path) -> None:
    (tmp_path / "sovaudit.toml").write_text(
        '# defaults for our scans\ntimeout = 1\n\nrules = ["packs/extra.yaml"]\nstrict = true\n',
        encoding="utf-8",
    )
    config = load_config(cwd=tmp_path, environ={})
    file = str(tmp_path / "sovaudit.toml")
    assert config.path == file
    assert config.values() == {
        "timeout": 1.0,
        "rules": [str(tmp_path / "packs" / "extra.yaml")],  # relative to the file, not the cwd
        "strict": True,
    }
    assert (config.setting("timeout").source, config.setting("timeout").line) == (file, 2)
    assert config.setting("rules").line == 4
    assert config.setting("lang").source == "default" and config.setting("lang").value is None


def test_pyproject_table_is_read_and_other_tables_ignored(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    config = load_config(cwd=tmp_path, environ={})
    assert config.values() == {"lang": "fr", "resolvers": ["192.0.2.53:5353"]}
    assert config.setting("resolvers").line == 7


def test_precedence_file_choice_and_environment(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    (tmp_path / "sovaudit.toml").write_text('lang = "en"\n', encoding="utf-8")
    other = tmp_path / "ci.toml"
    other.write_text("concurrency = 8\n", encoding="utf-8")
    # sovaudit.toml wins over pyproject.toml; only one file is read.
    assert load_config(cwd=tmp_path, environ={}).values() == {"lang": "en"}
    # $SOVAUDIT_CONFIG wins over the files of the current directory, --config over both.
    env = {"SOVAUDIT_CONFIG": str(other)}
    assert load_config(cwd=tmp_path, environ=env).values() == {"concurrency": 8}
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("retries = 0\n", encoding="utf-8")
    assert load_config(explicit, cwd=tmp_path, environ=env).values() == {"retries": 0}
    # SOVAUDIT_<KEY> overrides one key of the file.
    env2 = {"SOVAUDIT_LANG": "fr", "SOVAUDIT_RESOLVERS": "127.0.0.1:53, [::1]:53"}
    config = load_config(cwd=tmp_path, environ=env2)
    assert config.values() == {"lang": "fr", "resolvers": ["127.0.0.1:53", "[::1]:53"]}
    assert config.setting("lang").source == "environment (SOVAUDIT_LANG)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "lang = 'fr'\n\ntimeout = 2\nresolver = '1.1.1.1'\n",
            "4: unknown key 'resolver' (valid: ",
        ),
        ("lang = 'fr'\ntimeout = 'fast'\n", "2: timeout must be a number, not the string 'fast'"),
        ("strict = 1\n", "1: strict must be true or false, not the number 1"),
        ("concurrency = true\n", "1: concurrency must be an integer, not a boolean"),
        ("\n\nlang = 'de'\n", "3: lang must be one of fr, en"),
        ("timeout = 100\n", "1: timeout must be between 0.05 and 60"),
        (
            "resolvers = ['dns.google']\n",
            "1: resolvers has an invalid entry: resolver 'dns.google'",
        ),
        ("rules = [1, 2]\n", "1: rules must be a list of strings (or one string)"),
        ("lang = 'fr'\n[scan]\ntimeout = 1\n", "2: unknown key 'scan'"),
        ("lang = 'fr'\ntimeout = \n", "2: not valid TOML: "),
    ],
)
def test_bad_file_is_file_line_message(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sovaudit.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as info:
        load_config(cwd=tmp_path, environ={})
    assert str(info.value).startswith(f"{path}:{message}"), str(info.value)


def test_bad_environment_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="^SOVAUDIT_TIMEOUT: must be a number, not 'x'$"):
        load_config(cwd=tmp_path, environ={"SOVAUDIT_TIMEOUT": "x"})
    with pytest.raises(UserError, match="given by SOVAUDIT_CONFIG does not exist"):
        load_config(cwd=tmp_path, environ={"SOVAUDIT_CONFIG": str(tmp_path / "none.toml")})


# -- through the CLI --------------------------------------------------------------------------

INVENTORY = "version: 1\norganizations:\n  - id: sante\n    domains: [sante.test]\n"


def test_file_gives_defaults_and_the_command_line_wins(
    nameserver: LoopbackNameserver, tmp_path: Path
) -> None:
    (tmp_path / "inv.yaml").write_text(INVENTORY, encoding="utf-8")
    (tmp_path / "sovaudit.toml").write_text(
        f'resolvers = ["{nameserver.spec}"]\ntimeout = 2.5\nretries = 1\nlang = "fr"\n',
        encoding="utf-8",
    )
    # Both scans at once (they share nothing but the nameserver): one start-up time, not two.
    procs = [
        start("scan", "inv.yaml", "-q", "-o", "a.json", cwd=tmp_path),
        start(
            "scan",
            "inv.yaml",
            "-q",
            "-o",
            "b.json",
            "--lang",
            "en",
            "--timeout",
            "2.7",
            cwd=tmp_path,
        ),  # fmt: skip
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    data = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert data["resolvers"] == [nameserver.spec]  # no --resolver: the file's, not the system's
    assert (data["options"]["lang"], data["options"]["timeout"]) == ("fr", 2.5)
    data = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    assert (data["options"]["lang"], data["options"]["timeout"]) == ("en", 2.7)


def test_config_show_names_every_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    result = _in_process(
        monkeypatch, tmp_path, "config", "show", "--json", env={"SOVAUDIT_RETRIES": "1"}
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["file"] == str(tmp_path / "pyproject.toml")
    by_key = {s["key"]: s for s in shown["settings"]}
    assert by_key["lang"] == {
        "key": "lang",
        "value": "fr",
        "default": "from LANG, else en",
        "source": str(tmp_path / "pyproject.toml"),
        "line": 5,
    }
    assert (by_key["retries"]["value"], by_key["retries"]["source"]) == (
        1,
        "environment (SOVAUDIT_RETRIES)",
    )
    assert by_key["timeout"]["source"] == "default" and by_key["timeout"]["value"] is None
    result = _in_process(monkeypatch, tmp_path, "config", "show", env={"COLUMNS": "250"})
    assert f"{tmp_path / 'pyproject.toml'}:7" in result.stdout


def test_bad_file_stops_any_command_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sovaudit.toml").write_text("lang = 'fr'\nconcurency = 4\n", encoding="utf-8")
    proc = run("demo", "-o", "out", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{tmp_path / 'sovaudit.toml'}:2: unknown key 'concurency'" in lines[0]
    assert not (tmp_path / "out").exists()
    result = _in_process(monkeypatch, tmp_path, "--config", "missing.toml", "config", "show")
    assert isinstance(result.exception, UserError)  # main() turns it into exit 2
    assert str(result.exception) == (
        "missing.toml: configuration file given by --config does not exist"
    )


def test_version_lists_the_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sovaudit import __version__
    from sovaudit.attribute.asntable import AsnTable
    from sovaudit.attribute.registry import default_registry

    result = _in_process(monkeypatch, tmp_path, "--version")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"sovaudit {__version__}"
    asn = AsnTable.default().dataset
    assert f"{asn.name} {asn.version} ({asn.date})" in lines[1]
    assert f"registre des fournisseurs: {default_registry().version} " in lines[2]
    assert sum("rule pack / règles rules:" in line for line in lines) >= 4


# -- issue 21: a configuration file must not change the audit silently --------------------------

HOSTILE_TOML = 'skip_rules = ["US-CLOUD-ACT", "US-FISA702"]\nlang = "en"\n'


def test_the_file_and_every_value_it_sets_are_printed_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "sovaudit.toml").write_text(HOSTILE_TOML, encoding="utf-8")
    proc = run("rules", "list", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "sovaudit.toml"
    assert f"note: configuration file {path}" in proc.stderr
    assert "skip_rules = ['US-CLOUD-ACT', 'US-FISA702']" in proc.stderr
    assert f"(from {path}:1)" in proc.stderr


@pytest.mark.parametrize(
    ("extra", "args", "read"),
    [
        ({"CI": "true"}, (), False),
        ({"CI": "true", "SOVAUDIT_CONFIG_IN_CI": "1"}, (), True),
        ({"CI": "true"}, ("--use-config",), True),
        ({"CI": "true"}, ("--config", "sovaudit.toml"), True),
        ({}, (), True),
    ],
)
def test_in_ci_a_discovered_file_is_read_only_on_request(
    tmp_path: Path, extra: dict[str, str], args: tuple[str, ...], read: bool
) -> None:
    (tmp_path / "sovaudit.toml").write_text(HOSTILE_TOML, encoding="utf-8")
    proc = run(*args, "rules", "list", cwd=tmp_path, env=extra)
    assert proc.returncode == 0, proc.stderr
    assert ("skip_rules = " in proc.stderr) is read, proc.stderr
    if not read:
        assert "not read in CI (CI=true)" in proc.stderr


def test_skipped_rules_and_profile_head_every_report_format(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from sovaudit.evidence.read import read_evidence
    from sovaudit.report import render

    sample = Path(__file__).parent / "data" / "evidence" / "sample.json"
    data = json.loads(sample.read_text(encoding="utf-8"))
    data["options"].update(skip_rules=["US-CLOUD-ACT"], rules=["extra.yaml"], profile="canada")
    path = tmp_path / "e.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    scan = read_evidence(path)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    md = render(scan, "md", lang="en", now=now)
    head = md[: md.index("## ")]
    assert "Settings that change this audit" in head and "US-CLOUD-ACT" in head
    assert "canada" in head and "extra\\.yaml" in head  # Markdown-escaped
    html = render(scan, "html", lang="fr", now=now)
    assert html.index("Paramètres qui modifient cet audit") < html.index("<main>")
    csv_text = render(scan, "csv", lang="en", now=now)
    assert csv_text.splitlines()[0].startswith("# Settings that change this audit")
    assert "US-CLOUD-ACT" in csv_text.splitlines()[0]
    sarif = json.loads(render(scan, "sarif", lang="en", now=now))
    assert sarif["runs"][0]["properties"]["auditSettings"] == {
        "skip_rules": ["US-CLOUD-ACT"], "rules": ["extra.yaml"], "profile": "canada"
    }
    # With the defaults, nothing is added.
    plain = read_evidence(sample)
    assert "Settings that change this audit" not in render(plain, "md", lang="en", now=now)
