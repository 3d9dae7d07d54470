"""The web signal table (``data/web_signals.yaml``) and its pure matching functions.

Which response headers and cookie names reveal a CDN, a WAF or a host, which sign-in hosts belong
to an identity provider, which certificate issuers are which certification authority. The probe
(:mod:`sovaudit.collect.web`) matches what it saw against it; attribution reads the CA part.
No network I/O and no HTTP or TLS library here, so attribution can import it cheaply.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from sovaudit.collect.names import compile_glob, normalize_name
from sovaudit.errors import DatasetError

# Evidence caps: a hostile server must not bloat every report.
MAX_HEADER_VALUE = 256
MAX_HEADERS = 50


@dataclass(frozen=True, slots=True)
class WebSignal:
    """One attribution hint the probe saw, with what it saw."""

    kind: str  # cdn | host | waf | platform | identity-provider | ca
    provider: str  # display name, e.g. "Cloudflare"
    operator: str | None  # providers.yaml operator id, when the registry knows the company
    evidence: str  # e.g. "CF-Ray header", "redirect to login.microsoftonline.com"
    country: str | None = None  # only for kind "ca": the CA's (ultimate parent's) country


# --------------------------------------------------------------------------- signal data


@dataclass(frozen=True, slots=True)
class HeaderRule:
    header: str  # lower-case; a trailing "*" makes it a prefix
    provider: str
    operator: str | None
    kind: str
    contains: str | None = None
    prefix: str | None = None

    def matches(self, name: str, value: str) -> bool:
        if self.header.endswith("*"):
            if not name.startswith(self.header[:-1]):
                return False
        elif name != self.header:
            return False
        low = value.lower()
        if self.contains is not None and self.contains not in low:
            return False
        return self.prefix is None or low.startswith(self.prefix)


@dataclass(frozen=True, slots=True)
class CookieRule:
    prefix: str
    provider: str
    operator: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class IdentityProviderRule:
    host: str  # glob, see sovaudit.attribute.registry
    provider: str
    operator: str | None


@dataclass(frozen=True, slots=True)
class CaRule:
    match: str  # lower-case substring of the issuer organization
    name: str
    country: str
    parent_country: str | None
    operator: str | None


@dataclass(frozen=True, slots=True)
class WebSignals:
    """The contents of ``web_signals.yaml``."""

    version: str
    headers: tuple[HeaderRule, ...]
    cookies: tuple[CookieRule, ...]
    keep: frozenset[str]
    identity_providers: tuple[IdentityProviderRule, ...]
    cas: tuple[CaRule, ...]
    _idp_globs: tuple[Any, ...] = field(default=(), repr=False, compare=False)


def _req(d: Any, key: str, path: str, what: str) -> str:
    if not isinstance(d, dict) or not isinstance(d.get(key), str) or not d[key]:
        raise DatasetError(f"{what}: missing or empty {key!r} in {d!r}", path=path)
    return str(d[key])


def _opt(d: dict[str, Any], key: str) -> str | None:
    value = d.get(key)
    return str(value) if value is not None else None


def parse_web_signals(data: Any, path: str) -> WebSignals:
    """Validate the YAML document of ``web_signals.yaml`` (pure)."""
    if not isinstance(data, dict):
        raise DatasetError("expected a mapping at the top level", path=path)
    headers = tuple(
        HeaderRule(
            header=_req(d, "header", path, "headers").lower(),
            provider=_req(d, "provider", path, "headers"),
            operator=_opt(d, "operator"),
            kind=_req(d, "kind", path, "headers"),
            contains=(_opt(d, "contains") or "").lower() or None,
            prefix=(_opt(d, "prefix") or "").lower() or None,
        )
        for d in data.get("headers") or ()
    )
    cookies = tuple(
        CookieRule(
            prefix=_req(d, "prefix", path, "cookies"),
            provider=_req(d, "provider", path, "cookies"),
            operator=_opt(d, "operator"),
            kind=_req(d, "kind", path, "cookies"),
        )
        for d in data.get("cookies") or ()
    )
    idps = tuple(
        IdentityProviderRule(
            host=normalize_name(_req(d, "host", path, "identity_providers")),
            provider=_req(d, "provider", path, "identity_providers"),
            operator=_opt(d, "operator"),
        )
        for d in data.get("identity_providers") or ()
    )
    cas = tuple(
        CaRule(
            match=_req(d, "match", path, "cas").lower(),
            name=_req(d, "name", path, "cas"),
            country=_req(d, "country", path, "cas"),
            parent_country=_opt(d, "parent_country"),
            operator=_opt(d, "operator"),
        )
        for d in data.get("cas") or ()
    )
    keep = frozenset(str(h).lower() for h in data.get("keep") or ())
    return WebSignals(
        version=str(data.get("version", "")),
        headers=headers,
        cookies=cookies,
        keep=keep,
        identity_providers=idps,
        cas=cas,
        _idp_globs=tuple(compile_glob(r.host) for r in idps),
    )


def load_web_signals(path: Path) -> WebSignals:
    """Load and validate a web signals file."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise DatasetError(f"cannot read web signals: {exc}", path=str(path)) from exc
    return parse_web_signals(data, str(path))


