"""Markdown report: headline, structure, and inert rendering of hostile record text.

The hostile checks render the report with markdown-it in its GFM-like mode (tables,
strikethrough, autolinks via linkify) and inspect the resulting HTML, which is what a reader sees.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sovaudit.evidence.read import read_evidence
from sovaudit.models import Attribution, DataClass, Endpoint, Layer, Scan, Status
from sovaudit.report import render
from sovaudit.report.escape import md_code, md_text, visible
from sovaudit.report.summary import headline

pytest.importorskip("linkify_it", reason="linkify-it-py renders GFM autolinks")
from markdown_it import MarkdownIt  # noqa: E402

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
CREDIT_LINKS = {"https://db-ip.com", "https://www.routeviews.org/", "https://www.nro.net/"}
ALLOWED_LINKS = CREDIT_LINKS | {
    "https://www.law.cornell.edu/uscode/text/18/2713",
    "https://www.law.cornell.edu/uscode/text/18/2703",
    "https://www.law.cornell.edu/uscode/text/18/2709",
    "https://www.legisquebec.gouv.qc.ca/fr/document/lc/R-22.1",
    "https://www.risq.quebec/",
}


def gfm() -> MarkdownIt:
    return MarkdownIt("gfm-like", {"linkify": True})


class Elements(HTMLParser):
    """Collects tag names, attributes and text of rendered HTML."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Elements:
    p = Elements()
    p.feed(html)
    p.close()
    return p


def md(lang: str = "en") -> str:
    return render(read_evidence(SAMPLE), "md", lang=lang, now=NOW)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "> **2 of 3 services holding health data are under US control**"),
        ("fr", "> **2 services sur 3 qui détiennent des données de santé sont sous contrôle "
               "américain**"),
    ],
)
def test_headline_is_quotable(lang: str, expected: str) -> None:
    assert md(lang).splitlines()[2] == expected


def test_hostile_text_renders_as_text_only() -> None:
    html = gfm().render(md())
    doc = parse(html)
    tags = {tag for tag, _ in doc.tags}
    # The only HTML our Markdown carries is details/summary; nothing from records becomes markup.
    assert not tags & {"script", "img", "link", "iframe", "style", "object"}
    hrefs = {attrs.get("href") for tag, attrs in doc.tags if tag == "a"}
    # External links are only ours; in-page links only go to our own rule anchors.
    assert {h for h in hrefs if h and not h.startswith("#")} == ALLOWED_LINKS
    assert all(re.fullmatch(r"#rule-\d+", h) for h in hrefs if h and h.startswith("#"))
    assert all(not any(k.startswith("on") for k in attrs) for _, attrs in doc.tags)
    text = "".join(doc.text)
    for payload in (
        "<script>alert(1)</script>",
        '"><img src=x onerror=alert(1)>',
        '=HYPERLINK("http://evil")',
        "[link](javascript:alert(1))",
        "www.evil.example http://evil.example/x mail@evil.example",
    ):
        assert payload in text, payload
    assert "\x1b" not in html and "\u241b[31mRED" in text


def test_summary_tables_and_sections() -> None:
    text = md()
    assert "| Critical | 2 |" in text and "| **Total** | **5** |" in text  # exposures
    assert "| United States (US) | 2 |" in text
    assert "| Québec public sector (CA-QC) | 2 |" in text
    assert "| Santé Québec | 2 | 3 | 2 | 2 |" in text
    # One row per endpoint and controlling party, most severe first, legal bases linked.
    assert (
        "| Critical (new) | Santé Québec | `santequebec.ca` | Email | Microsoft Corporation "
        "(Microsoft 365 / Exchange Online) | United States (US) | Health | "
        "[`US-CLOUD-ACT-MAIL`](#rule-3), [`US-NSL-METADATA`](#rule-6) |" in text
    )
    exposures = text[text.index("## Exposures"):text.index("## Who the providers are")]
    assert len([x for x in exposures.splitlines() if x.startswith("| ")]) == 2 + 5
    assert "The 10 rule-level findings are in the JSON, CSV and SARIF reports." in text
    # Good outcomes in their own section, never with a severity.
    good = text[text.index("## Good outcomes"):text.index("## Organizations at a glance")]
    assert "`SOV-PUBLIC-INFRA`" in good and "Info" not in good
    assert "| 2 | Microsoft Corporation | United States (US) | United States | 2 | 1 | 2 |" \
        in text
    # Each rule's rationale and references once, whatever the number of its findings.
    assert text.count("No source identified who operates this endpoint") == 1
    assert text.count("### `UNKNOWN-OPERATOR` Operator could not be attributed") == 1
    assert '<a id="rule-5"></a>' in text
    assert "**Medium** · Findings: 2; accepted: 0" in text
    positions = [text.index(h) for h in ("Scan of 2026-11-25", "Most exposed: Santé Québec",
                                         "## Exposures", "## Who the providers are",
                                         "## Good outcomes", "## Organizations at a glance",
                                         '<a id="org-sante-qc"></a>', "## Legal bases",
                                         "## Evidence chains", "### Control chains",
                                         "### Sources", "## About this scan")]
    assert positions == sorted(positions)
    assert "exposure analysis, not legal advice" in text
    assert "| ip-location-db/asn | `2026.11.01` | `2026-11-01` | CC BY 4.0 |" in text
    assert "- **Resolvers**: `127.0.0.1:5353`" in text
    assert "- **Scan date**: `2026-11-25T12:00:00Z`" in text
    assert "- **Report rendered**: `2026-11-25T13:00:00Z`" in text
    assert text.count("<details>") == text.count("</details>") == 6  # one per endpoint


