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

from sovaudit.attribute.engine import LEVEL_CHAIN, attribution_level, is_weak, level_label
from sovaudit.errors import UserError
from sovaudit.evidence.exposure import Exposure, endpoint_exposures
from sovaudit.i18n import (
    EXPLAIN_LABELS,
    colon,
    data_class_label,
    french_typography,
    jurisdiction_label,
    role_label,
    severity_label,
    status_label,
    step_label,
)
from sovaudit.models import Attribution, Dataset, Endpoint, EvidenceStep, Finding, Layer, Scan
from sovaudit.report.phrases import (
    attribution_reason,
    flag_label,
    localize_endpoint,
    step_value,
)
from sovaudit.report.summary import decimal, localize_rule_texts, split_control

MAX_SUGGESTIONS = 5


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the explanation: ``label`` is ours, ``value`` is untrusted evidence text."""

    depth: int
    label: str
    value: str = ""


def _t(key: str, lang: str, **fields: object) -> str:
    text = EXPLAIN_LABELS[key][lang]
    text = french_typography(text) if lang == "fr" else text
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
    scan, _titles, _untranslated = localize_rule_texts(scan, lang)  # rule titles in ``lang``
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
    e = localize_endpoint(e, lang)  # stored English reasons and step values in ``lang``
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
    # The control part (operator -> parent -> law) is the same for every address of one
    # operator: printed once, then referred to.
    seen: dict[tuple[EvidenceStep, ...], str] = {}
    for i, at in enumerate(e.attributions, 1):
        _head, control = split_control(at.evidence)
        first = seen.setdefault(control, f"{i}/{total}") if control else None
        same_as = first if first is not None and first != f"{i}/{total}" else None
        lines += explain_attribution(at, f"{i}/{total}", lang=lang, same_as=same_as)
    bad = [x for x in endpoint_exposures(e) if not x.good]
    good = [x for x in endpoint_exposures(e) if x.good]
    if bad:
        lines.append(Line(1, f"{_t('exposures', lang)} ({len(bad)})"))
        for x in bad:
            lines += explain_exposure(x, lang=lang)
        lines.append(Line(2, _t("rule_text_hint", lang)))
    else:
        lines.append(Line(1, _t("no_findings", lang)))
    if good:
        lines.append(Line(1, f"{_t('good_outcomes', lang)} ({len(good)})"))
        for x in good:
            lines += explain_exposure(x, lang=lang, severity=False)
    return lines


def explain_exposure(x: Exposure, *, lang: str = "en", severity: bool = True) -> list[Line]:
    """One exposure: who controls the endpoint, the worst severity, one line per legal basis."""
    p = x.party
    if p.known:
        who = p.parent or p.operator
        if p.jurisdiction:
            who += f" [{p.jurisdiction}]"
        if p.parent and p.operator:
            who += f" ({p.operator})"
    else:
        who = _t("not_attributed_party", lang)
    head = f"[{severity_label(x.severity.value, lang)}] " if severity else ""
    lines = [Line(2, head + who)]
    for f in x.findings:
        note = ""
        if f.accepted:
            why = colon(lang) + f.accepted_reason if f.accepted_reason else ""
            note = f" ({_t('accepted', lang)}{why})"
        lines.append(Line(3, f.rule_id, f.title + note))
    return lines


def story(at: Attribution, *, lang: str = "en") -> str:
    """One sentence: address -> network -> operator -> parent -> law, as far as it is known."""
    role = role_label(at.role, lang)
    parts = [f"{at.subject} ({role})"]
    if at.operator is None and at.asn is None:
        return _t("not_attributed", lang, subject=at.subject, role=role)
    if at.asn is not None:
        parts.append(
            _t("story_asn", lang, asn=at.asn, name=f" ({at.asn_name})" if at.asn_name else "")
        )
    if at.operator is None and at.jurisdiction and is_weak(at):
        # Country of registration only: never worded as an operator or as control.
        name = at.operator_name or at.asn_name or "?"
        parts.append(_t("story_weak", lang, name=name, country=at.jurisdiction))
        return ", ".join(parts)
    if at.operator_name or at.operator:
        parts.append(_t("story_operator", lang, op=at.operator_name or at.operator))
    if at.ultimate_parent:
        parts.append(_t("story_parent", lang, parent=at.ultimate_parent))
    if at.jurisdiction:
        law = f"{jurisdiction_label(at.jurisdiction, lang)} [{at.jurisdiction}]"
        parts.append(_t("story_law", lang, law=law))
    return ", ".join(parts)


def explain_attribution(
    at: Attribution, position: str, *, lang: str = "en", same_as: str | None = None
) -> list[Line]:
    """Who runs one address or name, who controls them and under which law, with sources.

    With ``same_as`` (the position of an earlier attribution with the identical control chain),
    the operator, parent and law are not repeated: a line refers to that attribution.
    """
    lines = [
        Line(1, f"{_t('attribution', lang)} {position}",
             f"{at.subject} ({role_label(at.role, lang)})"),
        Line(2, _t("in_short", lang), story(at, lang=lang)),
    ]
    # The level is said when it is not an operator's chain (that one is the story itself).
    if attribution_level(at) != LEVEL_CHAIN:
        lines.append(Line(2, _t("level", lang), level_label(at, lang)))
    if same_as is not None:
        head, _control = split_control(at.evidence)
        facts_short: list[tuple[str, str | None]] = [
            ("asn", f"AS{at.asn} {at.asn_name or ''}".strip() if at.asn is not None else None),
            ("confidence", decimal(at.confidence, lang, 2)),
            ("status", status_label(at.status.value, lang)),
            ("flags", ", ".join(flag_label(f, lang) for f in at.flags) or None),
        ]
        lines += [Line(2, _t(key, lang), value) for key, value in facts_short if value]
        if head:
            lines.append(Line(2, _t("evidence", lang)))
        lines += [
            Line(3, step_label(s.step, lang), f"{step_value(s, lang)} ({_t('source', lang)}"
                 f"{colon(lang)}{s.source})")
            for s in head
        ]
        lines.append(Line(2, _t("same_control", lang, position=same_as)))
        return lines
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
        ("confidence", decimal(at.confidence, lang, 2)),
        ("status", status_label(at.status.value, lang)),
        ("reason", attribution_reason(at.reason, lang, at.flags) if at.reason else None),
        ("flags", ", ".join(flag_label(f, lang) for f in at.flags) or None),
    ]
    lines += [Line(2, _t(key, lang), value) for key, value in facts if value]
    lines += [Line(2, _t("conflicts", lang), c) for c in at.conflicts]
    if at.evidence:
        lines.append(Line(2, _t("evidence", lang)))
        lines += [
            Line(3, step_label(s.step, lang), f"{step_value(s, lang)} ({_t('source', lang)}"
                 f"{colon(lang)}{s.source})")
            for s in at.evidence
        ]
    return lines


def _ownership(code: str | None, lang: str) -> str | None:
    if code is None:
        return None
    key = f"own_{code}"
    return _t(key, lang) if key in EXPLAIN_LABELS else code


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
