"""CI mode end to end: zones change between two runs; baselines, diff, exit codes, the Action."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sovaudit.demo.nameserver import LoopbackNameserver

ROOT = Path(__file__).parent.parent

ZONE_V1 = """$TTL 300
@    IN SOA ns1.cimode.test. hostmaster.cimode.test. 1 3600 600 86400 300
@    IN NS  ns1.cimode.test.
ns1  IN A   24.48.0.53
@    IN A   142.113.0.10
www  IN A   142.113.0.10
@    IN MX  10 mx.cimode.test.
mx   IN A   207.164.0.25
"""
# The mail moves to Microsoft 365 and the site to an AWS address; DNS stays at Vidéotron.
ZONE_V2 = ZONE_V1.replace("@    IN MX  10 mx.cimode.test.",
                          "@    IN MX  10 sante-test.mail.protection.outlook.com.").replace(
    "www  IN A   142.113.0.10", "www  IN A   15.222.0.10")

INVENTORY = """version: 1
organizations:
  - id: cimode
    name: Organisme CI
    data_classes: [tax, personal]
    domains: [cimode.test]
"""


def sovaudit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sovaudit", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def scan(
    ns: LoopbackNameserver, inv: Path, out: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return sovaudit("scan", str(inv), "--resolver", ns.spec, "--format", "json", "-o", str(out),
                    "--timeout", "1", *extra)


def findings(path: Path) -> dict[tuple[str, str, str], str | None]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {(e["host"], e["layer"], f["rule_id"]): f["status"]
            for e in data["endpoints"] for f in e["findings"]}


@pytest.fixture()
def ci_env(fresh_nameserver: LoopbackNameserver, tmp_path: Path) -> tuple[LoopbackNameserver, Path]:
    fresh_nameserver.add_zone_text("cimode.test.", ZONE_V1)
    inv = tmp_path / "inv.yaml"
    inv.write_text(INVENTORY, encoding="utf-8")
    return fresh_nameserver, inv


def test_move_to_us_provider_is_new_exposure(ci_env: tuple[LoopbackNameserver, Path],
                                             tmp_path: Path) -> None:
    ns, inv = ci_env
    v1 = tmp_path / "v1.json"
    first = scan(ns, inv, v1)
    assert first.returncode == 0, first.stderr
    before = findings(v1)
    assert not any(rule.startswith("US-") for _h, _l, rule in before), before

    # Unchanged zones: nothing new, exit 0 even with a strict threshold.
    same = scan(ns, inv, tmp_path / "same.json", "--baseline", str(v1), "--fail-on-new", "info")
    assert same.returncode == 0, same.stderr
    assert set(findings(tmp_path / "same.json").values()) <= {"unchanged"}

    ns.add_zone_text("cimode.test.", ZONE_V2)
    v2 = tmp_path / "v2.json"
    second = scan(ns, inv, v2, "--baseline", str(v1), "--fail-on-new", "high")
    assert second.returncode == 1, second.stderr
    after = findings(v2)
    new = {k for k, status in after.items() if status == "new"}
    assert new, after
    # Exactly the moved endpoints carry new findings; DNS at Vidéotron did not move.
    assert {(h, layer) for h, layer, _r in new} == {("cimode.test", "mail"),
                                                   ("www.cimode.test", "web")}
    assert ("cimode.test", "mail", "US-CLOUD-ACT-MAIL") in new
    assert all(status == "unchanged" for (h, layer, _r), status in after.items()
               if (h, layer) not in {("cimode.test", "mail"), ("www.cimode.test", "web")})
    data = json.loads(v2.read_text(encoding="utf-8"))
    assert data["options"]["baseline"]["file"] == str(v1)
    resolved_hosts = {(r["host"], r["layer"]) for r in data["options"]["baseline"]["resolved"]}
    assert resolved_hosts <= {("cimode.test", "mail"), ("www.cimode.test", "web")}

    # Same move, but only fail on critical new findings: below the threshold -> 0.
    quiet = scan(ns, inv, tmp_path / "v2b.json", "--baseline", str(v1), "--fail-on-new",
                 "critical")
    assert quiet.returncode in (0, 1)
    worst = {f["severity"] for e in json.loads((tmp_path / "v2b.json").read_text())["endpoints"]
             for f in e["findings"] if f["status"] == "new"}
    assert quiet.returncode == (1 if "critical" in worst else 0)

    text = sovaudit("diff", str(v1), str(v2))
    assert text.returncode == 0
    assert "mail for cimode.test moved from" in text.stdout
    assert "Microsoft" in text.stdout and "(US)" in text.stdout
    failing = sovaudit("diff", str(v1), str(v2), "--fail-on", "high", "--format", "json")
    assert failing.returncode == 1
    moved = json.loads(failing.stdout)["moves"]
    assert {(m["host"], m["layer"]) for m in moved} == {("cimode.test", "mail"),
                                                        ("www.cimode.test", "web")}


def test_fail_on_and_strict_exit_codes(ci_env: tuple[LoopbackNameserver, Path],
                                       tmp_path: Path) -> None:
    ns, inv = ci_env
    ns.add_zone_text("cimode.test.", ZONE_V2)
    assert scan(ns, inv, tmp_path / "a.json", "--fail-on", "high").returncode == 1
    assert scan(ns, inv, tmp_path / "b.json", "--fail-on", "never").returncode == 0
    ns.set_fault("www.cimode.test.", "servfail")
    strict = scan(ns, inv, tmp_path / "c.json", "--strict", "--fail-on", "high")
    assert strict.returncode == 3, strict.stderr
    assert scan(ns, inv, tmp_path / "d.json", "--fail-on-new", "high").returncode == 2


def test_history_records_the_trend(ci_env: tuple[LoopbackNameserver, Path],
                                   tmp_path: Path) -> None:
    ns, inv = ci_env
    db = tmp_path / "h.sqlite"
    assert scan(ns, inv, tmp_path / "1.json", "--history", str(db)).returncode == 0
    ns.add_zone_text("cimode.test.", ZONE_V2)
    assert scan(ns, inv, tmp_path / "2.json", "--history", str(db)).returncode == 0
    proc = sovaudit("history", str(db), "--json")
    assert proc.returncode == 0, proc.stderr
    points = json.loads(proc.stdout)
    assert len(points) == 2
    assert points[0]["us_controlled"] == 0 and points[1]["us_controlled"] == 2
    table = sovaudit("history", str(db), "--org", "cimode")
    assert table.returncode == 0 and "foreign %" in table.stdout


def _action_steps() -> list[dict[str, object]]:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    return list(action["runs"]["steps"])


def _run_step(step: dict[str, object], env: dict[str, str], cwd: Path) -> int:
    script = str(step["run"])
    step_env: dict[str, object] = dict(step.get("env") or {})  # type: ignore[call-overload]
    assert all("${{" not in line for line in script.splitlines()), "inputs must come via env"
    full_env = {**os.environ, **env}
    for key, value in step_env.items():
        if key in env:
            full_env[key] = env[key]
        else:
            full_env[key] = str(value)
    return subprocess.run(["bash", "-c", script], env=full_env, cwd=cwd, timeout=120).returncode


def test_action_shell_steps_run_locally(ci_env: tuple[LoopbackNameserver, Path],
                                        tmp_path: Path) -> None:
    """The composite action's shell steps, run as GitHub would run them, against two zones."""
    ns, inv = ci_env
    steps = {str(s.get("name")): s for s in _action_steps()}
    bindir = Path(sys.executable).parent
    summary, output = tmp_path / "summary.md", tmp_path / "gh_output"
    base_env = {
        "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        "INVENTORY": str(inv), "RESOLVER": ns.spec, "FAIL_ON": "never", "FAIL_ON_NEW": "high",
        "REPORT_LANG": "fr", "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output),
        "STRICT": "false",
        "CONFIG": "",  # the action input `config` (issue 21), empty by default
    }
    if not (bindir / "sovaudit").exists():
        pytest.skip("the sovaudit entry point is not installed next to this interpreter")
    run1 = {**base_env, "BASELINE": "", "OUTPUT_DIR": str(tmp_path / "r1")}
    assert _run_step(steps["Scan"], run1, tmp_path) == 0
    assert _run_step(steps["Job summary"], run1, tmp_path) == 0
    assert "exit-code=0" in output.read_text()
    assert (tmp_path / "r1" / "report.sarif").exists()
    first = summary.read_text(encoding="utf-8")
    # The job summary: headline, counts, exposures table (in the report's language).
    assert first.startswith("## sovaudit : souveraineté des données\n\n**")
    assert "| Gravité | Point d'accès | Organisme | Contrôlé par | Fondements juridiques |" in first
    assert "Nouveau depuis la référence" not in first  # no baseline on the first run
    summary.write_text("")

    ns.add_zone_text("cimode.test.", ZONE_V2)
    output.write_text("")
    run2 = {**base_env, "BASELINE": str(tmp_path / "r1" / "report.json"),
            "OUTPUT_DIR": str(tmp_path / "r2")}
    assert _run_step(steps["Scan"], run2, tmp_path) == 0  # the step records, Verdict fails
    assert "exit-code=1" in output.read_text()
    assert _run_step(steps["Job summary"], run2, tmp_path) == 0
    second = summary.read_text(encoding="utf-8").replace("\\.", ".")  # Markdown-escaped dots
    assert "cimode.test" in second
    new = second.split("### Nouveau depuis la référence (", 1)[1]
    assert int(new.split(")", 1)[0]) >= 2  # the moved mail and web endpoints
    assert "Microsoft Corporation (US)" in new and "`US-CLOUD-ACT-MAIL`" in new
    assert _run_step(steps["Verdict"], {**run2, "CODE": "1"}, tmp_path) == 1
    assert _run_step(steps["Verdict"], {**run2, "CODE": "0"}, tmp_path) == 0


def test_example_workflow_uses_the_action_as_documented() -> None:
    """examples/ci/sovaudit.yml parses, and passes the action only inputs it declares."""
    workflow = yaml.safe_load((ROOT / "examples" / "ci" / "sovaudit.yml").read_text("utf-8"))
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["audit"]["steps"]
    [ours] = [s for s in steps if str(s.get("uses", "")).endswith("/sovaudit@v1")]
    assert set(ours["with"]) <= set(action["inputs"])
    assert "inventory" in ours["with"] and "baseline" in ours["with"]
    assert workflow["permissions"]["security-events"] == "write"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "examples/ci/sovaudit.yml" in readme and "uses: your-org/sovaudit@v1" in readme
    for name in action["inputs"]:
        assert f"| `{name}` |" in readme, name
