"""Evidence as JSON Lines, written while the scan runs (``sovaudit scan --stream FILE``).

One JSON object per line, each with a ``record`` member:

- ``header`` (first line): what ``Scan.to_dict`` holds except the endpoints, plus
  ``"format": "sovaudit-evidence-lines"``;
- ``endpoint``: one endpoint, exactly as in the JSON evidence file, in completion order;
- ``end`` (last line): ``partial``, the endpoint count and the final dataset list.

The file is flushed batch by batch, so a scan killed outright (SIGKILL, a full disk, a lost VM)
leaves every endpoint written before the kill readable: a file with no ``end`` line, or with a
torn last line, is read as partial evidence, which ``report``, ``explain``, ``merge`` and
``--resume`` accept like any other evidence file.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

from sovaudit.collect.jsontext import loads_capped
from sovaudit.errors import EvidenceError
from sovaudit.evidence.schemacheck import endpoint_problem
from sovaudit.models import (
    SCHEMA_VERSION,
    Dataset,
    Endpoint,
    JsonConverter,
    Scan,
    endpoint_from_dict,
    to_jsonable,
)

FORMAT = "sovaudit-evidence-lines"
# Hostile or corrupted files must not make the reader hold one unbounded line.
MAX_LINE_BYTES = 16 * 1024 * 1024


def is_evidence_lines(path: Path) -> bool:
    """True when ``path`` starts with a JSON Lines evidence header (cheap: reads one line)."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(MAX_LINE_BYTES)
    except OSError:
        return False
    try:
        data = loads_capped(first)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("record") == "header"


class EvidenceWriter:
    """Append endpoints to a JSON Lines evidence file as they are analysed (``-``: stdout).

    ``header`` is ``Scan.to_dict()`` of a scan with no endpoints (tool, options, datasets known
    at the start). Lines are written with ``ensure_ascii=False``; the file is flushed after every
    :meth:`add` so that what was analysed is on disk even if the process dies.

    The lines go to a new file beside ``path`` (``NAME.partial.jsonl``, created with ``O_EXCL``
    and ``O_NOFOLLOW``), renamed over ``path`` when the scan completes: an earlier complete file
    survives a killed scan. A partial result is renamed into place only when ``path`` does not
    exist; otherwise it stays beside it. :attr:`final` is where the evidence is in the end.
    """

    def __init__(self, path: Path, header: dict[str, Any]) -> None:
        self.path = path
        self.final = path
        self.count = 0
        self._convert = JsonConverter()
        self._stdout = str(path) == "-"
        try:
            if self._stdout:
                self._handle: IO[str] | None = sys.stdout  # piped to jq, a queue, a collector
            else:
                from sovaudit.evidence.files import (
                    create_beside,
                    partial_path,
                    refuse_special_target,
                )

                refuse_special_target(path, "evidence file")
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, self.final = create_beside(
                    path, partial_path(path).name, what="evidence file"
                )
                self._handle = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise EvidenceError(
                f"cannot write evidence file: {exc.strerror or exc}", path=str(path)
            ) from None
        head = {"record": "header", "format": FORMAT, **header}
        head.pop("endpoints", None)
        self._write([head])

    def add(self, endpoints: Sequence[Endpoint]) -> None:
        """Write ``endpoints`` (already attributed and evaluated), one line each, then flush."""
        if not endpoints:
            return
        text = self._convert.text
        self._write_text("".join(['{"record":"endpoint",' + text(e)[1:] + "\n" for e in endpoints]))
        self.count += len(endpoints)

    def close(self, *, partial: bool, datasets: Sequence[Dataset]) -> None:
        """Write the ``end`` line and close; the file is complete (or knowingly partial)."""
        if self._handle is None:
            return
        end = {
            "record": "end",
            "partial": partial,
            "endpoints": self.count,
            "datasets": to_jsonable(datasets),
        }
        self._write([end])
        if self._stdout:
            self._handle = None  # standard output is not ours to close
            return
        try:
            os.fsync(self._handle.fileno())
        except OSError:
            pass  # a pipe or a special file: nothing to sync
        self._handle.close()
        self._handle = None
        if not partial or not os.path.lexists(self.path):
            # Complete, or nothing to lose: the evidence takes its name.
            os.replace(self.final, self.path)
            self.final = self.path

    def abandon(self) -> None:
        """Close without an ``end`` line (the reader will call the file partial).

        Like a partial :meth:`close`: renamed into place only when that replaces nothing."""
        if self._handle is not None and not self._stdout:
            self._handle.close()
            if not os.path.lexists(self.path):
                os.replace(self.final, self.path)
                self.final = self.path
        self._handle = None

    def _write(self, records: Iterable[dict[str, Any]]) -> None:
        self._write_text(
            "".join(
                json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records
            )
        )

    def _write_text(self, text: str) -> None:
        assert self._handle is not None, "evidence writer used after close"
        if self._stdout:
            from sovaudit.collect.jsontext import json_terminal

            text = json_terminal(text)  # C1 and bidi controls as \u escapes on a terminal
        try:
            self._handle.write(text)
            self._handle.flush()
        except OSError as exc:
            raise EvidenceError(
                f"cannot write evidence file: {exc.strerror or exc}", path=str(self.path)
            ) from None


