"""One address policy for every outbound connection (issue 21, class 1).

Attacks from a hostile public web site or registry, against the real loopback HTTPS server of
test_web_probe and the loopback RDAP registry of test_rdap: a redirect to an internal address
(IP literal, IPv6 forms that embed one, a name that resolves to one), a downgrade to http.
The loopback test hook opens loopback and nothing else.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from test_web_probe import NAMES, PINNED, Handler, Server, _serve, probe

from sovaudit.collect.netpolicy import address_refusal, embedded_ipv4, redirect_refusal
from sovaudit.collect.rdap import RdapError, rdap_lookup
from sovaudit.collect.web import probe_web


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from _serve(trustme.CA(organization_name="Sovaudit Test CA"), NAMES)


INTERNAL = [
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://10.0.0.1/",
    "https://172.16.0.1/",
    "https://192.168.1.1/",
    "https://100.64.0.1/",  # carrier-grade NAT
    "https://0.0.0.0:{port}/",  # reaches the local machine on Linux
    "https://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped loopback: the hook opens only 127/8, ::1
    "https://[::ffff:169.254.169.254]/",
    "https://[64:ff9b::a9fe:a9fe]/",  # NAT64 of 169.254.169.254
    "https://[64:ff9b:1::a00:1]/",  # local-use NAT64
    "https://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "https://[::a9fe:a9fe]/",  # IPv4-compatible
    "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo, client 10.0.0.1
    "https://[fe80::1]/",
    "https://[fc00::1]/",
]


@pytest.mark.parametrize("location", INTERNAL)
def test_a_redirect_to_an_internal_ip_literal_is_not_followed(
    server: Server, location: str
) -> None:
    Handler.hostile_location = location
    before = len(Handler.seen_user_agents)
    obs = probe(server, "hostile.test")
    assert obs.status == 302
    assert obs.error_kind == "private-address", obs.error
    assert obs.error is not None and "not followed" in obs.error
    assert len(Handler.seen_user_agents) == before + 1  # only the hostile page itself


def test_a_downgrade_to_http_is_not_followed(server: Server) -> None:
    Handler.hostile_location = "http://site.test:{port}/"
    obs = probe(server, "hostile.test")
    assert obs.error_kind == "downgrade"
    assert obs.final_url is not None and obs.final_url.startswith("https://hostile.test")


def test_a_redirect_to_a_private_name_is_labelled_private_address(server: Server) -> None:
    Handler.hostile_location = "https://internal.test/"
    obs = probe(server, "hostile.test", resolve={**PINNED, "internal.test": "10.1.2.3"})
    assert obs.error_kind == "private-address"
    assert obs.error is not None
    assert "internal.test resolves to a non-public address (10.1.2.3)" in obs.error


@pytest.mark.parametrize("literal", ["127.0.0.1", "[::1]", "0.0.0.0"])
def test_without_the_hook_loopback_literals_are_refused(server: Server, literal: str) -> None:
    before = len(Handler.seen_user_agents)
    obs = asyncio.run(
        probe_web(literal, port=server.port, verify=server.client_context(), timeout=2.0)
    )
    assert obs.error_kind == "private-address", obs.error
    assert len(Handler.seen_user_agents) == before


def test_without_the_hook_a_name_pinned_to_loopback_is_refused(server: Server) -> None:
    before = len(Handler.seen_user_agents)
    obs = asyncio.run(
        probe_web("site.test", port=server.port, verify=server.client_context(), resolve=PINNED)
    )
    assert obs.error_kind == "private-address"
    assert len(Handler.seen_user_agents) == before


@pytest.mark.parametrize(
    ("address", "inner"),
    [
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("2002:c0a8:101::1", "192.168.1.1"),
        ("::7f00:1", "127.0.0.1"),
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "10.0.0.1"),
    ],
)
def test_embedded_ipv4_is_decoded(address: str, inner: str) -> None:
    import ipaddress

    assert str(embedded_ipv4(ipaddress.IPv6Address(address))) == inner
    assert address_refusal(address) is not None
    assert address_refusal(address, allow_loopback=True) is not None


def test_public_addresses_pass() -> None:
    for address in ("8.8.8.8", "2001:4860:4860::8888", "64:ff9b::808:808", "2002:808:808::1"):
        assert address_refusal(address) is None, address
    assert address_refusal("127.0.0.1") is not None
    assert address_refusal("127.0.0.1", allow_loopback=True) is None
    assert address_refusal("10.0.0.1", allow_loopback=True) is not None
    assert redirect_refusal("https://a.test/", "http://a.test/") == "downgrade from https to http"
    assert redirect_refusal("http://a.test/", "https://b.test/") is None


# --------------------------------------------------------------------------- RDAP over urllib


class _Hostile(http.server.BaseHTTPRequestHandler):
    location = "/"
    hits: list[str] = []

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        type(self).hits.append(self.path)
        self.send_response(302)
        self.send_header("Location", type(self).location)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture(scope="module")
def hostile_registry() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.mark.parametrize(
    "location",
    [
        "http://169.254.169.254/ip/20.33.0.1",
        "http://[::ffff:10.0.0.1]/ip/20.33.0.1",
        "http://[64:ff9b::a9fe:a9fe]/ip/20.33.0.1",
        "http://0.0.0.0:{port}/ip/20.33.0.1",
        "http://localhost.:{port}/ip/20.33.0.1",  # a name resolving to loopback, hook off
    ],
)
def test_rdap_redirects_obey_the_policy(
    hostile_registry: str, location: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = hostile_registry.rsplit(":", 1)[1]
    _Hostile.location = location.replace("{port}", port)
    # The hook lets the first hop reach the loopback registry; the name case runs without it
    # through a second opener built after the first request (the hook is read per lookup).
    monkeypatch.setenv("SOVAUDIT_ALLOW_LOOPBACK", "1")
    if "localhost" in location:
        monkeypatch.delenv("SOVAUDIT_ALLOW_LOOPBACK")
    _Hostile.hits.clear()
    with pytest.raises(RdapError) as info:
        rdap_lookup("20.33.0.1", rdap_url=hostile_registry, timeout=2.0)
    assert "not fetched" in str(info.value)
    assert len(_Hostile.hits) <= 1  # never a second request, to the redirect's target


def test_rdap_without_the_hook_refuses_a_loopback_registry(hostile_registry: str) -> None:
    _Hostile.hits.clear()
    with pytest.raises(RdapError, match="non-public address"):
        rdap_lookup("20.33.0.1", rdap_url=hostile_registry, timeout=2.0)
    assert _Hostile.hits == []


def test_rdap_https_to_http_downgrade_is_refused() -> None:
    assert redirect_refusal("https://rdap.test/ip/1", "http://rdap.test/ip/1") is not None


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.1]/x.csv",
            "http://127.0.0.1:9/x.csv"],
)
def test_data_update_downloads_obey_the_policy(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from sovaudit.attribute.asntable import fetch
    from sovaudit.errors import DatasetError

    monkeypatch.delenv("SOVAUDIT_ALLOW_LOOPBACK", raising=False)
    monkeypatch.delenv("SOVAUDIT_WEB_ALLOW_PRIVATE", raising=False)
    with pytest.raises(DatasetError, match="non-public address"):
        fetch(url, timeout=2.0)
