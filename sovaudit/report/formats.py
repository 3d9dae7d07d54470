"""Report formats behind one small interface, and the one registry of them.

A format is a name (``--format``), the file suffixes that select it (the first one names the file
written into a directory) and a pure ``render`` from a :class:`RenderContext` to the report's
text, in pieces. :data:`REGISTRY` lists every format in the order ``--format`` documents them;
the format names, the suffix table and the output planning of ``sovaudit.report`` derive from it.

To add a format: write its module (a pure function of the :class:`ReportView`, or of the
:class:`Scan` for evidence-like formats), add a class here with ``name``, ``suffixes`` and
``render``, and add it to :data:`REGISTRY`; the golden tests then ask for its golden file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sovaudit.i18n import check_lang
from sovaudit.models import Scan
from sovaudit.report.csvout import render_csv
from sovaudit.report.jsonout import iter_json
from sovaudit.report.markdown import render_markdown
from sovaudit.report.sarif import render_sarif
from sovaudit.report.summary import HistoryLike, ReportView, build_view


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a renderer may use: the scan, the language, the clock, and optional extras."""

    scan: Scan
    lang: str
    now: datetime
    inventory_path: Path | None = None  # SARIF points here when an endpoint has no source line
    history: Sequence[HistoryLike] | None = None  # HTML chart and Markdown table; oldest first

    def view(self) -> ReportView:
        """The sorted, localized view every human-readable format prints from."""
        check_lang(self.lang)
        return build_view(self.scan, lang=self.lang, now=self.now, history=self.history)


class ReportFormat(Protocol):
    """One report format: how the user names it and how it renders."""

    @property
    def name(self) -> str:
        """The ``--format`` value."""
        ...

    @property
    def suffixes(self) -> tuple[str, ...]:
        """Lower-case file suffixes that select the format; the first names a written file."""
        ...

    def render(self, context: RenderContext) -> Iterable[str]:
        """The report's text in pieces: joined, they are the whole file, byte for byte."""
        ...


class MarkdownFormat:
    name = "md"
    suffixes = (".md", ".markdown")

    def render(self, context: RenderContext) -> Iterator[str]:
        yield render_markdown(context.view())


class HtmlFormat:
    name = "html"
    suffixes = (".html", ".htm")

    def render(self, context: RenderContext) -> Iterator[str]:
        # Imported here so that every other format (and the CLI's start-up) never pays for Jinja2.
        from sovaudit.report.html import render_html

        yield render_html(context.view())


class JsonFormat:
    """The evidence file itself (no language: it keeps the data, not the words)."""

    name = "json"
    suffixes = (".json",)

    def render(self, context: RenderContext) -> Iterator[str]:
        # Endpoint by endpoint: a 100k-host scan never becomes one string.
        return iter_json(context.scan)


class CsvFormat:
    name = "csv"
    suffixes = (".csv",)

    def render(self, context: RenderContext) -> Iterator[str]:
        yield render_csv(context.view())


class SarifFormat:
    name = "sarif"
    suffixes = (".sarif", ".sarif.json")

    def render(self, context: RenderContext) -> Iterator[str]:
        yield render_sarif(context.view(), inventory_path=context.inventory_path)


REGISTRY: dict[str, ReportFormat] = {
    f.name: f for f in (MarkdownFormat(), HtmlFormat(), JsonFormat(), CsvFormat(), SarifFormat())
}


def format_for_suffix(file_name: str) -> str | None:
    """The format whose longest suffix ends ``file_name`` (``x.sarif.json`` is SARIF), or None."""
    name = file_name.lower()
    best: tuple[int, str] | None = None
    for fmt in REGISTRY.values():
        for suffix in fmt.suffixes:
            fits = len(name) > len(suffix) and name.endswith(suffix)
            if fits and (best is None or len(suffix) > best[0]):
                best = (len(suffix), fmt.name)
    return best[1] if best is not None else None


def output_is_directory(output: Path) -> bool:
    """Whether ``-o OUTPUT`` names a directory: an existing one, or a new path with no suffix."""
    return output.is_dir() or (not output.suffix and not output.exists())
