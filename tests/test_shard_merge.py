"""Sharded scans: a stable split by organization, and merged shards equal one full scan."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.errors import EvidenceError, UserError
from sovaudit.evidence.merge import EvidencePart, merge_scans
from sovaudit.inventory import parse_inventory
from sovaudit.inventory.shard import Shard, parse_shard, shard_inventory, shard_of
from sovaudit.models import DataClass, Dataset, Endpoint, Layer, Scan, Status
from sovaudit.report import render

# Four organizations; with N=2, sante and spf fall in shard 1, quebec and ville in shard 2.
INVENTORY = (Path(__file__).parent / "data" / "inventories" / "four-orgs.yaml").read_text(
    encoding="utf-8"
)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args], capture_output=True, text=True, timeout=60
    )


# -- the split --------------------------------------------------------------------------------


def test_parse_shard_accepts_k_of_n_and_refuses_the_rest() -> None:
    assert parse_shard("2/4") == Shard(2, 4)
    assert str(parse_shard(" 1 / 1 ")) == "1/1"
    for bad in ("0/2", "3/2", "2", "a/b", "1/0", "-1/2", "1/20000"):
        with pytest.raises(UserError):
            parse_shard(bad)


def test_shard_of_is_a_fixed_hash_not_pythons_salted_hash() -> None:
    # These values must be the same on every machine of a CI matrix, in every process.
    assert [shard_of(o, 2) for o in ("sante", "quebec", "spf", "ville")] == [1, 2, 1, 2]
    code = "from sovaudit.inventory.shard import shard_of; print(shard_of('quebec', 3))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(shard_of("quebec", 3)) == "3"


_ID = st.from_regex(r"[a-z][a-z0-9]{0,12}", fullmatch=True)
_IDS = st.lists(_ID, unique=True, min_size=1, max_size=30)


@given(ids=_IDS, extra=_ID, count=st.integers(1, 7))
def test_shards_partition_the_inventory_and_adding_an_org_moves_no_other(
    ids: list[str], extra: str, count: int
) -> None:
    def inventory(orgs: list[str]) -> Any:
        body = "".join(f"  - id: {o}\n    domains: [{o}.test]\n" for o in orgs)
        return parse_inventory("version: 1\norganizations:\n" + body, "i.yaml")

    def split(orgs: list[str]) -> dict[str, int]:
        inv = inventory(orgs)
        placed: dict[str, int] = {}
        for k in range(1, count + 1):
            for org in shard_inventory(inv, Shard(k, count)).organizations:
                assert org.id not in placed, "an organization is in two shards"
                placed[org.id] = k
        return placed

    before = split(ids)
    assert set(before) == set(ids)  # every organization is in exactly one shard
    if extra not in ids:
        after = split([*ids, extra])
        assert {o: after[o] for o in ids} == before


# -- merging ----------------------------------------------------------------------------------

_DATASETS = (Dataset("ip-location-db/asn", "2.3", "2026-06-17", "npm", "CC BY 4.0"),)


def _endpoint(org: str, host: str) -> Endpoint:
    return Endpoint(org, host, host, Layer.WEB, (DataClass.PUBLIC,), Status.OK)


def _part(name: str, shard: str | None, *hosts: tuple[str, str], **kw: Any) -> EvidencePart:
    options: dict[str, Any] = {"lang": "en", "timeout": 2.0}
    if shard is not None:
        options["shard"] = shard
    scan = Scan(
        tool_version="0.1.0",
        generated_at=kw.pop("generated_at", "2026-11-25T12:00:00Z"),
        inventory=kw.pop("inventory", "inv.yaml"),
        resolvers=("127.0.0.1:53",),
        endpoints=tuple(_endpoint(o, h) for o, h in hosts),
        datasets=kw.pop("datasets", _DATASETS),
        partial=kw.pop("partial", False),
        options=options,
    )
    return EvidencePart(name, scan)


def test_merge_sorts_endpoints_takes_the_earliest_time_and_any_partial() -> None:
    a = _part(
        "a.json", "2/2", ("b", "b.test"), ("c", "c.test"), generated_at="2026-11-25T12:05:00Z"
    )
    b = _part("b.json", "1/2", ("a", "a.test"), generated_at="2026-11-25T11:59:00Z", partial=True)
    result = merge_scans([a, b])
    assert [e.host for e in result.scan.endpoints] == ["a.test", "b.test", "c.test"]
    assert result.scan.generated_at == "2026-11-25T11:59:00Z"
    assert result.scan.partial is True
    assert "shard" not in result.scan.options and result.scan.options["lang"] == "en"
    assert result.warnings == ()


def test_merge_warns_about_a_missing_shard() -> None:
    result = merge_scans([_part("a.json", "1/3", ("a", "a.test")), _part("c.json", "3/3")])
    assert result.warnings == ("missing shard(s) 2/3: the merged report is incomplete",)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        (
            [_part("a.json", "1/2"), _part("b.json", "2/2", inventory="other.yaml")],
            "b.json: comes from inventory 'other.yaml'",
        ),
        ([_part("a.json", "1/2"), _part("b.json", "2/3")], "shards of different splits"),
        ([_part("a.json", "1/2"), _part("b.json", "1/2")], "b.json: shard 1/2 is also in a.json"),
        ([_part("a.json", "1/2"), _part("b.json", None)], "b.json: was not produced with --shard"),
        (
            [_part("a.json", "1/2", ("a", "a.test")), _part("b.json", "2/2", ("a", "a.test"))],
            "b.json: endpoint a/a.test/a.test/web is also in a.json",
        ),
        (
            [
                _part("a.json", "1/2"),
                _part("b.json", "2/2", datasets=(replace(_DATASETS[0], version="2.4"),)),
            ],
            "b.json: dataset versions differ (ip-location-db/asn: 2.3 in a.json, 2.4 here)",
        ),
    ],
)
def test_merge_refuses_parts_that_cannot_form_one_scan(
    parts: list[EvidencePart], message: str
) -> None:
    with pytest.raises(EvidenceError) as info:
        merge_scans(parts)
    assert message in str(info.value)


def test_merge_refuses_parts_whose_rules_differ() -> None:
    a, b = _part("a.json", "1/2"), _part("b.json", "2/2")
    b = replace(b, scan=replace(b.scan, options={**b.scan.options, "skip_rules": ["CLOUD-ACT"]}))
    with pytest.raises(EvidenceError, match="option 'skip_rules'"):
        merge_scans([a, b])


# -- end to end: two shards merged give the report of one full scan ---------------------------


def _normalized(path: Path) -> dict[str, Any]:
    """The evidence with what differs between any two runs blanked: scan and query times.

    Records are also put in one order: the collector stores answers as they arrive from
    concurrent queries, so two full scans differ in record order too, sharded or not.
    """
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    data["generated_at"] = "2026-11-25T12:00:00Z"
    for e in data["endpoints"]:
        for r in e["records"]:
            r["timestamp"] = ""
        e["records"].sort(key=lambda r: (r["name"], r["type"]))
    return data


def test_two_shards_merged_equal_one_full_scan(
    nameserver: LoopbackNameserver, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(INVENTORY, encoding="utf-8")
    # Generous timeout and retries: a timeout on a loaded machine would make the runs differ
    # for a reason that has nothing to do with sharding (every name here answers at once).
    common = ["--resolver", nameserver.spec, "--timeout", "3", "--retries", "2", "-q"]
    common += ["--lang", "en"]
    full, s1, s2 = tmp_path / "full.json", tmp_path / "s1.json", tmp_path / "s2.json"
    # The three scans run in parallel, as a CI matrix or `xargs -P` would run them.
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "sovaudit", "scan", str(inv), "-o", str(out), *common, *extra],
            stderr=subprocess.PIPE,
            text=True,
        )
        for out, extra in ((full, []), (s1, ["--shard", "1/2"]), (s2, ["--shard", "2/2"]))
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    hosts1 = {e["organization"] for e in json.loads(s1.read_text())["endpoints"]}
    hosts2 = {e["organization"] for e in json.loads(s2.read_text())["endpoints"]}
    assert hosts1 == {"sante", "spf"} and hosts2 == {"quebec", "ville"}
    assert json.loads(s1.read_text())["options"]["shard"] == "1/2"

    merged = tmp_path / "all.json"
    proc = run("merge", str(s2), str(s1), "-o", str(merged), "--strict")
    # Exit codes as for one full scan: servfail.faults.test is unknown, so --strict gives 3.
    assert proc.returncode == 3, proc.stderr
    assert "warning" not in proc.stderr
    want, got = _normalized(full), _normalized(merged)
    assert got == want
    # The same evidence renders the same Markdown and JSON reports, in both languages.
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    for fmt, lang in (("md", "en"), ("md", "fr"), ("json", "en")):
        full_report = render(Scan.from_dict(want), fmt, lang=lang, now=now)
        assert render(Scan.from_dict(got), fmt, lang=lang, now=now) == full_report
        assert "servfail.faults.test" in full_report

    # A lone shard merges with a warning that names the missing one; --fail-on gates it.
    proc = run("merge", str(s1), "--fail-on", "info")
    assert proc.returncode == 1, proc.stderr
    assert "missing shard(s) 2/2" in proc.stderr
    assert len(json.loads(proc.stdout)["endpoints"]) == len(json.loads(s1.read_text())["endpoints"])


def test_merge_cli_refuses_other_dataset_versions_with_one_line(tmp_path: Path) -> None:
    sample = json.loads(
        (Path(__file__).parent / "data" / "evidence" / "sample.json").read_text(encoding="utf-8")
    )
    a, b = dict(sample, options={"shard": "1/2"}), dict(sample, options={"shard": "2/2"})
    b["endpoints"] = []
    b["datasets"] = [dict(sample["datasets"][0], version="1999.01.01"), *sample["datasets"][1:]]
    (tmp_path / "a.json").write_text(json.dumps(a), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps(b), encoding="utf-8")
    proc = run(
        "merge",
        str(tmp_path / "a.json"),
        str(tmp_path / "b.json"),
        "-o",
        str(tmp_path / "all.json"),
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{tmp_path / 'b.json'}: dataset versions differ" in lines[0]
    assert "1999.01.01 here" in lines[0]
    assert not (tmp_path / "all.json").exists()


def test_unsharded_disjoint_files_merge_with_a_warning() -> None:
    a, b = _part("a.json", None, ("a", "a.test")), _part("b.json", None, ("b", "b.test"))
    result = merge_scans([a, b])
    assert [e.host for e in result.scan.endpoints] == ["a.test", "b.test"]
    assert result.warnings == (
        "the files were not produced with --shard; merging them as disjoint parts",
    )
