"""The domain layer: registry table, domain endpoints, registrar RDAP on loopback, domain rules."""

from __future__ import annotations

import asyncio
import datetime
import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import dns.rdatatype
import pytest
import yaml

from sovaudit.attribute.domain import (
    CONF_REGISTRAR_COUNTRY,
    CONF_REGISTRAR_ID,
    CONF_REGISTRY,
    DOMAIN_REASONS,
    OWNERSHIPS,
    DomainTable,
    attribute_domain,
    default_domain_table,
    domain_endpoint,
    parse_domain_table,
)
from sovaudit.attribute.registry import default_registry
from sovaudit.collect.cache import SqliteCache
from sovaudit.collect.domain_rdap import (
    DomainRdapResult,
    bootstrap_base,
    domain_rdap_lookup,
    domain_rdap_lookup_many,
    parse_domain_rdap,
)
from sovaudit.collect.rdap import RdapError
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.errors import DatasetError
from sovaudit.evaluate import evaluate, load_rules
from sovaudit.models import (
    DataClass,
    Endpoint,
    Layer,
    Severity,
    SourceLocation,
    Status,
    endpoint_from_dict,
    to_jsonable,
)

DATA = Path(__file__).parent / "data"
RDAP_DIR = DATA / "rdap_domain"
FIXTURES = DATA / "rule_fixtures"
PACK = Path(__file__).parent.parent / "sovaudit" / "rules" / "domains.yaml"
DOMAIN_RULES = ("DOMAIN-REGISTRY-FOREIGN", "DOMAIN-REGISTRAR-FOREIGN", "DOMAIN-REGISTRY-DOMESTIC")
NOW = datetime.date(2026, 11, 25)
TABLE = default_domain_table()
EU = "at be bg hr cy cz dk ee fi fr de gr hu ie it lv lt lu mt nl pl pt ro sk si es se".split()
REQUIRED = [
    "com",
    "net",
    "org",
    "info",
    "app",
    "dev",
    "io",
    "ca",
    "quebec",
    "qc.ca",
    "gouv.qc.ca",
    "ch",
    "li",
    "uk",
    "au",
    "us",
    "eu",
    *EU,
]


def _endpoint(domain: str, classes: tuple[DataClass, ...] = (DataClass.HEALTH,)) -> Endpoint:
    return domain_endpoint("org-test", "Organisme test", domain, classes, SourceLocation("i", 3))


def _steps(endpoint: Endpoint, role: str) -> dict[str, str]:
    at = next(a for a in endpoint.attributions if a.role == role)
    return {s.step: s.value for s in at.evidence}


# -- the table -----------------------------------------------------------------------------


def test_table_covers_the_required_suffixes_and_eu_cctlds() -> None:
    missing = [s for s in REQUIRED if s not in TABLE.registries]
    assert not missing
    assert len(EU) == 27


@pytest.mark.parametrize("suffix", sorted(TABLE.registries))
def test_every_registry_entry_is_complete_and_sourced(suffix: str) -> None:
    entry = TABLE.registries[suffix]
    tld = suffix.rsplit(".", 1)[-1]
    assert entry.operator.strip()
    # The IANA root database page of the TLD comes first, the operator's site after it.
    assert entry.sources[0] == f"https://www.iana.org/domains/root/db/{tld}.html"
    assert len(entry.sources) >= 2
    datetime.date.fromisoformat(entry.reviewed)
    chain = TABLE.chain(entry.entity)
    for ent in chain:
        assert re.fullmatch(r"[A-Z]{2}(-[A-Z0-9]{1,3})?", ent.country)
        assert ent.ownership in OWNERSHIPS
        assert ent.source.strip() and ent.name.strip()
        datetime.date.fromisoformat(ent.reviewed)
        if ent.unverified:
            assert ent.note, f"{ent.id} is unverified without saying why"
    if entry.unverified:
        assert entry.note, f"{suffix} is unverified without saying why"


@pytest.mark.parametrize("registrar_id", sorted(TABLE.registrars))
def test_every_registrar_resolves_to_a_dated_sourced_chain(registrar_id: str) -> None:
    reg = TABLE.registrars[registrar_id]
    assert reg.source.strip()
    datetime.date.fromisoformat(reg.reviewed)
    top = TABLE.chain(reg.entity)[-1]
    assert top.country and top.source


