"""The HTML report in a real headless Chromium: hostile records stay text, nothing is fetched.

The page is served by a loopback HTTP server whose access log is the proof that no request
other than the page itself was made, even though the records carry payloads that point at
that very server. Skipped when Chromium is not installed (CI installs it).
"""

from __future__ import annotations

import html
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sovaudit.evidence.read import read_evidence
from sovaudit.models import DnsRecord, EvidenceStep
from sovaudit.report import render

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
CHROMIUM = next(
    (p for p in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
     if p and Path(p).exists()),
    None,
)


class Tree(HTMLParser):
    """Elements and the document title of a DOM dump."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        # The document title is the first <title>; the others belong to the SVG charts.
        self._in_title = tag == "title" and not any(t == "title" for t, _ in self.tags[:-1])

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


class LoggingHandler(SimpleHTTPRequestHandler):
    log: list[str]

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self.log.append(self.path)
        super().do_GET()


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[str, list[str], Path]]:
    log: list[str] = []
    handler = partial(type("H", (LoggingHandler,), {"log": log}), directory=str(tmp_path))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", log, tmp_path
    finally:
        httpd.shutdown()
        httpd.server_close()


def chromium_dump(url: str, profile: Path) -> str:
    assert CHROMIUM is not None
    proc = subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", "--virtual-time-budget=3000",
            "--dump-dom", url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
def test_hostile_report_in_headless_chromium(server: tuple[str, list[str], Path]) -> None:
    base, log, root = server
    scan = read_evidence(SAMPLE)
    # Payloads aimed at the loopback server: any fetch they caused would show in its log.
    bait = (
        f"<img src={base}/img.png>",
        f"<script src={base}/evil.js></script>",
        f"<link rel=stylesheet href={base}/evil.css>",
        f"<iframe src={base}/frame.html></iframe>",
        "<svg onload=\"document.title='PWNED'\"></svg>",
        "</code></td></tr></table><script>document.title='PWNED'</script>",
    )
    hostile = scan.endpoints[1]
    assert hostile.organization == "cegep-hostile"
    record = DnsRecord(name="bait.example", type="TXT", rcode="NOERROR", answers=bait, ttl=1,
                       resolver="127.0.0.1:5353", timestamp="2026-11-25T12:00:00Z")
    # Bait in an evidence chain (step names, values, sources and the rule id) and, with no
    # attribution left, in the DNS records table that the report then shows.
    steps = tuple(EvidenceStep(b, b, b) for b in bait)
    finding = replace(hostile.findings[0], rule_id=bait[1], subject=bait[2], evidence=steps)
    hostile = replace(hostile, records=(*hostile.records, record), reason=bait[0],
                      attributions=(), findings=(*hostile.findings, finding))
    scan = replace(scan, endpoints=(scan.endpoints[0], hostile, *scan.endpoints[2:]))
    page = render(scan, "html", lang="en", now=NOW)
    (root / "report.html").write_text(page, encoding="utf-8")

    dom = chromium_dump(f"{base}/report.html", root / "profile")

    # The page rendered and our own (hash-pinned) script ran: it unhides the filter box and
    # turns the findings table headers into sort buttons.
    assert "2 of 3 services holding health data are under US control" in dom
    assert "<title>Data sovereignty report</title>" in dom
    assert '<p class="filter">' in dom
    assert '<th scope="col"><button type="button">Severity</button></th>' in dom
    # No script from the records ran, and no element came out of record text.
    tree = Tree()
    tree.feed(dom)
    assert tree.title == "Data sovereignty report"
    body = next(attrs for tag, attrs in tree.tags if tag == "body")
    assert "data-pwned" not in body
    tags = [tag for tag, _ in tree.tags]
    assert tags.count("script") == 1
    assert not {"img", "iframe", "object", "embed"} & set(tags)
    assert tags.count("style") == 1
    assert [a for t, a in tree.tags if t == "link"] == [{"rel": "icon", "href": "data:,"}]
    assert all(not any(k.startswith("on") for k in a) for _, a in tree.tags)
    assert tags.count("svg") == 4  # providers, jurisdiction, data class, organization
    # The hostile strings are in the page as text.
    for payload in ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
                    '=HYPERLINK("http://evil")', "[link](javascript:alert(1))", *bait):
        assert html.escape(payload, quote=False) in dom, payload
    # And the only request the server saw is the page itself.
    assert log == ["/report.html"]


# Layout: the report holds from a phone to a desktop. A wrapper page (no CSP of its own) loads
# the report in same-origin iframes of each width and measures it with the DOM; the results
# are written into the wrapper, which --dump-dom returns.
WIDTHS = (360, 768, 1280)
MEASURE = """<!DOCTYPE html><html><body>
%(frames)s
<script>
function measure(w) {
  var f = document.getElementById("f" + w), d = f.contentDocument;
  var res = {scroll: d.documentElement.scrollWidth, client: d.documentElement.clientWidth,
             labels: 0, clipped: [], minText: 99, wide: []};
  d.querySelectorAll("svg text.bar-label, svg text.bar-value").forEach(function (t) {
    var box = t.closest(".chart").getBoundingClientRect(), svg = t.ownerSVGElement;
    var s = svg.getBoundingClientRect(), r = t.getBoundingClientRect();
    res.labels += 1;
    if (r.left < s.left - 0.5 || r.right > s.right + 0.5) { res.clipped.push(t.textContent); }
    res.minText = Math.min(res.minText, r.height);
  });
  function inScrollBox(el) {
    for (var a = el.parentElement; a && a !== d.body; a = a.parentElement) {
      var o = f.contentWindow.getComputedStyle(a).overflowX;
      if (o === "auto" || o === "scroll") { return true; }
    }
    return false;
  }
  d.querySelectorAll("body *").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.right > res.client + 1 && r.width > 0 && !inScrollBox(el)) {
      res.wide.push(el.tagName + "." + el.className);
    }
  });
  document.getElementById("out" + w).textContent = JSON.stringify(res);
}
</script>
</body></html>"""
FRAME = ('<iframe id="f%(w)d" src="%(page)s" style="width:%(w)dpx;height:800px;border:0" '
         'onload="measure(%(w)d)"></iframe><pre id="out%(w)d"></pre>')
ARTIFACTS = Path(__file__).parent.parent / "build" / "test-artifacts"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium)")
@pytest.mark.parametrize("page", ["demo.fr.html", "demo.en.html"])
def test_layout_holds_from_phone_to_desktop(server: tuple[str, list[str], Path],
                                            page: str) -> None:
    import json
    import re

    base, _log, root = server
    report = Path(__file__).parent.parent / "reports" / page
    (root / page).write_text(report.read_text(encoding="utf-8"), encoding="utf-8")
    frames = "\n".join(FRAME % {"w": w, "page": page} for w in WIDTHS)
    (root / "measure.html").write_text(MEASURE % {"frames": frames}, encoding="utf-8")
    dom = chromium_dump(f"{base}/measure.html", root / "profile")
    for w in WIDTHS:
        found = re.search(rf'<pre id="out{w}">(.*?)</pre>', dom, re.DOTALL)
        assert found is not None and found.group(1), f"no measure at {w} px"
        res = json.loads(html.unescape(found.group(1)))
        assert res["scroll"] <= res["client"], f"horizontal page scroll at {w} px: {res}"
        assert res["wide"] == [], f"elements wider than the page at {w} px"
        assert res["labels"] > 20 and res["clipped"] == [], f"clipped labels at {w} px"
        assert res["minText"] >= 9, f"chart text too small at {w} px: {res['minText']}"
    # A screenshot per width, kept as a test artefact (build/ is not committed).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for w in WIDTHS:
        shot = ARTIFACTS / f"{page.removesuffix('.html')}-{w}.png"
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             f"--user-data-dir={root / 'profile'}", f"--window-size={w},2400",
             f"--screenshot={shot}", f"{base}/{page}"],
            capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 0 and shot.stat().st_size > 10_000, proc.stderr[-2000:]
        print(f"screenshot: {shot}")
