"""Reports speak the reader's language all the way: labels, layer names and rule texts.

A French report of an English scan takes its rule titles and rationales from the rule packs the
scan recorded; a rule whose pack is gone keeps the stored text and the report says so.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sovaudit import i18n
from sovaudit.attribute.engine import ROLE_CA, ROLE_IDP, ROLE_WEB_SIGNAL
from sovaudit.evaluate import load_rules
from sovaudit.models import (
    Attribution,
    DataClass,
    Endpoint,
    EvidenceStep,
    Finding,
    Layer,
    Reference,
    Scan,
    Severity,
    Status,
)
from sovaudit.report import render
from sovaudit.report.summary import build_view

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
RULE = "US-CLOUD-ACT-HOSTING"
STORED_TITLE = "Stored title of the scan"
STORED_RATIONALE = "Stored rationale of the scan."

# Every table of user-facing labels: key -> {lang: text}.
TABLES = {
    "STRINGS": i18n.STRINGS,
    "SEVERITY_LABELS": i18n.SEVERITY_LABELS,
    "DATA_CLASS_PHRASES": i18n.DATA_CLASS_PHRASES,
    "DATA_CLASS_LABELS": i18n.DATA_CLASS_LABELS,
    "JURISDICTION_LABELS": i18n.JURISDICTION_LABELS,
    "LAYER_LABELS": i18n.LAYER_LABELS,
    "ROLE_LABELS": i18n.ROLE_LABELS,
    "STATUS_LABELS": i18n.STATUS_LABELS,
    "STEP_LABELS": i18n.STEP_LABELS,
    "LANG_NAMES": i18n.LANG_NAMES,
    "EXPLAIN_LABELS": i18n.EXPLAIN_LABELS,
}


def test_the_walk_covers_every_label_table_of_the_module() -> None:
    tables = {
        name for name, value in vars(i18n).items()
        if name.isupper() and isinstance(value, dict) and name != "TABLES"
    }
    assert tables == set(TABLES)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_label_exists_in_both_languages(name: str) -> None:
    formatter = string.Formatter()
    for key, entry in TABLES[name].items():
        assert set(entry) == set(i18n.LANGS), f"{name}[{key!r}]"
        for lang in i18n.LANGS:
            assert entry[lang].strip(), f"{name}[{key!r}][{lang!r}] is empty"
        # Both translations take the same fields, or one of them would raise at render time.
        fields = {lang: {f for _, f, _, _ in formatter.parse(entry[lang]) if f}
                  for lang in i18n.LANGS}
        assert fields["fr"] == fields["en"], f"{name}[{key!r}]"


@pytest.mark.parametrize(
    ("enum", "table"),
    [
        (Layer, i18n.LAYER_LABELS),
        (Status, i18n.STATUS_LABELS),
        (Severity, i18n.SEVERITY_LABELS),
        (DataClass, i18n.DATA_CLASS_LABELS),
        (DataClass, i18n.DATA_CLASS_PHRASES),
    ],
)
def test_every_code_a_reader_sees_has_a_label(enum: type, table: dict[str, object]) -> None:
    assert {m.value for m in enum} <= set(table)


def test_roles_written_by_the_attribution_engine_have_labels() -> None:
    roles = {"address", "cname", "mx", "ns", "autodiscover", "gateway", "mailbox", "spf-host",
             "spf-include", "spf-ip", "txt-token", "asn", "registry", "registrar",
             ROLE_CA, ROLE_IDP, ROLE_WEB_SIGNAL}
    assert roles <= set(i18n.ROLE_LABELS)


def test_french_labels_differ_from_codes() -> None:
    assert i18n.layer_label("mail", "fr") == "Courriel"
    assert i18n.layer_label("third-party", "en") == "Third-party web service"
    assert i18n.role_label("mx", "fr") == "serveur de courriel (MX)"
    assert i18n.layer_label("no-such-layer", "fr") == "no-such-layer"  # unknown: the code


# -- scans ---------------------------------------------------------------------------------------


def _scan(options: dict[str, object], rule: str = RULE, layer: Layer = Layer.WEB) -> Scan:
    att = Attribution(
        subject="20.151.10.20", role="address", operator="microsoft-azure",
        operator_name="Microsoft Azure", ultimate_parent="Microsoft Corporation",
        jurisdiction="US", confidence=0.9, status=Status.OK,
        evidence=(EvidenceStep("address", "20.151.10.20", "dns"),),
    )
    finding = Finding(
        rule_id=rule, severity=Severity.CRITICAL, title=STORED_TITLE,
        rationale=STORED_RATIONALE, references=(Reference("Stored reference", None),),
        subject="20.151.10.20", evidence=(EvidenceStep("rule", rule, "rules/x.yaml"),),
    )
    endpoint = Endpoint(
        organization="sante", organization_name="Santé Exemple", service="portail",
        host="portail.sante.example", layer=layer, data_classes=(DataClass.HEALTH,),
        status=Status.OK, attributions=(att,), findings=(finding,),
    )
    return Scan(tool_version="0.1.0", generated_at="2026-11-25T12:00:00Z",
                inventory="inventory.yaml", resolvers=("127.0.0.1:53",), endpoints=(endpoint,),
                options=options)


def _shipped(rule_id: str = RULE):  # type: ignore[no-untyped-def]
    rule = load_rules().get(rule_id)
    assert rule is not None
    return rule


def _reader_text(text: str, fmt: str) -> str:
    """What a reader sees of a report's text (escapes undone), to look for sentences in."""
    if fmt == "md":
        return text.replace("\\", "")
    if fmt == "html":
        return html.unescape(text)
    if fmt == "sarif":
        run = json.loads(text)["runs"][0]
        rules = run["tool"]["driver"]["rules"]
        return " ".join([r["shortDescription"]["text"] for r in rules]
                        + [r["fullDescription"]["text"] for r in rules]
                        + [r["message"]["text"] for r in run["results"]])
    return text


