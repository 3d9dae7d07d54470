"""Evidence as Parquet tables (``sovaudit export``) and SQL over them (``sovaudit query``)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from sovaudit.cli import app
from sovaudit.evidence.parquet import TABLES, read_parquet_evidence, write_parquet
from sovaudit.evidence.read import read_evidence
from sovaudit.models import (
    Attribution,
    DataClass,
    DnsRecord,
    Endpoint,
    EvidenceStep,
    Finding,
    Layer,
    Reference,
    Scan,
    Severity,
    SourceLocation,
    Status,
    to_jsonable,
)
from sovaudit.report import render

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def _cli(*args: str) -> Result:
    # In-process: no interpreter start-up per call (the commands are the same Typer app).
    return CliRunner().invoke(app, list(args))


def test_the_sample_evidence_round_trips_and_renders_the_same(tmp_path: Path) -> None:
    scan = read_evidence(SAMPLE)
    written = write_parquet(scan, tmp_path / "p")
    assert [p.name for p in written] == [f"{t}.parquet" for t in TABLES]
    back = read_parquet_evidence(tmp_path / "p")
    assert to_jsonable(back) == to_jsonable(scan)
    for fmt in ("md", "json"):
        assert render(back, fmt, lang="fr", now=NOW) == render(scan, fmt, lang="fr", now=NOW)


def test_tables_are_normalized(tmp_path: Path) -> None:
    scan = read_evidence(SAMPLE)
    # The same attribution on many endpoints, the same rule on many findings.
    many = replace(scan, endpoints=tuple(
        replace(e, host=f"{i}-{e.host}") for i in range(20) for e in scan.endpoints
    ))
    write_parquet(many, tmp_path)
    con = duckdb.connect()

    def count(table: str) -> int:
        row = con.execute(f"SELECT count(*) FROM '{tmp_path / table}.parquet'").fetchone()
        assert row is not None
        return int(row[0])

    links = count("endpoint_attributions")
    assert links == sum(len(e.attributions) for e in many.endpoints)
    assert count("attributions") == len({a for e in scan.endpoints for a in e.attributions})
    assert count("rules") <= len({f.rule_id for e in scan.endpoints for f in e.findings}) * 2
    assert count("findings") == sum(len(e.findings) for e in many.endpoints)
    assert back_equal(many, tmp_path)


def back_equal(scan: Scan, folder: Path) -> bool:
    return to_jsonable(read_parquet_evidence(folder)) == to_jsonable(scan)


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
_NAME = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.", min_size=1, max_size=20)


@st.composite
def _endpoints(draw: st.DrawFn) -> Endpoint:
    steps = tuple(
        EvidenceStep(draw(_TEXT), draw(_TEXT), draw(_TEXT))
        for _ in range(draw(st.integers(0, 3)))
    )
    subject = draw(_NAME)
    attribution = Attribution(
        subject=subject, role=draw(st.sampled_from(["address", "cname", "mx"])),
        address=draw(st.none() | _TEXT), asn=draw(st.none() | st.integers(1, 2**32 - 1)),
        operator=draw(st.none() | _TEXT), jurisdiction=draw(st.none() | _TEXT),
        confidence=draw(st.sampled_from([0.0, 0.3, 0.95])),
        status=draw(st.sampled_from(list(Status))), flags=tuple(draw(st.lists(_TEXT, max_size=2))),
        evidence=steps,
    )
    finding = Finding(
        rule_id=draw(st.sampled_from(["US-CLOUD-ACT-HOSTING", "X-1"])),
        severity=draw(st.sampled_from(list(Severity))), title=draw(_TEXT),
        rationale=draw(_TEXT), references=(Reference(draw(_TEXT), draw(st.none() | _TEXT)),),
        accepted=draw(st.booleans()), subject=draw(st.sampled_from([subject, None, "other"])),
        evidence=draw(st.sampled_from([steps, ()])), status=draw(st.none() | _TEXT),
    )
    record = DnsRecord(
        draw(_NAME), "A", "NOERROR", tuple(draw(st.lists(_TEXT, max_size=2))),
        draw(st.none() | st.integers(0, 2**31)), "dns@127.0.0.1:53", "2026-12-03T00:00:00Z",
        draw(st.none() | _TEXT),
    )
    return Endpoint(
        organization=draw(_NAME), service=draw(_TEXT), host=draw(_NAME),
        layer=draw(st.sampled_from(list(Layer))),
        data_classes=tuple(draw(st.lists(st.sampled_from(list(DataClass)), max_size=2))),
        status=draw(st.sampled_from(list(Status))), reason=draw(st.none() | _TEXT),
        organization_name=draw(_TEXT), records=(record,), addresses=(draw(_TEXT),),
        names=tuple(draw(st.lists(_NAME, max_size=2))),
        attributions=draw(st.sampled_from([(attribution,), (attribution, attribution), ()])),
        findings=(finding,) if draw(st.booleans()) else (),
        source=draw(st.none() | st.just(SourceLocation("inv.yaml", 3))),
        details={"k": draw(_TEXT), "n": [draw(st.integers(-(2**53), 2**53))]},
    )


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(endpoints=st.lists(_endpoints(), max_size=4), partial=st.booleans())
def test_any_scan_round_trips_json_parquet_json(
    endpoints: list[Endpoint], partial: bool, tmp_path: Path
) -> None:
    scan = Scan(
        tool_version="0.1.0", generated_at="2026-12-03T12:00:00Z", inventory="inv.yaml",
        resolvers=("127.0.0.1:53",), endpoints=tuple(endpoints), partial=partial,
        options={"lang": "fr", "nested": {"a": [1, None, "x"]}},
    )
    folder = tmp_path / f"p{abs(hash(repr(scan)))}"
    write_parquet(scan, folder)
    # JSON -> Parquet -> JSON: the same evidence file, to the byte.
    assert render(read_parquet_evidence(folder), "json", lang="en", now=NOW) == render(
        scan, "json", lang="en", now=NOW
    )


def test_cli_export_query_and_report(tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    proc = _cli("export", str(SAMPLE), "-o", str(folder))
    assert proc.exit_code == 0, proc.stderr
    assert "endpoints.parquet" in proc.stderr
    sql = (
        "SELECT a.jurisdiction, count(*) AS n FROM findings f "
        "JOIN attributions a USING (attribution_id) GROUP BY 1 ORDER BY n DESC, 1"
    )
    proc = _cli("query", str(folder), sql, "--format", "json")
    assert proc.exit_code == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert rows[0] == {"jurisdiction": "US", "n": 5}
    # The same question on the JSON file (converted on the fly) gives the same answer.
    assert json.loads(_cli("query", str(SAMPLE), sql, "-f", "json").stdout) == rows
    # CSV neutralizes formulas planted in DNS text, as the CSV report does.
    proc = _cli("query", str(folder), "SELECT rule_id FROM findings", "-f", "csv")
    assert '"=HYPERLINK' not in proc.stdout and "'=HYPERLINK" in proc.stdout
    # Every evidence reader takes the folder: a report from it equals one from the JSON.
    md = _cli("report", str(folder), "-f", "md", "--lang", "en").stdout
    assert md and md == _cli("report", str(SAMPLE), "-f", "md", "--lang", "en").stdout


def test_bad_sql_and_bad_format_are_one_line_exit_2() -> None:
    # Through the real entry point: the one-line error and exit 2 come from sovaudit.cli.main.
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sovaudit", *args], capture_output=True, text=True, timeout=120
        )

    proc = run("query", str(SAMPLE), "SELEC nothing")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "query:" in proc.stderr
    proc = run("query", str(SAMPLE), "SELECT 1", "-f", "xml")
    assert proc.returncode == 2 and "--format" in proc.stderr
