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

from sovaudit.evidence.read import read_evidence
from sovaudit.report import render
from sovaudit.report.escape import visible

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
CREDIT_LINKS = {"https://db-ip.com", "https://www.routeviews.org/", "https://www.nro.net/"}
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
        "fr": "2 services sur 3 qui détiennent des données de santé sont sous contrôle américain",
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
    assert {h for h in hrefs if h and not h.startswith("#")} == REFERENCE_LINKS | CREDIT_LINKS
    # Every in-page link lands on an element of the page.
    ids = {a["id"] for _, a in d.tags if a.get("id")}
    assert {h[1:] for h in hrefs if h and h.startswith("#")} <= ids
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
    assert len(svgs) == 4  # providers, jurisdiction, data class, organization
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


def test_evidence_chain_once_per_endpoint_with_the_rules_it_triggered() -> None:
    raw = html()
    # portail.santequebec.ca is the 4th endpoint in report order.
    start = raw.index('<article class="ep" id="e-4">')
    block = raw[start:raw.index("</article>", start)]
    steps = re.findall(r"<li><b>([^<]*)</b>", block)
    assert steps[:5] == ["record", "record", "address", "AS", "control chain"]
    assert "<small>[1]</small>" in block  # the source, by its number in the legend
    triggered = re.findall(r'<a href="#(rule-\d+)">([^<]*)</a>', block)
    assert [rid for _, rid in triggered] == [
        "QC-HEALTH-INFO", "US-CLOUD-ACT-HOSTING", "NO-COMITY-CANADA"]
    # The control chain and the sources are printed once, after the endpoints.
    control = re.search(r'<a href="#(ctl-\d+)">C\d+</a> Microsoft Corporation', block)
    assert control is not None
    ctl = raw[raw.index(f'id="{control.group(1)}"'):]
    ctl = ctl[: ctl.index("</div>")]
    assert re.findall(r"<li><b>([^<]*)</b>", ctl) == [
        "operator", "parent", "jurisdiction"]
    assert "<li><code>ip-location-db asn 2026-11-01</code></li>" in raw


def test_rules_once_and_compact_findings_table() -> None:
    raw = html()
    assert raw.count("No source identified who operates this endpoint") == 1
    d = doc()
    rule_ids = [a["id"] for t, a in d.tags if t == "article" and (a.get("id") or "").startswith(
        "rule-")]
    assert len(rule_ids) == 8  # one per distinct rule id of the sample
    body = raw[raw.index("<tbody>", raw.index('id="findings-table"')):]
    body = body[: body.index("</tbody>")]
    assert body.count("<tr>") == 5  # one per exposure (endpoint, controlling party)
    first = next(r for r in body.split("<tr>") if "portail.santequebec.ca" in r)
    assert 'href="#rule-1">QC-HEALTH-INFO</a>' in first
    assert 'href="#e-4"><code>portail.santequebec.ca</code></a>' in first
    assert '<span class="badge badge-new">new</span>' in first
    assert 'href="#org-sante-qc"' in first and 'class="gd g-us"' in first
    # Good outcomes apart, organization cards with their anchors.
    good = raw[raw.index('id="good-outcomes"'):raw.index('id="summary"')]
    assert "SOV-PUBLIC-INFRA" in good and "sev-" not in good
    assert '<article class="card" id="org-sante-qc">' in raw


def test_french_step_labels_and_dataset_credit() -> None:
    raw = html("fr")
    steps = set(re.findall(r"<li><b>([^<]*)</b>", raw))
    assert {"enregistrement", "adresse", "exploitant", "société mère", "juridiction",
            "chaîne de contrôle", "motif de nom"} <= steps
    assert not {"record", "address", "operator", "parent", "jurisdiction"} & steps
    for lang in ("fr", "en"):
        assert '<a href="https://db-ip.com">IP Geolocation by DB-IP</a>' in html(lang)
    assert ">RouteViews</a>" in raw and ">NRO</a>" in raw and "CC BY 4.0" in raw


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
