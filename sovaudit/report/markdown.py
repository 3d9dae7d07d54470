"""GitHub-flavoured Markdown report, sized for a GitHub job summary (1 MiB at most).

Each rule's rationale and references are printed once (in "Rules that matched"), each finding is
one table row, and each endpoint's evidence chains are printed once, with the rules they
triggered. Big scans are capped with a line that says how much was left out and where to find it.

Untrusted text (anything from DNS, whois or the evidence file) goes through ``md_text`` or
``md_code``: it can never become a link, raw HTML, emphasis or a new table cell. Inside the raw
HTML of ``<summary>`` lines Markdown is not parsed, so text there is HTML-escaped instead.
"""

from __future__ import annotations

from sovaudit.attribute.engine import (
    LEVEL_CHAIN,
    LEVEL_COUNTRY,
    LEVEL_TITLE,
    attribution_level,
    level_label,
)
from sovaudit.evaluate.home import GROUPS
from sovaudit.evidence.exposure import Exposure
from sovaudit.i18n import (
    LAYER_LABELS,
    ROLE_LABELS,
    colon,
    data_class_label,
    jurisdiction_label,
    lang_name,
    layer_label,
    role_label,
    severity_label,
    status_label,
    step_label,
    t,
)
from sovaudit.models import Endpoint, EvidenceStep, Finding, Reference, Scan, Status
from sovaudit.report.escape import html_text, md_code, md_text, safe_url
from sovaudit.report.phrases import flag_label
from sovaudit.report.summary import (
    CREDITS,
    UNKNOWN,
    Chain,
    EndpointEvidence,
    EvidenceIndex,
    ReportView,
    control_name,
    control_sentence,
    decimal,
    display_records,
    endpoint_evidence,
    endpoint_jurisdictions,
    group_label,
    iso,
    most_exposed,
    organization_cards,
    scope_fields,
    split_control,
    uses_ip_asn_table,
    web_summary,
)

# Caps that keep a 10,000-endpoint report well under GitHub's 1 MiB job-summary limit; the
# HTML and JSON reports always hold everything.
MAX_EXPOSURE_ROWS = 1000
MAX_PROVIDER_ROWS = 25
MAX_ENDPOINT_ROWS = 500
MAX_EVIDENCE_ENDPOINTS = 50
MAX_LIST_ITEMS = 50
MAX_HISTORY_ROWS = 12
DASH = "\u2014"


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(*cells: str, numeric: int = 0) -> list[str]:
    """A table header; the last ``numeric`` columns are right-aligned."""
    aligns = ["---"] * (len(cells) - numeric) + ["--:"] * numeric
    return [_row(*cells), _row(*aligns)]


def _jurisdiction(code: str, lang: str) -> str:
    label = jurisdiction_label(code, lang)
    if label == code:
        return md_text(code)  # not one of ours: it came from the evidence file
    # Our own label and a known code: trusted text, left readable.
    return label if code == UNKNOWN else f"{label} ({code})"


def _layer(code: str, lang: str) -> str:
    # Our label for a known layer; a code we do not know came from the evidence file.
    return layer_label(code, lang) if code in LAYER_LABELS else md_text(code)


def _role(code: str, lang: str) -> str:
    return role_label(code, lang) if code in ROLE_LABELS else md_text(code)


def _jurisdictions(endpoint: Endpoint, lang: str) -> str:
    codes = endpoint_jurisdictions(endpoint)
    if not codes:
        return md_text(t("not_attributed", lang))
    return ", ".join(_jurisdiction(c, lang) for c in codes)


def _org_name(endpoint: Endpoint) -> str:
    return md_text(endpoint.organization_name or endpoint.organization)


def _details(summary: str, body: list[str]) -> list[str]:
    # The blank lines make GitHub parse the body as Markdown and end the raw HTML block.
    while body and not body[-1]:
        body = body[:-1]
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _references(refs: tuple[Reference, ...], lang: str) -> list[str]:
    if not refs:
        return []
    lines = [f"{t('references', lang)}{colon(lang).rstrip()}", ""]
    for ref in refs:
        url = safe_url(ref.url)
        # Only a vetted http(s) URL becomes a link; the title is escaped text either way.
        if url:
            lines.append(f"- [{md_text(ref.title)}](<{url}>)")
        else:
            lines.append(f"- {md_text(ref.title)}")
    lines.append("")
    return lines


