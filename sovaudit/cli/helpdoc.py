"""``--help`` that reads like a manual: real metavars and, for ``scan``, options in panels.

Applied once to the Click command tree Typer builds (:func:`polish`), so the command modules keep
their signatures short and every command gets the same names for the same kind of value:
``--timeout SECONDS``, ``--resolver IP[:PORT]``, a flag with no placeholder at all (Typer alone
prints ``<bool>``, ``<list[str]>`` or ``<float range>``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["METAVARS", "SCAN_PANELS", "polish"]

# Option -> metavar, whatever the command (the same option means the same thing everywhere).
METAVARS = {
    "--asn-source": "SOURCE",
    "--baseline": "PREVIOUS.json",
    "--concurrency": "N",
    "--config": "FILE",
    "--date": "YYYY-MM-DD",
    "--fail-on": "SEVERITY",
    "--fail-on-new": "SEVERITY",
    "--format": "FORMAT",
    "--from": "FILE|URL",
    "--history": "FILE.sqlite",
    "--inventory": "FILE",
    "--lang": "fr|en",
    "--layer": "LAYER",
    "--org": "ID",
    "--output": "PATH",
    "--probe": "PROBE",
    "--profile": "NAME",
    "--rdap-url": "URL",
    "--resolver": "IP[:PORT]",
    "--resume": "PARTIAL.json",
    "--retries": "N",
    "--rules": "PATH",
    "--shard": "K/N",
    "--skip-rule": "ID",
    "--stream": "FILE.jsonl",
    "--timeout": "SECONDS",
    "--version": "VERSION",
}

# The panels of `sovaudit scan --help`, in the order they are printed.
SCAN_PANELS = {
    "Input": ("--shard", "--resume"),
    "Network": (
        "--resolver", "--timeout", "--retries", "--concurrency", "--asn-source", "--rdap-url",
        "--no-cache", "--probe", "--cluster",
        "--partition-targets",
    ),
    "Rules": ("--rules", "--no-default-rules", "--skip-rule", "--profile"),
    "Output": ("--output", "--format", "--lang", "--stream", "--history", "--quiet"),
    "CI": ("--fail-on", "--fail-on-new", "--baseline", "--strict"),
}
_PANELS = {"scan": SCAN_PANELS}


def _no_type(ctx: Any = None) -> None:
    return None


def _flags_without_type() -> None:
    """Flags (``--strict``, ``--help``) show no ``<bool>``: they take no value.

    ``--help`` is made by Click at help time, out of :func:`polish`'s reach, hence this one
    change to Typer's option class (idempotent).
    """
    from typer.core import TyperOption

    if getattr(TyperOption, "_sovaudit_flags", False):
        return
    original = TyperOption.display_type_rich

    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) and not getattr(self, "count", False):
            return None
        result: str | None = original(self, ctx)
        return result

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    TyperOption._sovaudit_flags = True  # type: ignore[attr-defined]


def polish(command: Any, path: tuple[str, ...] = (), *, lang: str = "en") -> None:
    """Set metavars and help panels on ``command`` and every subcommand (in place); with
    ``lang="fr"``, the help texts in French where :mod:`sovaudit.cli.help_fr` has them."""
    _flags_without_type()
    if lang == "fr":
        from sovaudit.cli.help_fr import COMMANDS_FR, apply_typer_words

        apply_typer_words()
        french = COMMANDS_FR.get(" ".join(path))
        if french is not None:
            command.help = french
            command.short_help = None
        _french_help_option(command)
    order = list(_PANELS.get(" ".join(path), {}))
    panels = {
        option: panel
        for panel, options in _PANELS.get(" ".join(path), {}).items()
        for option in options
    }
    for param in getattr(command, "params", ()):
        if param.param_type_name == "argument":
            if param.metavar is None:
                name = param.name.upper().replace("_", "-")
                param.metavar = f"{name}..." if param.nargs != 1 else name
            # The name says what it is; Typer would add "<str>" or "<path>" beside it.
            param.display_type_rich = _no_type
            if lang == "fr":
                _french(param)
            continue
        longs = [o for o in param.opts if o.startswith("--")]
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            param.metavar = ""  # a flag takes no value: no placeholder
        elif param.metavar is None and longs and longs[0] in METAVARS:
            param.metavar = METAVARS[longs[0]]
        if longs and longs[0] in panels:
            param.rich_help_panel = panels[longs[0]]
        elif panels and longs and longs[0] not in ("--help",):
            param.rich_help_panel = "Input"
        if lang == "fr":
            _french(param)
    if lang == "fr":
        from sovaudit.cli.help_fr import PANELS_FR

        order = [PANELS_FR.get(p, p) for p in order]
    if order:
        # Panels print in the order their first option appears: put them in the panels' order.
        def rank(param: Any) -> int:
            panel = getattr(param, "rich_help_panel", None)
            return order.index(panel) if panel in order else -1

        command.params.sort(key=rank)
    for name, sub in getattr(command, "commands", {}).items():
        polish(sub, (*path, name), lang=lang)


def _french_help_option(command: Any) -> None:
    """Click makes ``--help`` when it prints the help: translate it then."""
    from sovaudit.cli.help_fr import OPTIONS_FR

    original = command.get_help_option

    def get_help_option(ctx: Any) -> Any:
        option = original(ctx)
        if option is not None and option.help in OPTIONS_FR:
            option.help = OPTIONS_FR[option.help]
        return option

    command.get_help_option = get_help_option


def _french(param: Any) -> None:
    from sovaudit.cli.help_fr import OPTIONS_FR, PANELS_FR

    if param.help in OPTIONS_FR:
        param.help = OPTIONS_FR[param.help]
    panel = getattr(param, "rich_help_panel", None)
    if panel in PANELS_FR:
        param.rich_help_panel = PANELS_FR[panel]
