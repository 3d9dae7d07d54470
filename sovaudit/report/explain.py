"""The whole chain of one endpoint, as lines an auditor can read aloud (pure, no printing).

Each :class:`Line` keeps our own wording (``label``, French or English) apart from the text that
comes from DNS, whois or the inventory (``value``): the CLI prints both through
``sovaudit.cli.common.safe``, and nothing here interprets the untrusted part.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import idna

from sovaudit.attribute.engine import translate_reason
from sovaudit.errors import UserError
from sovaudit.i18n import (
    STRINGS,
    data_class_label,
    jurisdiction_label,
    severity_label,
    status_label,
    t,
)
from sovaudit.models import Attribution, Dataset, Endpoint, Finding, Layer, Scan

MAX_SUGGESTIONS = 5

_L: dict[str, dict[str, str]] = {
    "endpoint": {"en": "Endpoint", "fr": "Point d'accès"},
    "organization": {"en": "Organization", "fr": "Organisme"},
    "service": {"en": "Service", "fr": "Service"},
    "layer": {"en": "Layer", "fr": "Couche"},
    "status": {"en": "Status", "fr": "État"},
    "reason": {"en": "Reason", "fr": "Raison"},
    "declared": {"en": "Declared at", "fr": "Déclaré à"},
    "data_classes": {"en": "Data", "fr": "Données"},
    "records": {"en": "DNS answers", "fr": "Réponses DNS"},
    "no_records": {"en": "DNS answers: none recorded", "fr": "Réponses DNS : aucune"},
    "names": {"en": "Names followed", "fr": "Noms suivis"},
    "addresses": {"en": "Addresses", "fr": "Adresses"},
    "attribution": {"en": "Attribution", "fr": "Attribution"},
    "in_short": {"en": "In short", "fr": "En bref"},
    "asn": {"en": "Network (ASN)", "fr": "Réseau (ASN)"},
    "operator": {"en": "Operator", "fr": "Exploitant"},
    "parent": {"en": "Ultimate parent", "fr": "Société mère ultime"},
    "jurisdiction": {"en": "Jurisdiction", "fr": "Juridiction"},
    "operator_jurisdiction": {
        "en": "Operator's own jurisdiction",
        "fr": "Juridiction de l'exploitant",
    },
    "ownership": {"en": "Ownership", "fr": "Propriété"},
    "confidence": {"en": "Confidence", "fr": "Confiance"},
    "flags": {"en": "Flags", "fr": "Indicateurs"},
    "conflicts": {"en": "Conflicting sources", "fr": "Sources en conflit"},
    "evidence": {"en": "Evidence", "fr": "Preuves"},
    "source": {"en": "source", "fr": "source"},
    "findings": {"en": "Findings", "fr": "Constats"},
    "no_findings": {"en": "Findings: none", "fr": "Constats : aucun"},
    "subject": {"en": "About", "fr": "Concerne"},
    "rationale": {"en": "Why", "fr": "Pourquoi"},
    "accepted": {"en": "Accepted risk", "fr": "Risque accepté"},
    "baseline": {"en": "Against the baseline", "fr": "Par rapport à la référence"},
    "reference": {"en": "Reference", "fr": "Référence"},
    "rule_source": {"en": "Rule pack", "fr": "Ensemble de règles"},
    "datasets": {"en": "Datasets used", "fr": "Jeux de données utilisés"},
    "scan": {"en": "Scan of", "fr": "Analyse du"},
    "partial": {"en": "(partial scan)", "fr": "(analyse partielle)"},
    "unknown": {"en": "unknown", "fr": "inconnu"},
    "not_attributed": {
        "en": "{subject} ({role}): no operator could be attributed",
        "fr": "{subject} ({role}) : aucun exploitant n'a pu être attribué",
    },
    "story_asn": {"en": "announced by AS{asn}{name}", "fr": "annoncé par l'AS{asn}{name}"},
    "story_operator": {"en": "operated by {op}", "fr": "exploité par {op}"},
    "story_parent": {
        "en": "ultimately controlled by {parent}",
        "fr": "contrôlé en dernier ressort par {parent}",
    },
    "story_law": {"en": "subject to the law of {law}", "fr": "soumis au droit de : {law}"},
}


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the explanation: ``label`` is ours, ``value`` is untrusted evidence text."""

    depth: int
    label: str
    value: str = ""


def _t(key: str, lang: str, **fields: object) -> str:
    text = _L[key][lang]
    return text.format(**fields) if fields else text


