"""The one-line answer of ``sovaudit lookup``, printed before (or, with ``--brief``, instead
of) the tables: "www.x -> Microsoft Azure -> Microsoft Corporation (US), via CNAME ... and AS8075".
"""

from __future__ import annotations

from collections.abc import Sequence

from sovaudit.cli.common import safe
from sovaudit.cli.style import styled_jurisdiction
from sovaudit.i18n import t
from sovaudit.models import Attribution, Status

__all__ = ["answer_line"]

_WORDS = {
    "via": {"en": "via", "fr": "par"},
    "and": {"en": "and", "fr": "et"},
    "no_parent": {"en": "ultimate parent unknown", "fr": "société mère inconnue"},
}


def _word(key: str, lang: str) -> str:
    return _WORDS[key][lang]


def answer_line(query: str, attributions: Sequence[Attribution], lang: str) -> str:
    """One Rich-markup line: who operates ``query``, who controls it, under which law, via what.

    Attributions that name the same operator, parent and jurisdiction are one answer; distinct
    answers (a CDN in front of a cloud) are joined with "; ". Unknown ones give their reason.
    """
    # (parent or operator, jurisdiction) -> (operators, via): a CDN and a cloud of one group
    # are one answer, as the reader cares about who controls the data and under which law.
    groups: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    reasons: list[str] = []
    for at in attributions:
        operator = at.operator_name or at.operator
        if at.status is not Status.OK or not operator:
            if at.reason and at.reason not in reasons:
                reasons.append(at.reason)
            continue
        key = (at.ultimate_parent or f"\0{operator}", at.jurisdiction or "")
        operators, via = groups.setdefault(key, ([], []))
        if operator not in operators:
            operators.append(operator)
        step = _via(at)
        if step and step not in via:
            via.append(step)
    head = safe(query.strip())
    if not groups:
        reason = "; ".join(reasons) or t("unknown", lang)
        return f"{head} -> [magenta]{safe(t('unknown', lang))}[/] ({safe(reason)})"
    answers = []
    for (parent, jurisdiction), (operators, via) in groups.items():
        owner = safe(_word("no_parent", lang)) if parent.startswith("\0") else safe(parent)
        text = f"{', '.join(safe(o) for o in operators)} -> {owner}"
        if jurisdiction:
            text += " (" + styled_jurisdiction(jurisdiction, safe(jurisdiction)) + ")"
        if via:
            shown = [safe(v) for v in via[:3]] + (["..."] if len(via) > 3 else [])
            joined = ", ".join(shown[:-1]) + f" {_word('and', lang)} " + shown[-1] if len(
                shown
            ) > 1 else shown[0]
            text += f", {_word('via', lang)} {joined}"
        answers.append(text)
    return f"{head} -> " + "; ".join(answers)


def _via(at: Attribution) -> str | None:
    """The evidence an attribution rests on, in a few words: "CNAME x.azurefd.net", "AS8075"."""
    if at.asn is not None:
        return f"AS{at.asn}"
    if at.role == "address" and at.address:
        return at.address
    if at.role in ("cname", "mx", "ns", "autodiscover", "spf", "spf-include"):
        return f"{at.role.upper() if at.role in ('cname', 'mx', 'ns') else at.role} {at.subject}"
    return at.subject
