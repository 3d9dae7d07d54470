"""Messages of the command line in English and French.

The language is the one of ``--lang`` when a command has it, else LC_ALL / LC_MESSAGES / LANG
(:func:`sovaudit.i18n.detect_lang`). Report texts live in :mod:`sovaudit.i18n`; these are the
lines the command line itself prints on standard error.
"""

from __future__ import annotations

from sovaudit.i18n import LANGS, detect_lang

__all__ = ["MESSAGES", "cli_lang", "msg", "set_cli_lang"]

MESSAGES: dict[str, dict[str, str]] = {
    "error": {"en": "error:", "fr": "erreur :"},
    "warning": {"en": "warning:", "fr": "avertissement :"},
    "causes_findings": {
        "en": "Exit 1: {count} finding(s) at or above {limit}",
        "fr": "Code 1 : {count} constat(s) au niveau {limit} ou au-dessus",
    },
    "causes_unknown": {
        "en": "Exit 3 (--strict): {count} endpoint(s) unknown",
        "fr": "Code 3 (--strict) : {count} point(s) d'accès inconnu(s)",
    },
    "and_more": {"en": "... and {count} more", "fr": "... et {count} de plus"},
    "col_severity": {"en": "severity", "fr": "gravité"},
    "col_status": {"en": "status", "fr": "statut"},
    "col_rule": {"en": "rule", "fr": "règle"},
    "col_layer": {"en": "layer", "fr": "couche"},
    "col_endpoint": {"en": "endpoint", "fr": "point d'accès"},
    "col_host": {"en": "host", "fr": "hôte"},
    "col_org": {"en": "organization", "fr": "organisme"},
    "col_why": {"en": "why", "fr": "pourquoi"},
    "new": {"en": "(new)", "fr": "(nouveau)"},
    "summary": {
        "en": "{endpoints} endpoints: {ok} ok, {unknown} unknown, {skipped} skipped",
        "fr": "{endpoints} points d'accès : {ok} ok, {unknown} inconnus, {skipped} ignorés",
    },
    "summary_internal": {
        "en": "{count} with internal errors",
        "fr": "{count} avec erreurs internes",
    },
    "summary_findings": {"en": "findings: {counts}", "fr": "constats : {counts}"},
    "summary_no_findings": {"en": "no findings", "fr": "aucun constat"},
    "wrote": {"en": "wrote {path}", "fr": "écrit : {path}"},
    "writing_reports": {"en": "writing reports", "fr": "écriture des rapports"},
    "resolving": {"en": "resolving", "fr": "résolution"},
    "baseline_counts": {
        "en": "against the baseline: {new} new, {resolved} resolved",
        "fr": "par rapport à la référence : {new} nouveaux, {resolved} résolus",
    },
    "format_contradicts": {
        "en": "--format {fmt} contradicts -o {path} (a .{ext} file); "
        "use -o with a .{want} name, or -o DIR for several formats",
        "fr": "--format {fmt} contredit -o {path} (un fichier .{ext}) ; "
        "donnez à -o un nom en .{want}, ou un répertoire pour plusieurs formats",
    },
    "missing_shards": {
        "en": "{message} (exit 3 under --strict)",
        "fr": "{message} (code 3 avec --strict)",
    },
    "resolvers_dead": {
        "en": "no resolver answers: {resolvers}",
        "fr": "aucun résolveur ne répond : {resolvers}",
    },
    "resolvers_dropped": {
        "en": "resolver(s) not answering, not used: {resolvers}",
        "fr": "résolveur(s) muet(s), non utilisé(s) : {resolvers}",
    },
    "did_you_mean": {"en": "did you mean {ids}?", "fr": "vouliez-vous dire {ids} ?"},
    "unknown_rule": {
        "en": "unknown rule id {rule!r}",
        "fr": "identifiant de règle inconnu {rule!r}",
    },
    "merged": {
        "en": "merged {files} files: {endpoints} endpoints",
        "fr": "{files} fichiers fusionnés : {endpoints} points d'accès",
    },
    "partial": {"en": " (partial)", "fr": " (partiel)"},
    "more_errors": {
        "en": "more errors not shown: fix these {count} first",
        "fr": "d'autres erreurs ne sont pas affichées : corrigez d'abord ces {count}",
    },
    "interrupted": {
        "en": "interrupted: partial evidence written; continue with --resume",
        "fr": "interrompu : preuve partielle écrite ; reprenez avec --resume",
    },
    "merge_incomplete": {
        "en": "exit 3 (--strict): the merged results are incomplete: missing {what}",
        "fr": "code 3 (--strict) : la fusion est incomplète : il manque {what}",
    },
    "partial_part": {
        "en": "the end of an interrupted part",
        "fr": "la fin d'une partie interrompue",
    },
}

_override: str | None = None


def set_cli_lang(lang: str | None) -> None:
    """Make ``lang`` (a command's ``--lang``) the language of the messages that follow."""
    global _override
    _override = lang if lang in LANGS else None


def cli_lang() -> str:
    """The language of command-line messages: ``--lang`` when given, else the locale."""
    return _override or detect_lang()


def msg(key: str, lang: str | None = None, **fields: object) -> str:
    """Message ``key`` in ``lang`` (default: :func:`cli_lang`), formatted with ``fields``."""
    text = MESSAGES[key][lang or cli_lang()]
    return text.format(**fields) if fields else text