def _badges(finding: Finding, lang: str) -> str:
    badges = []
    if finding.accepted:
        badges.append(t("accepted", lang))
    if finding.status:
        badges.append(status_label(finding.status, lang))
    return md_text(", ".join(badges)) if badges else ""


def _rules(view: ReportView, lang: str) -> list[str]:
    out = [f"## {t('legal_bases_title', lang)}", ""]
    for rule in view.rules:
        # An explicit anchor: the exposures table links each rule id here.
        out += [f'<a id="{rule.anchor}"></a>', "",
                f"### {md_code(rule.rule_id, in_table=False)} {md_text(rule.title)}", ""]
        counts = t("rule_counts", lang, n=rule.findings, accepted=rule.accepted)
        if view.baseline is not None:
            counts += t("rule_counts_new", lang, n=rule.new)
        out += [f"**{severity_label(rule.severity.value, lang)}** · {counts}", ""]
        out += [md_text(rule.rationale), ""]
        out += _references(rule.references, lang)
    return out


def _exposure_line(x: Exposure, lang: str) -> str:
    e = x.endpoint
    who = md_text(x.party.name) if x.party.known else md_text(t("not_attributed", lang))
    rules = ", ".join(md_code(r, in_table=False) for r in x.rules)
    return (
        f"- {severity_label(x.severity.value, lang)} · {md_code(e.host, in_table=False)} "
        f"({_org_name(e)}, {_layer(e.layer.value, lang)}) · {who} · {rules}"
    )


def _new_since_baseline(view: ReportView, lang: str) -> list[str]:
    base = view.baseline
    if base is None:
        return []
    new = view.new_exposures
    out = [f"## {t('new_since_baseline', lang)}", ""]
    out += [
        t("new_exposures", lang, n=len(new), file=md_code(base.file, in_table=False),
          date=md_code(base.generated_at, in_table=False), resolved=len(base.resolved)),
        "",
    ]
    if not new:
        return [*out, t("no_new_exposures", lang), ""]
    out += [_exposure_line(x, lang) for x in new[:MAX_LIST_ITEMS]]
    if len(new) > MAX_LIST_ITEMS:
        out.append(f"- _{t('more_items', lang, n=len(new) - MAX_LIST_ITEMS)}_")
    return [*out, ""]


def _resolved(view: ReportView, lang: str) -> list[str]:
    base = view.baseline
    if base is None:
        return []
    out = [f"## {t('resolved_title', lang)}", ""]
    if not base.resolved:
        return [*out, t("no_resolved", lang), ""]
    out += _header(
        t("severity", lang), t("rule", lang), t("organization", lang), t("service", lang),
        t("host", lang), t("layer", lang), t("title_col", lang),
    )
    out += [
        _row(severity_label(r.severity, lang), md_code(r.rule_id), md_code(r.organization),
             md_code(r.service), md_code(r.host), _layer(r.layer, lang), md_text(r.title))
        for r in base.resolved[:MAX_LIST_ITEMS]
    ]
    out.append("")
    if len(base.resolved) > MAX_LIST_ITEMS:
        out += [f"_{t('more_resolved', lang, n=len(base.resolved) - MAX_LIST_ITEMS)}_", ""]
    return out


def _history(view: ReportView, lang: str) -> list[str]:
    if not view.history:
        return []
    rows = view.history[-MAX_HISTORY_ROWS:]
    out = [f"## {t('history', lang)}", ""]
    if len(rows) < len(view.history):
        out += [t("history_more", lang, n=len(rows), total=len(view.history)), ""]
    out += _header(
        t("history_date", lang), t("endpoints", lang), t("foreign_share", lang),
        t("us_share", lang), numeric=3,
    )
    out += [
        _row(md_code(p.generated_at), str(p.endpoints), decimal(p.foreign_pct, lang),
             decimal(p.us_pct, lang))
        for p in rows
    ]
    return [*out, ""]


