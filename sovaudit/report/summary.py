"""Format-independent view of a scan: deterministic ordering and the figures every report shows.

Each renderer reads a :class:`ReportView` so that Markdown, HTML, CSV and SARIF agree on order
and on numbers (the headline a journalist quotes must be the same in every format).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sovaudit.errors import SovauditError, UserError
from sovaudit.evaluate.home import Home, home_of, jurisdiction_group
from sovaudit.evaluate.loader import PROFILES, get_profile, load_pack, shipped_pack_paths
from sovaudit.evidence.exposure import Exposure, exposures
from sovaudit.i18n import DEFAULT_LANG, LANGS, data_class_phrase, french_typography, t
from sovaudit.models import (
    Attribution,
    DataClass,
    DnsRecord,
    Endpoint,
    EvidenceStep,
    Finding,
    Reference,
    Scan,
    Severity,
    Status,
    controls_data,
    internal_errors,
)
from sovaudit.report.phrases import localize_phrases

if TYPE_CHECKING:
    from sovaudit.evaluate.loader import Rule

US = "US"
UNKNOWN = "unknown"

# Most sensitive first: the headline speaks about the most sensitive class the scan holds.
HEADLINE_CLASSES = (
    DataClass.HEALTH,
    DataClass.TAX,
    DataClass.JUSTICE,
    DataClass.IDENTITY,
    DataClass.FINANCIAL,
    DataClass.PERSONAL,
    DataClass.EDUCATION,
    DataClass.INFRASTRUCTURE,
)
SEVERITIES_DESC = tuple(sorted(Severity, key=lambda s: s.rank, reverse=True))
# Severity.rank looks the member up in a list; sorting 40,000 findings wants a dict.
_RANK = {s: s.rank for s in Severity}


def finding_sort_key(finding: Finding) -> tuple[int, str, str, str]:
    """Severity descending, then rule id (then subject and title for total determinism)."""
    return (-_RANK[finding.severity], finding.rule_id, finding.subject or "", finding.title)


def sort_scan(scan: Scan) -> Scan:
    """The scan with endpoints by (organization, service, host, layer) and findings sorted."""
    endpoints = sorted(
        (
            replace(e, findings=tuple(sorted(e.findings, key=finding_sort_key)))
            for e in scan.endpoints
        ),
        key=lambda e: e.key,
    )
    return replace(scan, endpoints=tuple(endpoints))


def endpoint_jurisdictions(endpoint: Endpoint) -> tuple[str, ...]:
    """Sorted jurisdictions of the ultimate parents behind an endpoint (empty if unattributed)."""
    # A weak answer (only the country where the network is registered) never counts as control:
    # it cannot make an endpoint domestic, nor foreign, in the summary figures.
    found = {
        a.jurisdiction
        for a in endpoint.attributions
        if a.jurisdiction and controls_data(a) and "weak" not in a.flags
    }
    return tuple(sorted(found))


def weak_jurisdiction_text(attribution: Attribution, lang: str) -> str | None:
    """For a weak, country-only attribution, the words reports show instead of a jurisdiction.

    "registered in CH; owner not in the registry" (fr: "enregistré en CH ; propriétaire absent du
    registre"); None for any other attribution.
    """
    if "weak" not in attribution.flags or attribution.operator or not attribution.jurisdiction:
        return None
    if lang == "fr":
        return f"enregistré en {attribution.jurisdiction} ; propriétaire absent du registre"
    return f"registered in {attribution.jurisdiction}; owner not in the registry"


def is_us_controlled(endpoint: Endpoint) -> bool:
    """True when any address or name behind the endpoint has a US ultimate parent."""
    return US in endpoint_jurisdictions(endpoint)


def is_foreign_controlled(endpoint: Endpoint, home: Home | None = None) -> bool:
    """True when any ultimate parent behind the endpoint is outside the profile's home
    (``home``; the default profile's when None)."""
    home = home or home_of(None)
    return any(home.is_foreign(j) for j in endpoint_jurisdictions(endpoint))


def is_unattributed(endpoint: Endpoint) -> bool:
    """True when an endpoint that was looked up has no jurisdiction at all behind it."""
    return endpoint.status is not Status.SKIPPED and not endpoint_jurisdictions(endpoint)


def _service_unattributed(eps: Sequence[Endpoint]) -> bool:
    # Not under US control as far as we can see, but one endpoint is a blind spot: the service
    # may still be, so it must not be counted as "not under US control".
    return not any(is_us_controlled(e) for e in eps) and any(is_unattributed(e) for e in eps)


@dataclass(frozen=True, slots=True)
class ClassFigure:
    """Services holding one data class, how many are under US control, how many unattributed."""

    data_class: str
    services: int
    us_controlled: int
    unattributed: int = 0


@dataclass(frozen=True, slots=True)
class OrganizationFigure:
    organization: str
    organization_name: str
    endpoints: int
    foreign_controlled: int
    us_controlled: int
    exposures: int = 0
    worst: Severity | None = None


@dataclass(frozen=True, slots=True)
class ProviderFigure:
    """One company in the provider ranking: what it serves, and its country's group."""

    name: str
    jurisdiction: str  # "" when unknown
    group: str  # home, allied, us, other, unknown (see evaluate.home.jurisdiction_group)
    services: int
    organizations: int
    endpoints: int


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts "Organisation 2" before "Organisation 10" (case-insensitive)."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in re.split(r"(\d+)", text) if part
    )


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One finding with the endpoint it belongs to (a row of the findings table, CSV, SARIF).

    ``attribution`` is the attribution the finding is about (same subject), if any;
    ``endpoint_index`` is the 1-based position of the endpoint in ``view.scan.endpoints``.
    """

    endpoint: Endpoint
    finding: Finding
    attribution: Attribution | None = None
    endpoint_index: int = 0


@dataclass(frozen=True, slots=True)
class RuleSummary:
    """A rule that matched at least once: its text shown once, with its counts."""

    anchor: str
    rule_id: str
    severity: Severity  # the most severe of its findings (severity may depend on data class)
    title: str
    rationale: str
    references: tuple[Reference, ...]
    findings: int
    accepted: int
    new: int


@dataclass(frozen=True, slots=True)
class ResolvedRow:
    """A finding of the baseline that the scan no longer has (from ``options.baseline``)."""

    organization: str
    service: str
    host: str
    layer: str
    rule_id: str
    severity: str
    title: str


@dataclass(frozen=True, slots=True)
class BaselineInfo:
    """What ``--baseline`` recorded in ``scan.options["baseline"]``."""

    file: str
    generated_at: str
    resolved: tuple[ResolvedRow, ...]


class HistoryLike(Protocol):
    """One point of ``sovaudit.evidence.history.series()``."""

    @property
    def generated_at(self) -> str: ...
    @property
    def endpoints(self) -> int: ...
    @property
    def foreign_controlled(self) -> int: ...
    @property
    def us_controlled(self) -> int: ...


@dataclass(frozen=True, slots=True)
class HistoryRow:
    generated_at: str
    endpoints: int
    foreign_controlled: int
    us_controlled: int

    @property
    def foreign_pct(self) -> float:
        return 100.0 * self.foreign_controlled / self.endpoints if self.endpoints else 0.0

    @property
    def us_pct(self) -> float:
        return 100.0 * self.us_controlled / self.endpoints if self.endpoints else 0.0


@dataclass(frozen=True, slots=True)
class ReportView:
    scan: Scan
    lang: str
    now: datetime
    headline: str
    class_figures: tuple[ClassFigure, ...]
    severity_counts: tuple[tuple[str, int, int], ...]  # (severity, count, accepted)
    jurisdiction_counts: tuple[tuple[str, int], ...]
    organization_figures: tuple[OrganizationFigure, ...]
    findings: tuple[FindingRow, ...]
    rules: tuple[RuleSummary, ...] = ()
    baseline: BaselineInfo | None = None
    history: tuple[HistoryRow, ...] = ()
    # The language the findings were written in, and the rule ids whose texts stayed in it
    # because their pack could not be read at report time (see localize_rule_texts).
    scan_lang: str = DEFAULT_LANG
    untranslated_rules: tuple[str, ...] = ()
    internal_errors: int = 0  # endpoints that met a bug of sovaudit (see errors.internal_reason)
    home: Home = home_of(None)  # the profile's home: what "foreign" means in every figure
    # What a reader counts: one row per endpoint and controlling party (evidence.exposure).
    exposures: tuple[Exposure, ...] = ()
    good_outcomes: tuple[Exposure, ...] = ()
    parents: tuple[ProviderFigure, ...] = ()
    operators: tuple[ProviderFigure, ...] = ()

    @property
    def exposure_counts(self) -> tuple[tuple[str, int], ...]:
        """(severity, exposures whose worst severity it is), most severe first."""
        by_sev = Counter(x.severity.value for x in self.exposures)
        return tuple((s.value, by_sev[s.value]) for s in SEVERITIES_DESC)

    @property
    def new_exposures(self) -> tuple[Exposure, ...]:
        return tuple(x for x in self.exposures if x.new)

    @property
    def total_findings(self) -> int:
        return len(self.findings)

    @property
    def new_findings(self) -> tuple[FindingRow, ...]:
        return tuple(r for r in self.findings if r.finding.status == "new")



def _services(endpoints: Iterable[Endpoint]) -> dict[tuple[str, str], list[Endpoint]]:
    services: dict[tuple[str, str], list[Endpoint]] = {}
    for e in endpoints:
        services.setdefault((e.organization, e.service), []).append(e)
    return services


def class_figures(endpoints: Iterable[Endpoint]) -> tuple[ClassFigure, ...]:
    """Per data class (most sensitive first): services holding it, those under US control, and
    those that could not be attributed."""
    # One pass over the services: (classes held, under US control, unattributed).
    flags = [
        ({c for e in eps for c in e.data_classes}, any(is_us_controlled(e) for e in eps),
         _service_unattributed(eps))
        for eps in _services(endpoints).values()
    ]
    figures = []
    for cls in (*HEADLINE_CLASSES, DataClass.PUBLIC):
        holding = [(us, blind) for classes, us, blind in flags if cls in classes]
        if holding:
            figures.append(ClassFigure(
                cls.value, len(holding), sum(us for us, _ in holding),
                sum(blind for _, blind in holding),
            ))
    return tuple(figures)


def control_sentence(
    x: int, y: int, data_class: str | None, lang: str, unattributed: int = 0
) -> str:
    """"x of y services [holding <class> data] are under US control", grammatical in fr and en.

    With ``unattributed`` services (no jurisdiction found), the sentence never says "none":
    it says "0 of 2 ... (2 not attributed)", since those services may be under US control.
    """
    if y == 0:
        return t("headline_empty", lang)
    prefix = "headline_class" if data_class else "headline_all"
    fields: dict[str, object] = {"cls": data_class_phrase(data_class, lang)} if data_class else {}
    # Grammar differs for "the only service", "none of", and a singular subject.
    if y == 1:
        if not x and unattributed:
            return t(f"{prefix}_single_unattributed", lang, **fields)
        key = f"{prefix}_single_{'yes' if x else 'no'}"
    elif x == 0 and not unattributed:
        key = f"{prefix}_none"
    elif x == 1:
        key = f"{prefix}_one_x"
    else:
        key = prefix
    sentence = t(key, lang, x=x, y=y, **fields)
    if unattributed and y > 1:
        suffix = "headline_unattributed_one" if unattributed == 1 else "headline_unattributed"
        sentence += t(suffix, lang, n=unattributed)
    return sentence


def headline(
    endpoints: Iterable[Endpoint], lang: str, figures: tuple[ClassFigure, ...] | None = None
) -> str:
    """The sentence people quote: "3 of 4 services holding health data are under US control".

    It speaks about the most sensitive data class present; without any, about all services.
    ``figures`` (from :func:`class_figures` on the same endpoints) saves computing them again.
    """
    endpoints = list(endpoints)
    if figures is None:
        figures = class_figures(endpoints)
    sensitive = [f for f in figures if f.data_class != DataClass.PUBLIC]
    if sensitive:
        top = sensitive[0]
        return control_sentence(
            top.us_controlled, top.services, top.data_class, lang, top.unattributed
        )
    services = _services(endpoints)
    x = sum(1 for eps in services.values() if any(is_us_controlled(e) for e in eps))
    blind = sum(1 for eps in services.values() if _service_unattributed(eps))
    return control_sentence(x, len(services), None, lang, blind)


def attribution_for(endpoint: Endpoint, finding: Finding) -> Attribution | None:
    """The attribution a finding is about (same subject), if the evidence says which."""
    if finding.subject is None:
        return None
    return next((a for a in endpoint.attributions if a.subject == finding.subject), None)


def rule_summaries(rows: Sequence[FindingRow]) -> tuple[RuleSummary, ...]:
    """One entry per rule id, most severe first; text from its first finding in report order."""
    first: dict[str, Finding] = {}
    worst: dict[str, Severity] = {}
    counts: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    new: Counter[str] = Counter()
    for r in rows:
        f = r.finding
        first.setdefault(f.rule_id, f)
        if f.rule_id not in worst or f.severity.rank > worst[f.rule_id].rank:
            worst[f.rule_id] = f.severity
        counts[f.rule_id] += 1
        accepted[f.rule_id] += f.accepted
        new[f.rule_id] += f.status == "new"
    order = sorted(first, key=lambda rid: (-worst[rid].rank, rid))
    # Anchors by position: rule ids come from the evidence file and are not trusted in an id.
    return tuple(
        RuleSummary(
            anchor=f"rule-{i}",
            rule_id=rid,
            severity=worst[rid],
            title=first[rid].title,
            rationale=first[rid].rationale,
            references=first[rid].references,
            findings=counts[rid],
            accepted=accepted[rid],
            new=new[rid],
        )
        for i, rid in enumerate(order, start=1)
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def baseline_info(
    options: dict[str, Any], titles: Mapping[str, str] | None = None
) -> BaselineInfo | None:
    """``options["baseline"]`` as written by ``scan --baseline``; None when absent.

    The evidence file is untrusted and ``options`` is free-form: malformed entries are skipped.
    ``titles`` (rule id -> title in the report language) replaces the recorded titles.
    """
    raw = options.get("baseline")
    if not isinstance(raw, dict):
        return None
    resolved = [
        ResolvedRow(*(_text(item.get(k)) for k in ResolvedRow.__slots__))
        for item in raw.get("resolved") or ()
        if isinstance(item, dict)
    ]
    if titles:
        resolved = [replace(r, title=titles.get(r.rule_id, r.title)) for r in resolved]
    sev_rank = {s.value: s.rank for s in Severity}
    resolved.sort(
        key=lambda r: (-sev_rank.get(r.severity, -1), r.rule_id, r.organization, r.service,
                       r.host, r.layer)
    )
    return BaselineInfo(_text(raw.get("file")), _text(raw.get("generated_at")), tuple(resolved))


def history_rows(history: Iterable[HistoryLike] | None) -> tuple[HistoryRow, ...]:
    """History points (oldest first, as ``sovaudit.evidence.history.series`` returns them)."""
    return tuple(
        HistoryRow(p.generated_at, p.endpoints, p.foreign_controlled, p.us_controlled)
        for p in history or ()
    )


# ---------------------------------------------------------------------------------------------
# Rule texts in the report language


def scan_language(scan: Scan) -> str:
    """The language the scan wrote its findings in (``options.lang``; older evidence: English)."""
    lang = scan.options.get("lang")
    return lang if isinstance(lang, str) and lang in LANGS else DEFAULT_LANG


# Parsed packs by (resolved path, mtime, size, shipped): every format of one report, and every
# report of one process, reads a pack once, and an edited pack is read again.
_PACKS: dict[tuple[str, int, int, bool], dict[str, Rule]] = {}


def _pack_rules(path: Path, shipped: bool) -> dict[str, Rule]:
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, shipped)
    rules = _PACKS.get(key)
    if rules is None:
        _pack, loaded = load_pack(path, default=shipped)
        rules = _PACKS[key] = {r.id: r for r in loaded}
    return rules


def _recorded_pack_files(options: Mapping[str, Any]) -> list[tuple[Path, bool]]:
    """The pack files the scan's options name, as ``load_rules`` would pick them: the profile's
    shipped packs (unless ``default_rules`` was off), then the custom paths that still exist."""
    files: list[tuple[Path, bool]] = []
    if options.get("default_rules", True) is not False:
        name = options.get("profile")
        if isinstance(name, str) and name in PROFILES:
            files += [(p, True) for p in get_profile(name).pack_paths()]
        elif name is None:
            files += [(p, True) for p in get_profile(None).pack_paths()]
        else:
            # A profile this version does not know: any shipped pack may hold its rules.
            files += [(p, True) for p in shipped_pack_paths()]
    raw = options.get("rules")
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, str) or not item:
            continue
        path = Path(item)
        try:
            if path.is_dir():
                files += [
                    (x, False) for x in sorted(path.iterdir())
                    if x.suffix in (".yaml", ".yml") and x.is_file()
                ]
            elif path.is_file():  # never a FIFO or a device named by a tampered evidence file
                files.append((path, False))
        except OSError:
            continue  # unreadable now: its rules keep the stored text
    return files


def recorded_rules(options: Mapping[str, Any]) -> dict[str, Rule]:
    """Rules of the packs recorded in a scan's options that can still be read, by id.

    A pack that is missing, unreadable or no longer valid is left out (its findings keep the
    text stored in the evidence); the first pack that defines an id wins, as in a scan.
    """
    rules: dict[str, Rule] = {}
    for path, shipped in _recorded_pack_files(options):
        try:
            pack = _pack_rules(path, shipped)
        except (OSError, SovauditError):
            continue
        for rule_id, rule in pack.items():
            rules.setdefault(rule_id, rule)
    return rules


def localize_rule_texts(scan: Scan, lang: str) -> tuple[Scan, dict[str, str], tuple[str, ...]]:
    """The scan with each finding's title, rationale and references in ``lang``.

    Findings carry their rule's text in the scan's language. When ``lang`` differs, the text is
    taken from the rule packs recorded in the scan's options; a rule found in none of them keeps
    its stored text. Returns the scan, rule id -> title in ``lang`` (for baseline rows) and the
    sorted rule ids left in the scan's language.
    """
    if scan_language(scan) == lang:
        return scan, {}, ()
    ids = {f.rule_id for e in scan.endpoints for f in e.findings}
    info = baseline_info(scan.options)
    if info is not None:
        ids |= {r.rule_id for r in info.resolved if r.rule_id}
    if not ids:
        return scan, {}, ()
    rules = recorded_rules(scan.options)
    texts: dict[str, tuple[str, str, tuple[Reference, ...]]] = {
        rid: (
            rules[rid].title.get(lang),
            rules[rid].rationale.get(lang),
            tuple(Reference(r.title.get(lang), r.url) for r in rules[rid].references),
        )
        for rid in ids
        if rid in rules
    }

    def localized(f: Finding) -> Finding:
        text = texts.get(f.rule_id)
        if text is None:
            return f
        return replace(f, title=text[0], rationale=text[1], references=text[2])

    endpoints = tuple(
        replace(e, findings=tuple(localized(f) for f in e.findings)) if e.findings else e
        for e in scan.endpoints
    )
    titles = {rid: text[0] for rid, text in texts.items()}
    return replace(scan, endpoints=endpoints), titles, tuple(sorted(ids - texts.keys()))


def french_rule_texts(scan: Scan) -> Scan:
    """Rule titles and rationales with French typography (narrow no-break space before : ; ?
    and !): the packs are written with plain spaces."""
    cache: dict[str, str] = {}

    def typo(text: str) -> str:
        out = cache.get(text)
        if out is None:
            out = cache[text] = french_typography(text)
        return out

    def finding(f: Finding) -> Finding:
        return replace(f, title=typo(f.title), rationale=typo(f.rationale),
                       references=tuple(Reference(typo(r.title), r.url) for r in f.references))

    return replace(scan, endpoints=tuple(
        replace(e, findings=tuple(finding(f) for f in e.findings)) if e.findings else e
        for e in scan.endpoints
    ))


def build_view(
    scan: Scan,
    *,
    lang: str,
    now: datetime,
    history: Iterable[HistoryLike] | None = None,
) -> ReportView:
    """Sort the scan, put rule texts in ``lang`` and compute every figure the reports print."""
    scan, titles, untranslated = localize_rule_texts(scan, lang)
    scan = localize_phrases(scan, lang)  # reasons and evidence sentences stored in English
    if lang == "fr":
        scan = french_rule_texts(scan)
    scan = sort_scan(scan)
    home = home_of(scan.options.get("profile"))
    rows = sorted(
        (
            FindingRow(e, f, attribution_for(e, f), i)
            for i, e in enumerate(scan.endpoints, start=1)
            for f in e.findings
        ),
        key=lambda r: (
            -_RANK[r.finding.severity], r.finding.rule_id, r.endpoint.key, r.finding.subject or ""
        ),
    )
    figures = class_figures(scan.endpoints)
    by_sev = Counter(r.finding.severity.value for r in rows)
    accepted = Counter(r.finding.severity.value for r in rows if r.finding.accepted)
    jur: Counter[str] = Counter()
    for e in scan.endpoints:
        if e.status is Status.SKIPPED:
            continue  # nothing there to control (NXDOMAIN, null MX, reserved TLD)
        jur.update(endpoint_jurisdictions(e) or (UNKNOWN,))
    # Most endpoints first; the unknown bucket always last so it is never mistaken for a country.
    jur_counts = sorted(
        jur.items(), key=lambda kv: (kv[0] == UNKNOWN, -kv[1], kv[0])
    )
    orgs: dict[str, list[Endpoint]] = {}
    for e in scan.endpoints:
        orgs.setdefault(e.organization, []).append(e)
    bad, good = exposures(scan.endpoints)
    bad.sort(key=exposure_sort_key)
    good.sort(key=exposure_sort_key)
    org_exposures: Counter[str] = Counter(x.endpoint.organization for x in bad)
    org_worst: dict[str, Severity] = {}
    for x in bad:  # most severe first: the first one seen is the worst
        org_worst.setdefault(x.endpoint.organization, x.severity)
    org_figures = tuple(sorted(
        (
            OrganizationFigure(
                organization=org,
                organization_name=eps[0].organization_name,
                endpoints=len(eps),
                foreign_controlled=sum(1 for e in eps if is_foreign_controlled(e, home)),
                us_controlled=sum(1 for e in eps if is_us_controlled(e)),
                exposures=org_exposures[org],
                worst=org_worst.get(org),
            )
            for org, eps in orgs.items()
        ),
        key=organization_sort_key,
    ))
    return ReportView(
        scan=scan,
        lang=lang,
        now=now,
        headline=headline(scan.endpoints, lang, figures),
        class_figures=figures,
        severity_counts=tuple(
            (s.value, by_sev[s.value], accepted[s.value]) for s in SEVERITIES_DESC
        ),
        jurisdiction_counts=tuple(jur_counts),
        organization_figures=org_figures,
        findings=tuple(rows),
        rules=rule_summaries(rows),
        baseline=baseline_info(scan.options, titles),
        history=history_rows(history),
        scan_lang=scan_language(scan),
        untranslated_rules=untranslated,
        internal_errors=sum(1 for e in scan.endpoints if internal_errors(e)),
        home=home,
        exposures=tuple(bad),
        good_outcomes=tuple(good),
        parents=provider_ranking(scan.endpoints, home, by="parent"),
        operators=provider_ranking(scan.endpoints, home, by="operator"),
    )


def organization_sort_key(o: OrganizationFigure) -> tuple[Any, ...]:
    """Most exposed first (worst severity, then number of exposures), then name, naturally."""
    worst = o.worst.rank if o.worst is not None else -1
    return (-worst, -o.exposures, -o.foreign_controlled, natural_key(o.organization_name
                                                                      or o.organization),
            o.organization)


def exposure_sort_key(x: Exposure) -> tuple[Any, ...]:
    """Most severe first, then organization name (naturally), host, layer and party."""
    e = x.endpoint
    return (-_RANK[x.severity], natural_key(e.organization_name or e.organization), e.key,
            x.party)


def provider_ranking(
    endpoints: Iterable[Endpoint], home: Home, *, by: str
) -> tuple[ProviderFigure, ...]:
    """Companies (``by="parent"``: ultimate parents; ``"operator"``: operators) ranked by the
    services and organizations whose data they hold, the way webXray ranks parent companies.

    Only attributions that control data count (a certificate authority holds none); a company
    with two countries on record (rare: conflicting sources) is listed under each.
    """
    services: dict[tuple[str, str], set[tuple[str, str]]] = {}
    orgs: dict[tuple[str, str], set[str]] = {}
    eps: Counter[tuple[str, str]] = Counter()
    for e in endpoints:
        if e.status is Status.SKIPPED:
            continue
        seen: set[tuple[str, str]] = set()
        for a in e.attributions:
            if a.status is not Status.OK or not controls_data(a):
                continue
            name = (a.ultimate_parent if by == "parent" else None) or a.operator_name or a.operator
            if not name:
                continue
            key = (name, a.jurisdiction or "")
            if key in seen:
                continue
            seen.add(key)
            services.setdefault(key, set()).add((e.organization, e.service))
            orgs.setdefault(key, set()).add(e.organization)
            eps[key] += 1
    ranked = sorted(services, key=lambda k: (-len(services[k]), -len(orgs[k]), -eps[k],
                                             natural_key(k[0]), k[1]))
    return tuple(
        ProviderFigure(
            name=k[0], jurisdiction=k[1], group=jurisdiction_group(home, k[1] or None),
            services=len(services[k]), organizations=len(orgs[k]), endpoints=eps[k],
        )
        for k in ranked
    )


@dataclass(frozen=True, slots=True)
class Chain:
    """One evidence chain of an endpoint, shown once, with the findings it triggered.

    ``same_as`` is the index of an earlier endpoint that shows the identical chain (same
    subject, role and steps): the renderer links there instead of repeating the steps.
    """

    subject: str | None
    attribution: Attribution | None
    steps: tuple[EvidenceStep, ...]
    findings: tuple[Finding, ...]
    same_as: int | None = None


@dataclass(frozen=True, slots=True)
class EndpointEvidence:
    index: int  # 1-based position in view.scan.endpoints: anchor "e-<index>"
    endpoint: Endpoint
    chains: tuple[Chain, ...]
    severity: Severity | None  # most severe finding, None without findings


ChainKey = tuple[str | None, str | None, tuple[EvidenceStep, ...]]


def _without_rule(steps: tuple[EvidenceStep, ...]) -> tuple[EvidenceStep, ...]:
    # A finding's evidence is the attribution's chain plus the rule step(s) at the end.
    end = len(steps)
    while end and steps[end - 1].step == "rule":
        end -= 1
    return steps[:end]


def endpoint_chains(endpoint: Endpoint) -> tuple[Chain, ...]:
    """The endpoint's chains: one per attribution, plus one per distinct finding evidence that
    is not an attribution's chain; identical chains are merged and list every rule they fired."""
    chains: dict[ChainKey, list[Any]] = {}
    by_subject: dict[str, ChainKey] = {}
    key: ChainKey
    for a in endpoint.attributions:
        key = (a.subject, a.role, a.evidence)
        if key not in chains:
            chains[key] = [a, []]
            by_subject.setdefault(a.subject, key)
    for f in endpoint.findings:
        steps = _without_rule(f.evidence)
        key_a = by_subject.get(f.subject or "") if f.subject is not None else None
        if key_a is not None and (not steps or steps == key_a[2]):
            chains[key_a][1].append(f)
            continue
        key = (f.subject, None, steps)
        chains.setdefault(key, [None, []])[1].append(f)
    return tuple(
        Chain(subject=k[0], attribution=v[0], steps=k[2], findings=tuple(v[1]))
        for k, v in chains.items()
    )


def evidence_order(view: ReportView) -> list[int]:
    """Endpoint indexes, most severe finding first: what a capped evidence section keeps."""
    worst: dict[int, int] = {}
    for r in view.findings:
        worst[r.endpoint_index] = max(worst.get(r.endpoint_index, -1), r.finding.severity.rank)
    indexes = range(1, len(view.scan.endpoints) + 1)
    return sorted(indexes, key=lambda i: (-worst.get(i, -1), i))


def endpoint_evidence(view: ReportView, limit: int | None = None) -> list[EndpointEvidence]:
    """Evidence of each endpoint in report order; with ``limit``, only the ``limit`` endpoints
    with the most severe findings (still in report order). Identical chains are collapsed:
    only their first occurrence (among the endpoints kept) lists the steps."""
    chosen = sorted(evidence_order(view)[:limit] if limit is not None else evidence_order(view))
    seen: dict[ChainKey, int] = {}
    out = []
    for i in chosen:
        e = view.scan.endpoints[i - 1]
        chains = []
        for c in endpoint_chains(e):
            key = (c.subject, c.attribution.role if c.attribution else None, c.steps)
            first = seen.setdefault(key, i)
            chains.append(replace(c, same_as=first) if first != i and c.steps else c)
        worst = max((f.severity for f in e.findings), key=lambda s: s.rank, default=None)
        out.append(EndpointEvidence(i, e, tuple(chains), worst))
    return out


def iso(now: datetime) -> str:
    """``now`` as an ISO 8601 UTC timestamp with second precision (stable in goldens)."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC)
    return now.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def split_control(steps: tuple[EvidenceStep, ...]) -> tuple[tuple[EvidenceStep, ...], ...]:
    """``(head, control)``: the steps up to the operator, and operator -> parent -> jurisdiction.

    The control part is the same for every address of one operator, so reports print it once.
    """
    for i, s in enumerate(steps):
        if s.step == "operator":
            return steps[:i], steps[i:]
    return steps, ()


@dataclass(frozen=True, slots=True)
class EvidenceIndex:
    """Numbers for the sources and the control chains of the evidence a report shows, in order
    of first appearance: each is printed once, in a legend, and referred to by its number."""

    sources: dict[str, int]
    controls: dict[tuple[EvidenceStep, ...], int]

    @classmethod
    def build(cls, shown: Iterable[EndpointEvidence]) -> EvidenceIndex:
        sources: dict[str, int] = {}
        controls: dict[tuple[EvidenceStep, ...], int] = {}
        for ev in shown:
            for c in ev.chains:
                if c.same_as is not None:
                    continue
                head, control = split_control(c.steps)
                for s in head:
                    sources.setdefault(s.source, len(sources) + 1)
                if control and control not in controls:
                    controls[control] = len(controls) + 1
        for control in controls:
            for s in control:
                sources.setdefault(s.source, len(sources) + 1)
        return cls(sources, controls)


def display_records(endpoint: Endpoint) -> tuple[DnsRecord, ...]:
    """The endpoint's DNS records by (name, type): the collector may store them in completion
    order, which varies between runs, and a report must not."""
    return tuple(sorted(endpoint.records, key=lambda r: (r.name, r.type)))


def control_name(control: tuple[EvidenceStep, ...]) -> str:
    """Who a control chain ends at: the value of its last entity or parent step."""
    owners = [s.value for s in control if s.step in ("entity", "parent")]
    return owners[-1] if owners else control[0].value


# CC BY 4.0 attribution of the IP -> ASN table (ip-location-db/asn); names and URLs are ours.
CREDITS = (
    ("IP Geolocation by DB-IP", "https://db-ip.com"),
    ("RouteViews", "https://www.routeviews.org/"),
    ("NRO", "https://www.nro.net/"),
)


def uses_ip_asn_table(scan: Scan) -> bool:
    """True when the scan used the CC BY 4.0 IP -> ASN table, whose licence asks for credit."""
    return any("ip-location-db" in d.name or "DB-IP" in d.licence for d in scan.datasets)


# Third-party hosts listed by name under an endpoint; the rest are counted.
MAX_WEB_HOSTS = 10


@dataclass(frozen=True, slots=True)
class WebSummary:
    """What the web probe saw on one endpoint, compact enough for one block of a report."""

    cdn: tuple[str, ...]  # e.g. "Cloudflare (CF-Ray header)"
    ca: str | None  # issuer organization (and CA name when known)
    ca_verified: bool
    identity_providers: tuple[str, ...]
    third_parties: tuple[str, ...]  # hosts, capped at MAX_WEB_HOSTS
    third_party_count: int
    error: str | None


def web_summary(endpoint: Endpoint) -> WebSummary | None:
    """The web probe's observation of ``endpoint`` (``details["web"]``), or None without one."""
    web = endpoint.details.get("web")
    if not isinstance(web, dict):
        return None
    tls = web.get("tls") if isinstance(web.get("tls"), dict) else None
    ca: str | None = None
    if tls is not None:
        ca_names = [
            str(s.get("provider")) for s in web.get("signals") or ()
            if isinstance(s, dict) and s.get("kind") == "ca"
        ]
        issuer = str(tls.get("issuer_organization") or tls.get("issuer") or "")
        if ca_names and issuer.lower() in ca_names[0].lower():
            ca = ca_names[0]  # "Let's Encrypt (ISRG)" says it all
        else:
            ca = issuer + (f" ({ca_names[0]})" if ca_names else "")
    hosts = [str(tp.get("host")) for tp in web.get("third_parties") or () if isinstance(tp, dict)]
    return WebSummary(
        cdn=tuple(str(c) for c in web.get("cdn_signals") or ()),
        ca=ca or None,
        ca_verified=bool(tls.get("verified")) if tls is not None else False,
        identity_providers=tuple(str(h) for h in web.get("identity_providers") or ()),
        third_parties=tuple(hosts[:MAX_WEB_HOSTS]),
        third_party_count=len(hosts),
        error=str(web["error"]) if web.get("error") else None,
    )


# ---------------------------------------------------------------------------------------------
# The top of a report: scope line and the sentence that names bodies and providers

MAX_NAMED = 3  # bodies and providers the headline names


def decimal(value: float, lang: str, digits: int = 1) -> str:
    """``value`` with ``digits`` decimals, with a decimal comma in French."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "fr" else text


def scope_fields(view: ReportView) -> dict[str, str]:
    """Date, inventory, profile and completeness of the scan, for the line under the title."""
    scan = view.scan
    n = len(scan.endpoints)
    done = sum(1 for e in scan.endpoints if e.status is not Status.UNKNOWN)
    profile = scan.options.get("profile")
    return {
        "date": scan.generated_at[:10],
        "inventory": scan.inventory,
        "profile": profile if isinstance(profile, str) else view.home.profile,
        "n": str(n),
        "done": str(done),
        "pct": decimal(100.0 * done / n if n else 100.0, view.lang),
    }


def most_exposed(view: ReportView) -> tuple[list[str], list[str]]:
    """The most exposed organizations and the main foreign parents (names, at most 3 each)."""
    orgs = [o.organization_name or o.organization for o in view.organization_figures
            if o.exposures][:MAX_NAMED]
    providers = [p.name for p in view.parents if p.group not in ("home", "unknown")][:MAX_NAMED]
    return orgs, providers


def group_label(group: str, view: ReportView) -> str:
    """Our label of a jurisdiction group; "home" names the profile's countries."""
    countries = sorted(view.home.countries)
    codes = ", ".join(countries) if len(countries) <= 3 else ("EEE" if view.lang == "fr"
                                                             else "EEA")
    return t(f"group_{group}", view.lang, codes=codes)


# ---------------------------------------------------------------------------------------------
# A card per organization: who runs its web, mail, DNS, identity and domain, at a glance

_ANCHOR_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")


def org_anchor(organization: str, position: int) -> str:
    """``org-<id>``: the inventory id when it is a plain slug, else the card's position (ids
    come from the evidence file, which is not trusted inside an HTML id)."""
    return f"org-{organization}" if _ANCHOR_SAFE.match(organization) else f"org-{position}"


@dataclass(frozen=True, slots=True)
class CardParty:
    name: str
    jurisdiction: str
    group: str


# Slots of a card: (key of the label, layers, roles); an empty tuple means "any".
CARD_SLOTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("card_web", ("web",), ()),
    ("card_gateway", ("mail",), ("gateway",)),
    ("card_mailbox", ("mail",), ("mailbox",)),
    ("card_dns", ("dns",), ()),
    ("card_idp", (), ("identity-provider",)),
    ("card_registry", ("domain",), ("registry",)),
)


