"""`sovaudit explain`: one endpoint's chain, from DNS answer to law, with every source."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sovaudit.demo.run import run_demo
from sovaudit.errors import UserError
from sovaudit.models import Scan
from sovaudit.report.explain import Line, explain, find_endpoints

SAMPLE = Path(__file__).parent / "data" / "evidence" / "sample.json"


@pytest.fixture(scope="module")
def demo_scan() -> Scan:
    # The demo is a real scan (loopback nameserver, shipped datasets and rules), run in-process.
    return run_demo(now=datetime(2026, 11, 25, 12, tzinfo=UTC))


def _text(lines: list[Line]) -> str:
    return "\n".join(f"{'  ' * x.depth}{x.label}: {x.value}" for x in lines)


def test_the_chain_goes_from_dns_answer_to_law_with_sources(demo_scan: Scan) -> None:
    text = _text(explain(demo_scan, "justice.example", "dns", lang="en"))
    order = [
        "Endpoint: justice.example (dns)",
        "NS: justice.example -> ns1.justice.example, ns2.justice.example (NOERROR, TTL 300",
        "Addresses: 206.172.10.53, 207.35.10.53",
        "Attribution 1/2: 206.172.10.53 (address)",
        "In short: 206.172.10.53 (address), announced by AS577 (Bell Canada), operated by "
        "Bell Canada, ultimately controlled by BCE Inc., subject to the law of",
        "Ultimate parent: BCE Inc.",
        "Jurisdiction: CA (",
        "(source: providers.yaml",
        "Exposures: none",
        "Good outcomes (1)",
        "BCE Inc. [CA] (Bell Canada)",
        "SOV-PRIVATE-DOMESTIC: Private Québec or Canadian provider",
        "Datasets used:",
        "ip-location-db/asn: ",
    ]
    positions = [text.find(piece) for piece in order]
    assert -1 not in positions, [p for p, i in zip(order, positions, strict=True) if i < 0]
    assert positions == sorted(positions), "the chain is out of order"


def test_labels_follow_the_language(demo_scan: Scan) -> None:
    text = _text(explain(demo_scan, "justice.example", "dns", lang="fr"))
    assert "Société mère ultime: BCE Inc." in text
    assert "contrôlé en dernier ressort par BCE Inc." in text
    assert "Jeux de données utilisés" in text and "Ultimate parent" not in text


def test_without_layer_every_endpoint_of_the_host_is_explained(demo_scan: Scan) -> None:
    endpoints = find_endpoints(demo_scan, "JUSTICE.example.")
    assert {e.layer.value for e in endpoints} >= {"web", "mail", "dns"}
    heads = [x.value for x in explain(demo_scan, "justice.example") if x.depth == 0]
    assert sum(v.startswith("justice.example (") for v in heads) == len(endpoints)


def test_unknown_host_lists_close_matches(demo_scan: Scan) -> None:
    with pytest.raises(UserError) as info:
        explain(demo_scan, "justice.exampel")
    assert "justice.exampel: not in this evidence file; close matches: justice.example" in str(
        info.value
    )
    with pytest.raises(UserError, match="no close match among its"):
        explain(demo_scan, "zzzzqqqq.invalid")


def test_layer_errors_say_what_exists(demo_scan: Scan) -> None:
    with pytest.raises(UserError, match=r"unknown layer 'www' \(valid: web, mail"):
        explain(demo_scan, "justice.example", "www")
    with pytest.raises(UserError, match=r"no 'saas' endpoint \(layers present: .*dns"):
        explain(demo_scan, "justice.example", "saas")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args], capture_output=True, text=True, timeout=60
    )


def test_cli_prints_untrusted_text_inert(tmp_path: Path) -> None:
    data = json.loads(SAMPLE.read_text(encoding="utf-8"))
    endpoint = data["endpoints"][0]
    # A hostile DNS answer: a terminal escape sequence and Rich markup.
    endpoint["records"][0]["answers"] = [
        "\x1b[2J\x1b[31mevil", "[bold red]markup[/bold red]",
        "x\n::error::forged\r::add-mask::y\u202egnp.exe\x9b1m",  # issue 21: CI-log injection
    ]
    evidence = tmp_path / "e.json"
    evidence.write_text(json.dumps(data), encoding="utf-8")
    proc = run("explain", str(evidence), endpoint["host"], "--lang", "en")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout
    assert "\\x1b[2J\\x1b[31mevil" in proc.stdout  # visible escapes
    for line in proc.stdout.splitlines():
        assert not line.lstrip().startswith("::"), line
    assert not set("\r\u202e\x9b") & set(proc.stdout)
    assert "x\\x0a::error::forged\\x0d::add-mask::y\\u202egnp.exe\\x9b1m" in proc.stdout
    assert "[bold red]markup[/bold red]" in proc.stdout
    assert "UNKNOWN-OPERATOR" in proc.stdout


def test_cli_unknown_host_is_one_line_exit_2() -> None:
    proc = run("explain", str(SAMPLE), "permis.ville-exemple.qc")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "close matches: permis.ville-exemple.qc.ca" in lines[0]


def test_explain_speaks_of_exposures_in_french(demo_scan: Scan) -> None:
    text = _text(explain(demo_scan, "www.sante.example", "web", lang="fr"))
    # One exposure to Microsoft with its legal bases, rule titles in French, not 10 findings.
    assert "Expositions (1)" in text
    assert "[Critique] Microsoft Corporation [US] (Azure Front Door / Azure CDN, Microsoft Azure)" \
        in text
    assert "US-CLOUD-ACT-HOSTING: Hébergement chez un fournisseur sous contrôle américain" in text
    assert "Hosted by" not in text
    assert "Propriété: privée" in text and "Confiance: 0,90" in text
    assert "passerelle (lit le trafic en clair)" in text and ": gateway" not in text
    assert "Findings" not in text and "Constats (" not in text
    musee = _text(explain(demo_scan, "musee.example", lang="fr"))
    assert "n'est pas dans le registre des fournisseurs" in musee
    assert "is not in the provider registry" not in musee
    assert "no A or AAAA record" not in musee and "matches no provider pattern" not in musee


def test_explain_prints_a_shared_control_chain_once(demo_scan: Scan) -> None:
    lines = explain(demo_scan, "www.sante.example", "web", lang="en")
    text = _text(lines)
    # Seven attributions, two operators of one parent: the chain to Microsoft's 10-K is printed
    # once per operator, the other attributions refer to it.
    assert text.count("Operator, parent and law: as in attribution 1/7") == 2
    assert text.count("Operator, parent and law: as in attribution 4/7") == 3
    # Microsoft's source, in the entity and jurisdiction steps of the two operators' chains.
    assert text.count("https://phys.org/partners/microsoft/") == 4
    assert len(lines) < 120