@pytest.mark.parametrize(
    ("suffix", "operator_country", "parent_country"),
    [
        ("com", "US", "US"),
        ("net", "US", "US"),
        ("org", "US", "US"),
        ("info", "IE", "US"),
        ("app", "US", "US"),
        ("dev", "US", "US"),
        ("io", "GB", "US"),  # Internet Computer Bureau (UK) under Identity Digital (US)
        ("ca", "CA", "CA"),
        ("quebec", "CA-QC", "CA-QC"),
        ("gouv.qc.ca", "CA-QC", "CA-QC"),
        ("ch", "CH", "CH"),
        ("uk", "GB", "GB"),
        ("au", "AU", "AU"),
        ("us", "US", "US"),
        ("eu", "BE", "BE"),
        ("fr", "FR", "FR"),
        ("de", "DE", "DE"),
    ],
)
def test_known_registries_and_their_jurisdictions(
    suffix: str, operator_country: str, parent_country: str
) -> None:
    chain = TABLE.chain(TABLE.registries[suffix].entity)
    assert (chain[0].country, chain[-1].country) == (operator_country, parent_country)


def test_dev_and_app_chain_up_to_alphabet_from_the_provider_registry() -> None:
    chain = TABLE.chain(TABLE.registries["dev"].entity)
    assert [e.id for e in chain] == ["charleston-road-registry", "google", "alphabet"]
    assert chain[-1] is default_registry().entities["alphabet"]


def test_longest_suffix_wins_and_every_level_is_listed() -> None:
    assert [e.suffix for e in TABLE.delegation("Sante.Gouv.QC.ca.")] == [
        "gouv.qc.ca",
        "qc.ca",
        "ca",
    ]
    entry = TABLE.match_suffix("ville.qc.ca")
    assert entry is not None and entry.suffix == "qc.ca"
    entry = TABLE.match_suffix("example-body.com")
    assert entry is not None and entry.suffix == "com"
    assert TABLE.match_suffix("body.example") is None


_MINI = """
version: "t1"
reviewed: 2026-11-25
entities:
  - {id: a, name: A, country: US, ownership: private, parent: null, source: s, reviewed: 2026-11-25}
registries:
  - {suffix: com, operator: A, entity: a, source: [u, v], reviewed: 2026-11-25}
registrars: []
"""


@pytest.mark.parametrize(
    ("change", "message", "line"),
    [
        (("registrars: []", "registrars:\n  - bad"), "must be a mapping", None),
        (("suffix: com", "suffix: no"), "'suffix' must be a string", 7),
        (("entity: a, source", "entity: zz, source"), "'zz' is not a known entity", 7),
        (("ownership: private", "ownership: mutual"), "ownership must be one of", 5),
        (("parent: null", "parent: a"), "ownership cycle", 5),
        (("country: US", "country: usa"), "not ISO 3166", 5),
        (("source: [u, v]", "source: u"), "'source' must be a list", 7),
        (("reviewed: 2026-11-25}\nregistrars", "reviewed: soon}\nregistrars"), "ISO date", 7),
    ],
)
def test_table_errors_name_the_line(
    change: tuple[str, str], message: str, line: int | None
) -> None:
    text = _MINI.replace(*change)
    assert text != _MINI
    with pytest.raises(DatasetError) as info:
        parse_domain_table(text, path="t.yaml")
    assert message in info.value.message
    if line is not None:
        assert info.value.line == line


def test_duplicate_suffix_and_duplicate_iana_id_are_errors() -> None:
    dup = _MINI.replace(
        "registrars: []",
        "  - {suffix: COM., operator: A, entity: a, source: [u], reviewed: 2026-11-25}\n"
        "registrars: []",
    )
    with pytest.raises(DatasetError, match="duplicate suffix 'com'"):
        parse_domain_table(dup, path="t.yaml")
    two = _MINI.replace(
        "registrars: []",
        "registrars:\n"
        "  - {id: r1, name: R1, entity: a, iana_id: '7', source: s, reviewed: 2026-11-25}\n"
        "  - {id: r2, name: R2, entity: a, iana_id: '7', source: s, reviewed: 2026-11-25}\n",
    )
    with pytest.raises(DatasetError, match="IANA id 7 is listed by both"):
        parse_domain_table(two, path="t.yaml")