def _steps(steps: tuple[EvidenceStep, ...], index: EvidenceIndex, lang: str) -> str:
    return " \u2192 ".join(
        f"{md_text(step_label(s.step, lang))} {md_code(s.value, in_table=False)} "
        f"\\[{index.sources[s.source]}\\]"
        for s in steps
    )


def _fired(f: Finding, lang: str) -> str:
    # Severity is in the findings table and the rules section; here only what is specific.
    notes = []
    if f.accepted:
        notes.append(t("accepted", lang) + (f": {md_text(f.accepted_reason)}"
                                            if f.accepted_reason else ""))
    if f.status:
        notes.append(md_text(status_label(f.status, lang)))
    rule = md_code(f.rule_id, in_table=False)
    return f"{rule} ({', '.join(notes)})" if notes else rule


def _chain(c: Chain, hosts: dict[int, str], index: EvidenceIndex, lang: str) -> list[str]:
    a = c.attribution
    head = f"- **{md_code(c.subject, in_table=False)}**" if c.subject else "-"
    if a is not None:
        # The status is worth a word only when the attribution failed.
        status = "" if a.status is Status.OK else f"{status_label(a.status.value, lang)}, "
        head += (
            f" ({_role(a.role, lang)}, {status}"
            f"{t('confidence', lang).lower()} {decimal(a.confidence, lang, 2)})"
        )
    lines = [head]
    if c.same_as is not None:
        host = md_code(hosts[c.same_as], in_table=False)
        lines.append(f"  - {t('same_chain_as', lang)} {host}.")
    elif c.steps:
        steps, control = split_control(c.steps)
        # The address step repeats the subject printed in bold just above; its source stays
        # in the JSON evidence.
        steps = tuple(s for s in steps if not (s.step == "address" and s.value == c.subject))
        # Likewise the AS name of a weak answer repeats the "asn" step just before it.
        steps = tuple(
            s
            for i, s in enumerate(steps)
            if not (
                s.step == "as-name" and i and steps[i - 1].step == "asn"
                and s.value in steps[i - 1].value
            )
        )
        text = _steps(steps, index, lang) if steps else ""
        if control:
            link = f"C{index.controls[control]} {md_text(control_name(control))}"
            text = f"{text} \u2192 {link}" if text else link
        lines.append(f"  - {text}")
    if c.findings:
        fired = ", ".join(_fired(f, lang) for f in c.findings)
        lines.append(f"  - {t('triggered', lang)}{colon(lang)}{fired}")
    if a is not None:
        # Which of the three levels the answer comes from, said when it is not an operator's
        # chain (that one shows as the chain itself; the demo report must stay under 100 KB).
        level = attribution_level(a)
        if level != LEVEL_CHAIN:
            label = md_text(level_label(a, lang, short=True))
            lines.append(f"  - {LEVEL_TITLE[lang]}{colon(lang)}{label}")
        # A weak answer's reason repeats its level line and its asn step: the JSON keeps it.
        if a.reason and level != LEVEL_COUNTRY:
            lines.append(f"  - {t('reason', lang)}{colon(lang)}{md_text(a.reason)}")
        if a.flags:
            flags = ", ".join(md_text(flag_label(x, lang)) for x in a.flags)
            lines.append(f"  - {t('flags', lang)}{colon(lang)}{flags}")
        lines.extend(
            f"  - {t('conflicts', lang)}{colon(lang)}{md_code(x, in_table=False)}"
            for x in a.conflicts
        )
    return lines


def _legend(index: EvidenceIndex, lang: str) -> list[str]:
    out = []
    if index.controls:
        out += [f"### {t('control_chains', lang)}", ""]
        out += [
            f"- **C{n}**: {_steps(control, index, lang)}" for control, n in index.controls.items()
        ]
        out.append("")
    if index.sources:
        out += [f"### {t('sources', lang)}", ""]
        out += [f"{n}. {md_code(src, in_table=False)}" for src, n in index.sources.items()]
        out.append("")
    return out


