"""`pip install .` from a clean checkout: the wheel carries every data file and runs offline.

The wheel is built from a copy of the checkout (never in the working tree, which other builds
and editors share), installed with no index into a fresh virtual environment that sees the
test environment's dependencies but not its editable sovaudit, and runs the demo from there.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_WHEEL_BYTES = 10 * 1024 * 1024
# Data the installed command cannot work without; the test also checks every other non-Python
# file of the package, so a new data folder missing from package-data fails here too.
REQUIRED = [
    "sovaudit/py.typed",
    "sovaudit/attribute/data/ip2asn-v4.bin.xz",
    "sovaudit/attribute/data/ip2asn-v6.bin.xz",
    "sovaudit/attribute/data/asn-names.tsv.xz",
    "sovaudit/attribute/data/NOTICE.ip2asn.md",
    "sovaudit/attribute/data/asn-country.tsv.xz",
    "sovaudit/attribute/data/NOTICE.asn-country.md",
    "sovaudit/attribute/data/providers.yaml",
    "sovaudit/attribute/data/tokens.yaml",
    "sovaudit/collect/data/web_signals.yaml",
    "sovaudit/collect/data/dkim_selectors.yaml",
    "sovaudit/report/templates/report.html.j2",
    "sovaudit/evidence/schema/evidence.schema.json",
    "sovaudit/rules/quebec.yaml",
    "sovaudit/rules/united-states.yaml",
    "sovaudit/demo/inventory.yaml",
    "sovaudit/demo/zones/sante.example.zone",
]


def _checkout_files() -> list[str]:
    """The files a clean checkout has: tracked plus new, not ignored (no venv, no caches)."""
    if shutil.which("git") and (ROOT / ".git").exists():
        out = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout.decode("utf-8")
        return [f for f in out.split("\0") if f and (ROOT / f).is_file()]
    skip = {".git", ".venv", ".venv-ci", "build", "dist", "__pycache__", ".mypy_cache"}
    return [
        str(p.relative_to(ROOT))
        for p in ROOT.rglob("*")
        if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
    ]


def _run(
    cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=cwd, env=env)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _setuptools_can_build() -> None:
    # pyproject.toml's `license = "Apache-2.0"` (PEP 639) needs setuptools >= 77; older ones
    # reject the file with a page of schema errors, so say what is wrong in one line instead.
    from importlib.metadata import version

    major = int(version("setuptools").split(".")[0])
    if major < 77:
        pytest.fail(f"setuptools {version('setuptools')} cannot build this project; need >= 77")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("checkout")
    for name in _checkout_files():
        if name.startswith(("tests/", "benchmarks/", "examples/", "reports/")):
            continue  # not part of the package; keeps the copy small
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    _setuptools_can_build()
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", str(dist), str(src)])  # fmt: skip
    wheels = list(dist.glob("sovaudit-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def test_wheel_carries_every_data_file_and_stays_small(wheel: Path) -> None:
    assert wheel.stat().st_size < MAX_WHEEL_BYTES
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        assert "sovaudit = sovaudit.cli:main" in zf.read(entry_points).decode()
    missing = [f for f in REQUIRED if f not in names]
    assert not missing, missing
    package_data = [
        f
        for f in _checkout_files()
        if f.startswith("sovaudit/") and not f.endswith(".py") and "__pycache__" not in f
    ]
    missing = [f for f in package_data if f not in names]
    assert not missing, f"in the package folder but not in the wheel: {missing}"
    assert not [n for n in names if n.startswith(("tests/", ".venv", "benchmarks/"))]


def test_installed_wheel_runs_the_demo_offline(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    # Dependencies come from the test environment through a .pth path line. Lines of a .pth
    # file are plain sys.path entries appended after the venv's own site-packages: the
    # installed sovaudit is found first, and the test venv's editable-install hook never runs.
    deps = {
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
        *site.getsitepackages(),
    }
    (purelib / "test-deps.pth").write_text("\n".join(sorted(deps)) + "\n", encoding="utf-8")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
          "--no-index", "-q", str(wheel)])  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SOVAUDIT_CONFIG")}
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    where = _run([str(python), "-c", "import sovaudit; print(sovaudit.__file__)"], cwd=run_dir,
                 env=env).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(venv), f"imported {where}, not the installed wheel"
    sovaudit_cmd = python.parent / "sovaudit"
    version = _run([str(sovaudit_cmd), "--version"], cwd=run_dir, env=env).stdout
    assert "ip-location-db" in version and "rules:quebec" in version
    _run([str(sovaudit_cmd), "demo", "-o", "out", "--lang", "fr"], cwd=run_dir, env=env)
    data = json.loads((run_dir / "out" / "report.json").read_text(encoding="utf-8"))
    endpoints = data["endpoints"]
    assert len(endpoints) > 10
    # Attribution used the packaged IP -> ASN table and registry, evaluation the packaged rules.
    assert any(a["asn"] and a["ultimate_parent"] for e in endpoints for a in e["attributions"])
    assert any(f["rule_id"] for e in endpoints for f in e["findings"])
    assert "<html" in (run_dir / "out" / "report.html").read_text(encoding="utf-8")


# -- the container image ----------------------------------------------------------------------

DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_basics() -> None:
    steps = _instructions()
    images = [args.split()[0] for word, args in steps if word == "FROM"]
    assert images and all(
        img.startswith("python:3.11-slim") and ":latest" not in img for img in images
    ), images
    kinds = [word for word, _ in steps]
    install = max(
        i for i, (w, a) in enumerate(steps) if w == "RUN" and "pip install --no-deps ." in a
    )
    users = [i for i, w in enumerate(kinds) if w == "USER"]
    # The last USER comes after the install and is neither root nor uid 0.
    assert users and users[-1] > install
    user = steps[users[-1]][1].split(":")[0]
    assert user not in ("root", "0")
    assert ("ENTRYPOINT", '["sovaudit"]') in steps  # exec form: signals reach sovaudit
    assert "ADD" not in kinds  # COPY only: no remote URLs, no implicit archive extraction
    copied = " ".join(args for word, args in steps if word == "COPY")
    # The build needs the readme named in pyproject.toml and the package with its data.
    for needed in ("pyproject.toml", "README.md", "sovaudit"):
        assert needed in copied
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".git" in ignored and ".venv" in ignored
    assert not {"sovaudit", "README.md", "pyproject.toml"} & set(ignored)


def _docker_works() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=30)
    return probe.returncode == 0


@pytest.mark.skipif(not _docker_works(), reason="no docker engine here (`docker info` failed)")
def test_docker_image_builds_and_runs_the_demo_as_non_root() -> None:
    tag = "sovaudit-test:ci"
    _run(["docker", "build", "-q", "-t", tag, str(ROOT)])
    try:
        uid = _run(["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"]).stdout.strip()
        assert uid == "10001"
        version = _run(["docker", "run", "--rm", "--network", "none", tag, "--version"]).stdout
        assert version.startswith("sovaudit ") and "rules:quebec" in version
        demo = _run(["docker", "run", "--rm", "--network", "none", tag, "demo", "-o", "/tmp/d"])
        assert "endpoints" in demo.stderr
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=60)