# -- endpoints and registry attributions ---------------------------------------------------


def test_domain_endpoint_needs_no_dns_and_says_its_suffix() -> None:
    ep = _endpoint("Example-Body.COM.")
    assert (ep.host, ep.layer, ep.status, ep.service) == (
        "example-body.com",
        Layer.DOMAIN,
        Status.OK,
        "example-body.com",
    )
    assert ep.details["domain"] == {
        "name": "example-body.com",
        "tld": "com",
        "registry_suffix": "com",
    }
    assert _endpoint("x.gouv.qc.ca").details["domain"]["registry_suffix"] == "gouv.qc.ca"
    assert _endpoint("body.example").details["domain"]["registry_suffix"] is None


@pytest.mark.parametrize(
    ("domain", "suffix", "operator", "jurisdiction", "ownership"),
    [
        ("example-body.com", "com", "VeriSign, Inc.", "US", "private"),
        (
            "example-body.ca",
            "ca",
            "Canadian Internet Registration Authority (CIRA)",
            "CA",
            "not-for-profit",
        ),
        ("example-body.quebec", "quebec", "PointQuébec Inc.", "CA-QC", "not-for-profit"),
    ],
)
def test_example_bodies_registry_with_evidence(
    domain: str, suffix: str, operator: str, jurisdiction: str, ownership: str
) -> None:
    ep = attribute_domain(_endpoint(domain), rdap=None)
    [at] = ep.attributions  # no RDAP probe: no registrar attribution
    assert (at.role, at.subject, at.category, at.status) == (
        "registry",
        suffix,
        "registry",
        Status.OK,
    )
    assert (at.ultimate_parent, at.jurisdiction, at.ownership) == (
        operator,
        jurisdiction,
        ownership,
    )
    assert at.confidence == CONF_REGISTRY
    steps = _steps(ep, "registry")
    assert steps["domain"] == domain
    assert steps["suffix"] == suffix
    assert steps["jurisdiction"] == jurisdiction
    assert steps["entity"] == f"{operator} ({jurisdiction})"
    iana = next(s for s in at.evidence if s.step == "registry").source
    assert iana.startswith(f"https://www.iana.org/domains/root/db/{suffix}.html")
    assert ep.details["control"]["jurisdictions"] == [jurisdiction]
    assert ep.details["control"]["attributed"] is True


def test_quebec_registry_is_flagged_unverified() -> None:
    [at] = attribute_domain(_endpoint("example-body.quebec"), rdap=None).attributions
    assert "unverified" in at.flags


def test_io_shows_the_uk_operator_and_the_us_parent() -> None:
    [at] = attribute_domain(_endpoint("example-body.io"), rdap=None).attributions
    assert (at.operator_jurisdiction, at.jurisdiction) == ("GB", "US")
    assert "chain:GB" in at.flags
    assert [s.step for s in at.evidence if s.step in ("entity", "parent")] == ["entity", "parent"]


def test_gouv_qc_ca_lists_quebec_then_cira_twice() -> None:
    ep = attribute_domain(_endpoint("sante.gouv.qc.ca"), rdap=None)
    got = [(a.subject, a.jurisdiction, a.ownership) for a in ep.attributions]
    assert got == [
        ("gouv.qc.ca", "CA-QC", "public"),
        ("qc.ca", "CA", "not-for-profit"),
        ("ca", "CA", "not-for-profit"),
    ]


def test_backend_provider_is_shown_when_its_law_differs() -> None:
    [at] = attribute_domain(_endpoint("example.com.au"), rdap=None).attributions
    assert at.jurisdiction == "AU"
    assert "backend:US" in at.flags
    assert any(s.step == "backend" and "Identity Digital" in s.value for s in at.evidence)


