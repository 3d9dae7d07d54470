"""Evidence as Parquet tables, and SQL over them (``sovaudit export``, ``sovaudit query``).

A scan becomes a directory of normalized tables that refer to each other by id instead of
nesting copies, the layout large DNS measurement platforms keep their data in (OpenINTEL stores
its daily measurements as Parquet):

============================  =====================================================================
``scan.parquet``              one row: tool version, time, inventory, resolvers, partial, datasets
                              and options (JSON text)
``endpoints.parquet``         ``endpoint_id`` and the endpoint's fields; ``details`` as JSON text
``records.parquet``           ``endpoint_id``, ``position`` and one DNS record
``attributions.parquet``      one row per *distinct* attribution (``attribution_id``): a scan
                              meets the same provider addresses again and again
``endpoint_attributions``     ``endpoint_id``, ``position``, ``attribution_id``
``findings.parquet``          ``endpoint_id``, ``position``, rule id, severity, status, accepted,
                              subject, ``attribution_id`` (the attribution of the same subject,
                              whose chain is the finding's), ``text_id``
``rules.parquet``             ``text_id``, ``rule_id``, title, rationale, references: each rule
                              text once, not once per finding
============================  =====================================================================

DuckDB, a maintained embedded engine, writes and reads the files (rows go to it as JSON Lines
written by orjson, then ``COPY ... (FORMAT parquet)``) and answers the SQL of ``query``; no
aggregation is written by hand. It is an optional dependency (``pip install
'sovaudit[parquet]'``). The tables hold everything the JSON evidence holds: a scan read back
from them renders the same reports (tested JSON -> Parquet -> JSON).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import orjson

from sovaudit.errors import EvidenceError, UserError
from sovaudit.models import Attribution, Finding, JsonConverter, Scan, endpoint_from_dict

INSTALL_HINT = "pip install 'sovaudit[parquet]'"
TABLES = (
    "scan", "endpoints", "records", "attributions", "endpoint_attributions", "findings", "rules"
)

_V = "VARCHAR"
_COLUMNS: dict[str, dict[str, str]] = {
    "scan": {
        "schema_version": _V, "tool_version": _V, "generated_at": _V, "inventory": _V,
        "resolvers": "VARCHAR[]", "partial": "BOOLEAN", "datasets": _V, "options": _V,
    },
    "endpoints": {
        "endpoint_id": "BIGINT", "organization": _V, "organization_name": _V, "service": _V,
        "host": _V, "layer": _V, "data_classes": "VARCHAR[]", "status": _V, "reason": _V,
        "addresses": "VARCHAR[]", "names": "VARCHAR[]", "source_file": _V,
        "source_line": "BIGINT", "details": _V,
    },
    "records": {
        "endpoint_id": "BIGINT", "position": "INTEGER", "name": _V, "type": _V, "rcode": _V,
        "answers": "VARCHAR[]", "ttl": "BIGINT", "resolver": _V, "timestamp": _V, "error": _V,
    },
    "attributions": {
        "attribution_id": "BIGINT", "subject": _V, "role": _V, "address": _V, "asn": "BIGINT",
        "asn_name": _V, "operator": _V, "operator_name": _V, "category": _V,
        "ultimate_parent": _V, "jurisdiction": _V, "operator_jurisdiction": _V, "ownership": _V,
        "confidence": "DOUBLE", "status": _V, "reason": _V, "flags": "VARCHAR[]",
        "conflicts": "VARCHAR[]", "evidence": _V,
    },
    "endpoint_attributions": {
        "endpoint_id": "BIGINT", "position": "INTEGER", "attribution_id": "BIGINT",
    },
    "findings": {
        "endpoint_id": "BIGINT", "position": "INTEGER", "rule_id": _V, "severity": _V,
        "status": _V, "accepted": "BOOLEAN", "accepted_reason": _V, "subject": _V,
        "attribution_id": "BIGINT", "text_id": "BIGINT", "evidence": _V,
    },
    "rules": {"text_id": "BIGINT", "rule_id": _V, "title": _V, "rationale": _V, "references": _V},
}


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise UserError(f"Parquet evidence needs DuckDB: {INSTALL_HINT}") from None
    return duckdb


def _text(value: Any) -> str:
    return orjson.dumps(value).decode("utf-8")


class _Tables:
    """Rows of every table, written as JSON Lines to a temporary folder as they come."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files = {name: (folder / f"{name}.jsonl").open("wb") for name in TABLES}

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.files[table].write(orjson.dumps(row) + b"\n")

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def _rows(scan: Scan, tables: _Tables) -> None:
    convert = JsonConverter()
    tables.add("scan", {
        "schema_version": "1", "tool_version": scan.tool_version,
        "generated_at": scan.generated_at, "inventory": scan.inventory,
        "resolvers": list(scan.resolvers), "partial": scan.partial,
        "datasets": _text(convert(scan.datasets)), "options": _text(convert(scan.options)),
    })
    attribution_ids: dict[Attribution, int] = {}
    texts: dict[tuple[Any, ...], int] = {}
    for endpoint_id, e in enumerate(scan.endpoints):
        tables.add("endpoints", {
            "endpoint_id": endpoint_id, "organization": e.organization,
            "organization_name": e.organization_name, "service": e.service, "host": e.host,
            "layer": e.layer.value, "data_classes": [c.value for c in e.data_classes],
            "status": e.status.value, "reason": e.reason, "addresses": list(e.addresses),
            "names": list(e.names), "source_file": e.source.file if e.source else None,
            "source_line": e.source.line if e.source else None,
            "details": _text(convert(e.details)),
        })
        for position, r in enumerate(e.records):
            tables.add("records", {
                "endpoint_id": endpoint_id, "position": position, **convert(r),
            })
        by_subject: dict[str, tuple[int, Attribution]] = {}
        for position, a in enumerate(e.attributions):
            aid = attribution_ids.get(a)
            if aid is None:
                aid = attribution_ids[a] = len(attribution_ids)
                row = convert(a)
                tables.add("attributions", {
                    "attribution_id": aid, **row, "evidence": _text(row["evidence"]),
                })
            by_subject.setdefault(a.subject, (aid, a))
            tables.add("endpoint_attributions", {
                "endpoint_id": endpoint_id, "position": position, "attribution_id": aid,
            })
        for position, f in enumerate(e.findings):
            _finding_row(tables, convert, endpoint_id, position, f, by_subject, texts)


