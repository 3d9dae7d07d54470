"""Mail and identity signals end to end: real zones on a loopback nameserver, real attribution.

Zones: tests/data/zones/mail-*.test.zone (one per pattern), plus stand-ins for the providers'
zones (Proofpoint and Google from the demo, small report-collector zones below) so that the
provider names resolve to addresses in the providers' real ranges. Nothing touches the internet.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from sovaudit.attribute.engine import Attributor
from sovaudit.collect.dns import DnsClient, ResolverAddress
from sovaudit.collect.endpoints import collect_all, report_destinations
from sovaudit.collect.mailsignals import (
    parse_dkim,
    parse_dmarc,
    parse_mta_sts,
    parse_report_uris,
    parse_tlsrpt,
)
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.evaluate import evaluate, load_rules
from sovaudit.models import DataClass, Endpoint, Layer, Status, Target

ROOT = Path(__file__).resolve().parent.parent
TEST_ZONES = ROOT / "tests" / "data" / "zones"
DEMO_ZONES = ROOT / "sovaudit" / "demo" / "zones"
NOW = datetime.date(2026, 11, 25)
DOMESTIC = {"CA", "CA-QC"}

# Loopback stand-ins for report collectors' zones (addresses in AWS ca-central-1, AS16509).
_SOA = "@ IN SOA ns1.{o} hostmaster.{o} 1 3600 600 86400 300\n@ IN NS ns1.{o}\n"
STAND_INS = {
    "dmarcian.com.": "$TTL 300\n" + _SOA.format(o="dmarcian.com.")
    + "ag IN MX 10 inbound.dmarcian.com.\nfr IN MX 10 inbound.dmarcian.com.\n"
    "inbound IN A 3.96.0.10\n",
    "vali.email.": "$TTL 300\n" + _SOA.format(o="vali.email.")
    + "@ IN MX 10 mx.vali.email.\nmx IN A 15.222.0.10\n",
    "easydmarc.us.": "$TTL 300\n" + _SOA.format(o="easydmarc.us.")
    + "tls IN A 3.96.0.11\nmta-sts IN A 3.96.0.12\n",
}


@pytest.fixture(scope="module")
def mail_ns() -> Iterator[LoopbackNameserver]:
    texts = {p.name[: -len(".zone")] + ".": p.read_text("utf-8") for p in TEST_ZONES.glob("*.zone")}
    for name in ("pphosted.com", "google.com"):
        texts[f"{name}."] = (DEMO_ZONES / f"{name}.zone").read_text("utf-8")
    texts.update(STAND_INS)
    with LoopbackNameserver.from_zone_texts(texts) as ns:
        yield ns


@pytest.fixture(scope="module")
def attributor() -> Attributor:
    return Attributor.default()


def _scan(ns: LoopbackNameserver, domain: str, attributor: Attributor) -> list[Endpoint]:
    """Collect the mail and DNS targets of one domain, then attribute every endpoint."""
    targets = [
        Target("org", "Org", f"{domain} {layer.value}", domain, layer,
               (DataClass.HEALTH,), origin="domain")
        for layer in (Layer.MAIL, Layer.DNS)
    ]
    host, port = ns.address

    async def run() -> list[Endpoint]:
        async with DnsClient([ResolverAddress(host, port)], timeout=1.0, retries=1) as client:
            return await collect_all(client, targets)

    return [attributor.attribute_endpoint(e) for e in asyncio.run(run())]


def _one(endpoints: list[Endpoint], layer: Layer, host: str | None = None) -> Endpoint:
    found = [e for e in endpoints if e.layer is layer and (host is None or e.host == host)]
    assert len(found) == 1, [(e.layer, e.host) for e in endpoints]
    return found[0]


def _roles(ep: Endpoint) -> dict[str, set[str | None]]:
    out: dict[str, set[str | None]] = {}
    for a in ep.attributions:
        out.setdefault(a.role, set()).add(a.operator)
    return out


# -- pure parsers -----------------------------------------------------------------------------


def test_dmarc_destinations_size_suffix_and_errors() -> None:
    rec = parse_dmarc(["v=spf1 -all", "v=DMARC1; p=reject; rua=mailto:a@Rep.Dmarcian.com!10m,"
                       "mailto:b@x.example; ruf=mailto:c%40q@fr.example; pct=50"])
    assert rec.policy == "reject" and rec.pct == 50 and rec.error is None
    assert [u.domain for u in rec.rua] == ["rep.dmarcian.com", "x.example"]
    assert rec.rua[0].uri == "mailto:a@Rep.Dmarcian.com"  # the size limit is not part of it
    assert [u.domain for u in rec.ruf] == ["fr.example"]
    assert parse_dmarc(["v=DMARC1; p=maybe"]).error == "invalid policy p=maybe"
    assert parse_dmarc(["v=DMARC1; rua=mailto:a@b.example"]).error == "missing p= tag"
    assert "2 records" in (parse_dmarc(["v=DMARC1; p=none", "v=DMARC1; p=reject"]).error or "")
    assert parse_dmarc(["something else"]).record is None


def test_tlsrpt_mta_sts_and_dkim() -> None:
    rpt = parse_tlsrpt(["v=TLSRPTv1; rua=mailto:t@tls.example,https://rep.example/v1"])
    assert [(u.scheme, u.domain) for u in rpt.rua] == [
        ("mailto", "tls.example"), ("https", "rep.example")
    ]
    assert parse_tlsrpt(["v=TLSRPTv1;"]).error == "missing rua= tag"
    assert parse_mta_sts(["v=STSv1; id=2026"]).id == "2026"
    assert parse_mta_sts(["v=STSv1;"]).error == "missing id= tag"
    key = parse_dkim(["v=DKIM1; k=ed25519; t=y; p=abc"])
    assert key is not None and key.key_type == "ed25519" and key.testing and key.has_key
    revoked = parse_dkim(["v=DKIM1; p="])
    assert revoked is not None and not revoked.has_key
    assert parse_dkim(["v=spf1 -all"]) is None
    assert parse_report_uris("ftp://x.example, mailto:nobody")[0].domain is None


def test_report_destinations_skip_the_domain_itself() -> None:
    details = {
        "dmarc": parse_dmarc(["v=DMARC1; p=none; rua=mailto:a@corp.example,"
                              "mailto:b@sub.corp.example,mailto:c@ag.dmarcian.com"]).as_dict(),
        "tls_rpt": parse_tlsrpt(["v=TLSRPTv1; rua=mailto:t@ag.dmarcian.com"]).as_dict(),
    }
    dests = report_destinations("corp.example", details)
    assert list(dests) == ["ag.dmarcian.com"]
    assert [r["kind"] for r in dests["ag.dmarcian.com"]] == ["dmarc-rua", "tls-rpt"]


# -- the patterns, end to end -----------------------------------------------------------------


def test_proofpoint_gateway_in_front_of_microsoft_365(
    mail_ns: LoopbackNameserver, attributor: Attributor
) -> None:
    eps = _scan(mail_ns, "mail-pp365.test", attributor)
    mail = _one(eps, Layer.MAIL)
    verdict = mail.details["mail"]
    assert verdict["gateway"]["operator"] == "proofpoint"
    assert verdict["gateway"]["jurisdiction"] == "US"
    assert verdict["mailbox"]["operator"] == "microsoft-365"
    assert verdict["mailbox"]["jurisdiction"] == "US"
    assert verdict["fronted"] is True
    kinds = {s["kind"] for s in verdict["mailbox"]["signals"]}
    assert {"spf-include", "autodiscover", "dkim-cname"} <= kinds
    roles = _roles(mail)
    assert roles["gateway"] == {"proofpoint"} and roles["mailbox"] == {"microsoft-365"}
    assert roles["dkim"] == {"microsoft-365"}
    # Ranges inside Microsoft's own include are Microsoft's: not attributed one by one.
    assert "spf-ip" not in roles
    assert [d["selector"] for d in mail.details["dkim"]] == ["selector1", "selector2"]

    collab = _one(eps, Layer.COLLABORATION)
    assert collab.status is Status.OK
    assert {a.operator for a in collab.attributions} == {"microsoft-365"}
    assert len(collab.details["collaboration"]) == 5  # 4 CNAMEs and the SIP federation SRV

    reports = {e.host: e for e in eps if e.layer is Layer.REPORTING}
    assert set(reports) == {"ag.dmarcian.com", "fr.dmarcian.com"}
    ag = reports["ag.dmarcian.com"]
    assert ag.status is Status.OK and ag.service.startswith("mail-pp365.test : rapports DMARC")
    assert ("cname", "dmarcian", "US") in {
        (a.role, a.operator, a.jurisdiction) for a in ag.attributions
    }
    [result] = evaluate([ag], load_rules(), now=NOW)
    rules = {f.rule_id for f in result.findings}
    # Aggregate reports are metadata: their own rule, not the hosting rule at health severity.
    assert "MAIL-REPORTS-FOREIGN" in rules and "US-CLOUD-ACT-HOSTING" not in rules


def test_quebec_isp_relay_in_front_of_google_workspace(
    mail_ns: LoopbackNameserver, attributor: Attributor
) -> None:
    eps = _scan(mail_ns, "mail-relaygoogle.test", attributor)
    mail = _one(eps, Layer.MAIL)
    verdict = mail.details["mail"]
    assert (verdict["gateway"]["operator"], verdict["gateway"]["jurisdiction"]) == (
        "videotron", "CA"
    )
    assert verdict["mailbox"]["operator"] == "google-workspace"
    assert {s["kind"] for s in verdict["mailbox"]["signals"]} >= {"spf-include", "dkim-selector"}
    spf_ips = [a for a in mail.attributions if a.role == "spf-ip"]
    assert [(a.subject, a.operator) for a in spf_ips] == [("24.200.5.0/24", "videotron")]
    # The whole _spf.google.com tree is Google's: no unknown include.
    assert not [a for a in mail.attributions if "spf-unknown" in a.flags]
    # TLS reports go to another (Québec) domain: a reporting endpoint on RISQ.
    rep = _one(eps, Layer.REPORTING, "mail-clean.test")
    assert "rapports TLS" in rep.service
    assert {a.jurisdiction for a in rep.attributions if a.operator} == {"CA-QC"}
    # Hosted DMARC: the record is found through the _dmarc CNAME, its rua followed.
    assert mail.details["dmarc"]["cname_chain"] == ["relaygoogle.hosted-dmarc.mail-dmarcus.test"]
    assert mail.details["dmarc"]["policy"] == "none"
    assert _one(eps, Layer.REPORTING, "ag.dmarcian.com").status is Status.OK


def test_dmarc_and_tls_reports_to_us_services(
    mail_ns: LoopbackNameserver, attributor: Attributor
) -> None:
    eps = _scan(mail_ns, "mail-dmarcus.test", attributor)
    reports = {e.host: e for e in eps if e.layer is Layer.REPORTING}
    assert set(reports) == {"vali.email", "tls.easydmarc.us"}  # the home rua is not one
    vali = reports["vali.email"]
    assert {(a.role, a.operator) for a in vali.attributions} >= {
        ("cname", "valimail"), ("address", "aws")
    }
    assert reports["tls.easydmarc.us"].details["reports"][0]["scheme"] == "https"
    assert reports["tls.easydmarc.us"].addresses == ("3.96.0.11",)
    mail = _one(eps, Layer.MAIL)
    assert mail.details["mta_sts"]["id"] == "20261125T000000"
    assert _roles(mail)["mta-sts"] == {"easydmarc"}
    assert mail.details["mail"]["mailbox"]["operator"] == "videotron"
    evaluated = evaluate([vali, reports["tls.easydmarc.us"]], load_rules(), now=NOW)
    for ep in evaluated:
        assert any(f.rule_id.startswith("US-") for f in ep.findings), ep.host


def test_a_tenant_token_is_not_mail_hosting_nor_dns_hosting(
    mail_ns: LoopbackNameserver, attributor: Attributor
) -> None:
    eps = _scan(mail_ns, "mail-tokenonly.test", attributor)
    assert {e.layer for e in eps} == {Layer.MAIL, Layer.DNS}  # no derived endpoint
    mail, dns_ep = _one(eps, Layer.MAIL), _one(eps, Layer.DNS)
    verdict = mail.details["mail"]
    assert verdict["mailbox"]["operator"] == "videotron"
    assert [t["operator"] for t in verdict["tenants"]] == ["microsoft-365"]
    for ep in (mail, dns_ep):
        assert all(a.operator != "microsoft-365" for a in ep.attributions), ep.layer
        assert set(ep.details["control"]["jurisdictions"]) <= DOMESTIC
    for ep in evaluate([mail, dns_ep], load_rules(), now=NOW):
        assert not [f.rule_id for f in ep.findings if f.rule_id.startswith("US-")], ep.layer


def test_clean_self_hosted_domain_and_dangling_ns(
    mail_ns: LoopbackNameserver, attributor: Attributor
) -> None:
    eps = _scan(mail_ns, "mail-clean.test", attributor)
    assert {e.layer for e in eps} == {Layer.MAIL, Layer.DNS}
    mail = _one(eps, Layer.MAIL)
    verdict = mail.details["mail"]
    assert verdict["gateway"]["operator"] == verdict["mailbox"]["operator"] == "risq"
    assert verdict["fronted"] is False
    assert mail.details["dmarc"]["policy"] == "reject"
    assert mail.details["dkim"][0]["selector"] == "default"
    assert set(mail.details["control"]["jurisdictions"]) == {"CA-QC"}
    dns_ep = _one(eps, Layer.DNS)
    dangling = [a for a in dns_ep.attributions if "dangling-ns" in a.flags]
    assert [a.subject for a in dangling] == ["ns2.expired.mail-clean.test"]
    ns1 = [a for a in dns_ep.attributions if a.subject == "132.202.1.53"]
    assert ns1 and "dangling-ns" not in ns1[0].flags


def test_failed_mx_lookup_still_treats_tokens_as_tenants(attributor: Attributor) -> None:
    # The MX query failed, the apex TXT did not: the token must not become "hosted by Microsoft".
    ep = Endpoint(
        organization="org", service="svc", host="broken.example", layer=Layer.MAIL,
        data_classes=(DataClass.HEALTH,), status=Status.UNKNOWN, reason="MX: SERVFAIL",
        details={"mx": [], "spf": None, "autodiscover": None, "txt": ["MS=ms1"], "dkim": []},
    )
    out = attributor.attribute_endpoint(ep)
    assert all(a.operator != "microsoft-365" for a in out.attributions)
    assert [t["operator"] for t in out.details["mail"]["tenants"]] == ["microsoft-365"]
    assert out.details["mail"]["mailbox"] is None
