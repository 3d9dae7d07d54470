"""Broken inputs: fuzzed inventories and a corpus of broken inventory and rule files.

Whatever the file, the real CLI must answer with exactly one ``error: FILE:LINE: message`` line
on stderr and exit code 2: never a traceback, never a hang (each run is bounded by a timeout).
The corpus is ``tests/data/broken/``; files too large to keep in git are generated here.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sovaudit.cli import main
from sovaudit.errors import InventoryError
from sovaudit.inventory import (
    MAX_DEPTH,
    MAX_INVENTORY_BYTES,
    Inventory,
    load_inventory,
    parse_inventory,
)

BROKEN = Path(__file__).parent / "data" / "broken"
TIMEOUT = 30  # seconds per CLI run: a hang fails the test instead of blocking the suite

# Expected (line, words in the message) for each corpus inventory.
INVENTORIES: dict[str, tuple[int, str]] = {
    "alias-bomb.yaml": (2, "anchors and aliases are not allowed"),
    "bad-date.yaml": (6, "'until' must be a date"),
    "bad-host.yaml": (4, "invalid host name"),
    "bad-yaml.yaml": (5, "invalid YAML"),
    "binary.yaml": (3, "binary data (NUL byte)"),
    "bom-error.yaml": (4, "unknown key 'domain'"),
    "control-chars.yaml": (4, "unacceptable character #x001b"),
    "crlf-error.yaml": (4, "unknown key 'domain'"),
    "custom-tag.yaml": (4, "YAML tag '!include' is not allowed"),
    "deep-nesting.yaml": (4, f"nested deeper than {MAX_DEPTH} levels"),
    "duplicate-key.yaml": (4, "duplicate key 'id'"),
    "empty.yaml": (1, "empty inventory"),
    "ip-as-host.yaml": (4, "looks like an IP address"),
    "latin1.yaml": (4, "not valid UTF-8"),
    "list-root.yaml": (1, "must be a mapping"),
    "merge-key.yaml": (3, "anchors and aliases are not allowed"),
    "only-comments.yaml": (3, "must be a mapping"),
    "plain-list-bad-host.yaml": (2, "invalid host name 'foo..test'"),
    "plain-list-bad.yaml": (2, "one domain or host per line"),
    "python-tag.yaml": (3, "python/object/apply:os.system' is not allowed"),
    "random-bytes.yaml": (2, "binary data"),
    "rtl-override-id.yaml": (3, "invalid organization id"),
    "tabs.yaml": (3, "invalid YAML"),
    "unknown-key.yaml": (4, "unknown key 'domians'"),
    "unknown-top-key.yaml": (2, "unknown key 'secret'"),
    "utf16.yaml": (1, "binary data"),
    "version-2.yaml": (1, "unsupported version"),
    "wrong-type-domains.yaml": (4, "'domains' must be a list"),
    "wrong-type-organizations.yaml": (2, "'organizations' must be a list"),
    "wrong-type-service.yaml": (5, "a service must be a mapping"),
    # Generated at test time (see _generated_inventories).
    "huge.yaml": (0, "larger than 10 MiB"),
    "long-line.yaml": (4, "host name too long"),
    # libyaml refuses implicit keys over 1,024 characters before we see them.
    "long-key.yaml": (4, "invalid YAML"),
    # libyaml's own limit (1,000 flow levels) or ours, whichever the parser meets first.
    "deep-flow-bomb.yaml": (2, "nest"),
    "deep-block-bomb.yaml": (0, f"nested deeper than {MAX_DEPTH} levels"),
    "many-lines.yaml": (5001, "more than 5000 domains in one list"),
}

RULES: dict[str, tuple[int, str]] = {
    "alias-bomb.yaml": (1, "aliases"),
    "bad-severity.yaml": (13, "unknown severity 'apocalyptic'"),
    "bad-yaml.yaml": (13, "invalid YAML"),
    "binary.yaml": (3, "not valid UTF-8"),
    "bom-crlf-error.yaml": (11, "unknown key 'reviwed'"),
    "catastrophic-regex.yaml": (12, "can take exponential time"),
    # The loader names line 1 for a forbidden character (see the report to the lead).
    "control-chars.yaml": (0, "unacceptable character #x001b"),
    "deep-nesting.yaml": (12, "nesting deeper than"),
    "duplicate-id.yaml": (14, "duplicate rule id BROKEN-ONE"),
    "empty.yaml": (1, "must be a mapping"),
    "latin1.yaml": (3, "not valid UTF-8"),
    "missing-french.yaml": (6, "lacks the 'fr' translation"),
    "python-tag.yaml": (12, "is not allowed in rule files"),
    "random-bytes.yaml": (1, "not valid UTF-8"),
    "tabs.yaml": (5, "invalid YAML"),
    "unknown-fact.yaml": (12, "unknown fact 'jurisdicton'"),
    "unknown-key.yaml": (11, "unknown key 'reviwed'"),
    "unknown-operator.yaml": (12, "unknown operator 'equls'"),
    "wrong-type-rules.yaml": (4, "'rules' must be a list"),
    "wrong-type-when.yaml": (12, "a condition must be a mapping"),
    # Generated at test time.
    "huge.yaml": (0, "larger than"),
    "long-line.yaml": (0, "unknown key 'xx'"),
    "deep-flow-bomb.yaml": (1, "nest"),
}


def _generated_inventories(directory: Path) -> None:
    head = "version: 1\norganizations:\n  - id: a\n"
    # 10 MiB + 1 byte of valid-looking YAML: refused by size before any parsing.
    filler = "# padding line\n" * (MAX_INVENTORY_BYTES // 15 + 1)
    (directory / "huge.yaml").write_text(head + filler, encoding="utf-8")
    (directory / "long-line.yaml").write_text(
        head + "    domains: [" + "a" * 1_000_000 + ".test]\n", encoding="utf-8"
    )
    (directory / "long-key.yaml").write_text(
        head + "    " + "k" * 500_000 + ": 1\n    domains: [a.test]\n", encoding="utf-8"
    )
    (directory / "deep-flow-bomb.yaml").write_text(
        "version: 1\nnotes: " + "[" * 200_000 + "\n", encoding="utf-8"
    )
    (directory / "deep-block-bomb.yaml").write_text(
        "version: 1\nnotes:\n" + "".join("  " * k + "- \n" for k in range(1, 3000)),
        encoding="utf-8",
    )
    # 9 MiB of plain-list lines: rejected at the cap, not parsed for a minute.
    lines = "".join(f"d{k}.example.test\n" for k in range(500_000)) + "not a host!\n"
    (directory / "many-lines.yaml").write_text(lines, encoding="utf-8")


def _generated_rules(directory: Path) -> None:
    valid = (BROKEN / "rules" / "valid.yaml").read_text(encoding="utf-8")
    (directory / "huge.yaml").write_text(valid + "#" * (2 * 1024 * 1024) + "\n", encoding="utf-8")
    (directory / "long-line.yaml").write_text(
        valid.replace('rationale: {fr: "Raison", en: "Reason"}',
                      'rationale: {fr: "Raison", en: "Reason", xx: "' + "z" * 900_000 + '"}'),
        encoding="utf-8",
    )
    (directory / "deep-flow-bomb.yaml").write_text("pack: " + "[" * 200_000 + "\n", "utf-8")


# Files also run in a real process (the others run in-process through the same entry point,
# sovaudit.cli.main, to keep this file fast: interpreter start-up would dominate).
IN_SUBPROCESS = {
    ("scan", "huge.yaml"), ("scan", "deep-flow-bomb.yaml"), ("scan", "control-chars.yaml"),
    ("rules", "binary.yaml"),
}


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def _cli(*args: str) -> Run:
    """The real ``sovaudit`` process, bounded by TIMEOUT."""
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "sovaudit", *args],
        capture_output=True, text=True, timeout=TIMEOUT, env=env,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def _cli_in_process(*args: str) -> Run:
    """``sovaudit.cli.main`` with argv and std streams swapped; bounded by TIMEOUT."""
    result: list[Run] = []
    failure: list[BaseException] = []

    def target() -> None:
        out, err = io.StringIO(), io.StringIO()
        code: int | str | None = 0
        argv = sys.argv
        try:
            sys.argv = ["sovaudit", *args]
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main()
                except SystemExit as exc:
                    code = exc.code
        except BaseException as exc:  # a bug: the test shows it instead of a hang
            failure.append(exc)
        finally:
            sys.argv = argv
        result.append(Run(int(code or 0), out.getvalue(), err.getvalue()))

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    assert not thread.is_alive(), f"sovaudit {' '.join(args)[:200]} hangs"
    if failure:
        raise failure[0]
    return result[0]


def _run_all(jobs: dict[str, list[str]]) -> dict[str, Run]:
    runs = {name: _cli_in_process(*args) for name, args in jobs.items()}
    real = {name: args for name, args in jobs.items() if (args[0], name) in IN_SUBPROCESS}
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_cli, *args) for name, args in real.items()}
        subprocess_runs = {name: f.result() for name, f in futures.items()}
    for name, run in subprocess_runs.items():
        # The real process must say exactly what the in-process run said.
        assert run == runs[name], (name, run, runs[name])
    return runs


@pytest.fixture(scope="module")
def inventory_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, Path], dict[str, Run]]]:
    generated = tmp_path_factory.mktemp("inventories")
    _generated_inventories(generated)
    paths = {p.name: p for p in sorted((BROKEN / "inventory").iterdir())}
    paths.update({p.name: p for p in sorted(generated.iterdir())})
    # An unroutable resolver: an inventory error must come first, before any network use.
    jobs = {
        name: ["scan", str(path), "--resolver", "127.0.0.1:9", "-q"]
        for name, path in paths.items()
        if name != "bom-crlf-valid.yaml"
    }
    yield paths, _run_all(jobs)


@pytest.fixture(scope="module")
def rule_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, Path], dict[str, Run]]]:
    generated = tmp_path_factory.mktemp("rules")
    _generated_rules(generated)
    paths = {p.name: p for p in sorted((BROKEN / "rules").iterdir()) if p.name != "valid.yaml"}
    paths.update({p.name: p for p in sorted(generated.iterdir())})
    jobs = {name: ["rules", "validate", str(path)] for name, path in paths.items()}
    yield paths, _run_all(jobs)


def _check_one_line(
    proc: Run, path: Path, line: int, words: str
) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-500:])
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr[:2000]
    pattern = rf"^error: {re.escape(str(path))}:(\d+): \S.*$"
    match = re.match(pattern, lines[0])
    assert match is not None, lines[0][:300]
    if line:
        assert int(match.group(1)) == line, lines[0][:300]
    assert words in lines[0], lines[0][:300]
    # Clear means short, and free of terminal control characters from the file.
    assert len(lines[0]) < 1000, len(lines[0])
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", proc.stderr)


def test_corpus_is_complete() -> None:
    on_disk = {p.name for p in (BROKEN / "inventory").iterdir()} - {"bom-crlf-valid.yaml"}
    assert on_disk <= set(INVENTORIES)
    assert {p.name for p in (BROKEN / "rules").iterdir()} - {"valid.yaml"} <= set(RULES)


@pytest.mark.parametrize("name", sorted(INVENTORIES))
def test_broken_inventory_is_one_clear_line_and_exit_2(
    inventory_runs: tuple[dict[str, Path], dict[str, Run]],
    name: str,
) -> None:
    paths, runs = inventory_runs
    line, words = INVENTORIES[name]
    _check_one_line(runs[name], paths[name], line, words)


@pytest.mark.parametrize("name", sorted(RULES))
def test_broken_rule_file_is_one_clear_line_and_exit_2(
    rule_runs: tuple[dict[str, Path], dict[str, Run]],
    name: str,
) -> None:
    paths, runs = rule_runs
    line, words = RULES[name]
    proc = runs[name]
    # `rules validate` prints "ok FILE" on stdout for a file that is fine on its own; the
    # duplicate id is found when all packs are loaded together.
    _check_one_line(proc, paths[name], line, words)


def test_valid_rule_file_passes() -> None:
    proc = _cli("rules", "validate", str(BROKEN / "rules" / "valid.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert "1 rule(s) in pack broken" in proc.stdout


def test_bom_and_crlf_are_accepted() -> None:
    inv = load_inventory(BROKEN / "inventory" / "bom-crlf-valid.yaml")
    assert [t.host for t in inv.targets()] == ["a.test", "www.a.test", "a.test", "a.test"]
    assert inv.organizations[0].line == 3


def test_control_characters_in_error_messages_never_reach_the_terminal(tmp_path: Path) -> None:
    # Valid YAML escapes can smuggle ESC and BEL into a value that an error message quotes.
    inv = tmp_path / "esc.yaml"
    inv.write_text(
        'version: 1\norganizations:\n  - id: a\n    domains: ["\\e[2J\\e]8;;http://evil\\a.x"]\n',
        encoding="utf-8",
    )
    proc = _cli("scan", str(inv), "--resolver", "127.0.0.1:9")
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr and "\x07" not in proc.stderr
    assert f"{inv}:4: invalid host name" in proc.stderr


# -- property-based fuzzing of parse_inventory ----------------------------------------------


def _parse(text: str) -> Inventory | None:
    """parse_inventory must return an Inventory or raise InventoryError with a line."""
    try:
        inv = parse_inventory(text, "fuzz.yaml")
    except InventoryError as exc:
        assert exc.path == "fuzz.yaml"
        assert exc.message and "\n" not in exc.message, exc.message
        assert len(exc.message) < 400
        assert str(exc).startswith("fuzz.yaml:")
        return None
    assert isinstance(inv, Inventory)
    for target in inv.targets():  # expansion must not fail either
        assert target.host and target.source is not None
    return inv


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_fuzz_arbitrary_text(text: str) -> None:
    _parse(text)


YAML_PIECES = [
    "version: 1\n", "version: 2\n", "organizations:\n", "  - id: a\n", "  - id: B!\n",
    "    domains: [a.test]\n", "    domains: [\n", "    services:\n", "      - host: w.a.test\n",
    "        layer: mail\n", "        layer: saas\n", "    data_classes: [health]\n",
    "    data_classes: 7\n", "  - &x {id: c}\n", "  - *x\n", "    name: !!binary aGk=\n",
    "\t- id: t\n", "accepted:\n", "  - {rule: R, reason: r, until: 2026-13-45}\n",
    "---\n", "...\n", "%YAML 1.1\n", "? [a, b]\n: c\n", "'\n", "{}\n", "[]\n", "~\n",
    "    domains: [ -a.test, a-.test, xn--zz.test, _dmarc.a.test, 1.2.3.4 ]\n",
    "    domains: [québec.test, ÉCOLE.test, \u202eevil.test, a\u0000b.test]\n",
]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(YAML_PIECES), max_size=14))
def test_fuzz_inventory_shaped_yaml(pieces: list[str]) -> None:
    _parse("".join(pieces))


_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
    st.text(max_size=30), st.sampled_from(["a.test", "www.a.test", "health", "web", "mail", "1"]),
)
_keys = st.sampled_from(
    ["version", "organizations", "id", "name", "domains", "services", "host", "layer",
     "data_classes", "accepted", "rule", "reason", "until", "profile", "x"]
)
_trees = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_keys, children, max_size=5)
    ),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_trees)
def test_fuzz_structured_documents(tree: object) -> None:
    for style in (False, True):
        _parse(yaml.safe_dump(tree, default_flow_style=style, allow_unicode=True))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.from_regex(
            r"([a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\.){1,3}[a-z][a-z0-9]{0,8}", fullmatch=True
        ),
        min_size=1, max_size=10,
    )
)
def test_fuzz_valid_plain_lists_round_trip(hosts: list[str]) -> None:
    inv = _parse("\n".join(hosts) + "\n")
    assert inv is not None
    org = inv.organizations[0]
    assert {d.name for d in org.domains} | {s.host for s in org.services} == set(hosts)