def _endpoint_evidence(
    ev: EndpointEvidence, hosts: dict[int, str], index: EvidenceIndex, lang: str
) -> list[str]:
    e = ev.endpoint
    body: list[str] = []
    if e.reason:
        body += [f"**{t('reason', lang)}**{colon(lang)}{md_text(e.reason)}", ""]
    for c in ev.chains:
        body += _chain(c, hosts, index, lang)
    body.append("")
    body += _web(e, lang)
    # Records are already in each chain's "record" step; they are shown again only where they
    # explain a gap: an endpoint that failed, or one with no chain.
    if e.records and (not e.attributions or e.status is not Status.OK):
        body += [f"**{t('records', lang)}**", ""]
        body += _header(
            t("name", lang), t("type", lang), t("rcode", lang), t("answers", lang),
            t("ttl", lang), t("resolver", lang),
        )
        for r in display_records(e):
            answers = "<br>".join(md_code(x) for x in r.answers) or DASH
            rcode = md_code(r.rcode) + (f" {md_code(r.error)}" if r.error else "")
            ttl = str(r.ttl) if r.ttl is not None else DASH
            body.append(_row(md_code(r.name), md_code(r.type), rcode, answers, ttl,
                             md_code(r.resolver)))
        body.append("")
    sev = f" \u00b7 {severity_label(ev.severity.value, lang)}" if ev.severity else ""
    summary = html_text(
        f"{e.host} \u00b7 {e.organization_name or e.organization} \u00b7 "
        f"{layer_label(e.layer.value, lang)}"
    ) + sev
    return _details(summary, body or [t("none", lang).capitalize() + "."])


def _web(e: Endpoint, lang: str) -> list[str]:
    """What ``--probe web`` saw on the endpoint, one line per kind of party."""
    w = web_summary(e)
    if w is None:
        return []
    lines = [f"**{t('web_probe', lang)}**", ""]
    if w.cdn:
        lines.append(f"- {t('web_cdn', lang)}{colon(lang)}" + ", ".join(md_text(c) for c in w.cdn))
    if w.ca:
        unverified = "" if w.ca_verified else f" ({t('web_ca_unverified', lang)})"
        lines.append(f"- {t('web_ca', lang)}{colon(lang)}{md_text(w.ca)}{unverified}")
    if w.identity_providers:
        lines.append(
            f"- {t('web_idp', lang)}{colon(lang)}"
            + ", ".join(md_code(h) for h in w.identity_providers)
        )
    if w.third_party_count:
        more = w.third_party_count - len(w.third_parties)
        shown = ", ".join(md_code(h) for h in w.third_parties)
        if more > 0:
            shown += " " + t("web_more", lang, n=more)
        lines.append(f"- {t('web_third_parties', lang, n=w.third_party_count)}: {shown}")
    if w.error:
        lines.append(f"- {t('web_error', lang)}{colon(lang)}{md_text(w.error)}")
    return [*lines, ""]


def _endpoints(view: ReportView, lang: str) -> list[str]:
    scan = view.scan
    out = [f"## {t('endpoint_list', lang)}", ""]
    out += _header(
        t("organization", lang), t("service", lang), t("host", lang), t("layer", lang),
        t("data_classes", lang), t("status", lang), t("jurisdiction", lang), t("operator", lang),
    )
    for e in scan.endpoints[:MAX_ENDPOINT_ROWS]:
        # Operators of the registry only: a weak answer's AS name is not an operator.
        operators = sorted(
            {a.operator_name or a.operator or "" for a in e.attributions if a.operator} - {""}
        )
        out.append(_row(
            _org_name(e), md_code(e.service), md_code(e.host), _layer(e.layer.value, lang),
            ", ".join(data_class_label(c.value, lang) for c in e.data_classes) or DASH,
            md_text(status_label(e.status.value, lang)), _jurisdictions(e, lang),
            ", ".join(md_text(o) for o in operators) or DASH,
        ))
    out.append("")
    hidden = len(scan.endpoints) - MAX_ENDPOINT_ROWS
    if hidden > 0:
        out += [f"_{t('more_endpoints', lang, n=hidden)}_", ""]

    out += [f"## {t('evidence_chain', lang)}", "", t("evidence_note", lang), ""]
    shown = endpoint_evidence(view, MAX_EVIDENCE_ENDPOINTS)
    hosts = {ev.index: ev.endpoint.host for ev in shown}
    index = EvidenceIndex.build(shown)
    for ev in shown:
        out += _endpoint_evidence(ev, hosts, index, lang)
    hidden = len(scan.endpoints) - len(shown)
    if hidden > 0:
        out += [f"_{t('more_endpoints', lang, n=hidden)}_", ""]
    return out + _legend(index, lang)


