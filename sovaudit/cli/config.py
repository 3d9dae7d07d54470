"""The configuration file: defaults for the command-line options, with where each came from.

Read from ``--config FILE``, else ``$SOVAUDIT_CONFIG``, else ``./sovaudit.toml``, else the
``[tool.sovaudit]`` table of ``./pyproject.toml``; then ``SOVAUDIT_<KEY>`` environment variables
override single keys. Options given on the command line win over both: the values become click's
``default_map``, which is exactly "a default the user can still override".
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sovaudit.collect.dns import ResolverAddress
from sovaudit.errors import UserError
from sovaudit.i18n import LANGS

CONFIG_FILE = "sovaudit.toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = ("tool", "sovaudit")
ENV_FILE = "SOVAUDIT_CONFIG"
ENV_PREFIX = "SOVAUDIT_"
MAX_CONFIG_BYTES = 1024 * 1024
# Where the root callback leaves the loaded configuration for `sovaudit config show`.
CONFIG_META = "sovaudit.config"

_SEVERITIES = ("info", "low", "medium", "high", "critical")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class Key:
    """One configuration key: its type, the CLI parameter it feeds and its built-in default."""

    name: str
    kind: str  # "str", "int", "float", "bool" or "list"
    param: str  # the click parameter name (Python name) in every command that has it
    default: str  # how the CLI behaves when the key is not set, for `config show`
    check: Callable[[Any], str | None] = lambda _v: None  # an error message, or None if valid
    path_list: bool = False  # relative paths are taken from the configuration file's folder


def _within(low: float, high: float) -> Callable[[Any], str | None]:
    return lambda v: None if low <= v <= high else f"must be between {low:g} and {high:g}"


def _one_of(*allowed: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in allowed else f"must be one of {', '.join(allowed)}"


def _resolvers(values: Any) -> str | None:
    for v in values:
        try:
            ResolverAddress.parse(v)
        except UserError as exc:
            return f"has an invalid entry: {exc.message}"
    return None


KEYS: tuple[Key, ...] = (
    Key("resolvers", "list", "resolver", "the system's resolvers", _resolvers),
    Key("timeout", "float", "timeout", "2.0", _within(0.05, 60)),
    Key("retries", "int", "retries", "2", _within(0, 10)),
    Key("concurrency", "int", "concurrency", "256", _within(1, 10_000)),
    Key("lang", "str", "lang", "from LANG, else en", _one_of(*LANGS)),
    Key("rules", "list", "rules", "none (only the shipped packs)", path_list=True),
    Key("skip_rules", "list", "skip_rule", "none"),
    Key("fail_on", "str", "fail_on", "never", _one_of(*_SEVERITIES)),
    Key("strict", "bool", "strict", "false"),
)
KEYS_BY_NAME = {k.name: k for k in KEYS}

DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class Setting:
    """The effective value of one key and where it came from."""

    key: str
    value: Any  # None: not set, the command's own default applies
    source: str  # "default", a file path, or "environment (SOVAUDIT_LANG)"
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Config:
    """Every known key with its effective value; ``path`` is the file read, if any."""

    path: str | None
    settings: tuple[Setting, ...]
    # A file found by discovery but not read because CI=true and nothing opted in (issue 21).
    ignored: str | None = None

    def values(self) -> dict[str, Any]:
        """The keys that were set (by a file or the environment), by key name."""
        return {s.key: s.value for s in self.settings if s.source != DEFAULT}

    def setting(self, key: str) -> Setting:
        """The setting of one key (KeyError for a key sovaudit does not know)."""
        return next(s for s in self.settings if s.key == key)


def find_config_file(
    explicit: Path | None, *, cwd: Path, environ: Mapping[str, str]
) -> tuple[Path, tuple[str, ...]] | None:
    """The file to read and the table holding the keys (empty for sovaudit.toml), or None."""
    chosen = explicit
    if chosen is None and environ.get(ENV_FILE):
        chosen = Path(environ[ENV_FILE])
    if chosen is not None:
        if not chosen.is_file():
            where = "--config" if explicit is not None else ENV_FILE
            raise UserError(f"configuration file given by {where} does not exist", path=str(chosen))
        return chosen, PYPROJECT_TABLE if chosen.name == PYPROJECT else ()
    if (cwd / CONFIG_FILE).is_file():
        return cwd / CONFIG_FILE, ()
    pyproject = cwd / PYPROJECT
    # Read pyproject.toml only when it has our table: a project's broken pyproject.toml that
    # does not configure sovaudit must not break every sovaudit command run next to it.
    if pyproject.is_file() and "[tool.sovaudit]" in _read(pyproject):
        return pyproject, PYPROJECT_TABLE
    return None


def in_ci_without_opt_in(environ: Mapping[str, str], use_config: bool = False) -> bool:
    """True when ``CI`` is set and neither ``--use-config`` nor ``SOVAUDIT_CONFIG_IN_CI=1``.

    In CI the audited repository can hold a ``sovaudit.toml`` that skips rules or changes the
    resolvers: a file found by discovery is then read only on request.
    """
    truthy = ("1", "true", "yes")
    if use_config or environ.get(ENV_PREFIX + "CONFIG_IN_CI", "").strip().lower() in truthy:
        return False
    return environ.get("CI", "").strip().lower() in truthy


def load_config(
    explicit: Path | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
    use_config: bool = False,
) -> Config:
    """The effective configuration; UserError ``FILE:LINE: message`` on a bad key or value.

    A file found by discovery (not ``--config``, not ``$SOVAUDIT_CONFIG``) is not read in CI
    unless opted in (:func:`in_ci_without_opt_in`); :attr:`Config.ignored` names it.
    """
    env = dict(environ) if environ is not None else {}
    found = find_config_file(explicit, cwd=cwd or Path.cwd(), environ=env)
    ignored: str | None = None
    discovered = explicit is None and not env.get(ENV_FILE)
    if found is not None and discovered and in_ci_without_opt_in(env, use_config):
        ignored, found = str(found[0]), None
    file_values: dict[str, tuple[Any, int | None]] = {}
    path: str | None = None
    if found is not None:
        file, table = found
        path = str(file)
        file_values = parse_config_text(_read(file), path=path, table=table, base=file.parent)
    settings = []
    for key in KEYS:
        env_name = ENV_PREFIX + key.name.upper()
        if env_name in env:
            value = _from_env(key, env[env_name], env_name)
            settings.append(Setting(key.name, value, f"environment ({env_name})"))
        elif key.name in file_values:
            value, line = file_values[key.name]
            settings.append(Setting(key.name, value, path or "", line))
        else:
            settings.append(Setting(key.name, None, DEFAULT))
    return Config(path, tuple(settings), ignored)


def parse_config_text(
    text: str, *, path: str, table: tuple[str, ...] = (), base: Path | None = None
) -> dict[str, tuple[Any, int | None]]:
    """Validate a configuration file's text; returns each key's value and line."""
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise UserError(
            f"not valid TOML: {message}", path=path, line=int(m.group(1)) if m else None
        ) from None
    for name in table:
        data = data.get(name, {}) if isinstance(data, dict) else {}
    if not isinstance(data, dict):
        raise UserError(f"[{'.'.join(table)}] must be a table", path=path)
    section = ".".join(table) or None
    out: dict[str, tuple[Any, int | None]] = {}
    for name, raw in data.items():
        line = key_line(text, name, section)
        key = KEYS_BY_NAME.get(name)
        if key is None:
            raise UserError(
                f"unknown key {name!r} (valid: {', '.join(KEYS_BY_NAME)})", path=path, line=line
            )
        value = _typed(key, raw)
        if value is None:
            raise UserError(
                f"{name} must be {_KIND_TEXT[key.kind]}, not {_toml_type(raw)}",
                path=path,
                line=line,
            )
        problem = key.check(value)
        if problem is not None:
            raise UserError(f"{name} {problem}", path=path, line=line)
        if key.path_list and base is not None:
            value = [str(p) if Path(p).is_absolute() else str(base / p) for p in value]
        out[name] = (value, line)
    return out


_KIND_TEXT = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "list": "a list of strings (or one string)",
}


def _typed(key: Key, raw: Any) -> Any:
    """``raw`` converted to the key's type, or None when it has the wrong type."""
    if key.kind == "bool":
        return raw if isinstance(raw, bool) else None
    if isinstance(raw, bool):  # TOML booleans are not numbers here, whatever Python says
        return None
    if key.kind == "int":
        return raw if isinstance(raw, int) else None
    if key.kind == "float":
        return float(raw) if isinstance(raw, (int, float)) else None
    if key.kind == "str":
        return raw if isinstance(raw, str) else None
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and all(isinstance(x, str) for x in raw):
        return list(raw)
    return None