def test_french_report_has_no_english_headings() -> None:
    text = md("fr")
    for heading in ("## Synthèse", "## Expositions", "## Fondements juridiques",
                    "## Avis juridique", "## Cas favorables", "## Qui sont les fournisseurs",
                    "analyse d'exposition, pas un avis juridique", "## Jeux de données",
                    "## Chaînes de preuve",
                    "enregistrement `A dossier.santequebec.ca -> 199.84.16.10`",
                    "adresse `198.51.100.77`", "motif de nom",
                    "### Chaînes de contrôle", "société mère `Microsoft Corporation`",
                    "juridiction `US`", "| Critique (nouveau) | Santé Québec | `santequebec.ca` |",
                    "Faible (risque accepté)", "| Courriel |",
                    "Courriel traité par un fournisseur sous contrôle américain (CLOUD Act)"):
        assert heading in text, heading
    assert "## Findings" not in text and "Legal notice" not in text
    assert " parent `" not in text and " record `" not in text and "Triggered" not in text


def test_accepted_risk_and_baseline_status_are_shown() -> None:
    text = md()
    block = text[text.index("<summary>santequebec.ca · Santé Québec · Email · Critical</summary>"):]
    block = block[: block.index("</details>")]
    assert (
        "  - Triggered: `US-CLOUD-ACT-MAIL` (accepted risk: Contrat Microsoft 2025; "
        "évaluation des facteurs relatifs à la vie privée en cours, unchanged), "
        "`US-NSL-METADATA` (new)"
    ) in block


def _ep(service: str, classes: tuple[DataClass, ...], jur: str | None) -> Endpoint:
    attrs = (Attribution(subject="x", role="address", jurisdiction=jur, status=Status.OK),)
    return Endpoint(organization="o", service=service, host=f"{service}.example", layer=Layer.WEB,
                    data_classes=classes, status=Status.OK, attributions=attrs if jur else ())


@pytest.mark.parametrize(
    ("endpoints", "en", "fr"),
    [
        ([], "No service was scanned", "Aucun service n'a été analysé"),
        ([_ep("a", (DataClass.TAX,), "US")], "The only service holding tax data is under US "
         "control", "Le seul service qui détient des données fiscales est sous contrôle américain"),
        ([_ep("a", (DataClass.HEALTH,), "CA"), _ep("b", (DataClass.HEALTH,), "CA-QC")],
         "None of the 2 services holding health data is under US control",
         "Aucun des 2 services qui détiennent des données de santé n'est sous contrôle américain"),
        # Unattributed services are not "not under US control": the headline says so.
        ([_ep("a", (DataClass.HEALTH,), None), _ep("b", (DataClass.HEALTH,), None)],
         "0 of 2 services holding health data are under US control (2 not attributed)",
         "0 services sur 2 qui détiennent des données de santé sont sous contrôle américain "
         "(2 non attribués)"),
        ([_ep("a", (DataClass.HEALTH,), "CA"), _ep("b", (DataClass.HEALTH,), None),
          _ep("c", (DataClass.HEALTH,), "US")],
         "1 of 3 services holding health data is under US control (1 not attributed)",
         "1 service sur 3 qui détient des données de santé est sous contrôle américain "
         "(1 non attribué)"),
        ([_ep("a", (DataClass.TAX,), None)],
         "The only service holding tax data could not be attributed",
         "Le seul service qui détient des données fiscales n'a pas pu être attribué"),
        ([_ep("a", (), None), _ep("b", (), "US"), _ep("c", (), "CA")],
         "1 of 3 services is under US control (1 not attributed)",
         "1 service sur 3 est sous contrôle américain (1 non attribué)"),
        ([_ep("a", (DataClass.HEALTH,), "US"), _ep("b", (DataClass.HEALTH,), "CA-QC"),
          _ep("c", (DataClass.TAX,), "US")],
         "1 of 2 services holding health data is under US control",
         "1 service sur 2 qui détient des données de santé est sous contrôle américain"),
        ([_ep("a", (DataClass.PUBLIC,), "US"), _ep("b", (), "US"), _ep("c", (), "FR")],
         "2 of 3 services are under US control", "2 services sur 3 sont sous contrôle américain"),
    ],
)
def test_headline_grammar(endpoints: list[Endpoint], en: str, fr: str) -> None:
    assert headline(endpoints, "en") == en
    assert headline(endpoints, "fr") == fr


