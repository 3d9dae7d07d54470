"""Report API shared by every format: format choice, atomic writes, languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sovaudit import i18n
from sovaudit.errors import UserError
from sovaudit.evidence.read import read_evidence
from sovaudit.report import FORMATS, REGISTRY, format_from_path, render, write_reports
from sovaudit.report.escape import md_code, safe_url, visible

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
SRC = Path(__file__).parent.parent / "sovaudit"


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("r.md", "md"), ("R.MARKDOWN", "md"), ("r.html", "html"), ("r.htm", "html"),
        ("r.json", "json"), ("r.csv", "csv"), ("r.sarif", "sarif"), ("r.sarif.json", "sarif"),
        ("r.txt", None), ("report", None),
    ],
)
def test_format_from_path(name: str, fmt: str | None) -> None:
    assert format_from_path(Path(name)) == fmt


def test_every_registered_format_renders_and_is_chosen_by_its_suffixes() -> None:
    scan = read_evidence(SAMPLE)
    assert FORMATS == tuple(REGISTRY) == ("md", "html", "json", "csv", "sarif")
    for name, fmt in REGISTRY.items():
        assert fmt.name == name
        assert all(format_from_path(Path(f"r{suffix}")) == name for suffix in fmt.suffixes)
        text = render(scan, name, lang="en", now=NOW)
        assert text.endswith("\n") and len(text) > 500, name


def test_one_format_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "audit.md"
    assert write_reports(read_evidence(SAMPLE), ["md"], out, lang="fr", now=NOW) == [out]
    assert out.read_text(encoding="utf-8").startswith("# Rapport de souveraineté des données\n")
    assert sorted(p.name for p in out.parent.iterdir()) == ["audit.md"]  # no temp file left
    assert out.stat().st_mode & 0o777 == 0o644
    out.chmod(0o600)
    write_reports(read_evidence(SAMPLE), ["md"], out, lang="en", now=NOW)
    assert out.stat().st_mode & 0o777 == 0o600  # an existing file keeps its permissions
    assert out.read_text(encoding="utf-8").startswith("# Data sovereignty report\n")


def test_several_formats_to_a_directory(tmp_path: Path) -> None:
    scan = read_evidence(SAMPLE)
    out = tmp_path / "reports"
    written = write_reports(scan, list(FORMATS), out, lang="en", now=NOW)
    assert [p.name for p in written] == [f"report.{f}" for f in FORMATS]
    for fmt, path in zip(FORMATS, written, strict=True):
        assert path.read_bytes() == render(scan, fmt, lang="en", now=NOW).encode("utf-8")
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)


def test_one_format_into_an_existing_or_extensionless_directory(tmp_path: Path) -> None:
    scan = read_evidence(SAMPLE)
    assert write_reports(scan, ["csv"], tmp_path, lang="en", now=NOW) == [tmp_path / "report.csv"]
    assert write_reports(scan, ["md"], tmp_path / "out", lang="en", now=NOW) == [
        tmp_path / "out" / "report.md"
    ]


def test_overwrite_replaces_the_whole_file(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    out.write_text("x" * 100_000, encoding="utf-8")
    write_reports(read_evidence(SAMPLE), ["csv"], out, lang="en", now=NOW)
    assert out.read_text(encoding="utf-8").startswith("organization,")
    assert "x" * 10 not in out.read_text(encoding="utf-8")


def test_no_output_writes_nothing(tmp_path: Path) -> None:
    assert write_reports(read_evidence(SAMPLE), ["md"], None, lang="en", now=NOW) == []


def test_errors(tmp_path: Path) -> None:
    scan = read_evidence(SAMPLE)
    with pytest.raises(UserError, match="unknown report format 'pdf'"):
        write_reports(scan, ["pdf"], tmp_path / "x", lang="en", now=NOW)
    with pytest.raises(UserError, match="unknown report format 'pdf'"):
        render(scan, "pdf", lang="en", now=NOW)
    a_file = tmp_path / "file.md"
    a_file.write_text("", encoding="utf-8")
    with pytest.raises(UserError, match="several formats need a directory"):
        write_reports(scan, ["md", "html"], a_file, lang="en", now=NOW)
    with pytest.raises(ValueError, match="unknown language 'de'"):
        render(scan, "md", lang="de", now=NOW)


def test_every_string_exists_in_both_languages() -> None:
    tables = [i18n.STRINGS, i18n.SEVERITY_LABELS, i18n.DATA_CLASS_PHRASES,
              i18n.DATA_CLASS_LABELS, i18n.JURISDICTION_LABELS, i18n.STATUS_LABELS,
              i18n.EXPLAIN_LABELS]
    for table in tables:
        for key, texts in table.items():
            assert set(texts) == set(i18n.LANGS), key
            assert all(texts[lang].strip() for lang in i18n.LANGS), key
            fields = {lang: set(re.findall(r"{(\w+)}", texts[lang])) for lang in i18n.LANGS}
            assert fields["fr"] == fields["en"], key


def test_every_key_used_by_the_renderers_exists() -> None:
    used: set[str] = set()
    for path in [*(SRC / "report").glob("*.py"), *(SRC / "report" / "templates").glob("*.j2")]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\(\s*[\"'](\w+)[\"']", text))
    assert used and used <= set(i18n.STRINGS), used - set(i18n.STRINGS)


@pytest.mark.parametrize(
    ("env", "lang"),
    [
        ({}, "en"),
        ({"LANG": "fr_CA.UTF-8"}, "fr"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "en"),
        ({"LANG": "C"}, "en"),
        ({"LC_ALL": "fr_FR", "LANG": "en_US"}, "fr"),
        ({"LC_ALL": "", "LC_MESSAGES": "fr_CA", "LANG": "en_CA"}, "fr"),
        ({"LC_ALL": "en_CA.UTF-8", "LANG": "fr_CA.UTF-8"}, "en"),
    ],
)
def test_detect_lang(env: dict[str, str], lang: str) -> None:
    assert i18n.detect_lang(env) == lang


def test_visible_and_code_spans() -> None:
    assert visible("a\x1b[31m\nb\u202ec") == "a\u241b[31m\u240ab\ufffdc"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x`") == "`` `x` ``"
    assert md_code("a|b") == "`a\\|b`"
    assert md_code("") == "\u2014"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.law.cornell.edu/uscode/text/18/2713", True),
        ("http://example.org/a?b=c#d", True),
        ("javascript:alert(1)", False),
        ("https://x.org/\"><script>", False),
        ("https://x.org/a b", False),
        ("data:text/html,<script>", False),
        (None, False),
    ],
)
def test_safe_url(url: str | None, ok: bool) -> None:
    assert safe_url(url) == (url if ok else None)