@pytest.mark.parametrize("fmt", ["md", "html", "csv", "sarif"])
def test_french_report_of_an_english_scan_shows_french_rule_texts(fmt: str) -> None:
    rule = _shipped()
    text = render(_scan({"lang": "en", "profile": "quebec"}), fmt, lang="fr", now=NOW)
    seen = _reader_text(text, fmt)
    assert rule.title.fr in seen
    if fmt != "csv":  # CSV carries titles only
        assert rule.rationale.fr in seen
    assert STORED_TITLE not in seen and STORED_RATIONALE not in seen
    assert "Stored reference" not in seen
    assert "Textes des règles" not in seen  # nothing left in the scan's language


def test_english_report_of_a_french_scan_shows_english_rule_texts() -> None:
    rule = _shipped()
    view = build_view(_scan({"lang": "fr"}), lang="en", now=NOW)
    finding = view.findings[0].finding
    assert (finding.title, finding.rationale) == (rule.title.en, rule.rationale.en)
    assert [r.title for r in finding.references] == [r.title.en for r in rule.references]
    assert view.untranslated_rules == ()


def test_same_language_keeps_the_stored_text() -> None:
    # The scan's own words are the evidence: a pack edited since is not read back into them.
    view = build_view(_scan({"lang": "fr"}), lang="fr", now=NOW)
    assert view.findings[0].finding.title == STORED_TITLE
    assert view.rules[0].rationale == STORED_RATIONALE


def test_evidence_without_a_language_is_taken_as_english() -> None:
    view = build_view(_scan({}), lang="fr", now=NOW)
    assert view.scan_lang == "en"
    assert view.findings[0].finding.title == _shipped().title.fr


CUSTOM_PACK = """\
pack:
  id: local
  title: {fr: "Règles locales", en: "Local rules"}
rules:
  - id: LOCAL-HOSTING
    title: {fr: "Hébergement hors de l'organisme", en: "Hosting outside the body"}
    rationale: {fr: "Justification locale en français.", en: "Local rationale in English."}
    references:
      - title: {fr: "Politique locale", en: "Local policy"}
    reviewed: 2026-11-25
    when: {fact: ultimate_parent_jurisdiction, in: [US]}
    severity: {default: high}
"""


def _custom_scan(tmp_path: Path) -> tuple[Scan, Path]:
    pack = tmp_path / "local.yaml"
    pack.write_text(CUSTOM_PACK, encoding="utf-8")
    options = {"lang": "en", "rules": [str(pack)], "default_rules": True, "profile": "quebec"}
    return _scan(options, rule="LOCAL-HOSTING"), pack


def test_custom_pack_present_at_report_time_is_used(tmp_path: Path) -> None:
    scan, _ = _custom_scan(tmp_path)
    text = render(scan, "md", lang="fr", now=NOW)
    assert "Hébergement hors de l'organisme" in text
    assert "Justification locale en français." in text
    assert STORED_TITLE not in text and "Textes des règles" not in text


