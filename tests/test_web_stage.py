"""`--probe web` end to end: a real HTTPS server and a real nameserver, both on loopback.

The site's names resolve to 127.0.0.1 through the loopback nameserver (the probe asks the scan's
resolvers, never the system's); its certificate comes from a test CA named like Let's Encrypt,
trusted through ``extra["web_ca"]``. Third-party names resolve to public addresses of known
providers, so their endpoints are attributed like any other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme
from test_web_probe import Handler, Server, _serve

from sovaudit.collect.dns import ResolverAddress
from sovaudit.collect.web import observation_from_details
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.inventory import parse_inventory
from sovaudit.models import DataClass, Endpoint, Layer, Scan, Status
from sovaudit.pipeline.options import ScanOptions
from sovaudit.pipeline.run import scan
from sovaudit.pipeline.webstage import third_party_hosts

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SITE_NAMES = [
    "www.site.test", "site.test", "cdn.site.test", "login.microsoftonline.com", "slow.test",
    "hostile.test",
]

ZONES = {
    "site.test.": """\
$TTL 300
@     IN SOA ns.site.test. hostmaster.site.test. 1 3600 600 86400 300
@     IN NS  ns.site.test.
@     IN A   127.0.0.1
www   IN A   127.0.0.1
cdn   IN A   127.0.0.1
internal IN A 10.1.2.3
""",
    "hostile.test.": """\
$TTL 300
@     IN SOA ns.hostile.test. hostmaster.hostile.test. 1 3600 600 86400 300
@     IN NS  ns.hostile.test.
@     IN A   127.0.0.1
""",
    # frames.thirdparty.test and img.thirdparty.test do not exist: their endpoints are skipped.
    "thirdparty.test.": """\
$TTL 300
@          IN SOA ns.thirdparty.test. hostmaster.thirdparty.test. 1 3600 600 86400 300
@          IN NS  ns.thirdparty.test.
cdn        IN A   104.16.132.229
analytics  IN A   142.250.64.78
""",
    "googleapis.com.": """\
$TTL 300
@      IN SOA ns.googleapis.com. hostmaster.googleapis.com. 1 3600 600 86400 300
@      IN NS  ns.googleapis.com.
fonts  IN A   142.250.64.78
""",
    "googletagmanager.com.": """\
$TTL 300
@      IN SOA ns.googletagmanager.com. hostmaster.googletagmanager.com. 1 3600 600 86400 300
@      IN NS  ns.googletagmanager.com.
www    IN A   142.250.64.78
""",
    "slow.test.": """\
$TTL 300
@     IN SOA ns.slow.test. hostmaster.slow.test. 1 3600 600 86400 300
@     IN NS  ns.slow.test.
@     IN A   127.0.0.1
""",
    "microsoftonline.com.": """\
$TTL 300
@      IN SOA ns.microsoftonline.com. hostmaster.microsoftonline.com. 1 3600 600 86400 300
@      IN NS  ns.microsoftonline.com.
login  IN A   20.190.151.7
""",
}

INVENTORY = """\
version: 1
organizations:
  - id: portail
    name: Portail Test
    data_classes: [health]
    services:
      - name: Site
        host: www.site.test
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """The test site over HTTPS, with its CA's certificate in a PEM file."""
    ca = trustme.CA(organization_name="Let's Encrypt")
    pem = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    yield from ((server, pem) for server in _serve(ca, SITE_NAMES))


@pytest.fixture(scope="module")
def zones() -> Iterator[LoopbackNameserver]:
    with LoopbackNameserver.from_zone_texts(ZONES) as ns:
        yield ns


def options(ns: LoopbackNameserver, server: Server, pem: Path, **kw: object) -> ScanOptions:
    return ScanOptions(
        resolvers=(ResolverAddress.parse(ns.spec),),
        timeout=1.0,
        retries=0,
        use_cache=False,
        # The test site lives on loopback: allow what a real scan refuses (non-public addresses).
        extra={"web_ca": str(pem), "web_port": server.port, "web_allow_private": True},
        **kw,  # type: ignore[arg-type]
    )


def by_host(result: Scan) -> dict[tuple[str, str], Endpoint]:
    return {(e.layer.value, e.host): e for e in result.endpoints}


