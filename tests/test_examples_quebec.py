"""The shipped public-sector inventories: examples/quebec/ (five families, tout.yaml), canada/.

No network: every check reads the files with the inventory loader (what `sovaudit scan` runs
first) or with a YAML parser for the provenance keys, and compares them with the folders'
README files, so the counts and the list of unverified bodies published there cannot drift.
"""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from sovaudit.errors import InventoryError
from sovaudit.inventory import load_inventory
from sovaudit.models import DataClass

ROOT = Path(__file__).resolve().parent.parent
QUEBEC_DIR = ROOT / "examples" / "quebec"
CANADA_DIR = ROOT / "examples" / "canada"
FAMILIES = ("ministeres", "sante", "education", "societes-etat", "municipalites")
QUEBEC_FILES = [QUEBEC_DIR / f"{family}.yaml" for family in FAMILIES]
CANADA_FILES = [CANADA_DIR / "federal.yaml"]
ALL_FILES = [*QUEBEC_FILES, QUEBEC_DIR / "tout.yaml", *CANADA_FILES]
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
RESERVED = (".example", ".test", ".invalid", ".localhost")


def _raw_orgs(path: Path) -> list[dict[str, object]]:
    """The organizations as plain YAML (the loader checks the provenance keys, it keeps none)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    orgs = data["organizations"]
    assert isinstance(orgs, list)
    return orgs


def _counts(path: Path) -> tuple[int, int, int]:
    """(organizations, domain names, verified organizations) of one inventory file."""
    inv = load_inventory(path)
    domains = {d.name for org in inv.organizations for d in org.domains}
    verified = sum(1 for org in _raw_orgs(path) if "verified" in org)
    return len(inv.organizations), len(domains), verified


def _share(verified: int, orgs: int) -> str:
    return f"{100 * verified / orgs:.1f}"


# -- every file loads, every organization says where its domain comes from ----------------------


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_inventory_loads_with_its_profile(path: Path) -> None:
    inv = load_inventory(path)
    assert inv.organizations
    assert inv.profile == ("canada" if path.parent == CANADA_DIR else "quebec")
    hosts = [t.host for t in inv.targets()]
    assert not [h for h in hosts if h.endswith(RESERVED)]


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_organization_has_a_source_and_a_verification_state(path: Path) -> None:
    problems = []
    for org in _raw_orgs(path):
        source = str(org.get("source", ""))
        if not source.startswith(("https://", "http://")):
            problems.append(f"{org['id']}: no source URL")
        if ("verified" in org) == ("unverified" in org):
            problems.append(f"{org['id']}: needs exactly one of verified / unverified")
        if "verified" in org and not DATE.match(str(org["verified"])):
            problems.append(f"{org['id']}: verified is not a date")
        if "unverified" in org and len(str(org["unverified"])) < 20:
            problems.append(f"{org['id']}: unverified must say what was tried")
    assert problems == []


def test_the_quebec_files_are_big_enough_and_list_each_name_once() -> None:
    ids: list[str] = []
    hosts: list[str] = []
    for path in QUEBEC_FILES:
        inv = load_inventory(path)
        ids += [org.id for org in inv.organizations]
        hosts += [d.name for org in inv.organizations for d in org.domains]
        hosts += [s.host for org in inv.organizations for s in org.services]
    assert len(ids) >= 350
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert [h for h, n in Counter(hosts).items() if n > 1] == []


# Bodies the Québec inventories exist for: each must be there with its most sensitive class.
KEY_BODIES = {
    "ramq.gouv.qc.ca": DataClass.HEALTH,
    "saaq.gouv.qc.ca": DataClass.IDENTITY,
    "revenuquebec.ca": DataClass.TAX,
    "msss.gouv.qc.ca": DataClass.HEALTH,
    "justice.gouv.qc.ca": DataClass.JUSTICE,
    "education.gouv.qc.ca": DataClass.EDUCATION,
    "hydroquebec.com": DataClass.INFRASTRUCTURE,
    "lotoquebec.com": DataClass.FINANCIAL,
    "saq.com": DataClass.FINANCIAL,
    "retraitequebec.gouv.qc.ca": DataClass.FINANCIAL,
    "quebec.ca": DataClass.PUBLIC,
    "etatcivil.gouv.qc.ca": DataClass.IDENTITY,
    "cnesst.gouv.qc.ca": DataClass.HEALTH,
    "inspq.qc.ca": DataClass.HEALTH,
    "chumontreal.qc.ca": DataClass.HEALTH,
    "cssdm.gouv.qc.ca": DataClass.EDUCATION,
    "umontreal.ca": DataClass.EDUCATION,
    "montreal.ca": DataClass.FINANCIAL,
}


def test_the_key_quebec_bodies_are_there_with_their_data_class() -> None:
    inv = load_inventory(QUEBEC_DIR / "tout.yaml")
    by_domain = {d.name: org for org in inv.organizations for d in org.domains}
    for domain, data_class in KEY_BODIES.items():
        assert domain in by_domain, f"{domain} missing"
        assert data_class in by_domain[domain].data_classes, domain


def test_schools_hold_minors_files_and_the_health_network_health_data() -> None:
    # The law decides the class: pupils' files (Education Act) are education + identity of
    # minors; every establishment of the health network holds health records.
    schools = [
        org
        for org in load_inventory(QUEBEC_DIR / "education.yaml").organizations
        if re.search(r"services scolaire|school board|kativik", org.name, re.IGNORECASE)
    ]
    assert len(schools) >= 70  # 61 French-language centres, 9 English boards, Cree, Kativik
    for org in schools:
        assert {DataClass.EDUCATION, DataClass.IDENTITY} <= set(org.data_classes), org.id
    for org in load_inventory(QUEBEC_DIR / "sante.yaml").organizations:
        assert DataClass.HEALTH in org.data_classes, org.id


# -- tout.yaml is the union of the five families -------------------------------------------------


def _assemble_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("assemble", QUEBEC_DIR / "assemble.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tout_yaml_is_up_to_date_with_the_family_files() -> None:
    expected = _assemble_module().assemble()
    assert (QUEBEC_DIR / "tout.yaml").read_text(encoding="utf-8") == expected, (
        "run: python examples/quebec/assemble.py"
    )
    union = [org.id for path in QUEBEC_FILES for org in load_inventory(path).organizations]
    assert [org.id for org in load_inventory(QUEBEC_DIR / "tout.yaml").organizations] == union


# -- the README files publish the true counts and every unverified body ------------------------


def _readme_rows(readme: Path) -> dict[str, tuple[int, int, int, str]]:
    row = re.compile(r"^\| `([\w.-]+\.yaml)` \| (\d+) \| (\d+) \| (\d+) \| ([\d.]+) % \|$")
    rows = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        match = row.match(line)
        if match:
            name, orgs, domains, verified, share = match.groups()
            rows.setdefault(name, (int(orgs), int(domains), int(verified), share))
    return rows


@pytest.mark.parametrize(
    ("readme", "files"),
    [
        (QUEBEC_DIR / "README.md", [*QUEBEC_FILES, QUEBEC_DIR / "tout.yaml"]),
        (CANADA_DIR / "README.md", CANADA_FILES),
    ],
    ids=["quebec", "canada"],
)
def test_readme_counts_match_the_files(readme: Path, files: list[Path]) -> None:
    rows = _readme_rows(readme)
    for path in files:
        orgs, domains, verified = _counts(path)
        assert rows.get(path.name) == (orgs, domains, verified, _share(verified, orgs)), path.name


def _unverified_section(readme: Path) -> str:
    text = readme.read_text(encoding="utf-8")
    start, end = text.index("<!-- unverified:start -->"), text.index("<!-- unverified:end -->")
    return text[start:end]


@pytest.mark.parametrize(
    ("readme", "files"),
    [(QUEBEC_DIR / "README.md", QUEBEC_FILES), (CANADA_DIR / "README.md", CANADA_FILES)],
    ids=["quebec", "canada"],
)
def test_readme_lists_exactly_the_unverified_organizations(readme: Path, files: list[Path]) -> None:
    listed = set(re.findall(r"`([a-z0-9][a-z0-9._-]*)`", _unverified_section(readme)))
    unverified = {
        str(org["id"]) for path in files for org in _raw_orgs(path) if "unverified" in org
    }
    assert unverified - listed == set(), "unverified but not listed in the README"
    assert listed - unverified == set(), "listed as unverified in the README but verified"


# -- the loader's provenance keys ------------------------------------------------------------------


def _inventory(tmp_path: Path, org_lines: str) -> Path:
    path = tmp_path / "inv.yaml"
    path.write_text(
        "version: 1\norganizations:\n  - id: body\n    domains: [body.ca]\n" + org_lines,
        encoding="utf-8",
    )
    return path


def test_loader_accepts_source_with_verified_or_unverified(tmp_path: Path) -> None:
    ok = _inventory(tmp_path, '    source: "https://body.ca/"\n    verified: 2026-12-03\n')
    assert [org.id for org in load_inventory(ok).organizations] == ["body"]
    ok = _inventory(tmp_path, '    unverified: "searched the directory, not listed"\n')
    assert [d.name for d in load_inventory(ok).organizations[0].domains] == ["body.ca"]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("    verified: last week\n", "must be a date YYYY-MM-DD"),
        ('    verified: 2026-12-03\n    unverified: "not found"\n', "not both"),
        ('    unverified: ""\n', "unverified"),
    ],
)
def test_loader_refuses_bad_provenance(tmp_path: Path, lines: str, message: str) -> None:
    with pytest.raises(InventoryError, match=message) as info:
        load_inventory(_inventory(tmp_path, lines))
    assert "inv.yaml" in str(info.value)