def _about(scan: Scan, view: ReportView, lang: str) -> list[str]:
    lines = [f"## {t('scan_info', lang)}", ""]
    sep = colon(lang)
    lines.append(f"- **{t('scan_date', lang)}**{sep}{md_code(scan.generated_at, in_table=False)}")
    lines.append(f"- **{t('report_date', lang)}**{sep}{md_code(iso(view.now), in_table=False)}")
    lines.append(f"- **{t('tool', lang)}**{colon(lang)}sovaudit {md_text(scan.tool_version)}")
    lines.append(f"- **{t('inventory', lang)}**{sep}{md_code(scan.inventory, in_table=False)}")
    resolvers = ", ".join(md_code(r, in_table=False) for r in scan.resolvers)
    lines.append(f"- **{t('resolvers', lang)}**{colon(lang)}{resolvers or t('none', lang)}")
    lines += ["", f"### {t('datasets', lang)}", ""]
    if scan.datasets:
        lines += _header(
            t("dataset_name", lang), t("dataset_version", lang), t("dataset_date", lang),
            t("dataset_licence", lang), t("dataset_source", lang),
        )
        lines += [
            _row(md_text(d.name), md_code(d.version), md_code(d.date), md_text(d.licence),
                 md_code(d.source))
            for d in scan.datasets
        ]
        if uses_ip_asn_table(scan):
            lines += ["", t("dataset_credit", lang), ""]
            lines += [f"- [{name}](<{url}>)" for name, url in CREDITS]
    else:
        lines.append(t("none", lang).capitalize() + ".")
    if view.untranslated_rules:
        rules = ", ".join(md_code(r, in_table=False) for r in view.untranslated_rules)
        note = t("rule_text_note", lang, scan_lang=lang_name(view.scan_lang, lang), rules=rules)
        lines += ["", f"### {t('rule_text_note_title', lang)}", "", note]
    lines += ["", f"## {t('legal_notice_title', lang)}", "", t("legal_notice", lang), ""]
    return lines


def _rule_links(x: Exposure, anchors: dict[str, str]) -> str:
    return ", ".join(
        f"[{md_code(r)}](#{anchors[r]})" if r in anchors else md_code(r) for r in x.rules
    )


def _party_cells(x: Exposure, lang: str) -> tuple[str, str]:
    p = x.party
    if not p.known:
        return md_text(t("not_attributed", lang)), _jurisdiction(UNKNOWN, lang)
    who = md_text(p.parent or p.operator)
    if p.parent and p.operator:
        who += f" ({md_text(p.operator)})"
    jur = _jurisdiction(p.jurisdiction, lang) if p.jurisdiction else t("unknown", lang)
    return who, jur


def _exposures(view: ReportView, lang: str) -> list[str]:
    out = [f"## {t('exposures', lang)}", ""]
    if not view.exposures:
        return [*out, t("no_exposures", lang), ""]
    out += [t("exposures_intro", lang, n=view.total_findings), ""]
    anchors = {r.rule_id: r.anchor for r in view.rules}
    out += _header(
        t("severity", lang), t("organization", lang), t("host", lang), t("layer", lang),
        t("controlled_by", lang), t("country", lang), t("data", lang), t("legal_bases", lang),
    )
    for x in view.exposures[:MAX_EXPOSURE_ROWS]:
        e = x.endpoint
        who, jur = _party_cells(x, lang)
        sev = severity_label(x.severity.value, lang)
        if x.accepted:
            sev += f" ({md_text(t('accepted', lang))})"
        if x.new:
            sev += f" ({md_text(status_label('new', lang))})"
        out.append(_row(
            sev, _org_name(e), md_code(e.host), _layer(e.layer.value, lang), who, jur,
            ", ".join(data_class_label(c.value, lang) for c in e.data_classes) or DASH,
            _rule_links(x, anchors),
        ))
    out.append("")
    hidden = len(view.exposures) - MAX_EXPOSURE_ROWS
    if hidden > 0:
        out += [f"_{t('more_exposures', lang, n=hidden)}_", ""]
    return out


