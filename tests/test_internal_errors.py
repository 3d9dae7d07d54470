"""A bug in sovaudit is never reported as a network failure (issue 19).

Each test breaks one stage on purpose (a parser, the DNS collector, RDAP, attribution, the rule
engine) and runs the real CLI in-process against a real nameserver on loopback (and, for the web
stage, a real HTTPS server): the endpoint says ``internal error in <module>.<function>``, standard
error names the bug once and asks for a report, the summary line counts it, the reports say the
results are incomplete, and ``--strict`` exits 3.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from test_web_probe import Server, _serve
from typer.testing import CliRunner, Result

import sovaudit.collect.endpoints as endpoints_module
import sovaudit.collect.rdap as rdap_module
import sovaudit.collect.web as web_module
import sovaudit.pipeline.analyser as analyser_module
from sovaudit.attribute.asntable import AsnTable
from sovaudit.attribute.engine import Attributor
from sovaudit.attribute.registry import default_registry
from sovaudit.cli import app
from sovaudit.collect.htmlrefs import extract_refs
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.models import Layer

# Public addresses of providers the registry knows: a healthy scan of them is all "ok".
MICROSOFT = "20.190.151.7"
GOOGLE = "142.250.64.78"

INVENTORY = """\
version: 1
organizations:
  - id: bug
    name: Organisme test
    data_classes: [health]
    services:
      - {name: Portail, host: www.bug.test}
      - {name: Autre, host: www.ok.test}