@dataclass(frozen=True, slots=True)
class OrgCard:
    anchor: str
    figure: OrganizationFigure
    slots: tuple[tuple[str, tuple[CardParty, ...]], ...]
    exposures: tuple[Exposure, ...]


def organization_cards(view: ReportView) -> tuple[OrgCard, ...]:
    """One card per organization, in the order of ``view.organization_figures`` (most exposed
    first, then name): the companies behind each kind of service, and its exposures."""
    by_org: dict[str, list[Endpoint]] = {}
    for e in view.scan.endpoints:
        by_org.setdefault(e.organization, []).append(e)
    exposed: dict[str, list[Exposure]] = {}
    for x in view.exposures:
        exposed.setdefault(x.endpoint.organization, []).append(x)
    cards = []
    for i, fig in enumerate(view.organization_figures, start=1):
        slots = []
        for key, layers, roles in CARD_SLOTS:
            found: dict[tuple[str, str], CardParty] = {}
            for e in by_org.get(fig.organization, ()):
                if layers and e.layer.value not in layers:
                    continue
                for a in e.attributions:
                    if a.status is not Status.OK or (roles and a.role not in roles):
                        continue
                    if not roles and not controls_data(a):
                        continue
                    name = a.ultimate_parent or a.operator_name or a.operator or ""
                    if name:
                        found.setdefault((name, a.jurisdiction or ""), CardParty(
                            name, a.jurisdiction or "",
                            jurisdiction_group(view.home, a.jurisdiction),
                        ))
            if key == "card_gateway" and not found:
                # No gateway signal: the MX hosts receive the mail first, so they are the
                # gateway (the mailbox stays "not seen" without a mailbox signal).
                for e in by_org.get(fig.organization, ()):
                    if e.layer.value != "mail":
                        continue
                    for a in e.attributions:
                        name = a.ultimate_parent or a.operator_name or a.operator or ""
                        if a.status is Status.OK and controls_data(a) and name:
                            found.setdefault((name, a.jurisdiction or ""), CardParty(
                                name, a.jurisdiction or "",
                                jurisdiction_group(view.home, a.jurisdiction),
                            ))
            slots.append((key, tuple(sorted(found.values(), key=lambda p: natural_key(p.name)))))
        cards.append(OrgCard(org_anchor(fig.organization, i), fig, tuple(slots),
                             tuple(exposed.get(fig.organization, ()))))
    return tuple(cards)


def only_organization(scan: Scan, organization: str) -> Scan:
    """The scan cut down to one organization's endpoints (``sovaudit report --org``).

    UserError naming the organizations present when ``organization`` has no endpoint.
    """
    kept = tuple(e for e in scan.endpoints if e.organization == organization)
    if not kept:
        ids = sorted({e.organization for e in scan.endpoints}, key=natural_key)
        shown = ", ".join(ids[:20]) + (f" (and {len(ids) - 20} more)" if len(ids) > 20 else "")
        raise UserError(f"no organization {organization!r} in this evidence file "
                        f"(organizations: {shown or 'none'})")
    return replace(scan, endpoints=kept)