def _good_outcomes(view: ReportView, lang: str) -> list[str]:
    out = [f"## {t('good_outcomes', lang)}", ""]
    if not view.good_outcomes:
        return [*out, t("no_good_outcomes", lang), ""]
    home = ", ".join(_jurisdiction(c, lang) for c in sorted(view.home.countries)[:3])
    out += [t("good_outcomes_intro", lang, home=home), ""]
    out += _header(
        t("organization", lang), t("host", lang), t("layer", lang), t("controlled_by", lang),
        t("country", lang), t("rule", lang),
    )
    for x in view.good_outcomes[:MAX_EXPOSURE_ROWS]:
        e = x.endpoint
        who, jur = _party_cells(x, lang)
        out.append(_row(_org_name(e), md_code(e.host), _layer(e.layer.value, lang), who, jur,
                        ", ".join(md_code(r) for r in x.rules)))
    out.append("")
    hidden = len(view.good_outcomes) - MAX_EXPOSURE_ROWS
    if hidden > 0:
        out += [f"_{t('more_rows', lang, n=hidden)}_", ""]
    return out


def _providers(view: ReportView, lang: str) -> list[str]:
    if not view.parents:
        return []
    out = [f"## {t('providers', lang)}", "", t("providers_intro", lang), ""]
    for title, figures in ((t("parents_ranking", lang), view.parents),
                           (t("operators_ranking", lang), view.operators)):
        out += [f"### {title}", ""]
        out += _header("#", t("name", lang), t("country", lang), t("group", lang),
                       t("services", lang), t("organizations", lang), t("endpoints", lang),
                       numeric=3)
        out += [
            _row(str(i), md_text(p.name),
                 _jurisdiction(p.jurisdiction, lang) if p.jurisdiction else t("unknown", lang),
                 group_label(p.group, view), str(p.services), str(p.organizations),
                 str(p.endpoints))
            for i, p in enumerate(figures[:MAX_PROVIDER_ROWS], start=1)
        ]
        out.append("")
        if len(figures) > MAX_PROVIDER_ROWS:
            out += [f"_{t('more_rows', lang, n=len(figures) - MAX_PROVIDER_ROWS)}_", ""]
    legend = " · ".join(group_label(g, view) for g in GROUPS)
    return [*out, f"{t('legend', lang)}{colon(lang)}{legend}", ""]


MAX_CARDS = 50
_GROUP_MARK = {"home": "🟢", "allied": "🔵", "us": "🔴", "other": "🟠", "unknown": "⚪"}


def _cards(view: ReportView, lang: str) -> list[str]:
    """A card per organization: the companies behind each kind of service, and its exposures."""
    cards = organization_cards(view)
    if not cards:
        return []
    out = [f"## {t('org_cards', lang)}", ""]
    legend = " · ".join(f"{_GROUP_MARK[g]} {group_label(g, view)}" for g in GROUPS)
    out += [f"{t('legend', lang)}{colon(lang)}{legend}", ""]
    for card in cards[:MAX_CARDS]:
        fig = card.figure
        out += [f'<a id="{card.anchor}"></a>', "",
                f"### {md_text(fig.organization_name or fig.organization)}", ""]
        unseen = []
        for key, parties in card.slots:
            if not parties:
                unseen.append(t(key, lang))
                continue
            who = ", ".join(
                f"{_GROUP_MARK[p.group]} {md_text(p.name)}"
                + (f" ({md_text(p.jurisdiction)})" if p.jurisdiction else "")
                for p in parties
            )
            out.append(f"- **{t(key, lang)}**{colon(lang)}{who}")
        if unseen:
            out.append(f"- _{t('card_none', lang).capitalize()}{colon(lang)}"
                       f"{', '.join(unseen)}_")
        out.append(f"- **{t('card_exposures', lang, n=len(card.exposures))}**"
                   + (colon(lang) + ", ".join(
                       f"{md_code(x.endpoint.host, in_table=False)} "
                       f"({severity_label(x.severity.value, lang).lower()})"
                       for x in card.exposures) if card.exposures else ""))
        out.append("")
    if len(cards) > MAX_CARDS:
        out += [f"_{t('more_rows', lang, n=len(cards) - MAX_CARDS)}_", ""]
    return out


