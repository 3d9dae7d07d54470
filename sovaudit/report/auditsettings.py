"""Settings that change what an audit reports, stated at the top of every report (issue 21).

A configuration file in the audited repository can skip rules, add rule packs or change the
profile, turning a failing audit into a passing one. Whatever the format (Markdown, HTML, SARIF
run properties, a CSV header comment), a reader sees these settings before the results.
Nothing is added when the scan ran with the defaults, so ordinary reports do not change.
"""

from __future__ import annotations

from typing import Any

from sovaudit.models import Scan

__all__ = ["audit_settings", "audit_settings_lines"]

DEFAULT_PROFILE = "quebec"  # sovaudit.evaluate.loader.DEFAULT_PROFILE (not imported: no cycle)

_LABELS = {
    "skip_rules": {"en": "Rules skipped", "fr": "Règles écartées"},
    "rules": {"en": "Extra rule packs", "fr": "Règles supplémentaires"},
    "default_rules": {
        "en": "Shipped rule packs not loaded (--no-default-rules)",
        "fr": "Règles livrées non chargées (--no-default-rules)",
    },
    "profile": {"en": "Profile (not the default)", "fr": "Profil (autre que celui par défaut)"},
    "title": {
        "en": "Settings that change this audit",
        "fr": "Paramètres qui modifient cet audit",
    },
}


def audit_settings(scan: Scan) -> dict[str, Any]:
    """The non-default settings that change findings: skip_rules, rules, default_rules, profile."""
    options = scan.options or {}
    out: dict[str, Any] = {}
    skipped = [str(r) for r in options.get("skip_rules") or ()]
    if skipped:
        out["skip_rules"] = skipped
    packs = [str(p) for p in options.get("rules") or ()]
    if packs:
        out["rules"] = packs
    if options.get("default_rules") is False:
        out["default_rules"] = False
    profile = options.get("profile")
    if profile and profile != DEFAULT_PROFILE:
        out["profile"] = str(profile)
    return out


def audit_settings_lines(scan: Scan, lang: str) -> tuple[str, tuple[str, ...]]:
    """(title, one line per changed setting) in ``lang``; no lines when nothing changed."""
    lang = lang if lang in ("fr", "en") else "en"
    colon = " : " if lang == "fr" else ": "
    lines = []
    for key, value in audit_settings(scan).items():
        label = _LABELS[key][lang]
        if key == "default_rules":
            lines.append(label)
        else:
            text = ", ".join(value) if isinstance(value, list) else str(value)
            lines.append(f"{label}{colon}{text}")
    return _LABELS["title"][lang], tuple(lines)