def test_custom_pack_given_as_a_directory_is_used(tmp_path: Path) -> None:
    scan, pack = _custom_scan(tmp_path)
    scan = Scan.from_dict({**scan.to_dict(), "options": {"lang": "en", "rules": [str(tmp_path)]}})
    view = build_view(scan, lang="fr", now=NOW)
    assert view.findings[0].finding.title == "Hébergement hors de l'organisme"


@pytest.mark.parametrize("fmt", ["md", "html", "sarif"])
def test_custom_pack_missing_at_report_time_keeps_the_stored_text_and_says_so(
    tmp_path: Path, fmt: str
) -> None:
    scan, pack = _custom_scan(tmp_path)
    pack.unlink()
    text = render(scan, fmt, lang="fr", now=NOW)
    assert STORED_TITLE in text and STORED_RATIONALE in text
    if fmt == "sarif":
        props = json.loads(text)["runs"][0]["properties"]
        assert props["untranslatedRules"] == {"language": "en", "rules": ["LOCAL-HOSTING"]}
    else:
        assert "Textes des règles" in text
        assert "dans la langue de l'analyse (anglais)" in text.replace("&#39;", "'")
        assert "LOCAL-HOSTING" in text[text.index("Textes des règles"):]
    english = render(scan, fmt, lang="en", now=NOW)  # same language: nothing to say
    assert "Rule texts" not in english and "untranslatedRules" not in english


def test_a_custom_pack_broken_since_the_scan_keeps_the_stored_text(tmp_path: Path) -> None:
    scan, pack = _custom_scan(tmp_path)
    pack.write_text("rules: [", encoding="utf-8")
    view = build_view(scan, lang="fr", now=NOW)
    assert view.findings[0].finding.title == STORED_TITLE
    assert view.untranslated_rules == ("LOCAL-HOSTING",)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_tampered_rules_path_naming_a_pipe_is_never_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # opening it for reading would block the report forever
    scan = _scan({"lang": "en", "rules": [str(fifo), 42, None]}, rule="LOCAL-HOSTING")
    view = build_view(scan, lang="fr", now=NOW)
    assert view.untranslated_rules == ("LOCAL-HOSTING",)


def test_baseline_resolved_titles_follow_the_report_language() -> None:
    options = {"lang": "en", "baseline": {"file": "old.json", "generated_at": "2026-11-18",
               "resolved": [{"organization": "o", "service": "s", "host": "h.example",
                             "layer": "mail", "rule_id": RULE, "severity": "critical",
                             "title": "Old English title"}]}}
    text = render(_scan(options), "md", lang="fr", now=NOW)
    resolved = text[text.index("## Résolus depuis la référence"):]
    assert f"| Courriel | {_shipped().title.fr} |" in resolved.replace("\\", "")
    assert "Old English title" not in text


# -- layer names ---------------------------------------------------------------------------------


def test_markdown_and_html_show_layer_names_not_codes() -> None:
    scan = _scan({"lang": "fr"}, layer=Layer.THIRD_PARTY)
    md = render(scan, "md", lang="fr", now=NOW)
    assert "| Service web tiers |" in md and "| third-party |" not in md
    assert "(adresse, confiance 0,90)" in md  # decimal comma
    html = render(scan, "html", lang="fr", now=NOW)
    assert "<td>Service web tiers<td>" in html and ">third-party<" not in html
    en = render(scan, "md", lang="en", now=NOW)
    assert "| Third-party web service |" in en


def test_csv_keeps_codes_and_adds_readable_labels() -> None:
    text = render(_scan({"lang": "fr"}, layer=Layer.MAIL), "csv", lang="fr", now=NOW)
    row = next(csv.DictReader(io.StringIO(text, newline="")))
    assert (row["layer"], row["layer_label"]) == ("mail", "Courriel")
    assert (row["severity"], row["severity_label"]) == ("critical", "Critique")
    en = render(_scan({"lang": "fr"}, layer=Layer.MAIL), "csv", lang="en", now=NOW)
    assert en.splitlines()[0] == text.splitlines()[0]  # column names never change


def test_sarif_message_names_the_layer_and_properties_keep_the_code() -> None:
    sarif = json.loads(render(_scan({"lang": "fr"}, layer=Layer.MAIL), "sarif", lang="fr",
                              now=NOW))
    result = sarif["runs"][0]["results"][0]
    assert "Courriel" in result["message"]["text"]
    assert result["properties"]["layer"] == "mail"