def _toml_type(raw: Any) -> str:
    if isinstance(raw, bool):
        return "a boolean"
    if isinstance(raw, (int, float)):
        return f"the number {raw!r}"
    if isinstance(raw, str):
        return f"the string {raw!r}"
    if isinstance(raw, list):
        return "a list of other values"
    if isinstance(raw, dict):
        return "a table"
    return type(raw).__name__


def _from_env(key: Key, text: str, name: str) -> Any:
    value: Any
    if key.kind == "list":
        value = [x.strip() for x in text.split(",") if x.strip()]
    elif key.kind == "bool":
        if text.strip().lower() not in _TRUE | _FALSE:
            raise UserError("must be true or false (1/0, yes/no)", path=name)
        value = text.strip().lower() in _TRUE
    elif key.kind in ("int", "float"):
        try:
            value = int(text) if key.kind == "int" else float(text)
        except ValueError:
            raise UserError(f"must be {_KIND_TEXT[key.kind]}, not {text!r}", path=name) from None
    else:
        value = text.strip()
    problem = key.check(value)
    if problem is not None:
        raise UserError(problem, path=name)
    return value


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")


def key_line(text: str, key: str, section: str | None) -> int | None:
    """The 1-based line of ``key`` in table ``section`` (None: the top level) of a TOML text.

    tomllib keeps no positions, so the line is found by scanning: good enough for the flat
    tables sovaudit reads, and None (the message then names the file only) when not found.
    """
    current: str | None = None
    key_re = re.compile(r"""^\s*(?:"%s"|'%s'|%s)\s*[=.]""" % ((re.escape(key),) * 3))
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header is not None:
            current = ".".join(p.strip().strip("\"'") for p in header.group(1).split("."))
            # A sub-table of the section (``[tool.sovaudit.scan]``) is a key of the section.
            if current == (f"{section}.{key}" if section else key) or current.startswith(
                f"{section}.{key}." if section else f"{key}."
            ):
                return number
            continue
        if current == section and key_re.match(line):
            return number
    return None


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise UserError("configuration file larger than 1 MiB", path=str(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError("not UTF-8 text", path=str(path)) from None


def default_map(config: Config, command: Any) -> dict[str, Any]:
    """Click's ``default_map`` for ``command`` and its subcommands, from the keys that were set.

    Each key goes to every command that has the matching option (``lang`` to scan, report,
    demo...), so one file configures them all; command-line options still win.
    """
    values = {KEYS_BY_NAME[k].param: v for k, v in config.values().items()}
    return _map_for(command, values)


def _map_for(command: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for param in getattr(command, "params", ()):
        if getattr(param, "param_type_name", "") != "option" or param.name not in values:
            continue
        value = values[param.name]
        if isinstance(value, list) and not getattr(param, "multiple", False):
            # A single-valued option (``lookup --resolver``?) takes the first configured one.
            value = value[0] if value else None
        if value is not None:
            out[param.name] = value
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        sub_map = _map_for(sub, values)
        if sub_map:
            out[name] = sub_map
    return out