def normalize_query(host: str) -> str:
    """The host as the evidence stores it: lower-case ASCII, no final dot (IDN to A-labels)."""
    name = host.strip().rstrip(".").lower()
    try:
        return idna.encode(name, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError:
        return name


def find_endpoints(scan: Scan, host: str, layer: str | None = None) -> list[Endpoint]:
    """The endpoints of ``host`` (optionally of one layer); UserError with close matches if none."""
    if layer is not None and layer not in {x.value for x in Layer}:
        raise UserError(f"unknown layer {layer!r} (valid: {', '.join(x.value for x in Layer)})")
    wanted = {normalize_query(host), host.strip().rstrip(".").lower()}
    found = [e for e in scan.endpoints if e.host.lower() in wanted]
    if not found:
        hosts = sorted({e.host for e in scan.endpoints})
        raise UserError(f"{host}: not in this evidence file; " + _suggest(host, hosts))
    if layer is not None:
        layered = [e for e in found if e.layer.value == layer]
        if not layered:
            have = ", ".join(sorted({e.layer.value for e in found}))
            raise UserError(f"{host}: no {layer!r} endpoint (layers present: {have})")
        found = layered
    return found


def _suggest(host: str, hosts: Sequence[str]) -> str:
    query = normalize_query(host)
    close = difflib.get_close_matches(query, hosts, n=MAX_SUGGESTIONS, cutoff=0.6)
    # A typed fragment ("portail") matches by substring where difflib's ratio is too low.
    close += [h for h in hosts if query in h and h not in close]
    if close:
        return "close matches: " + ", ".join(close[:MAX_SUGGESTIONS])
    return f"no close match among its {len(hosts)} hosts"


def explain(scan: Scan, host: str, layer: str | None = None, *, lang: str = "en") -> list[Line]:
    """Every endpoint of ``host`` explained, then the scan and datasets it rests on."""
    lines: list[Line] = []
    for endpoint in find_endpoints(scan, host, layer):
        lines += explain_endpoint(endpoint, lang=lang)
    lines.append(
        Line(
            0,
            _t("scan", lang),
            scan.generated_at + (" " + _t("partial", lang) if scan.partial else ""),
        )
    )
    lines += explain_datasets(scan.datasets, lang=lang)
    return lines


def explain_endpoint(endpoint: Endpoint, *, lang: str = "en") -> list[Line]:
    """The chain of one endpoint: what was asked, what answered, who runs it, what it means."""
    e = endpoint
    lines = [
        Line(0, _t("endpoint", lang), f"{e.host} ({e.layer.value})"),
        Line(
            1,
            _t("organization", lang),
            f"{e.organization_name or e.organization} [{e.organization}]",
        ),
        Line(1, _t("service", lang), e.service),
        Line(1, _t("status", lang), status_label(e.status.value, lang)),
    ]
    if e.reason:
        lines.append(Line(1, _t("reason", lang), e.reason))
    if e.source is not None:
        lines.append(Line(1, _t("declared", lang), f"{e.source.file}:{e.source.line}"))
    if e.data_classes:
        classes = ", ".join(data_class_label(c.value, lang) for c in e.data_classes)
        lines.append(Line(1, _t("data_classes", lang), classes))
    if e.records:
        lines.append(Line(1, _t("records", lang)))
        for r in e.records:
            answer = ", ".join(r.answers) if r.answers else "-"
            ttl = f", TTL {r.ttl}" if r.ttl is not None else ""
            err = f", {r.error}" if r.error else ""
            lines.append(
                Line(
                    2,
                    f"{r.type}",
                    f"{r.name} -> {answer} ({r.rcode}{ttl}{err}; {r.resolver}, {r.timestamp})",
                )
            )
    else:
        lines.append(Line(1, _t("no_records", lang)))
    if e.names:
        lines.append(Line(1, _t("names", lang), ", ".join(e.names)))
    if e.addresses:
        lines.append(Line(1, _t("addresses", lang), ", ".join(e.addresses)))
    total = len(e.attributions)
    for i, at in enumerate(e.attributions, 1):
        lines += explain_attribution(at, f"{i}/{total}", lang=lang)
    if e.findings:
        lines.append(Line(1, f"{_t('findings', lang)} ({len(e.findings)})"))
        for f in sorted(e.findings, key=lambda f: -f.severity.rank):
            lines += explain_finding(f, lang=lang)
    else:
        lines.append(Line(1, _t("no_findings", lang)))
    return lines


def story(at: Attribution, *, lang: str = "en") -> str:
    """One sentence: address -> network -> operator -> parent -> law, as far as it is known."""
    parts = [f"{at.subject} ({at.role})"]
    if at.operator is None and at.asn is None:
        return _t("not_attributed", lang, subject=at.subject, role=at.role)
    if at.asn is not None:
        parts.append(
            _t("story_asn", lang, asn=at.asn, name=f" ({at.asn_name})" if at.asn_name else "")
        )
    if at.operator_name or at.operator:
        parts.append(_t("story_operator", lang, op=at.operator_name or at.operator))
    if at.ultimate_parent:
        parts.append(_t("story_parent", lang, parent=at.ultimate_parent))
    if at.jurisdiction:
        law = f"{jurisdiction_label(at.jurisdiction, lang)} [{at.jurisdiction}]"
        parts.append(_t("story_law", lang, law=law))
    return ", ".join(parts)


def explain_attribution(at: Attribution, position: str, *, lang: str = "en") -> list[Line]:
    """Who runs one address or name, who controls them and under which law, with sources."""
    lines = [
        Line(1, f"{_t('attribution', lang)} {position}", f"{at.subject} ({at.role})"),
        Line(2, _t("in_short", lang), story(at, lang=lang)),
    ]
    facts: list[tuple[str, str | None]] = [
        ("asn", f"AS{at.asn} {at.asn_name or ''}".strip() if at.asn is not None else None),
        (
            "operator",
            " ".join(
                x
                for x in (
                    at.operator_name,
                    f"[{at.operator}]" if at.operator else None,
                    f"({at.category})" if at.category else None,
                )
                if x
            )
            or None,
        ),
        ("parent", at.ultimate_parent),
        (
            "jurisdiction",
            f"{at.jurisdiction} ({jurisdiction_label(at.jurisdiction, lang)})"
            if at.jurisdiction
            else None,
        ),
        (
            "operator_jurisdiction",
            at.operator_jurisdiction
            if at.operator_jurisdiction and at.operator_jurisdiction != at.jurisdiction
            else None,
        ),
        ("ownership", _ownership(at.ownership, lang)),
        ("confidence", f"{at.confidence:.2f}"),
        ("status", status_label(at.status.value, lang)),
        ("reason", translate_reason(at.reason, at.flags, lang) if at.reason else None),
        ("flags", ", ".join(at.flags) or None),
    ]
    lines += [Line(2, _t(key, lang), value) for key, value in facts if value]
    lines += [Line(2, _t("conflicts", lang), c) for c in at.conflicts]
    if at.evidence:
        lines.append(Line(2, _t("evidence", lang)))
        lines += [
            Line(3, s.step, f"{s.value} ({_t('source', lang)}: {s.source})") for s in at.evidence
        ]
    return lines


def _ownership(code: str | None, lang: str) -> str | None:
    if code is None:
        return None
    return t(code, lang) if code in STRINGS else code


def explain_finding(f: Finding, *, lang: str = "en") -> list[Line]:
    """A rule that matched: severity, id, title, why, references and the pack it comes from."""
    lines = [Line(2, f"[{severity_label(f.severity.value, lang)}] {f.rule_id}", f.title)]
    if f.subject:
        lines.append(Line(3, _t("subject", lang), f.subject))
    lines.append(Line(3, _t("rationale", lang), f.rationale))
    if f.accepted:
        lines.append(Line(3, _t("accepted", lang), f.accepted_reason or ""))
    if f.status:
        lines.append(Line(3, _t("baseline", lang), status_label(f.status, lang)))
    lines.extend(
        Line(3, _t("reference", lang), f"{ref.title} <{ref.url}>" if ref.url else ref.title)
        for ref in f.references
    )
    packs = [s.source for s in f.evidence if s.step == "rule"]
    if packs:
        lines.append(Line(3, _t("rule_source", lang), ", ".join(packs)))
    return lines


def explain_datasets(datasets: Sequence[Dataset], *, lang: str = "en") -> list[Line]:
    """The datasets behind every attribution and rule above, with their versions and licences."""
    if not datasets:
        return []
    lines = [Line(0, _t("datasets", lang))]
    lines += [
        Line(1, d.name, f"{d.version} ({d.date}); {d.source}; {d.licence}".rstrip("; "))
        for d in datasets
    ]
    return lines
