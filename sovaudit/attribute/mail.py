"""The mail verdict: who first receives a domain's mail (gateway) and who keeps it (mailbox).

The MX record only names the first hop. A filtering service (Proofpoint, Mimecast...) or an ISP
relay often sits in front of the real mailbox host, so the mailbox host is scored from every
signal a domain publishes, each with an explicit weight:

==========================================  ======  ==========================================
signal                                      weight  why
==========================================  ======  ==========================================
MX host of a mailbox provider               0.50    mail is delivered straight to the mailboxes
MX host elsewhere (own server, ISP, cloud)  0.30    a server that may keep mail, or only relay it
autodiscover CNAME to a provider            0.40    mail clients are sent to that provider's store
DKIM selector CNAME to a provider           0.30    the provider signs the domain's outgoing mail
DKIM key at a provider's own selector       0.15    a hint from the selector name only
SPF include of a mailbox provider           0.25    the provider sends as the domain
tenant verification token (MS=, ...)        0.05    an account exists; never counts on its own
==========================================  ======  ==========================================

A security gateway's MX (category ``security``) names the gateway, never the mailbox host. A
candidate needs at least one signal other than a token, and a total of at least ``MIN_SCORE``;
ties keep the MX operator (the conservative reading: what DNS routes mail to). Bulk senders
(SendGrid, Mailchimp...) are listed as senders and never become the mailbox host.

Pure code: the registry answers every name; addresses are attributed by the caller and passed in
as ``server_operators``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sovaudit.attribute.registry import Registry
from sovaudit.collect.names import normalize_name

W_MX_MAILBOX = 0.50
W_MX_OTHER = 0.30
W_AUTODISCOVER = 0.40
W_DKIM_CNAME = 0.30
W_DKIM_SELECTOR = 0.15
W_SPF = 0.25
W_TOKEN = 0.05
MIN_SCORE = 0.25
CONF_NAMED = 0.95
CONF_SERVER = 0.9
MAX_CONFIDENCE = 0.95

# Categories whose MX is a filter in front of the mailboxes, never the mailbox store itself.
GATEWAY_CATEGORIES = frozenset({"security"})


@dataclass(frozen=True, slots=True)
class MailEvidence:
    """What a domain publishes about its mail, as names (the verdict's only input)."""

    domain: str
    mx: tuple[str, ...] = ()  # MX hosts, most preferred first
    spf_includes: tuple[str, ...] = ()
    autodiscover: tuple[str, ...] = ()  # the autodiscover CNAME chain
    dkim: tuple[tuple[str, str | None], ...] = ()  # (selector, CNAME target or None for TXT)
    tokens: tuple[str, ...] = ()  # apex TXT strings
    # Operators of names the registry cannot match (an own MX host attributed by its address).
    server_operators: Mapping[str, str] = field(default_factory=dict)
    # Selector -> operator hint for keys published as TXT (from dkim_selectors.yaml).
    selector_hints: Mapping[str, str] = field(default_factory=dict)
    mailbox_operators: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Signal:
    """One piece of evidence for an operator, with its weight."""

    kind: str  # mx, autodiscover, dkim-cname, dkim-selector, spf-include, token
    subject: str
    operator: str
    weight: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "operator": self.operator,
            "weight": self.weight,
        }


@dataclass(frozen=True, slots=True)
class Party:
    """The gateway or the mailbox host: an operator (or None when unknown) and why."""

    operator: str | None
    subject: str
    confidence: float
    signals: tuple[Signal, ...] = ()


@dataclass(frozen=True, slots=True)
class MailVerdict:
    """Gateway and mailbox host of one domain, plus the other parties its records reveal."""

    domain: str
    gateway: Party | None
    mailbox: Party | None
    senders: tuple[str, ...] = ()  # operators allowed to send as the domain, not mailbox hosts
    tenants: tuple[Signal, ...] = ()  # verification tokens: accounts, not hosting
    scores: tuple[tuple[str, float], ...] = ()  # every candidate, best first

    @property
    def fronted(self) -> bool:
        """True when mail passes a different operator before reaching the mailboxes."""
        return (
            self.gateway is not None
            and self.mailbox is not None
            and self.gateway.operator is not None
            and self.mailbox.operator is not None
            and self.gateway.operator != self.mailbox.operator
        )


def _name_operator(registry: Registry, name: str, role: str) -> str | None:
    matches = registry.match_name(name, role)
    return matches[0].operator.id if matches else None


def _server_operator(ev: MailEvidence, registry: Registry, host: str) -> str | None:
    host = normalize_name(host)
    return _name_operator(registry, host, "mx") or ev.server_operators.get(host)


