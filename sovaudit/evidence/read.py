"""Reading an evidence file back (JSON, or JSON Lines from ``--stream``), and its JSON Schema.

The layout is documented field by field in ``docs/schema.md`` and checked by the JSON Schema
shipped next to this package (``schema/evidence.schema.json``).
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from sovaudit.errors import EvidenceError
from sovaudit.evidence.parquet import is_parquet_evidence, read_parquet_evidence
from sovaudit.evidence.stream import is_evidence_lines, read_evidence_lines
from sovaudit.models import SCHEMA_VERSION, Scan

# Evidence files are written by us, but `report` may be pointed at anything: cap what we read.
MAX_EVIDENCE_BYTES = 256 * 1024 * 1024


def evidence_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the evidence file."""
    text = resources.files("sovaudit.evidence").joinpath("schema/evidence.schema.json").read_text(
        encoding="utf-8"
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def read_evidence(path: Path) -> Scan:
    """Load evidence written by ``sovaudit scan`` (JSON, or JSON Lines from ``--stream``).

    EvidenceError (exit 2, naming the file and line) when it cannot be used. A folder of
    Parquet tables written by ``sovaudit export`` is read too.
    """
    if is_parquet_evidence(path):
        return read_parquet_evidence(path)
    from sovaudit.evidence.files import check_regular

    # A FIFO, /dev/zero or a directory is refused before anything is opened or read.
    size = check_regular(path, "evidence file", EvidenceError).st_size
    if is_evidence_lines(path):
        return read_evidence_lines(path)  # read line by line: no whole-file size limit
    if size > MAX_EVIDENCE_BYTES:
        raise EvidenceError(
            f"evidence file too large ({size} bytes, limit {MAX_EVIDENCE_BYTES}); "
            "write large scans with 'sovaudit scan --stream FILE.jsonl'",
            path=str(path),
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(
            f"cannot read evidence file: {exc.strerror or exc}", path=str(path)
        ) from None
    from sovaudit.collect.jsontext import loads_capped

    try:
        data = loads_capped(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise EvidenceError(f"not UTF-8: {exc.reason}", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise EvidenceError(
            f"invalid JSON: {exc.msg}", path=str(path), line=exc.lineno
        ) from None
    except (ValueError, RecursionError) as exc:  # nesting or a number over the caps
        raise EvidenceError(f"refused: {exc}", path=str(path)) from None
    return scan_from_json(data, path=str(path))


def scan_from_json(data: Any, *, path: str = "<evidence>") -> Scan:
    """Build a Scan from decoded JSON, turning shape errors into EvidenceError."""
    if not isinstance(data, dict) or "endpoints" not in data:
        raise EvidenceError("not a sovaudit evidence file (no 'endpoints')", path=path)
    version = str(data.get("schema_version", ""))
    if version != SCHEMA_VERSION:
        raise EvidenceError(
            f"evidence schema version {version!r} is not supported (expected {SCHEMA_VERSION!r})",
            path=path,
        )
    from sovaudit.evidence.schemacheck import evidence_problem

    problem = evidence_problem(data)  # one "FILE: where: what" line, never a traceback
    if problem is not None:
        raise EvidenceError(problem, path=path)
    try:
        return Scan.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise EvidenceError(f"malformed evidence file: {detail}", path=path) from None