def test_unlisted_suffix_is_unknown_with_a_reason_never_clean() -> None:
    ep = attribute_domain(_endpoint("body.example"), rdap=None)
    [at] = ep.attributions
    assert at.status is Status.UNKNOWN and at.jurisdiction is None
    assert at.reason is not None and ".example" in at.reason
    assert ep.details["control"]["attributed"] is False


def test_attribute_domain_replaces_what_the_address_engine_put_there() -> None:
    from sovaudit.attribute.engine import Attributor

    first = Attributor.default().attribute_endpoint(_endpoint("example-body.com"))
    assert [a.role for a in first.attributions] != ["registry"]
    again = attribute_domain(first, rdap=None)
    assert [a.role for a in again.attributions] == ["registry"]


def test_reasons_exist_in_both_languages() -> None:
    for code, texts in DOMAIN_REASONS.items():
        assert texts["fr"] != texts["en"], code
        assert set(re.findall(r"{(\w+)}", texts["fr"])) == set(re.findall(r"{(\w+)}", texts["en"]))


def test_endpoint_round_trips_through_the_evidence_json() -> None:
    ep = attribute_domain(_endpoint("example-body.io"), rdap=None)
    back = endpoint_from_dict(json.loads(json.dumps(to_jsonable(ep))))
    assert back == ep


# -- registrar RDAP on loopback -------------------------------------------------------------


class _Rdap(http.server.BaseHTTPRequestHandler):
    """``/domain/<name>`` from tests/data/rdap_domain and ``/dns.json`` (an IANA bootstrap)."""

    requests: list[str] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/rdap+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        type(self).requests.append(self.path)
        if self.path == "/dns.json":
            # The Host header is where the client reached us: the bootstrap points back there.
            base = f"http://{self.headers['Host']}/reg/"
            boot = {
                "version": "1.0",
                "services": [[["com", "net"], [base]], [["ca"], [base]], [["quebec"], [base]]],
            }
            return self._send(200, json.dumps(boot).encode())
        name = self.path.removeprefix("/reg").removeprefix("/domain/")
        path = RDAP_DIR / f"{name.lower()}.json"
        if self.path.startswith(("/domain/", "/reg/domain/")) and path.is_file():
            return self._send(200, path.read_bytes())
        return self._send(404, b'{"errorCode": 404, "title": "Not Found"}')


@pytest.fixture(scope="module")
def rdap_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Rdap)
    port = int(server.server_address[1])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.MonkeyPatch.context() as mp:  # loopback-only test hook (netpolicy)
            mp.setenv("SOVAUDIT_ALLOW_LOOPBACK", "1")
            yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


def test_registrar_of_a_com_name_by_iana_id(rdap_server: str) -> None:
    result = domain_rdap_lookup("example-body.com", rdap_url=rdap_server, timeout=2)
    assert result == DomainRdapResult(
        domain="example-body.com",
        registrar_name="GoDaddy.com, LLC",
        registrar_iana_id="146",
        registrar_country=None,
        source_url=f"{rdap_server}/domain/example-body.com",
        registrar_handle="146",
        registered="2003-04-17T14:02:11Z",
        expires="2027-04-17T14:02:11Z",
        statuses=(
            "client delete prohibited",
            "client transfer prohibited",
            "client update prohibited",
        ),
    )
    ep = attribute_domain(_endpoint("example-body.com"), rdap=result)
    at = ep.attributions[-1]
    assert (at.role, at.category, at.operator, at.jurisdiction) == (
        "registrar",
        "registrar",
        "godaddy",
        "US",
    )
    assert at.ultimate_parent == "GoDaddy Inc." and at.confidence == CONF_REGISTRAR_ID
    steps = _steps(ep, "registrar")
    assert steps["rdap"] == "registrar: GoDaddy.com, LLC (IANA id 146, ?)"
    assert steps["registrar"] == "GoDaddy (matched by IANA id)"


