"""``sovaudit lookup``: who operates one address, AS number or host name, and under which law."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from sovaudit.attribute.engine import Attributor, attribution_level, level_label
from sovaudit.cli.app import app
from sovaudit.cli.common import out_console, safe
from sovaudit.cli.style import jurisdiction_style
from sovaudit.collect.names import normalize_name
from sovaudit.errors import UserError
from sovaudit.i18n import LANGS, detect_lang, jurisdiction_label, status_label, t
from sovaudit.models import Attribution, Status, to_jsonable

if TYPE_CHECKING:
    from sovaudit.collect.dns import ChainResult, ResolverAddress

_ASN = re.compile(r"^(?:as)?(\d{1,10})$", re.IGNORECASE)
_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_-]{1,63}$")


def lookup_target(
    target: str,
    attributor: Attributor,
    *,
    resolvers: list[str] | None = None,
    timeout: float = 2.0,
) -> list[Attribution]:
    """Attribute an IP address, an AS number (``AS5769`` or ``5769``) or a host name.

    IPs, ASNs and names that match a registry pattern are answered offline; any other name is
    resolved (A/AAAA through ``resolvers``, else the system's) and its chain attributed.
    """
    text = target.strip()
    m = _ASN.match(text)
    if m:
        asn = int(m.group(1))
        if not 0 < asn < 2**32:
            raise UserError(f"{target}: not a valid AS number")
        return [attributor.attribute_asn(asn)]
    try:
        ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        return [attributor.attribute_address(text)]
    host = normalize_name(text)
    if not _HOST.match(host):
        raise UserError(f"{target}: not an IP address, an AS number or a host name")
    matches = attributor.registry.match_name(host, "*")
    if matches:
        # The most specific pattern decides the role (an MX pattern beats a broad "*.outlook.com").
        role = matches[0].pattern.role
        named = attributor.attribute_name(host, "cname" if role == "any" else role)
        if named is not None:
            return [named]
    return _resolve_and_attribute(host, attributor, resolvers, timeout)


def _resolve_and_attribute(
    host: str, attributor: Attributor, resolvers: list[str] | None, timeout: float
) -> list[Attribution]:
    try:
        from sovaudit.collect.dns import ResolverAddress, system_resolvers
    except ImportError:  # the DNS collector is optional for offline use
        return [_unresolved(host, "not resolved (DNS collector unavailable)")]
    chosen = (
        [ResolverAddress.parse(r) for r in resolvers] if resolvers else list(system_resolvers())
    )
    if not chosen:
        raise UserError("no resolver: give --resolver IP[:PORT]")
    # The start-up probe of 'scan': a dead resolver is exit 2, never "this name does not exist".
    chosen = _alive_resolvers(chosen, timeout)
    found = _resolve(host, chosen, timeout)
    chain, addresses = found.chain, found.addresses
    out: list[Attribution] = []
    for name in chain:
        named = attributor.attribute_name(name, "cname")
        if named is not None:
            out.append(named)
    via = chain[-1] if chain else host
    out.extend(attributor.attribute_address(ip, via=via) for ip in addresses)
    if not out:
        if found.nxdomain:
            reason = "not resolved: no such name (NXDOMAIN)"
        elif found.errors:
            reason = "not resolved: " + "; ".join(found.errors[:3])
        else:
            reason = "not resolved: no address and no known provider name"
        out.append(_unresolved(host, reason))
    return out


def _resolve(host: str, resolvers: list[ResolverAddress], timeout: float) -> ChainResult:
    """The CNAME chain, addresses, errors and NXDOMAIN flag of one host."""
    import asyncio

    from sovaudit.collect.dns import DnsClient

    async def run() -> ChainResult:
        async with DnsClient(resolvers, timeout=timeout, retries=1) as client:
            return await client.resolve_chain(host)

    return asyncio.run(run())


def _alive_resolvers(chosen: list[ResolverAddress], timeout: float) -> list[ResolverAddress]:
    from sovaudit.pipeline.options import ScanOptions
    from sovaudit.pipeline.run import check_resolvers

    alive = check_resolvers(ScanOptions(resolvers=tuple(chosen), timeout=timeout))
    if len(alive) < len(chosen):
        from sovaudit.cli.common import warn
        from sovaudit.cli.messages import msg

        dead = ", ".join(str(r) for r in chosen if r not in alive)
        warn(msg("resolvers_dropped", resolvers=dead))
    return list(alive)


def _unresolved(host: str, reason: str) -> Attribution:
    # The role of the name that was asked about: a host, not a CNAME it would point to.
    return Attribution(
        subject=host, role="host", status=Status.UNKNOWN, reason=reason, flags=("unresolved",)
    )


# Labels this command needs beyond sovaudit.i18n (kept here: they are lookup-only).
_LABELS = {
    "category": {"en": "Category", "fr": "Catégorie"},
    "operator_jurisdiction": {
        "en": "Operator's own jurisdiction",
        "fr": "Juridiction de l'exploitant lui-même",
    },
    "ownership": {"en": "Ownership", "fr": "Propriété"},
    "public": {"en": "public (state-owned)", "fr": "publique (État)"},
    "private": {"en": "private", "fr": "privée"},
    "level": {"en": "Level", "fr": "Niveau"},
    "as_name": {
        "en": "(AS name; not in the registry)",
        "fr": "(nom de l'AS ; absent du registre)",
    },
}


def _label(key: str, lang: str) -> str:
    return _LABELS[key][lang] if key in _LABELS else t(key, lang)


def _render(attributions: list[Attribution], lang: str) -> None:
    """One key/value table per attribution, then its evidence chain (fits 80 columns)."""
    for at in attributions:
        facts = Table(
            title=f"{safe(at.subject)} ({safe(at.role)})", title_justify="left", show_header=False
        )
        facts.add_column(style="bold")
        facts.add_column()
        jur = t("unknown", lang)
        if at.jurisdiction:
            jur = f"{at.jurisdiction} ({jurisdiction_label(at.jurisdiction, lang)})"
        if at.operator:
            operator = f"{at.operator_name} [{at.operator}]"
        elif at.operator_name:
            operator = f"{at.operator_name} {_label('as_name', lang)}"
        else:
            operator = None
        styles = {t("jurisdiction", lang): jurisdiction_style(at.jurisdiction)}
        if at.operator_jurisdiction:
            styles[_label("operator_jurisdiction", lang)] = jurisdiction_style(
                at.operator_jurisdiction
            )
        rows: list[tuple[str, str | None]] = [
            (_label("level", lang), level_label(at, lang)),
            ("ASN", f"AS{at.asn} {at.asn_name or ''}".strip() if at.asn else None),
            (t("operator", lang), operator),
            (_label("category", lang), at.category),
            (t("parent", lang), at.ultimate_parent),
            (t("jurisdiction", lang), jur),
            (_label("operator_jurisdiction", lang), at.operator_jurisdiction),
            (_label("ownership", lang), at.ownership and _label(at.ownership, lang)),
            (t("confidence", lang), f"{at.confidence:.2f}"),
            (t("status", lang), status_label(at.status.value, lang)),
            (t("flags", lang), ", ".join(at.flags) or None),
            (t("reason", lang), at.reason),
            (t("conflicts", lang), "; ".join(at.conflicts) or None),
        ]
        for key, value in rows:
            if value:
                style = styles.get(key)
                facts.add_row(safe(key), f"[{style}]{safe(value)}[/]" if style else safe(value))
        out_console.print(facts)
        steps = Table(title=t("evidence", lang), title_justify="left")
        for key in ("step", "value", "source"):
            steps.add_column(t(key, lang))
        for step in at.evidence:
            steps.add_row(safe(step.step), safe(step.value), safe(step.source))
        out_console.print(steps)


@app.command("lookup")
def lookup(
    target: Annotated[str, typer.Argument(help="Host name, IP address or AS number (AS5769).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    resolver: Annotated[
        list[str] | None,
        typer.Option("--resolver", "-r", help="Resolver IP[:PORT] for host names (repeatable)."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="DNS timeout in seconds.")] = 2.0,
    lang: Annotated[
        str | None, typer.Option(help="Output language: fr or en (default: from the locale).")
    ] = None,
    brief: Annotated[
        bool, typer.Option("--brief", "-b", help="Print the one-line answer only.")
    ] = False,
) -> None:
    """Who operates a host, an address or an AS, its ultimate parent and jurisdiction.

    Qui exploite un hôte, une adresse ou un AS, sa société mère ultime et sa juridiction.

    The answer comes first in one line (operator -> ultimate parent (jurisdiction), via what),
    then the tables of every attribution and its evidence; --brief prints the line only.
    A resolver that does not answer is exit 2 (as for 'scan'), never "not resolved".

    Example: sovaudit lookup 20.190.128.1 ; sovaudit lookup AS5769 --json
    """
    language = lang or detect_lang()
    if language not in LANGS:
        raise UserError(f"--lang {lang!r}: expected one of {', '.join(LANGS)}")
    from sovaudit.cli.messages import set_cli_lang

    set_cli_lang(language)
    attributor = Attributor.default()
    results = lookup_target(target, attributor, resolvers=resolver, timeout=timeout)
    if as_json:
        payload = {
            "query": target,
            "attributions": to_jsonable(results),
            # Per attribution, in order: chain (operator with its ownership chain), country
            # (registration country only, weak) or none.
            "levels": [attribution_level(at) for at in results],
            "datasets": to_jsonable(attributor.datasets()),
        }
        # ensure_ascii keeps control characters from DNS data escaped in the terminal.
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=True))
        return
    from sovaudit.cli.lookup_answer import answer_line

    out_console.print(answer_line(target, results, language), soft_wrap=True)
    if not brief:
        out_console.print()
        _render(results, language)
