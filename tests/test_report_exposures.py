"""The demo report counts exposures, not rule hits, and its figures hold by hand count."""

from __future__ import annotations

from pathlib import Path

from sovaudit.evaluate.home import HOMES
from sovaudit.evidence.exposure import GOOD_OUTCOME_RULES
from sovaudit.report.summary import natural_key

REPORTS = Path(__file__).parent.parent / "reports"


def _section(text: str, start: str, end: str) -> list[str]:
    part = text[text.index(start):text.index(end)]
    return [x for x in part.splitlines() if x.startswith("| ") and not x.startswith("| --")][1:]


def test_demo_exposures_by_hand_count() -> None:
    md = (REPORTS / "demo.en.md").read_text(encoding="utf-8")
    rows = _section(md, "## Exposures", "## Who the providers are")
    # 118 rule hits on 15 foreign-controlled endpoints become 19 rows: one per endpoint and
    # controlling party (sante.example mail has two: the Proofpoint gateway and the Microsoft
    # mailboxes; Azure and Azure Front Door on one page are one exposure to Microsoft).
    assert len(rows) == 19
    keys = [tuple(c.strip() for c in r.split("|")[2:6]) for r in rows]
    assert len(keys) == len(set(keys)), "one row per endpoint and controlling party"
    assert sum(" | `sante.example` | Email |" in r for r in rows) == 2
    assert "The 118 rule-level findings are in the JSON, CSV and SARIF reports." in md
    # Good outcomes are not findings: none of their rules is in the exposures table.
    assert not any(rule in r for r in rows for rule in GOOD_OUTCOME_RULES)
    good = _section(md, "## Good outcomes", "## Organizations at a glance")
    assert len(good) == 14 and all("Canada (CA)" in r or "(CA-QC)" in r for r in good)


def test_demo_provider_ranking_by_hand_count() -> None:
    md = (REPORTS / "demo.en.md").read_text(encoding="utf-8")
    parents = _section(md, "### Ultimate parents", "### Operators")
    # Microsoft: revenu.example (mail, DNS), Santé's portal and sante.example (web, mail) and
    # the university's mail: 4 services of 3 organizations, 6 endpoints.
    assert parents[0] == ("| 1 | Microsoft Corporation | United States (US) | United States | "
                          "4 | 3 | 6 |")
    assert len(parents) == 12
    # Organizations sorted by exposure (worst severity, number of exposures, endpoints under
    # foreign control), then name: Revenu and Santé both have 5 critical-led exposures, Revenu
    # has 5 foreign-controlled endpoints to Santé's 4.
    orgs = _section(md, "### Foreign control by organization", "## Legal bases")
    names = [r.split("|")[1].strip() for r in orgs]
    assert names[:2] == ["Revenu Exemple (fictional tax agency)",
                         "Santé Exemple (fictional health agency)"]
    assert names[-1] == "Ville Exemple (fictional municipality)"


def test_natural_sort_and_homes() -> None:
    names = ["Organisation 10", "Organisation 2", "organisation 1", "Organisation 100"]
    assert sorted(names, key=natural_key) == ["organisation 1", "Organisation 2",
                                              "Organisation 10", "Organisation 100"]
    assert set(HOMES) == {"quebec", "canada", "france", "switzerland", "eu"}
