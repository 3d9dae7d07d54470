"""Rule ids as people type them: matched case-insensitively, with "did you mean" on a typo."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["canonical_id", "suggestions"]


def canonical_id(text: str, ids: Iterable[str]) -> str | None:
    """The id of ``ids`` that ``text`` names, whatever its case (None when none does)."""
    known = list(ids)
    if text in known:
        return text
    folded = text.strip().casefold()
    return next((i for i in known if i.casefold() == folded), None)


def suggestions(text: str, ids: Iterable[str], n: int = 3) -> list[str]:
    """The closest ids to ``text`` (a typo, a missing prefix), best first, at most ``n``."""
    by_fold = {i.casefold(): i for i in ids}
    folded = text.strip().casefold()
    close = difflib.get_close_matches(folded, list(by_fold), n=n, cutoff=0.6)
    if not close:
        # "cloud-act-mail" for "US-CLOUD-ACT-MAIL": a part of an id is a good hint too.
        close = [f for f in by_fold if folded and folded in f][:n]
    return [by_fold[c] for c in close]