def _finding_row(
    tables: _Tables,
    convert: JsonConverter,
    endpoint_id: int,
    position: int,
    f: Finding,
    by_subject: dict[str, tuple[int, Attribution]],
    texts: dict[tuple[Any, ...], int],
) -> None:
    # A rule's text is written once (per distinct text): findings refer to it by id.
    key = (f.rule_id, f.title, f.rationale, f.references)
    text_id = texts.get(key)
    if text_id is None:
        text_id = texts[key] = len(texts)
        tables.add("rules", {
            "text_id": text_id, "rule_id": f.rule_id, "title": f.title,
            "rationale": f.rationale, "references": _text(convert(f.references)),
        })
    linked = by_subject.get(f.subject) if f.subject is not None else None
    tables.add("findings", {
        "endpoint_id": endpoint_id, "position": position, "rule_id": f.rule_id,
        "severity": f.severity.value, "status": f.status, "accepted": f.accepted,
        "accepted_reason": f.accepted_reason, "subject": f.subject,
        "attribution_id": linked[0] if linked else None, "text_id": text_id,
        # The chain that triggered a finding is its attribution's: stored again only if not.
        "evidence": (
            None if linked is not None and linked[1].evidence == f.evidence
            else _text(convert(f.evidence))
        ),
    })


def write_parquet(scan: Scan, directory: Path) -> list[Path]:
    """Write ``scan`` as Parquet tables in ``directory`` (created); the files written."""
    duckdb = _duckdb()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{directory}: cannot create the folder: {exc.strerror}") from None
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="sovaudit-parquet-") as tmp:
        tables = _Tables(Path(tmp))
        try:
            _rows(scan, tables)
        finally:
            tables.close()
        con = duckdb.connect()
        try:
            for name in TABLES:
                source = Path(tmp) / f"{name}.jsonl"
                target = directory / f"{name}.parquet"
                columns = "{" + ", ".join(f"'{c}': '{t}'" for c, t in _COLUMNS[name].items()) + "}"
                con.execute(
                    f"COPY (SELECT * FROM read_json(?, format='newline_delimited', "
                    f"columns={columns})) TO ? (FORMAT parquet)",
                    [str(source), str(target)],
                )
                written.append(target)
        finally:
            con.close()
    return written