def test_registrar_found_through_the_iana_bootstrap(rdap_server: str) -> None:
    _Rdap.requests.clear()
    result = domain_rdap_lookup(
        "EXAMPLE-BODY.quebec.", bootstrap_url=f"{rdap_server}/dns.json", timeout=2
    )
    assert _Rdap.requests == ["/dns.json", "/reg/domain/example-body.quebec"]
    # The country is in the vCard's cc parameter; the structured field is empty.
    assert (result.registrar_name, result.registrar_iana_id, result.registrar_country) == (
        "Tucows Domains Inc.",
        "69",
        "CA",
    )
    at = attribute_domain(_endpoint("example-body.quebec"), rdap=result).attributions[-1]
    # Tucows Domains Inc. is Canadian, but its parent Tucows Inc. is a Pennsylvania corporation
    # (headquartered in Toronto): the jurisdiction is the parent's, US.
    assert (at.operator, at.operator_jurisdiction, at.jurisdiction) == ("tucows", "CA", "US")


def test_unlisted_registrar_falls_back_to_its_vcard_country_weakly(rdap_server: str) -> None:
    result = domain_rdap_lookup("example-body.ca", rdap_url=rdap_server, timeout=2)
    assert result.registrar_iana_id is None and result.registrar_country == "CA"
    at = attribute_domain(_endpoint("example-body.ca"), rdap=result).attributions[-1]
    assert at.status is Status.UNKNOWN
    assert (at.jurisdiction, at.confidence) == ("CA", CONF_REGISTRAR_COUNTRY)
    assert {"weak", "country-only"} <= set(at.flags)
    assert at.reason is not None and "Registraire Exemple" in at.reason


def test_unlisted_registrar_without_country_is_unknown(rdap_server: str) -> None:
    result = domain_rdap_lookup("unknown-registrar.net", rdap_url=rdap_server, timeout=2)
    at = attribute_domain(_endpoint("unknown-registrar.net"), rdap=result).attributions[-1]
    assert at.status is Status.UNKNOWN and at.jurisdiction is None
    assert "registrar-not-in-table" in at.flags


def test_missing_name_and_failed_lookup_become_an_unknown_registrar(rdap_server: str) -> None:
    with pytest.raises(RdapError) as info:
        domain_rdap_lookup("absent.com", rdap_url=rdap_server, timeout=2)
    assert "HTTP 404" in info.value.message and info.value.transient is False
    at = attribute_domain(_endpoint("absent.com"), rdap=info.value).attributions[-1]
    assert (at.role, at.status) == ("registrar", Status.UNKNOWN)
    assert at.reason is not None and "HTTP 404" in at.reason
    assert "rdap-failed" in at.flags


def test_tld_without_rdap_service_is_a_clear_error(rdap_server: str) -> None:
    with pytest.raises(RdapError, match=r"no RDAP service for \.example"):
        domain_rdap_lookup("body.example", bootstrap_url=f"{rdap_server}/dns.json", timeout=2)


def test_second_lookup_comes_from_the_cache(rdap_server: str, tmp_path: Path) -> None:
    _Rdap.requests.clear()
    with SqliteCache(tmp_path / "c.sqlite3") as cache:
        first = domain_rdap_lookup("example-body.com", rdap_url=rdap_server, cache=cache)
        second = domain_rdap_lookup("example-body.com", rdap_url=rdap_server, cache=cache)
    assert replace(second, source_url=first.source_url) == first
    # issue 21: the cached answer says it is cached, and since when.
    assert second.source_url.startswith(f"{first.source_url} (cached answer of 20")
    assert _Rdap.requests == ["/domain/example-body.com"]


def test_many_lookups_map_each_domain_to_its_answer(rdap_server: str) -> None:
    got = asyncio.run(
        domain_rdap_lookup_many(
            ["example-body.com", "example-body.ca", "absent.com", "example-body.com"],
            rdap_url=rdap_server,
            timeout=2,
        )
    )
    assert list(got) == ["example-body.com", "example-body.ca", "absent.com"]
    assert isinstance(got["absent.com"], RdapError)
    assert isinstance(got["example-body.ca"], DomainRdapResult)


@pytest.mark.parametrize("bad", ["", "a/b.com", "x.com?y", "../etc"])
def test_names_that_would_change_the_url_are_refused(bad: str) -> None:
    with pytest.raises(RdapError, match="not a domain name"):
        domain_rdap_lookup(bad, rdap_url="http://127.0.0.1:9", timeout=0.5)


