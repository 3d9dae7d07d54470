"""Renderers: one scan -> Markdown, HTML, JSON evidence, CSV or SARIF 2.1.0.

Every renderer is a pure function of (scan, lang, now): the same evidence and the same ``now``
give byte-identical output, which is what the golden tests and ``sovaudit report`` rely on.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from sovaudit.errors import UserError
from sovaudit.i18n import check_lang
from sovaudit.models import Scan
from sovaudit.report.formats import (
    REGISTRY,
    RenderContext,
    ReportFormat,
    format_for_suffix,
    output_is_directory,
)
from sovaudit.report.summary import HistoryLike

# Derived from the one registry of formats (sovaudit.report.formats), in --format order.
FORMATS = tuple(REGISTRY)
# File name suffix -> format; the first suffix of each format names the file in a directory.
SUFFIXES: dict[str, str] = {suffix: f.name for f in REGISTRY.values() for suffix in f.suffixes}
FILE_NAMES = {f.name: f"report{f.suffixes[0]}" for f in REGISTRY.values()}


def format_from_path(path: Path) -> str | None:
    """The format a file name asks for (``x.sarif.json`` is SARIF), or None if it says nothing."""
    return format_for_suffix(path.name)


def _format(name: str) -> ReportFormat:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UserError(
            f"unknown report format {name!r}; expected one of {', '.join(FORMATS)}"
        ) from None


def render(
    scan: Scan,
    fmt: str,
    *,
    lang: str,
    now: datetime,
    inventory_path: Path | None = None,
    history: Iterable[HistoryLike] | None = None,
) -> str:
    """Render ``scan`` in format ``fmt`` (one of FORMATS) and language ``lang`` ("fr" or "en").

    ``history`` (points of ``sovaudit.evidence.history.series()``, oldest first) adds a history
    chart to the HTML report and a history table to the Markdown one; other formats ignore it.
    """
    check_lang(lang)
    context = RenderContext(
        scan, lang, now, inventory_path, tuple(history) if history is not None else None
    )
    return "".join(_format(fmt).render(context))


def write_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write ``text`` (a string or its pieces) to ``path`` through a temporary file and a rename.

    A reader (or a crash) never sees a half-written report. A target that is not a regular
    file (link, device, FIFO) is refused (:mod:`sovaudit.evidence.files`).
    """
    from sovaudit.evidence.files import refuse_special_target

    refuse_special_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644  # mkstemp's 0600 would hide a report meant to be shared
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                for piece in text:
                    handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def plan_outputs(formats: Sequence[str], output: Path) -> list[tuple[str, Path]]:
    """Where each format goes: ``output`` itself for one format, else ``output/report.<fmt>``.

    One format also goes to ``output/report.<fmt>`` when ``output`` is a directory, or a path
    with no extension that does not exist yet.
    """
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UserError(
            f"unknown report format {unknown[0]!r}; expected one of {', '.join(FORMATS)}"
        )
    unique = list(dict.fromkeys(formats))
    if not unique:
        raise UserError("no report format given")
    is_dir = output_is_directory(output)
    if len(unique) == 1 and not is_dir:
        return [(unique[0], output)]
    if output.exists() and not output.is_dir():
        raise UserError("several formats need a directory, not a file", path=str(output))
    return [(fmt, output / FILE_NAMES[fmt]) for fmt in unique]


def write_reports(
    scan: Scan,
    formats: Sequence[str],
    output: Path | None,
    *,
    lang: str,
    now: datetime,
    inventory_path: Path | None = None,
    history: Iterable[HistoryLike] | None = None,
) -> list[Path]:
    """Render ``formats`` and write them atomically; returns the paths written, in order.

    ``output`` is a file for one format, or a directory (created if needed) for several.
    ``output=None`` writes nothing: printing one format to stdout is the CLI's job.
    ``inventory_path`` lets SARIF point at the inventory when an endpoint has no source line.
    ``history`` is passed to :func:`render` (HTML and Markdown).
    """
    if output is None:
        return []
    points = tuple(history) if history is not None else None  # an iterator is read once
    context = RenderContext(scan, lang, now, inventory_path, points)
    written = []
    for fmt, path in plan_outputs(formats, output):
        write_atomic(path, REGISTRY[fmt].render(context))
        written.append(path)
    return written


__all__ = [
    "FORMATS",
    "REGISTRY",
    "ReportFormat",
    "format_from_path",
    "output_is_directory",
    "render",
    "write_atomic",
    "write_reports",
]