"""


def _zone(origin: str, address: str) -> str:
    return (
        f"$TTL 300\n@ IN SOA ns.{origin} h.{origin} 1 3600 600 86400 300\n"
        f"@ IN NS ns.{origin}\nwww IN A {address}\n"
    )


def _unknown_public_address() -> str:
    """A public address in the embedded table whose ASN the registry does not list (RDAP asks)."""
    table, registry = AsnTable.default(), default_registry()
    for candidate in ("5.61.16.1", "31.3.8.1", "41.76.8.1", "45.12.4.1", "77.88.55.1", "91.7.1.1"):
        match = table.lookup(candidate)
        if match is not None and registry.by_asn(match.asn) is None:
            return candidate
    raise AssertionError("no public address outside the registry among the candidates")


@pytest.fixture()
def zones() -> Iterator[LoopbackNameserver]:
    texts = {
        "bug.test.": _zone("bug.test.", MICROSOFT),
        "ok.test.": _zone("ok.test.", GOOGLE),
    }
    with LoopbackNameserver.from_zone_texts(texts) as ns:
        yield ns


def _scan(
    tmp_path: Path, ns: LoopbackNameserver, *extra: str, inventory: str = INVENTORY
) -> tuple[Result, dict[str, Any], str]:
    inv = tmp_path / "inventory.yaml"
    inv.write_text(inventory, encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["scan", str(inv), "--resolver", ns.spec, "--no-cache", "--strict",
         "-o", str(out), "-f", "json", "-f", "md", *extra],
    )
    evidence = json.loads((out / "report.json").read_text(encoding="utf-8"))
    markdown = (out / "report.md").read_text(encoding="utf-8")
    return result, evidence, markdown


def _endpoint(evidence: dict[str, Any], host: str) -> dict[str, Any]:
    return next(
        e for e in evidence["endpoints"] if e["host"] == host and e["layer"] != Layer.DOMAIN
    )


def _assert_reported(result: Result, markdown: str, where: str) -> None:
    assert result.exit_code == 3, result.output
    assert f"internal error in {where}: IndexError: planted bug" in result.stderr
    assert "this is a bug in sovaudit, not a network failure" in result.stderr
    assert result.stderr.count("planted bug") == 1  # once, however many endpoints it hit
    assert "1 with internal errors" in result.stderr
    assert "erreur interne" not in markdown  # the report is in English by default
    assert "internal error of sovaudit" in markdown


def _planted(*_: object, **__: object) -> Any:
    raise IndexError("planted bug")


def test_a_healthy_scan_has_no_internal_error(zones: LoopbackNameserver, tmp_path: Path) -> None:
    result, evidence, markdown = _scan(tmp_path, zones)
    assert result.exit_code == 0, result.output
    assert "internal" not in result.stderr
    assert all("internal_errors" not in e["details"] for e in evidence["endpoints"])
    assert "internal error of sovaudit" not in markdown


def test_a_bug_in_dns_collection(
    zones: LoopbackNameserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = endpoints_module._COLLECTORS[Layer.WEB]

    async def collect_web(client: Any, target: Any) -> Any:
        if target.host == "www.bug.test":
            _planted()
        return await real(client, target)

    monkeypatch.setitem(endpoints_module._COLLECTORS, Layer.WEB, collect_web)
    result, evidence, markdown = _scan(tmp_path, zones)
    _assert_reported(result, markdown, "sovaudit.collect.endpoints.collect_target")
    bug = _endpoint(evidence, "www.bug.test")
    assert bug["status"] == "unknown"
    assert bug["reason"].startswith("internal error in ")
    assert _endpoint(evidence, "www.ok.test")["status"] == "ok"


def test_a_bug_in_attribution(
    zones: LoopbackNameserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Attributor.attribute_endpoint

    def attribute_endpoint(self: Attributor, endpoint: Any) -> Any:
        if endpoint.host == "www.bug.test":
            _planted()
        return real(self, endpoint)

    monkeypatch.setattr(Attributor, "attribute_endpoint", attribute_endpoint)
    result, evidence, markdown = _scan(tmp_path, zones)
    _assert_reported(result, markdown, "sovaudit.pipeline.analyser._attribute")
    bug = _endpoint(evidence, "www.bug.test")
    assert bug["status"] == "unknown" and bug["attributions"] == []
    ok = _endpoint(evidence, "www.ok.test")
    assert ok["status"] == "ok" and ok["attributions"]


def test_a_bug_in_the_rules(
    zones: LoopbackNameserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = analyser_module.evaluate

    def evaluate(batch: list[Any], *args: Any, **kwargs: Any) -> Any:
        if any(e.host == "www.bug.test" for e in batch):
            _planted()
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(analyser_module, "evaluate", evaluate)
    result, evidence, markdown = _scan(tmp_path, zones)
    _assert_reported(result, markdown, "sovaudit.pipeline.analyser.run")
    assert _endpoint(evidence, "www.bug.test")["status"] == "unknown"
    # The other endpoints of the same batch are still evaluated.
    assert _endpoint(evidence, "www.ok.test")["findings"]


def test_a_bug_in_rdap(
    zones: LoopbackNameserver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = _unknown_public_address()
    texts = {"bug.test.": _zone("bug.test.", address), "ok.test.": _zone("ok.test.", GOOGLE)}
    monkeypatch.setattr(rdap_module, "rdap_lookup", _planted)
    with LoopbackNameserver.from_zone_texts(texts) as ns:
        # Nothing listens on the RDAP URL: the planted bug fires before any connection.
        result, evidence, markdown = _scan(
            tmp_path, ns, "--asn-source", "offline", "--asn-source", "rdap",
            "--rdap-url", "http://127.0.0.1:9",
        )
    _assert_reported(result, markdown, "sovaudit.collect.rdap.one")
    bug = _endpoint(evidence, "www.bug.test")
    assert bug["details"]["internal_errors"][0].startswith("internal error in ")
    assert "internal_errors" not in _endpoint(evidence, "www.ok.test")["details"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    ca = trustme.CA(organization_name="Let's Encrypt")
    pem = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    yield from ((server, pem) for server in _serve(ca, ["www.site.test"]))


def test_a_broken_html_parser_is_internal_not_connect(
    site: tuple[Server, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, pem = site
    monkeypatch.setenv("SOVAUDIT_WEB_CA", str(pem))
    monkeypatch.setenv("SOVAUDIT_WEB_PORT", str(server.port))
    monkeypatch.setenv("SOVAUDIT_WEB_ALLOW_PRIVATE", "1")
    inventory = INVENTORY.replace("www.bug.test", "www.site.test").replace(
        "      - {name: Autre, host: www.ok.test}\n", ""
    )
    texts = {"site.test.": _zone("site.test.", "127.0.0.1")}
    with LoopbackNameserver.from_zone_texts(texts) as ns:
        healthy, evidence, _ = _scan(tmp_path, ns, "--probe", "web", inventory=inventory)
        assert "internal" not in healthy.stderr
        assert _endpoint(evidence, "www.site.test")["details"]["web"]["status"] == 200
        monkeypatch.setattr(web_module, "extract_refs", _planted)
        result, evidence, markdown = _scan(tmp_path, ns, "--probe", "web", inventory=inventory)
    _assert_reported(result, markdown, "sovaudit.collect.web._read_page")
    web = _endpoint(evidence, "www.site.test")["details"]["web"]
    assert web["error_kind"] == "internal"
    assert web["error"].startswith("internal error in sovaudit.collect.web.")


def test_the_real_parser_reads_a_plain_html5_page() -> None:
    page = (
        b"<!doctype html><html lang=fr><head><meta charset=utf-8><title>x</title>"
        b'<script async src="https://www.googletagmanager.com/gtm.js?id=GTM-X"></script>'
        b'<link rel=stylesheet href="https://fonts.googleapis.com/css2?family=Inter">'
        b'<svg xmlns="http://www.w3.org/2000/svg"><use href="#a"/></svg>'
        b'</head><body><p>x<form action="https://login.microsoftonline.com/common/login" '
        b"method=post><input name=u></form></body></html>"
    )
    refs = extract_refs(page, "https://www.site.test/")
    assert [(r.kind, r.url) for r in refs] == [
        ("script", "https://www.googletagmanager.com/gtm.js?id=GTM-X"),
        ("style", "https://fonts.googleapis.com/css2?family=Inter"),
        ("form", "https://login.microsoftonline.com/common/login"),
    ]
    assert extract_refs(b"<html><body><p>x</p></body></html>", "https://a.test/") == ()
