"""HTML report, checked statically: self-contained, escaped, accessible, CSP-locked.

What a browser actually does with it is checked in test_report_browser.py.
"""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sovaudit.report import render
from sovaudit.report.escape import visible
from sovaudit.report.jsonout import read_evidence

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
REFERENCE_LINKS = {
    "https://www.law.cornell.edu/uscode/text/18/2713",
    "https://www.law.cornell.edu/uscode/text/18/2703",
    "https://www.law.cornell.edu/uscode/text/18/2709",
    "https://www.legisquebec.gouv.qc.ca/fr/document/lc/R-22.1",
    "https://www.risq.quebec/",
}


class Doc(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts.append(data)
        elif self._in == "style":
            self.styles.append(data)
        else:
            self.text.append(data)


def html(lang: str = "en") -> str:
    return render(read_evidence(SAMPLE), "html", lang=lang, now=NOW)


def doc(lang: str = "en") -> Doc:
    d = Doc()
    d.feed(html(lang))
    d.close()
    return d


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_lang_title_and_headline(lang: str) -> None:
    d = doc(lang)
    assert d.tags[0] == ("html", {"lang": lang})
    text = " ".join(d.text)
    headline = {
        "en": "2 of 3 services holding health data are under US control",
        "fr": "2 des 3 services qui détiennent des données de santé sont sous contrôle américain",
    }[lang]
    assert headline in text
    legal = {"en": "exposure analysis, not legal advice",
             "fr": "analyse d'exposition, pas un avis juridique"}[lang]
    assert legal in text


def test_csp_forbids_network_and_pins_the_only_script() -> None:
    d = doc()
    [meta] = [a for t, a in d.tags if t == "meta" and a.get("http-equiv") ==
              "Content-Security-Policy"]
    csp = meta["content"] or ""
    assert "default-src 'none'" in csp and "img-src data:" in csp
    assert "style-src 'unsafe-inline'" in csp and "'unsafe-inline'" not in csp.split(
        "script-src")[1].split(";")[0]
    [script] = d.scripts
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert [t for t, _ in d.tags].count("script") == 1


def test_nothing_is_loaded_from_anywhere() -> None:
    d = doc()
    for tag, attrs in d.tags:
        assert not any(k.startswith("on") for k in attrs), (tag, attrs)
        assert "src" not in attrs, (tag, attrs)
        assert tag not in ("img", "iframe", "object", "embed", "base", "form"), tag
        if tag == "link":
            assert attrs == {"rel": "icon", "href": "data:,"}
    hrefs = {a["href"] for t, a in d.tags if t == "a"}
    assert {h for h in hrefs if h and not h.startswith("#")} == REFERENCE_LINKS
    css = "".join(d.styles)
    assert "@import" not in css and "url(" not in css


def test_hostile_strings_are_text() -> None:
    d = doc()
    text = "".join(d.text)
    for payload in (
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        '=HYPERLINK("http://evil")',
        "[link](javascript:alert(1))",
        "\u241b[31mRED\u241b[0m",
    ):
        assert payload in text, payload
    raw = html()
    assert "\x1b" not in raw
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", raw)


def test_accessible_markup() -> None:
    d = doc()
    ths = [a for t, a in d.tags if t == "th"]
    assert ths and all(a.get("scope") in ("col", "row") for a in ths)
    svgs = [a for t, a in d.tags if t == "svg"]
    assert len(svgs) == 3
    assert all(a.get("role") == "img" and a.get("aria-labelledby") for a in svgs)
    ids = [a["id"] for _, a in d.tags if a.get("id")]
    assert len(ids) == len(set(ids)), "duplicate ids"
    for svg in svgs:
        for ref in (svg["aria-labelledby"] or "").split():
            assert ref in ids
    headings = [t for t, _ in d.tags if re.fullmatch(r"h[1-6]", t)]
    assert headings[0] == "h1" and headings.count("h1") == 1


def test_charts_have_text_alternatives() -> None:
    raw = html()
    desc = re.search(r'<desc id="chart-data-class-desc">([^<]*)</desc>', raw)
    assert desc is not None
    assert desc.group(1) == (
        "Health: 3 (Under US control: 2); Personal: 3 (Under US control: 1); "
        "Public: 1 (Under US control: 0)"
    )


def test_print_stylesheet_and_scan_facts() -> None:
    raw = html()
    assert "@media print" in raw
    text = "".join(doc().text)
    for fact in ("2026-11-25T12:00:00Z", "2026-11-25T13:00:00Z", "127.0.0.1:5353",
                 "ip-location-db/asn", "CC BY 4.0", "2026.11.01"):
        assert fact in text


def test_evidence_chain_ends_with_the_rule() -> None:
    raw = html()
    start = raw.index('<article id="e-4">')
    block = raw[start:raw.index("</article>", start)]
    steps = re.findall(r'<span class="step">([^<]*)</span>', block)
    assert steps[:8] == ["record", "record", "address", "asn", "operator", "parent",
                         "jurisdiction", "rule"]
    assert "US-CLOUD-ACT-HOSTING" in block and "[ip-location-db asn 2026-11-01]" in block


def test_large_inventories_keep_charts_readable() -> None:
    from dataclasses import replace

    from sovaudit.report.html import MAX_BARS

    scan = read_evidence(SAMPLE)
    many = tuple(replace(e, organization=f"org-{i:02d}", organization_name=f"Org {i:02d}")
                 for i in range(40) for e in scan.endpoints[2:4])
    raw = render(replace(scan, endpoints=many), "html", lang="fr", now=NOW)
    start = raw.index('<figure aria-labelledby="chart-organization-caption">')
    figure = raw[start:raw.index("</figure>", start)]
    svg = figure[: figure.index("</svg>")]
    assert svg.count("<g>") == MAX_BARS
    assert figure.count('<tr><th scope="row">Org ') == 40
    assert "les 30 organismes qui ont le plus de points d&#39;accès sous contrôle" in figure


def _tags_for(text: str) -> list[str]:
    from dataclasses import replace

    from sovaudit.models import DnsRecord

    scan = read_evidence(SAMPLE)
    e = scan.endpoints[2]
    record = DnsRecord(name=text, type="TXT", rcode="NOERROR", answers=(text, text), ttl=1,
                       resolver=text, timestamp="t", error=text)
    e = replace(e, organization_name=text, service=text, reason=text, records=(record,))
    d = Doc()
    d.feed(render(replace(scan, endpoints=(e,)), "html", lang="en", now=NOW))
    d.close()
    assert text.strip() == "" or visible(text).strip() in "".join(d.text)
    return [t for t, _ in d.tags]


BASELINE: list[str] = []


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["<", ">", "&", '"', "'", "/", "=", "`", "[", "]", "(", ")",
                                  "-", "x", " ", "\x1b", "\n", "<script>", "<img src=x>",
                                  "</code>", "{{", "}}", "\u202e"]), min_size=1).map("".join))
def test_no_text_creates_markup(text: str) -> None:
    if not BASELINE:
        BASELINE.extend(_tags_for("plain"))
    assert _tags_for(text) == BASELINE
