"""The offline demo: serve the bundled zones on loopback, scan the bundled inventory."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sovaudit.collect.dns import ResolverAddress
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.inventory import parse_inventory
from sovaudit.models import Endpoint, Scan
from sovaudit.pipeline.options import ScanOptions
from sovaudit.pipeline.run import scan
from sovaudit.report import render

DEMO_DIR = Path(__file__).parent
DEMO_INVENTORY = DEMO_DIR / "inventory.yaml"
DEMO_ZONES = DEMO_DIR / "zones"
# The loopback server's port changes every run; reports name it by this stable label instead.
DEMO_RESOLVER_LABEL = "demo-nameserver (loopback)"


def run_demo(
    *, now: datetime | None = None, on_done: Callable[[Endpoint], None] | None = None
) -> Scan:
    """Scan the demo inventory against a loopback nameserver serving the demo zones."""
    inventory = parse_inventory(
        DEMO_INVENTORY.read_text(encoding="utf-8"), "sovaudit/demo/inventory.yaml"
    )
    with LoopbackNameserver.from_zone_dir(DEMO_ZONES) as ns:
        resolver = ResolverAddress(*ns.address, label=DEMO_RESOLVER_LABEL)
        options = ScanOptions(resolvers=(resolver,), timeout=2.0, retries=1)
        return scan(inventory, options, now=now, on_done=on_done)


# The committed example reports (reports/) are rendered at this fixed instant so that they only
# change when the code, the datasets or the demo zones do.
REPORTS_NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)


def render_demo_reports(now: datetime = REPORTS_NOW) -> dict[str, str]:
    """The example reports under reports/: file name -> text (Markdown and HTML, fr and en)."""
    result = run_demo(now=now)
    return {
        f"demo.{lang}.{ext}": render(result, fmt, lang=lang, now=now)
        for lang in ("en", "fr")
        for fmt, ext in (("md", "md"), ("html", "html"))
    }