@functools.cache
def default_web_signals() -> WebSignals:
    """The signals shipped in ``sovaudit/collect/data/web_signals.yaml``."""
    ref = resources.files("sovaudit.collect") / "data" / "web_signals.yaml"
    return parse_web_signals(yaml.safe_load(ref.read_text(encoding="utf-8")), str(ref))


# --------------------------------------------------------------------------- pure matching


def cap(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def match_headers(
    headers: Iterable[tuple[str, str]], signals: WebSignals
) -> tuple[tuple[tuple[str, str], ...], tuple[WebSignal, ...]]:
    """Keep the revealing headers (capped) and return the signals they carry.

    Cookie values are never kept (they can identify a visitor): only matching cookie names.
    """
    kept: list[tuple[str, str]] = []
    found: list[WebSignal] = []
    seen_pairs: set[tuple[str, str]] = set()
    seen_signals: set[tuple[str, str]] = set()

    def keep(name: str, value: str) -> None:
        pair = (name, cap(value, MAX_HEADER_VALUE))
        if pair not in seen_pairs and len(kept) < MAX_HEADERS:
            seen_pairs.add(pair)
            kept.append(pair)

    def signal(kind: str, provider: str, operator: str | None, evidence: str) -> None:
        if (provider, evidence) not in seen_signals:
            seen_signals.add((provider, evidence))
            found.append(WebSignal(kind, provider, operator, evidence))

    for raw_name, value in headers:
        name = raw_name.lower()
        if name == "set-cookie":
            cookie = value.split("=", 1)[0].strip()
            for c in signals.cookies:
                if cookie.startswith(c.prefix):
                    keep(name, cookie)
                    signal(c.kind, c.provider, c.operator, f"{cookie} cookie")
                    break
            continue
        matched = False
        for h in signals.headers:
            if h.matches(name, value):
                matched = True
                signal(h.kind, h.provider, h.operator, f"{_display_header(name)} header")
        if matched or name in signals.keep:
            keep(name, value)
    return tuple(kept), tuple(found)


def _display_header(name: str) -> str:
    special = {"cf-ray": "CF-Ray", "x-amz-cf-id": "X-Amz-Cf-Id", "x-amz-cf-pop": "X-Amz-Cf-Pop"}
    return special.get(name, "-".join(p.capitalize() for p in name.split("-")))


def match_identity_provider(host: str, signals: WebSignals) -> IdentityProviderRule | None:
    """The identity provider a host belongs to, if it is a known sign-in host."""
    name = normalize_name(host)
    for rule, glob in zip(signals.identity_providers, signals._idp_globs, strict=True):
        if glob.match(name):
            return rule
    return None


def match_ca(issuer_organization: str | None, signals: WebSignals) -> CaRule | None:
    """The certification authority behind an issuer organization, if it is known."""
    if not issuer_organization:
        return None
    low = issuer_organization.lower()
    for rule in signals.cas:
        if rule.match in low:
            return rule
    return None