@pytest.fixture(scope="module")
def probed(
    site: tuple[Server, Path], zones: LoopbackNameserver
) -> tuple[Scan, int]:
    server, pem = site
    before = len(Handler.seen_user_agents)
    result = scan(
        parse_inventory(INVENTORY), options(zones, server, pem, probes=("web",)), now=NOW
    )
    return result, len(Handler.seen_user_agents) - before


def test_probe_records_the_observation_with_the_users_resolvers(probed: tuple[Scan, int]) -> None:
    result, requests = probed
    assert requests == 1  # one GET of the landing page; third parties are never fetched
    page = by_host(result)[("web", "www.site.test")]
    obs = observation_from_details(page.details["web"])
    assert obs.error is None
    assert obs.status == 200
    assert obs.tls is not None and obs.tls.verified  # the test CA was trusted via web_ca
    assert obs.tls.issuer_organization == "Let's Encrypt"
    assert "Cloudflare (CF-Ray header)" in obs.cdn_signals
    assert obs.identity_providers == ("login.microsoftonline.com",)
    assert result.options["probes"] == ["web"]


def test_cdn_ca_and_identity_provider_are_attributed(probed: tuple[Scan, int]) -> None:
    result, _ = probed
    page = by_host(result)[("web", "www.site.test")]
    ats = {(a.role, a.operator): a for a in page.attributions}
    cdn = ats[("web-signal", "cloudflare")]
    assert cdn.jurisdiction == "US" and cdn.category == "cdn" and cdn.confidence == 0.7
    assert "gateway" in cdn.flags
    steps = [(s.step, s.value) for s in cdn.evidence]
    assert ("http", "CF-Ray: 8a1b2c3d4e5f-YUL") in steps
    assert cdn.evidence[0].source.startswith("https://www.site.test:")
    assert any(s.step == "caveat" and "forged" in s.value for s in cdn.evidence)
    assert [s.step for s in cdn.evidence][-1] == "jurisdiction"
    afd = ats[("web-signal", "azure-front-door")]
    assert afd.ultimate_parent == "Microsoft Corporation"
    idp = ats[("identity-provider", "microsoft-365")]
    assert idp.subject == "login.microsoftonline.com" and idp.jurisdiction == "US"
    assert idp.evidence[0].value == "form to login.microsoftonline.com"
    ca = ats[("certificate-authority", "isrg")]
    assert ca.category == "certificate-authority"  # not "security": CDN rules must not see it
    assert ca.jurisdiction == "US"
    assert ca.evidence[0].value.startswith("certificate issuer: ")
    # The CA vouches for the name; it does not hold the data: not in the control summary.
    assert "isrg" not in page.details["control"]["operators"]
    assert "cloudflare" in page.details["control"]["operators"]


def test_rules_fire_on_the_web_attributions(probed: tuple[Scan, int]) -> None:
    result, _ = probed
    page = by_host(result)[("web", "www.site.test")]
    findings = {f.rule_id: f for f in page.findings}
    assert findings["US-FISA702-CDN-TLS"].subject == "Cloudflare"
    assert findings["US-FISA702-CDN-TLS"].severity.value == "critical"  # health data
    assert findings["WEB-IDENTITY-PROVIDER-FOREIGN"].subject == "login.microsoftonline.com"
    assert findings["WEB-IDENTITY-PROVIDER-FOREIGN"].severity.value == "critical"
    assert findings["WEB-CA-FOREIGN"].subject == "Let's Encrypt (ISRG)"
    assert findings["WEB-CA-FOREIGN"].severity.value == "low"


def test_third_parties_become_attributed_endpoints(probed: tuple[Scan, int]) -> None:
    result, _ = probed
    third = {e.host: e for e in result.endpoints if e.layer is Layer.THIRD_PARTY}
    assert set(third) == {
        "cdn.thirdparty.test",
        "fonts.googleapis.com",
        "www.googletagmanager.com",
        "frames.thirdparty.test",
        "img.thirdparty.test",
        "login.microsoftonline.com",
        "analytics.thirdparty.test",
    }
    fonts = third["fonts.googleapis.com"]
    assert fonts.status is Status.OK
    assert fonts.organization == "portail" and fonts.data_classes == ("health",)
    assert fonts.service == "www.site.test \u2192 third party"
    assert fonts.details["third_party"]["page"] == "www.site.test"
    assert "font" in fonts.details["third_party"]["kinds"]
    assert {a.operator for a in fonts.attributions} == {"google-cloud"}
    assert "WEB-THIRD-PARTY-US" in {f.rule_id for f in fonts.findings}
    assert third["cdn.thirdparty.test"].attributions[0].operator == "cloudflare"
    login = third["login.microsoftonline.com"]
    assert login.details["third_party"]["identity_provider"] is True
    # Names that do not exist are skipped (nothing to audit), never an error.
    assert third["frames.thirdparty.test"].status is Status.SKIPPED
    assert not third["frames.thirdparty.test"].findings