def test_parser_rejects_error_and_non_domain_objects() -> None:
    with pytest.raises(RdapError, match="RDAP error: Not Found"):
        parse_domain_rdap("x.com", {"errorCode": 404, "title": "Not Found"}, "u")
    with pytest.raises(RdapError, match="not an RDAP domain object"):
        parse_domain_rdap("x.com", {"objectClassName": "ip network"}, "u")
    empty = parse_domain_rdap("x.com", {"objectClassName": "domain"}, "u")
    assert empty.registrar_name is None
    at = attribute_domain(_endpoint("x.com"), rdap=empty).attributions[-1]
    assert "no-registrar" in at.flags


def test_bootstrap_prefers_https_and_the_longest_suffix() -> None:
    boot: dict[str, Any] = {
        "services": [
            [["ca"], ["http://a.example/", "https://a.example/"]],
            [["qc.ca"], ["https://b.example/"]],
        ]
    }
    assert bootstrap_base("x.ca", boot) == "https://a.example/"
    assert bootstrap_base("x.qc.ca", boot) == "https://b.example/"
    assert bootstrap_base("x.com", boot) is None


# -- rules ---------------------------------------------------------------------------------

RULES = load_rules([PACK])


def _fixture_cases() -> list[Any]:
    return [
        pytest.param(rule, kind, path, id=f"{rule}/{kind}/{path.stem}")
        for rule in DOMAIN_RULES
        for kind in ("match", "nomatch")
        for path in sorted((FIXTURES / rule / kind).glob("*.yaml"))
    ]


@pytest.mark.parametrize(("rule_id", "kind", "path"), _fixture_cases())
def test_domain_rule_fixture(rule_id: str, kind: str, path: Path) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    [result] = evaluate([endpoint_from_dict(data["endpoint"])], RULES, now=NOW)
    by_id = {f.rule_id: f for f in result.findings}
    if kind == "nomatch":
        assert rule_id not in by_id
        return
    finding = by_id[rule_id]
    expect = data.get("expect") or {}
    assert finding.severity is Severity(expect["severity"])
    assert finding.subject == expect["subject"]
    assert finding.evidence[-1].value == rule_id


@pytest.mark.parametrize("rule_id", DOMAIN_RULES)
def test_domain_rules_have_both_languages_sources_and_fixtures(rule_id: str) -> None:
    rule = RULES.get(rule_id)
    assert rule is not None and rule.layers == frozenset({"domain"})
    for text in (rule.title, rule.rationale):
        assert text.fr.strip() and text.en.strip() and text.fr != text.en
    assert any(r.url and r.url.startswith("https://") for r in rule.references)
    assert datetime.date(2026, 11, 25) <= rule.reviewed <= datetime.date(2026, 12, 3)
    for kind in ("match", "nomatch"):
        assert list((FIXTURES / rule_id / kind).glob("*.yaml"))


def test_example_bodies_end_to_end_through_the_rules(rdap_server: str) -> None:
    endpoints = []
    for domain in ("example-body.com", "example-body.ca", "example-body.quebec"):
        rdap = domain_rdap_lookup(domain, rdap_url=rdap_server, timeout=2)
        endpoints.append(attribute_domain(_endpoint(domain, (DataClass.TAX,)), rdap=rdap))
    com, ca, quebec = evaluate(endpoints, RULES, now=NOW)
    domain_ids = set(DOMAIN_RULES)

    def ids(ep: Endpoint) -> dict[str, str]:
        return {f.rule_id: f.severity.value for f in ep.findings if f.rule_id in domain_ids}

    assert ids(com) == {"DOMAIN-REGISTRY-FOREIGN": "high", "DOMAIN-REGISTRAR-FOREIGN": "high"}
    # CIRA (CA) and a Canadian registrar known only by its vCard: nothing foreign.
    assert ids(ca) == {"DOMAIN-REGISTRY-DOMESTIC": "info"}
    # example-body.quebec is registered through Tucows: Tucows Inc. is a Pennsylvania corporation
    # (headquartered in Toronto), so the registrar's parent is under US law.
    assert ids(quebec) == {"DOMAIN-REGISTRY-DOMESTIC": "info", "DOMAIN-REGISTRAR-FOREIGN": "high"}