def _collect_signals(ev: MailEvidence, registry: Registry) -> tuple[list[Signal], list[str]]:
    """Every weighted signal of the evidence, and the bulk senders seen on the way."""
    signals: list[Signal] = []
    senders: list[str] = []
    mailbox = ev.mailbox_operators

    for host in ev.mx:
        op = _server_operator(ev, registry, host)
        if op is None:
            continue
        category = registry.operators[op].category
        if category in GATEWAY_CATEGORIES:
            continue  # a filter: the gateway, never the mailbox store
        weight = W_MX_MAILBOX if op in mailbox else W_MX_OTHER
        signals.append(Signal("mx", normalize_name(host), op, weight))

    for name in ev.autodiscover:
        op = _name_operator(registry, name, "autodiscover") or ev.server_operators.get(
            normalize_name(name)
        )
        if op is not None:
            signals.append(Signal("autodiscover", normalize_name(name), op, W_AUTODISCOVER))
            break  # one chain is one signal

    for selector, target in ev.dkim:
        if target:
            op = _name_operator(registry, target, "cname")
            if op is None:
                continue
            if op in mailbox:
                signals.append(Signal("dkim-cname", f"{selector}: {target}", op, W_DKIM_CNAME))
            elif op not in senders:
                senders.append(op)
        else:
            hint = ev.selector_hints.get(selector)
            if hint is None or hint not in registry.operators:
                continue
            if hint in mailbox:
                signals.append(Signal("dkim-selector", selector, hint, W_DKIM_SELECTOR))
            elif hint not in senders:
                senders.append(hint)

    for inc in ev.spf_includes:
        hit = registry.match_spf_include(inc)
        if hit is None:
            continue
        op = hit[0].id
        if op in mailbox:
            signals.append(Signal("spf-include", normalize_name(inc), op, W_SPF))
        elif registry.operators[op].category not in GATEWAY_CATEGORIES and op not in senders:
            senders.append(op)

    for txt in ev.tokens:
        tok = registry.match_token(txt)
        if tok is not None:
            shown = txt if len(txt) <= 64 else txt[:61] + "..."
            signals.append(Signal("token", shown, tok.operator, W_TOKEN))
    return signals, senders


def _dedupe(signals: Iterable[Signal]) -> list[Signal]:
    # The same kind of signal counts once per operator (two SPF includes are one SPF signal).
    seen: set[tuple[str, str]] = set()
    out: list[Signal] = []
    for s in signals:
        if (s.kind, s.operator) in seen:
            continue
        seen.add((s.kind, s.operator))
        out.append(s)
    return out


def mail_verdict(ev: MailEvidence, registry: Registry) -> MailVerdict:
    """Gateway (the most preferred MX host's operator) and mailbox host (best-scored operator)."""
    gateway: Party | None = None
    if ev.mx:
        first = normalize_name(ev.mx[0])
        named = _name_operator(registry, first, "mx")
        op = named or ev.server_operators.get(first)
        mx_signal = (Signal("mx", first, op, 1.0),) if op else ()
        # A provider's MX name is as sure as a name pattern; an own server's address, an ASN.
        confidence = CONF_NAMED if named else CONF_SERVER if op else 0.0
        gateway = Party(op, first, confidence, mx_signal)

    signals, senders = _collect_signals(ev, registry)
    counted = _dedupe(signals)
    scores: dict[str, float] = {}
    real: set[str] = set()
    for s in counted:
        scores[s.operator] = scores.get(s.operator, 0.0) + s.weight
        if s.kind != "token":
            real.add(s.operator)
    mx_ops = [s.operator for s in counted if s.kind == "mx"]
    ranked = sorted(
        ((op, round(score, 4)) for op, score in scores.items() if op in real),
        # Best score first; on a tie the MX operator, then the id (stable output).
        key=lambda item: (-item[1], item[0] not in mx_ops, item[0]),
    )
    mailbox: Party | None = None
    if ranked and ranked[0][1] >= MIN_SCORE:
        best, score = ranked[0]
        own = tuple(s for s in counted if s.operator == best)
        subject = next((s.subject for s in own if s.kind != "token"), ev.domain)
        mailbox = Party(best, subject, min(MAX_CONFIDENCE, score), own)
    tenants = tuple(s for s in signals if s.kind == "token")
    return MailVerdict(
        domain=normalize_name(ev.domain),
        gateway=gateway,
        mailbox=mailbox,
        senders=tuple(senders),
        tenants=tenants,
        scores=tuple(ranked),
    )