def test_without_probe_web_no_http_request_is_made(
    site: tuple[Server, Path], zones: LoopbackNameserver
) -> None:
    server, pem = site
    before = len(Handler.seen_user_agents)
    result = scan(parse_inventory(INVENTORY), options(zones, server, pem), now=NOW)
    assert len(Handler.seen_user_agents) == before
    assert all("web" not in e.details for e in result.endpoints)
    assert not [e for e in result.endpoints if e.layer is Layer.THIRD_PARTY]
    page = by_host(result)[("web", "www.site.test")]
    assert not [a for a in page.attributions if a.role == "web-signal"]


def test_probe_failure_is_evidence_not_a_crash(zones: LoopbackNameserver, tmp_path: Path) -> None:
    # Nothing listens on this port: the probe fails, the scan goes on with the error recorded.
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    opts = ScanOptions(
        resolvers=(ResolverAddress.parse(zones.spec),), timeout=1.0, retries=0,
        use_cache=False, probes=("web",), extra={"web_port": port, "web_allow_private": True},
    )
    result = scan(parse_inventory(INVENTORY), opts, now=NOW)
    page = by_host(result)[("web", "www.site.test")]
    assert page.details["web"]["error_kind"] == "connect"
    assert page.details["web"]["error"]
    assert not [e for e in result.endpoints if e.layer is Layer.THIRD_PARTY]


def test_unresolvable_page_is_not_probed(site: tuple[Server, Path], tmp_path: Path) -> None:
    # Only names the user's resolvers know are probed: an NXDOMAIN service gets no web details.
    server, pem = site
    inv = INVENTORY.replace("www.site.test", "nothing.site.test")
    with LoopbackNameserver.from_zone_texts(ZONES) as ns:
        before = len(Handler.seen_user_agents)
        result = scan(parse_inventory(inv), options(ns, server, pem, probes=("web",)), now=NOW)
    assert len(Handler.seen_user_agents) == before
    page = by_host(result)[("web", "nothing.site.test")]
    assert page.status is Status.UNKNOWN and "web" not in page.details


def test_third_party_hosts_are_deduplicated_and_capped() -> None:
    from sovaudit.collect.htmlrefs import ThirdParty
    from sovaudit.collect.web import WebObservation
    from sovaudit.pipeline.webstage import MAX_THIRD_PARTIES_PER_PAGE

    many = tuple(
        ThirdParty(f"h{i}.other.test", ("script",), f"https://h{i}.other.test/a.js")
        for i in range(MAX_THIRD_PARTIES_PER_PAGE + 10)
    )
    obs = WebObservation(
        url="https://a.test/", final_url=None, status=200, redirects=(), headers=(),
        cdn_signals=(), tls=None, identity_providers=("h0.other.test", "idp.other.test"),
        third_parties=many, error=None,
    )
    hosts = third_party_hosts(obs)
    assert len(hosts) == MAX_THIRD_PARTIES_PER_PAGE
    assert hosts[0] == (
        "h0.other.test",
        {"kinds": ["script"], "first_url": "https://h0.other.test/a.js", "identity_provider": True},
    )
    small = third_party_hosts(
        WebObservation(
            url="https://a.test/", final_url=None, status=200, redirects=(), headers=(),
            cdn_signals=(), tls=None, identity_providers=("idp.other.test",),
            third_parties=many[:2], error=None,
        )
    )
    assert [h for h, _ in small] == ["h0.other.test", "h1.other.test", "idp.other.test"]
    assert small[-1][1]["kinds"] == ["sign-in"]