def read_evidence_lines(path: Path) -> Scan:
    """Read a JSON Lines evidence file into a :class:`Scan` (EvidenceError if unusable).

    Endpoints are sorted as in a JSON evidence file; when a key appears twice the later line wins.
    A missing ``end`` line or a torn last line (the writer was killed) gives a partial scan.
    """
    header: dict[str, Any] | None = None
    end: dict[str, Any] | None = None
    endpoints: dict[tuple[str, str, str, str], Endpoint] = {}
    torn = False
    try:
        with path.open("rb") as handle:
            for number, raw, complete in _lines(handle):
                if not raw.strip():
                    continue
                try:
                    # Nesting and number sizes capped before parsing (issue 21).
                    data = loads_capped(raw)
                except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                    if not complete:
                        torn = True  # the writer died mid-line: what precedes is intact
                        break
                    raise EvidenceError(
                        f"invalid JSON line: {getattr(exc, 'msg', exc)}",
                        path=str(path),
                        line=number,
                    ) from None
                kind = data.get("record") if isinstance(data, dict) else None
                if number == 1:
                    if kind != "header" or data.get("format") != FORMAT:
                        raise EvidenceError(
                            "not a sovaudit JSON Lines evidence file (no header line)",
                            path=str(path),
                            line=1,
                        )
                    _check_version(data, path)
                    header = data
                elif end is not None:
                    raise EvidenceError("line after the 'end' record", path=str(path), line=number)
                elif kind == "endpoint":
                    endpoint = _endpoint(data, path, number)
                    endpoints[endpoint.key] = endpoint
                elif kind == "end":
                    end = data
                else:
                    raise EvidenceError(
                        f"unknown record {kind!r} (expected endpoint or end)",
                        path=str(path),
                        line=number,
                    )
    except OSError as exc:
        raise EvidenceError(
            f"cannot read evidence file: {exc.strerror or exc}", path=str(path)
        ) from None
    if header is None:
        raise EvidenceError("empty evidence file", path=str(path))
    try:
        # The header is the JSON evidence file without its endpoints: read it the same way.
        scan = Scan.from_dict(
            {
                **header,
                "endpoints": (),
                "datasets": (end or header).get("datasets") or header.get("datasets"),
                "partial": torn or end is None or bool(end.get("partial", False)),
            }
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise EvidenceError(f"malformed header: {detail}", path=str(path), line=1) from None
    return replace(scan, endpoints=tuple(sorted(endpoints.values(), key=lambda e: e.key)))


def _lines(handle: IO[bytes]) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes, ended with a newline) for each line, each at most MAX_LINE_BYTES."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            raise EvidenceError(
                f"line longer than {MAX_LINE_BYTES} bytes", path=handle.name, line=number
            )
        yield number, raw, raw.endswith(b"\n")


def _check_version(header: dict[str, Any], path: Path) -> None:
    version = str(header.get("schema_version", ""))
    if version != SCHEMA_VERSION:
        raise EvidenceError(
            f"evidence schema version {version!r} is not supported (expected {SCHEMA_VERSION!r})",
            path=str(path),
            line=1,
        )


def _endpoint(data: dict[str, Any], path: Path, number: int) -> Endpoint:
    problem = endpoint_problem(
        {k: v for k, v in data.items() if k != "record"}, "malformed endpoint"
    )
    if problem is not None:
        raise EvidenceError(problem, path=str(path), line=number)
    try:
        return endpoint_from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
        raise EvidenceError(f"malformed endpoint: {detail}", path=str(path), line=number) from None


class TimedHandover:
    """Endpoints waiting to be analysed and written, handed over when ``batch`` are waiting and,
    from a timer thread, every ``seconds`` even when no endpoint completes in between (issue 21:
    a process killed outright loses at most about ``seconds`` of finished work).

    ``handover`` runs under a lock, from the collecting thread or the timer, never both at once.
    Leaving the ``with`` block stops the timer and hands over the rest.
    """

    def __init__(
        self, handover: Callable[[list[Endpoint]], None], batch: int, seconds: float
    ) -> None:
        self._handover = handover
        self._batch = batch
        self._seconds = seconds
        self._buffer: list[Endpoint] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="stream-flush", daemon=True)

    def __enter__(self) -> TimedHandover:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.flush()

    def add(self, endpoint: Endpoint) -> None:
        with self._lock:
            self._buffer.append(endpoint)
            if len(self._buffer) >= self._batch:
                self._flush_locked()

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._buffer:
            batch, self._buffer = self._buffer, []
            self._handover(batch)

    def _tick(self) -> None:
        while not self._stop.wait(self._seconds):
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the collecting thread hands over again and raises
                return