def test_a_service_counts_once_across_its_endpoints() -> None:
    web = _ep("portal", (DataClass.HEALTH,), "CA-QC")
    mail = replace(_ep("portal", (DataClass.HEALTH,), "US"), layer=Layer.MAIL)
    assert headline([web, mail], "en") == "The only service holding health data is under US control"


def test_empty_scan_renders() -> None:
    scan = Scan(tool_version="0.1.0", generated_at="2026-11-25T12:00:00Z", inventory="i.yaml",
                resolvers=(), endpoints=())
    text = render(scan, "md", lang="fr", now=NOW)
    assert "Aucun service n'a été analysé" in text and "Aucune exposition." in text


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_md_text_renders_exactly_as_the_visible_text(s: str) -> None:
    html = gfm().render(md_text(s))
    doc = parse(html)
    assert {tag for tag, _ in doc.tags} <= {"p"}
    assert "".join(doc.text).strip() == visible(s).strip(" \u00a0").strip()


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1))
def test_md_code_in_a_table_cell_stays_in_one_cell(s: str) -> None:
    table = f"| a | b |\n| --- | --- |\n| {md_code(s)} | end |\n"
    doc = parse(gfm().render(table))
    tags = [tag for tag, _ in doc.tags]
    assert tags.count("td") == 2 and tags.count("code") == 1
    code = re.search(r"<code>(.*?)</code>", gfm().render(table), re.S)
    assert code is not None
    text = parse(code.group(1)).text
    assert "".join(text) == visible(s)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        # Ordinary names and sentences are left alone: the raw Markdown stays readable.
        ("Microsoft 365 / Exchange Online", "Microsoft 365 / Exchange Online"),
        ("Ville d'Exemple (ex-iWeb); 18 U.S.C. § 2713, s. 72-73: ok?", None),
        ("snake_case_name 4.0 +1-1 #3 a > b", None),
        # What would change the rendering is escaped, and only that.
        ("*bold* _em_ ~~s~~ `c`", "\\*bold\\* \\_em\\_ \\~\\~s\\~\\~ \\`c\\`"),
        ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
        ("<img src=x onerror=alert(1)>", "\\<img src=x onerror=alert(1)>"),
        ("a | b", "a \\| b"),
        ("AT&T &amp; &#35;", "AT&T \\&amp; \\&#35;"),
        ("$x$ a@b", "\\$x\\$ a\\@b"),
        ("www.evil.example", "www\\.evil\\.example"),
        ("http://evil.example/x", "http\\:\\//evil\\.example/x"),
        ("mailto:x", "mailto\\:x"),
        ("# h", "\\# h"), ("> q", "\\> q"), ("- x", "\\- x"), ("1. x", "1\\. x"),
        ("---", "\\---"), ("Title #", "Title \\#"), ("    code", "code"),
    ],
)
def test_md_text_escapes_only_what_markdown_would_act_on(raw: str, escaped: str | None) -> None:
    assert md_text(raw) == (raw if escaped is None else escaped)


# Markdown-significant pieces, so that examples hit the interesting cases often.
_PIECES = st.lists(
    st.sampled_from([*"ab1 .:/@#>-+=*_~`[]()!<&;|$\\", "www", "http", "mailto", ".ca", "&amp;",
                     "    ", "\n", "\u202e"]),
    max_size=16,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_PIECES, st.text()))
def test_md_text_is_inert_wherever_the_report_puts_it(s: str) -> None:
    """At a paragraph's start, after a paragraph line, in a list item, a heading, a table cell:
    the text never adds an element, a link or a cell, and reads as the visible text."""
    contexts = {
        "{}": {"p"},
        "para\n{}": {"p"},
        "- {}": {"ul", "li"},
        "- x {}": {"ul", "li"},
        "### `X` {}": {"h3", "code"},
        "| a |\n| --- |\n| {} |\n": {"table", "thead", "tr", "th", "tbody", "td"},
    }
    escaped = md_text(s)
    for wrap, allowed in contexts.items():
        doc = parse(gfm().render(wrap.format(escaped)))
        assert {tag for tag, _ in doc.tags} <= allowed, (wrap, s, escaped)
        assert doc.tags.count(("td", {})) <= 1