def test_cli_scan_with_probe_web(
    site: tuple[Server, Path], zones: LoopbackNameserver, tmp_path: Path
) -> None:
    # The user's path: `sovaudit scan --probe web`, test CA and port through the environment.
    server, pem = site
    inv = tmp_path / "inventory.yaml"
    inv.write_text(INVENTORY, encoding="utf-8")
    out = tmp_path / "scan.json"
    env = {**os.environ, "SOVAUDIT_WEB_CA": str(pem), "SOVAUDIT_WEB_PORT": str(server.port),
           "SOVAUDIT_WEB_ALLOW_PRIVATE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "sovaudit", "scan", str(inv), "--resolver", zones.spec,
         "--probe", "web", "--no-cache", "-o", str(out)],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    page = next(e for e in data["endpoints"] if e["host"] == "www.site.test")
    assert page["details"]["web"]["status"] == 200
    rules = {f["rule_id"] for f in page["findings"]}
    assert {"US-FISA702-CDN-TLS", "WEB-IDENTITY-PROVIDER-FOREIGN", "WEB-CA-FOREIGN"} <= rules
    web = page["details"]["web"]
    assert "Cloudflare (CF-Ray header)" in web["cdn_signals"]
    assert web["tls"]["issuer_organization"] == "Let's Encrypt"
    # Tag Manager, Google Fonts and the Entra ID sign-in form: US third parties of the page.
    third = {e["host"]: e for e in data["endpoints"] if e["layer"] == "third-party"}
    for host in ("www.googletagmanager.com", "fonts.googleapis.com", "login.microsoftonline.com"):
        assert {a["jurisdiction"] for a in third[host]["attributions"]} == {"US"}, host
        assert "WEB-THIRD-PARTY-US" in {f["rule_id"] for f in third[host]["findings"]}, host
    assert third["login.microsoftonline.com"]["details"]["third_party"]["identity_provider"]
    assert third["www.googletagmanager.com"]["details"]["third_party"]["kinds"] == ["script"]


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_reports_show_the_web_details_compactly(probed: tuple[Scan, int], lang: str) -> None:
    from sovaudit.report.html import render_html
    from sovaudit.report.markdown import render_markdown
    from sovaudit.report.summary import build_view

    result, _ = probed
    view = build_view(result, lang=lang, now=NOW)
    md = render_markdown(view).replace("\\", "")  # Markdown escapes: read the text
    html = render_html(view)
    label = {"fr": "Sonde web", "en": "Web probe"}[lang]
    issued = {"fr": "Certificat émis par", "en": "Certificate issued by"}[lang]
    assert f"**{label}**" in md and f"<strong>{label}</strong>" in html
    colon = "\u202f: " if lang == "fr" else ": "  # French typography
    assert f"{issued}{colon}Let's Encrypt (ISRG)\n" in md
    assert "Cloudflare (CF-Ray header), Azure Front Door (X-Azure-Ref header)" in md
    assert "Cloudflare (CF-Ray header)" in html
    assert f"{issued}{colon}Let&#39;s Encrypt (ISRG)</li>" in html
    assert "`login.microsoftonline.com`" in md
    assert "<code>fonts.googleapis.com</code>" in html
    third = {"fr": "Tiers (7)", "en": "Third parties (7)"}[lang]
    assert third in md and third in html
    # Endpoints without a probe get no web block (no empty headings).
    assert md.count(f"**{label}**") == 1


def _domestic_page_with_letsencrypt() -> Endpoint:
    """A page hosted at RISQ (Québec public network) whose certificate Let's Encrypt issued."""
    from sovaudit.attribute.engine import Attributor

    tls = {
        "version": "TLSv1.3", "verified": True, "subject": "CN=www.example.qc.ca",
        "issuer": "CN=R11,O=Let's Encrypt,C=US", "issuer_organization": "Let's Encrypt",
        "issuer_country": "US", "subject_alt_names": ["www.example.qc.ca"],
        "not_before": "2026-10-01T00:00:00+00:00", "not_after": "2026-12-30T00:00:00+00:00",
        "serial": "1", "chain_subjects": [],
    }
    page = Endpoint(
        organization="org", service="www", host="www.example.qc.ca", layer=Layer.WEB,
        data_classes=(DataClass.HEALTH,), status=Status.OK, addresses=("132.202.1.10",),
        details={"web": {"url": "https://www.example.qc.ca/", "final_url": None, "tls": tls,
                         "signals": [], "headers": []}},
    )
    return Attributor.default().attribute_endpoint(page)


