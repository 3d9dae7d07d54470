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
from typing import TYPE_CHECKING

from sovaudit.errors import UserError
from sovaudit.i18n import check_lang
from sovaudit.models import Scan

if TYPE_CHECKING:
    from sovaudit.report.summary import HistoryLike

FORMATS = ("md", "html", "json", "csv", "sarif")

# File name suffix -> format; the first suffix of each format is used when writing a directory.
SUFFIXES: dict[str, str] = {
    ".md": "md",
    ".markdown": "md",
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".csv": "csv",
    ".sarif": "sarif",
}
FILE_NAMES = {fmt: f"report.{fmt}" for fmt in FORMATS}


def format_from_path(path: Path) -> str | None:
    """The format a file name asks for (``x.sarif.json`` is SARIF), or None if it says nothing."""
    name = path.name.lower()
    if name.endswith(".sarif.json"):
        return "sarif"
    return SUFFIXES.get(path.suffix.lower())


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

    ``history`` (points of ``sovaudit.history.series()``, oldest first) adds a history chart to
    the HTML report and a history table to the Markdown one; other formats ignore it.
    """
    check_lang(lang)
    if fmt == "json":
        from sovaudit.report.jsonout import render_json

        return render_json(scan)
    # Imports are local so that writing JSON evidence never pays for Jinja2.
    from sovaudit.report.summary import build_view

    view = build_view(scan, lang=lang, now=now, history=history)
    if fmt == "md":
        from sovaudit.report.markdown import render_markdown

        return render_markdown(view)
    if fmt == "html":
        from sovaudit.report.html import render_html

        return render_html(view)
    if fmt == "csv":
        from sovaudit.report.csvout import render_csv

        return render_csv(view)
    if fmt == "sarif":
        from sovaudit.report.sarif import render_sarif

        return render_sarif(view, inventory_path=inventory_path)
    raise UserError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")


def write_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write ``text`` (a string or its pieces) to ``path`` through a temporary file and a rename.

    A reader (or a crash) never sees a half-written report. A target that is not a regular
    file (link, device, FIFO) is refused (:mod:`sovaudit.report.files`).
    """
    from sovaudit.report.files import refuse_special_target

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
    # Same rule as the CLI: a path with no extension that does not exist yet is a directory.
    is_dir = output.is_dir() or (not output.suffix and not output.exists())
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
    points = list(history) if history is not None else None  # an iterator is read once
    written = []
    for fmt, path in plan_outputs(formats, output):
        if fmt == "json":
            from sovaudit.report.jsonout import iter_json

            # Written endpoint by endpoint: a 100k-host scan never becomes one string.
            write_atomic(path, iter_json(scan))
        else:
            text = render(
                scan, fmt, lang=lang, now=now, inventory_path=inventory_path, history=points
            )
            write_atomic(path, text)
        written.append(path)
    return written


__all__ = ["FORMATS", "format_from_path", "render", "write_atomic", "write_reports"]
