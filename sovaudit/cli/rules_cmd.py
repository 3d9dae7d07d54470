"""``sovaudit rules``: list, show and validate the legal rule packs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from sovaudit.cli.app import app
from sovaudit.cli.common import error, out_console, safe, safe_block
from sovaudit.errors import ExitCode, RuleError, UserError
from sovaudit.evaluate.loader import (
    DEFAULT_PROFILE,
    PROFILES,
    Rule,
    RuleSet,
    get_profile,
    load_pack,
    load_rules,
    shipped_pack_paths,
)
from sovaudit.i18n import check_lang

rules_app = typer.Typer(
    name="rules",
    help="List, show and validate the legal rule packs / Règles juridiques : lister, "
    "afficher, valider.",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")

ExtraRules = Annotated[
    list[Path] | None,
    typer.Option("--rules", help="Extra rule pack (YAML file or directory); repeatable."),
]
NoDefault = Annotated[
    bool, typer.Option("--no-default-rules", help="Use only the packs given with --rules.")
]
Lang = Annotated[str, typer.Option("--lang", help="Language of titles and rationales: fr or en.")]
ProfileOpt = Annotated[
    str | None,
    typer.Option(
        "--profile",
        metavar="NAME",
        help=f"Legal context that selects the shipped packs: {', '.join(PROFILES)} "
        f"(default: {DEFAULT_PROFILE}; docs/profiles.md).",
    ),
]




def rule_summary(rule: Rule) -> dict[str, Any]:
    """A rule as plain JSON data (both languages), for ``rules list --json``."""
    return {
        "id": rule.id,
        "title": {"fr": rule.title.fr, "en": rule.title.en},
        "rationale": {"fr": rule.rationale.fr, "en": rule.rationale.en},
        "severity": rule.severity.value,
        "by_data_class": {k: v.value for k, v in rule.severity_by_data_class},
        "layers": sorted(rule.layers) if rule.layers is not None else None,
        "scope": "endpoint" if rule.endpoint_only else "attribution",
        "references": [
            {"title": {"fr": r.title.fr, "en": r.title.en}, "url": r.url}
            for r in rule.references
        ],
        "reviewed": rule.reviewed.isoformat(),
        "pack": rule.pack,
        "source": f"{rule.source}:{rule.line}",
        "when": rule.when,
    }


def _load(extra: list[Path] | None, no_default: bool, profile: str | None = None) -> RuleSet:
    return load_rules(tuple(extra or ()), include_default=not no_default, profile=profile)


@rules_app.command("list")
def list_rules(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    lang: Lang = "en",
    rules: ExtraRules = None,
    no_default_rules: NoDefault = False,
    profile: ProfileOpt = None,
) -> None:
    """List every rule of a profile: id, default severity and title (packs in the caption).

    Example: sovaudit rules list --profile eu --lang fr
    """
    check_lang(lang)
    ruleset = _load(rules, no_default_rules, profile)
    if as_json:
        # Plain print: JSON must reach stdout byte for byte, without Rich wrapping.
        typer.echo(json.dumps([rule_summary(r) for r in ruleset.rules], indent=2,
                              ensure_ascii=False))
        return
    # Layers, references and conditions are in `rules show` and --json: 80 columns fit 3 here.
    chosen = get_profile(profile)
    table = Table(
        title=f"{len(ruleset.rules)} rules / règles — profile / profil {chosen.name}",
        caption=("packs : " if lang == "fr" else "packs: ")
        + ", ".join(p.source for p in ruleset.packs),
    )
    table.add_column("id", style="bold", no_wrap=True)
    table.add_column("severity" if lang == "en" else "sévérité", no_wrap=True)
    table.add_column("title" if lang == "en" else "titre", overflow="fold")
    from sovaudit.cli.style import severity_style

    for r in ruleset.rules:
        sev = r.severity.value
        table.add_row(safe(r.id), f"[{severity_style(sev)}]{sev}[/]", safe(r.title.get(lang)))
    out_console.print(table)


@rules_app.command("show")
def show_rule(
    rule_id: Annotated[
        str, typer.Argument(metavar="ID", help="Rule id, e.g. US-CLOUD-ACT-HOSTING.")
    ],
    lang: Lang = "en",
    rules: ExtraRules = None,
    no_default_rules: NoDefault = False,
    profile: ProfileOpt = None,
) -> None:
    """Show one rule: title, rationale, references, severity, layers and condition.

    Example: sovaudit rules show US-CLOUD-ACT-HOSTING --lang fr
    """
    check_lang(lang)
    ruleset = _load(rules, no_default_rules, profile)
    from sovaudit.evaluate.ruleids import canonical_id, suggestions

    ids = [r.id for r in ruleset.rules]
    rule = ruleset.get(canonical_id(rule_id, ids) or rule_id)
    if rule is None:
        elsewhere = [
            name for name in PROFILES
            if name != get_profile(profile).name
            and canonical_id(rule_id, (r.id for r in load_rules(profile=name).rules))
        ]
        hint = f"; it is in profile {', '.join(elsewhere)}" if elsewhere else ""
        close = suggestions(rule_id, ids)
        if close:
            hint += f"; did you mean {', '.join(close)}?"
        raise UserError(
            f"unknown rule id {rule_id!r}{hint} ('sovaudit rules list' lists the {len(ids)} ids)"
        )
    fr = lang == "fr"
    out_console.print(f"[bold]{safe(rule.id)}[/] — {safe(rule.title.get(lang))}")
    out_console.print()
    out_console.print(safe_block(rule.rationale.get(lang)))
    out_console.print()
    by_class = ", ".join(f"{k}: {v.value}" for k, v in rule.severity_by_data_class)
    severity = rule.severity.value + (f" ({by_class})" if by_class else "")
    layers = ", ".join(sorted(rule.layers)) if rule.layers is not None else (
        "toutes" if fr else "all"
    )
    rows = [
        ("Sévérité" if fr else "Severity", severity),
        ("Couches" if fr else "Layers", layers),
        ("Portée" if fr else "Scope", _scope(rule, fr)),
        ("Révisée le" if fr else "Reviewed", rule.reviewed.isoformat()),
        ("Fichier" if fr else "Source", f"{rule.source}:{rule.line}"),
    ]
    # French typography puts a space before the colon.
    colon = " :" if fr else ":"
    for label, value in rows:
        out_console.print(f"[bold]{label}{colon}[/] {safe(value)}")
    out_console.print(f"[bold]{'Références' if fr else 'References'}{colon}[/]")
    for ref in rule.references:
        url = f" <{ref.url}>" if ref.url else ""
        out_console.print(f"  - {safe(ref.title.get(lang))}{safe(url)}")
    out_console.print(f"[bold]Condition{colon}[/]")
    text = yaml.safe_dump(rule.when, allow_unicode=True, sort_keys=False, width=96)
    out_console.print(safe_block(text.rstrip()), soft_wrap=True)


def _scope(rule: Rule, fr: bool) -> str:
    if rule.endpoint_only:
        return "une fois par point d'accès" if fr else "once per endpoint"
    return "par attribution" if fr else "per attribution"


@rules_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Rule pack files.")],
    no_default_rules: Annotated[
        bool,
        typer.Option(
            "--no-default-rules",
            help="Do not check rule ids against the shipped packs for duplicates.",
        ),
    ] = False,
) -> None:
    """Validate rule pack files: syntax, facts, operators, translations, severities, dates, ids.

    Each file is checked on its own (every error is reported, as FILE:LINE: message), then all of
    them together with every shipped pack (of any profile) for duplicate rule ids. Exit code 2 on
    any error.

    Example: sovaudit rules validate my-rules.yaml
    """
    failed = 0
    for path in files:
        try:
            pack, rules = load_pack(path)
        except RuleError as exc:
            error(str(exc))
            failed += 1
            continue
        out_console.print(f"ok {safe(path)}: {len(rules)} rule(s) in pack {safe(pack.id)}")
    if not failed:
        try:
            # Against every shipped pack: a custom rule must not clash under any profile.
            shipped = [] if no_default_rules else shipped_pack_paths()
            load_rules([*shipped, *files], include_default=False)
        except RuleError as exc:
            error(str(exc))
            failed += 1
    if failed:
        raise typer.Exit(ExitCode.ERROR)