# -- zones ---------------------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["example-body.com", "example-body.ca", "example-body.quebec"])
def test_example_body_zones_are_served_on_loopback(
    nameserver: LoopbackNameserver, domain: str
) -> None:
    query = dns.message.make_query(domain, dns.rdatatype.NS)
    answer = dns.query.udp(query, nameserver.host, port=nameserver.port, timeout=2)
    assert [str(r) for rrset in answer.answer for r in rrset] == [f"ns1.{domain}."]


def test_custom_table_is_used_when_given() -> None:
    text = _MINI.replace("country: US", "country: CA")
    table: DomainTable = parse_domain_table(text, path="t.yaml")
    [at] = attribute_domain(_endpoint("x.com"), rdap=None, table=table).attributions
    assert (at.subject, at.jurisdiction, at.evidence[1].source) == (
        "com",
        "CA",
        "tld_registries.yaml t1 (longest suffix match)",
    )


def test_domain_endpoints_fit_the_evidence_schema_and_every_report_format() -> None:
    import jsonschema

    from sovaudit.evidence.read import evidence_schema
    from sovaudit.models import Scan
    from sovaudit.report import render

    godaddy = {"registrar_name": "GoDaddy.com, LLC", "registrar_iana_id": "146", "source_url": "u"}
    endpoints = evaluate(
        [
            attribute_domain(_endpoint("example-body.com"), rdap=godaddy),
            attribute_domain(_endpoint("example-body.ca"), rdap=None),
        ],
        RULES,
        now=NOW,
    )
    scan = Scan(
        tool_version="t",
        generated_at="2026-11-25T13:00:00Z",
        inventory="i",
        resolvers=("127.0.0.1:53",),
        endpoints=tuple(endpoints),
        datasets=(TABLE.dataset(),),
    )
    jsonschema.Draft202012Validator(evidence_schema()).validate(
        json.loads(json.dumps(scan.to_dict()))
    )
    now = datetime.datetime(2026, 11, 25, 13, tzinfo=datetime.UTC)
    for fmt in ("md", "html", "json", "csv", "sarif"):
        for lang in ("en", "fr"):
            out = render(scan, fmt, lang=lang, now=now)
            assert "DOMAIN-REGISTRY-FOREIGN" in out, (fmt, lang)
            assert "DOMAIN-REGISTRAR-FOREIGN" in out, (fmt, lang)


# -- end to end: `sovaudit scan` with and without --probe rdap ------------------------------


def test_scan_shows_registry_and_with_probe_the_registrar(
    nameserver: LoopbackNameserver, rdap_server: str, tmp_path: Path
) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "version: 1\norganizations:\n  - id: body\n    data_classes: [health]\n"
        "    domains: [example-body.com, example-body.ca, example-body.quebec]\n",
        encoding="utf-8",
    )

    def scan(*extra: str) -> dict[str, dict[str, Any]]:
        out = tmp_path / f"out{len(extra)}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "sovaudit", "scan", str(inv), "--resolver", nameserver.spec,
             "--format", "json", "-o", str(out), "--timeout", "1", *extra],
            capture_output=True, text=True, timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        data = json.loads(out.read_text(encoding="utf-8"))
        return {e["host"]: e for e in data["endpoints"] if e["layer"] == "domain"}

    before = len(_Rdap.requests)
    plain = scan()
    assert len(_Rdap.requests) == before  # no network beyond the resolver without --probe
    registry = {h: [a["jurisdiction"] for a in e["attributions"] if a["role"] == "registry"][0]
                for h, e in plain.items()}
    assert registry == {"example-body.com": "US", "example-body.ca": "CA",
                        "example-body.quebec": "CA-QC"}
    assert all(a["role"] != "registrar" for e in plain.values() for a in e["attributions"])
    assert any(f["rule_id"].startswith("DOMAIN-") for f in plain["example-body.com"]["findings"])

    probed = scan("--probe", "rdap", "--rdap-url", rdap_server, "--no-cache")
    registrars = {h: [a for a in e["attributions"] if a["role"] == "registrar"]
                  for h, e in probed.items()}
    assert all(registrars.values()), registrars
    assert registrars["example-body.com"][0]["jurisdiction"] is not None