def test_ca_attribution_from_details_alone() -> None:
    page = _domestic_page_with_letsencrypt()
    [ca] = [a for a in page.attributions if a.role == "certificate-authority"]
    assert (ca.operator, ca.jurisdiction, ca.category) == ("isrg", "US", "certificate-authority")
    assert page.details["control"]["jurisdictions"] == ["CA-QC"]  # the CA holds no data


def test_a_foreign_ca_alone_does_not_make_a_domestic_site_foreign() -> None:
    from sovaudit.evaluate import evaluate, load_rules

    [out] = evaluate([_domestic_page_with_letsencrypt()], load_rules(), now=NOW.date())
    fired = {f.rule_id for f in out.findings if f.subject == "Let's Encrypt (ISRG)"}
    assert fired == {"WEB-CA-FOREIGN"}


def test_the_whole_stage_is_bounded_in_time(
    site: tuple[Server, Path], zones: LoopbackNameserver
) -> None:
    # slow.test trickles one byte every 0.2 s for 20 s: the stage budget cuts it, the scan goes on.
    import time

    server, pem = site
    opts = options(zones, server, pem, probes=("web",))
    opts.extra["web_stage_timeout"] = 0.5
    started = time.monotonic()
    result = scan(parse_inventory(INVENTORY.replace("www.site.test", "slow.test")), opts, now=NOW)
    assert time.monotonic() - started < 3.0
    page = by_host(result)[("web", "slow.test")]
    assert page.details["web"]["error_kind"] == "timeout"
    assert page.details["web"]["error"] == "web stage time budget exhausted"


def test_a_name_pointing_at_a_private_address_is_not_probed(
    site: tuple[Server, Path], zones: LoopbackNameserver
) -> None:
    # Public DNS can point a name at 127.0.0.1 or 10.x: a real scan must not make the auditor's
    # machine a client of internal services. Only the test hook allows loopback.
    server, pem = site
    opts = options(zones, server, pem, probes=("web",))
    del opts.extra["web_allow_private"]
    before = len(Handler.seen_user_agents)
    result = scan(parse_inventory(INVENTORY), opts, now=NOW)
    page = by_host(result)[("web", "www.site.test")]
    assert page.details["web"]["error_kind"] == "private-address"
    assert "non-public address (127.0.0.1)" in page.details["web"]["error"]
    assert len(Handler.seen_user_agents) == before  # not a single request reached the server


@pytest.mark.parametrize(
    "location",
    ["https://internal.site.test/", "https://169.254.169.254/latest/meta-data/",
     "https://[64:ff9b::a9fe:a9fe]/", "http://www.site.test:{port}/"],
)
def test_cli_a_hostile_redirect_is_not_followed(
    site: tuple[Server, Path], zones: LoopbackNameserver, tmp_path: Path, location: str
) -> None:
    # issue 21: a public page redirecting to an internal name or address (or down to http) must
    # not make the auditor's machine request it; the loopback hook opens loopback only.
    server, pem = site
    Handler.hostile_location = location
    inv = tmp_path / "inventory.yaml"
    inv.write_text(INVENTORY.replace("www.site.test", "hostile.test"), encoding="utf-8")
    out = tmp_path / "scan.json"
    env = {**os.environ, "SOVAUDIT_WEB_CA": str(pem), "SOVAUDIT_WEB_PORT": str(server.port),
           "SOVAUDIT_WEB_ALLOW_PRIVATE": "1"}
    before = len(Handler.seen_user_agents)
    proc = subprocess.run(
        [sys.executable, "-m", "sovaudit", "scan", str(inv), "--resolver", zones.spec,
         "--probe", "web", "--no-cache", "-o", str(out)],
        capture_output=True, text=True, timeout=60, env=env,
    )
    assert proc.returncode in (0, 1), proc.stderr
    web = next(e for e in json.loads(out.read_text())["endpoints"] if e["host"] == "hostile.test")
    expected = "downgrade" if location.startswith("http:") else "private-address"
    assert web["details"]["web"]["error_kind"] == expected, web["details"]["web"]
    assert web["details"]["web"]["status"] == 302
    assert len(Handler.seen_user_agents) == before + 1