def _top(view: ReportView, lang: str) -> list[str]:
    """Scope line, then the sentence that names the most exposed bodies and providers."""
    fields = scope_fields(view)
    fields["inventory"] = md_code(fields["inventory"], in_table=False)
    fields["profile"] = md_code(fields["profile"], in_table=False)
    out = [t("scope_line", lang, **fields), ""]
    orgs, providers = most_exposed(view)
    if orgs:
        names = ", ".join(md_text(o) for o in orgs)
        if providers:
            out += [t("most_exposed", lang, orgs=names,
                      providers=", ".join(md_text(p) for p in providers)), ""]
        else:
            out += [t("most_exposed_no_provider", lang, orgs=names), ""]
    return out


def render_markdown(view: ReportView) -> str:
    """The whole Markdown report for a prepared view (see ``summary.build_view``)."""
    lang, scan = view.lang, view.scan
    out = [f"# {t('title', lang)}", "", f"> **{view.headline}**", ""]
    out += _top(view, lang)
    if scan.partial:
        out += [f"> {t('partial_warning', lang)}", ""]
    from sovaudit.report.auditsettings import audit_settings_lines

    title, changed = audit_settings_lines(scan, lang)
    if changed:  # a configuration that changes the audit is said before the results
        out += [f"> **{title}**", ">"] + [f"> - {md_text(line)}" for line in changed] + [""]
    if view.internal_errors:
        out += [f"> {t('internal_errors_warning', lang, count=view.internal_errors)}", ""]
    out += _new_since_baseline(view, lang)

    out += [f"## {t('key_figures', lang)}", ""]
    out += [
        f"- {control_sentence(c.us_controlled, c.services, c.data_class, lang, c.unattributed)}"
        for c in view.class_figures
    ]
    out.append("")
    out += _exposures(view, lang)
    out += _providers(view, lang)
    out += _good_outcomes(view, lang)
    out += _cards(view, lang)
    out += _history(view, lang)
    out += [f"## {t('summary', lang)}", "", f"### {t('by_severity_exposures', lang)}", ""]
    out += _header(t("severity", lang), t("count", lang), numeric=1)
    out += [_row(severity_label(s, lang), str(n)) for s, n in view.exposure_counts]
    out += [_row(f"**{t('total', lang)}**", f"**{len(view.exposures)}**"), ""]

    out += [f"### {t('by_jurisdiction', lang)}", ""]
    out += _header(t("jurisdiction", lang), t("endpoints", lang), numeric=1)
    out += [_row(_jurisdiction(j, lang), str(n)) for j, n in view.jurisdiction_counts]
    out += ["", f"### {t('by_data_class', lang)}", ""]
    out += _header(t("data_class", lang), t("services", lang), t("us_controlled", lang), numeric=2)
    out += [
        _row(data_class_label(c.data_class, lang), str(c.services), str(c.us_controlled))
        for c in view.class_figures
    ]
    out += ["", f"### {t('by_organization', lang)}", ""]
    out += _header(
        t("organization", lang), t("exposures", lang), t("endpoints", lang),
        t("foreign_controlled", lang), t("us_controlled", lang), numeric=4,
    )
    out += [
        _row(md_text(o.organization_name or o.organization), str(o.exposures), str(o.endpoints),
             str(o.foreign_controlled), str(o.us_controlled))
        for o in view.organization_figures[:MAX_ENDPOINT_ROWS]
    ]
    out.append("")
    hidden = len(view.organization_figures) - MAX_ENDPOINT_ROWS
    if hidden > 0:
        out += [f"_{t('more_rows', lang, n=hidden)}_", ""]

    if view.rules:
        out += _rules(view, lang)
    out += _resolved(view, lang)
    out += _endpoints(view, lang)
    out += _about(scan, view, lang)
    return "\n".join(out).rstrip("\n") + "\n"