def is_parquet_evidence(path: Path) -> bool:
    """Whether ``path`` is a folder written by :func:`write_parquet`."""
    return path.is_dir() and (path / "scan.parquet").is_file()


def connect(path: Path) -> Any:
    """A DuckDB connection with one view per table of the Parquet evidence folder ``path``."""
    duckdb = _duckdb()
    con = duckdb.connect()
    for name in TABLES:
        file = path / f"{name}.parquet"
        if not file.is_file():
            raise EvidenceError(f"missing table {name}.parquet", path=str(path))
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{_quoted(file)}')")
    return con


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def query(path: Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``sql`` over the evidence's tables; (column names, rows). UserError on bad SQL."""
    duckdb = _duckdb()
    con = connect(path)
    try:
        try:
            cursor = con.execute(sql)
        except duckdb.Error as exc:
            raise UserError(f"query: {' '.join(str(exc).split())[:300]}") from None
        names = [d[0] for d in cursor.description or ()]
        return names, cursor.fetchall()
    finally:
        con.close()


def read_parquet_evidence(path: Path) -> Scan:
    """The scan written by :func:`write_parquet` in ``path`` (all of it, in memory)."""
    duckdb = _duckdb()
    con = connect(path)
    try:
        scan_rows = _dicts(con, "SELECT * FROM scan")
        if len(scan_rows) != 1:
            raise EvidenceError("scan.parquet must hold one row", path=str(path))
        head = scan_rows[0]
        attributions = {
            r.pop("attribution_id"): {**r, "evidence": json.loads(r["evidence"])}
            for r in _dicts(con, "SELECT * FROM attributions")
        }
        rules = {r["text_id"]: r for r in _dicts(con, "SELECT * FROM rules")}
        endpoints = {r["endpoint_id"]: r for r in _dicts(con, "SELECT * FROM endpoints")}
        records = _grouped(con, "records")
        links = _grouped(con, "endpoint_attributions")
        findings = _grouped(con, "findings")
    except duckdb.Error as exc:
        raise EvidenceError(f"unreadable Parquet evidence: {exc}", path=str(path)) from None
    finally:
        con.close()
    out = []
    for eid in sorted(endpoints):
        row = endpoints[eid]
        attrs = [attributions[link["attribution_id"]] for link in links.get(eid, ())]
        out.append(endpoint_from_dict({
            **{k: row[k] for k in (
                "organization", "organization_name", "service", "host", "layer",
                "data_classes", "status", "reason", "addresses", "names",
            )},
            "source": (
                {"file": row["source_file"], "line": row["source_line"]}
                if row["source_file"] is not None else None
            ),
            "details": json.loads(row["details"]),
            "records": [_without(r, "endpoint_id", "position") for r in records.get(eid, ())],
            "attributions": attrs,
            "findings": [
                _finding(f, rules, attributions) for f in findings.get(eid, ())
            ],
        }))
    return Scan(
        tool_version=head["tool_version"],
        generated_at=head["generated_at"],
        inventory=head["inventory"],
        resolvers=tuple(head["resolvers"] or ()),
        endpoints=tuple(out),
        datasets=Scan.from_dict(
            {"generated_at": "", "datasets": json.loads(head["datasets"])}
        ).datasets,
        partial=bool(head["partial"]),
        options=json.loads(head["options"]),
    )


def _finding(
    f: dict[str, Any],
    rules: dict[int, dict[str, Any]],
    attributions: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    rule = rules[f["text_id"]]
    evidence = (
        json.loads(f["evidence"])
        if f["evidence"] is not None
        else attributions[f["attribution_id"]]["evidence"]
        if f["attribution_id"] is not None
        else []
    )
    return {
        "rule_id": f["rule_id"], "severity": f["severity"], "title": rule["title"],
        "rationale": rule["rationale"], "references": json.loads(rule["references"]),
        "accepted": f["accepted"], "accepted_reason": f["accepted_reason"],
        "subject": f["subject"], "evidence": evidence, "status": f["status"],
    }


def _dicts(con: Any, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _grouped(con: Any, table: str) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for row in _dicts(con, f"SELECT * FROM {table} ORDER BY endpoint_id, position"):
        out.setdefault(row["endpoint_id"], []).append(row)
    return out


def _without(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in keys}

