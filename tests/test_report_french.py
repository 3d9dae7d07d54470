"""A French report of the demo holds no English sentence of ours (issue 24).

The committed demo reports (kept current by test_reports_up_to_date) are read as they are
shared. Inventory names ("Santé Exemple (fictional health agency)"), host names, rule ids,
DNS record text and dataset names are data, not our sentences, and are not checked.
"""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest

from sovaudit.attribute.engine import UNKNOWN_REASONS
from sovaudit.i18n import NNBSP, STRINGS
from sovaudit.report.phrases import ENDPOINT_REASONS, FLAG_LABELS, FLAG_PREFIXES, STEP_VALUES

REPORTS = Path(__file__).parent.parent / "reports"

# What the issue saw in the French demo, verbatim.
SEEN_IN_ISSUE = (
    "no A or AAAA record", "null MX (RFC 7505)", "is not in the provider registry",
    "reserved top-level domain", "matches no provider pattern", "(weight ", "(resolver ",
    "but the inventory lists", "Sommaire", " des 2 services", "Propriété: private",
    "`gateway`", "`unverified`", "`chain:CA`", "Québec (public) (CA-QC)",
)


def _fragments(template: str) -> list[str]:
    """The fixed parts of an English template that are long enough to be a sentence of ours."""
    return [p.strip() for p in re.split(r"\{\w+\}", template) if len(p.strip()) >= 12]


def _english_sentences() -> set[str]:
    out: set[str] = set()
    for table in (ENDPOINT_REASONS, STEP_VALUES):
        for en in table:
            out.update(_fragments(en))
    for entry in (*UNKNOWN_REASONS.values(), *FLAG_LABELS.values(), *FLAG_PREFIXES.values()):
        out.update(_fragments(entry["en"]))
    for entry in STRINGS.values():
        if entry["en"] != entry["fr"]:
            out.update(_fragments(entry["en"]))
    return out


@pytest.fixture(scope="module", params=["demo.fr.md", "demo.fr.html"])
def french(request: pytest.FixtureRequest) -> str:
    text = (REPORTS / request.param).read_text(encoding="utf-8")
    text = re.sub(r"<(style|script)>.*?</\1>", "", text, flags=re.DOTALL)  # code, not prose
    return htmllib.unescape(text).replace("\\", "")  # Markdown escapes, HTML entities


def test_no_english_sentence_of_ours_reaches_the_french_demo(french: str) -> None:
    found = sorted(s for s in _english_sentences() | set(SEEN_IN_ISSUE) if s in french)
    assert found == []


def test_french_typography(french: str) -> None:
    # A narrow no-break space before : ; ? ! in our sentences; never a plain space.
    assert not re.search(r"[a-zé\)] [:;?!](?=\s)", french)
    assert "Synthèse" in french and f"Motif{NNBSP}:" in french
    assert "services sur " in french
    assert re.search(r"confiance 0,\d\d", french) and not re.search(r"confiance 0\.\d\d", french)


def test_reasons_and_flags_are_french(french: str) -> None:
    for sentence in ("aucun enregistrement A ni AAAA", "MX nul (RFC 7505)",
                     "n'est pas dans le registre des fournisseurs",
                     "domaine de premier niveau réservé .example (RFC 6761)",
                     "passerelle (lit le trafic en clair)", "propriété non vérifiée",
                     "chaîne de propriété par CA", "(poids 1)"):
        assert sentence in french, sentence
