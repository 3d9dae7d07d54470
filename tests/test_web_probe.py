"""Web probe: a real HTTPS server on loopback, a test CA made at test time, hostile pages.

Every host name below is pinned to 127.0.0.1 through ``resolve``: no test touches DNS or the
internet (the probe refuses names outside the map, which one test checks).
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sovaudit.collect.htmlrefs import PageRef, extract_refs, site_of, third_parties
from sovaudit.collect.web import (
    USER_AGENT,
    WebObservation,
    default_web_signals,
    match_ca,
    match_headers,
    match_identity_provider,
    observation_from_details,
    observation_to_details,
    probe_web,
)

DATA = Path(__file__).parent / "data" / "web"
PROVIDERS = Path(__file__).parent.parent / "sovaudit" / "attribute" / "data" / "providers.yaml"
WEB_SIGNALS = Path(__file__).parent.parent / "sovaudit" / "collect" / "data" / "web_signals.yaml"

NAMES = [
    "site.test",
    "www.site.test",
    "cdn.site.test",
    "redirect.test",
    "loop.test",
    "many.test",
    "big.test",
    "slow.test",
    "malformed.test",
    "json.test",
    "gzip.test",
    "away.test",
    "garbage.test",
    "badloc.test",
    "bomb.test",
    "cut.test",
    "login.microsoftonline.com",
    "hostile.test",
]
BAD_LOCATIONS = [
    "https://bad.test:99999/",  # port out of range
    "javascript:alert(1)",  # not a web URL
    "https://exa mple.test/",  # space in the host
    "https://xn--a.test/",  # invalid punycode
    "http://:80/",  # no host
    "https://" + "a" * 300 + ".test/",  # label too long
]
PINNED = dict.fromkeys(NAMES, "127.0.0.1")
BIG_SIZE = 3_000_000


@functools.cache
def _bomb() -> bytes:
    """20 MB of zeros in about 20 KB: must be cut at max_bytes, not inflated in memory."""
    return gzip.compress(b"<p>" + b"\0" * 20_000_000, compresslevel=9)


def _page(name: str) -> bytes:
    return (DATA / name).read_bytes()


class Handler(BaseHTTPRequestHandler):
    """Routes on the Host header, as a virtual-hosting front end does."""

    server_version = "TestServer/1.0"
    seen_user_agents: list[str] = []
    next_bad = 0  # index in BAD_LOCATIONS, set by the test
    hostile_location = "/"  # where hostile.test redirects, set by the test

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # keep the test output clean

    def _send(
        self, status: int, body: bytes, ctype: str = "text/html; charset=utf-8", **hdrs: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in hdrs.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self._send(302, b"", Location=location)

    def do_GET(self) -> None:
        Handler.seen_user_agents.append(self.headers.get("User-Agent", ""))
        host = (self.headers.get("Host") or "").split(":")[0]
        try:
            self.route(host, self.path)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the probe stops reading on purpose (size or time bound)

    def route(self, host: str, path: str) -> None:
        port = self.server.server_port  # type: ignore[attr-defined]
        if host in ("site.test", "www.site.test"):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("CF-Ray", "8a1b2c3d4e5f-YUL")
            self.send_header("X-Azure-Ref", "0abcDEF" + "x" * 400)  # capped in the evidence
            self.send_header("Server", "cloudflare")
            self.send_header("Set-Cookie", "__cf_bm=SECRET-VISITOR-TOKEN; path=/")
            self.send_header("Set-Cookie", "session=ALSO-SECRET; path=/")
            self.send_header("X-Unrelated", "not kept")
            body = _page("landing.html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif host == "redirect.test":
            if path == "/":
                self._redirect("/step")
            else:
                self._redirect(
                    "https://login.microsoftonline.com/common/oauth2/authorize?client_id=x"
                )
        elif host == "login.microsoftonline.com":
            raise AssertionError("the probe must not fetch the identity provider's page")
        elif host == "loop.test":
            self._redirect("/a" if path == "/" else f"https://loop.test:{port}/")
        elif host == "many.test":
            n = int(path.strip("/") or 0)
            self._redirect(f"/{n + 1}")
        elif host == "big.test":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            head = b'<html><script src="https://early.thirdparty.test/a.js"></script>'
            tail = b'<script src="https://late.thirdparty.test/z.js"></script></html>'
            self.wfile.write(head + b"<p>" + b"x" * (BIG_SIZE - len(head)) + tail)
        elif host == "slow.test":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.flush()
            for _ in range(100):  # 20 s of trickle unless the probe gives up
                self.wfile.write(b"<")
                self.wfile.flush()
                time.sleep(0.2)
        elif host == "malformed.test":
            self._send(200, _page("malformed.html"))
        elif host == "json.test":
            text = json.dumps({"html": '<script src="https://json.thirdparty.test/x.js">'})
            self._send(200, text.encode(), "application/json")
        elif host == "gzip.test":
            body = gzip.compress(b'<script src="https://zipped.thirdparty.test/a.js"></script>')
            self._send(200, body, Content_Encoding="gzip")
        elif host == "away.test":
            self._redirect("https://unpinned.example/")
        elif host == "garbage.test":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\nbody")
        elif host == "hostile.test":
            self._redirect(Handler.hostile_location.replace("{port}", str(port)))
        elif host == "badloc.test":
            self._redirect(BAD_LOCATIONS[Handler.next_bad])
        elif host == "bomb.test":
            self._send(200, _bomb(), Content_Encoding="gzip")
        elif host == "cut.test":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b'<script src="https://before.thirdparty.test/a.js"></script><p>')
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._send(404, b"unknown host")


@dataclass
class Server:
    port: int
    ca: trustme.CA

    def client_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        self.ca.configure_trust(ctx)
        return ctx


def _serve(ca: trustme.CA, names: list[str]) -> Iterator[Server]:
    cert = ca.issue_cert(*names)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield Server(httpd.server_address[1], ca)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    yield from _serve(trustme.CA(organization_name="Sovaudit Test CA"), NAMES)


@pytest.fixture(scope="module")
def letsencrypt_like() -> Iterator[Server]:
    """A server whose certificate names an issuer the signals know (Let's Encrypt)."""
    yield from _serve(trustme.CA(organization_name="Let's Encrypt"), ["site.test"])


def probe(server: Server, host: str, **kw: Any) -> WebObservation:
    kw.setdefault("verify", server.client_context())
    kw.setdefault("resolve", PINNED)
    kw.setdefault("timeout", 3.0)
    kw.setdefault("allow_loopback", True)  # the test hook: the site lives on 127.0.0.1
    return asyncio.run(probe_web(host, port=server.port, **kw))


# --------------------------------------------------------------------------- loopback probes


def test_landing_page_third_parties_cdn_headers_and_tls(server: Server) -> None:
    obs = probe(server, "www.site.test")
    assert obs.error is None
    assert obs.status == 200
    assert obs.final_url == f"https://www.site.test:{server.port}/"
    assert obs.redirects == ()
    by_host = {t.host: t for t in obs.third_parties}
    # Own site (www.site.test, cdn.site.test, site.test) excluded; relative URLs resolved.
    assert set(by_host) == {
        "cdn.thirdparty.test",
        "fonts.googleapis.com",
        "www.googletagmanager.com",
        "frames.thirdparty.test",
        "img.thirdparty.test",
        "login.microsoftonline.com",
        "analytics.thirdparty.test",
    }
    assert by_host["cdn.thirdparty.test"].kinds == ("script", "style")
    assert by_host["cdn.thirdparty.test"].first_url == "https://cdn.thirdparty.test/lib.js"
    assert "font" in by_host["fonts.googleapis.com"].kinds
    assert by_host["frames.thirdparty.test"].kinds == ("frame",)
    assert by_host["login.microsoftonline.com"].kinds == ("form",)
    # Protocol-relative URL in srcset resolved with the page's scheme.
    assert by_host["img.thirdparty.test"].first_url.startswith("https://img.thirdparty.test/")
    # The form posting to Entra ID is a sign-in host.
    assert obs.identity_providers == ("login.microsoftonline.com",)
    idp = [s for s in obs.signals if s.kind == "identity-provider"]
    assert [(s.provider, s.operator, s.evidence) for s in idp] == [
        ("Microsoft Entra ID", "microsoft-365", "form to login.microsoftonline.com")
    ]
    assert "Cloudflare (CF-Ray header)" in obs.cdn_signals
    assert "Azure Front Door (X-Azure-Ref header)" in obs.cdn_signals
    assert "Cloudflare (__cf_bm cookie)" in obs.cdn_signals
    headers = dict(obs.headers)
    assert headers["cf-ray"] == "8a1b2c3d4e5f-YUL"
    assert len(headers["x-azure-ref"]) == 256  # capped
    assert headers["set-cookie"] == "__cf_bm"  # the name only: values identify visitors
    assert "SECRET" not in json.dumps(observation_to_details(obs))
    assert "x-unrelated" not in headers
    assert obs.tls is not None
    assert obs.tls.verified
    assert obs.tls.issuer_organization == "Sovaudit Test CA"
    assert "www.site.test" in obs.tls.subject_alt_names
    assert obs.tls.version in ("TLSv1.2", "TLSv1.3")
    assert obs.tls.not_after > obs.tls.not_before
    assert obs.tls.chain_subjects  # the leaf at least (CPython >= 3.10 exposes the chain)
    assert Handler.seen_user_agents[-1] == USER_AGENT
    assert USER_AGENT.startswith("sovaudit/")


def test_redirect_to_sign_in_host_ends_the_chain_unfetched(server: Server) -> None:
    obs = probe(server, "redirect.test")
    assert obs.error is None
    assert obs.redirects == (
        f"https://redirect.test:{server.port}/step",
        "https://login.microsoftonline.com/common/oauth2/authorize?client_id=x",
    )
    assert obs.final_url == f"https://redirect.test:{server.port}/step"
    assert obs.status == 302
    assert obs.identity_providers == ("login.microsoftonline.com",)
    assert any(s.evidence == "redirect to login.microsoftonline.com" for s in obs.signals)


def test_redirect_loop_is_detected(server: Server) -> None:
    obs = probe(server, "loop.test", max_redirects=10)
    assert obs.error is not None and obs.error.startswith("redirect loop")
    assert obs.error_kind == "redirect-loop"
    assert obs.redirects == (
        f"https://loop.test:{server.port}/a",
        f"https://loop.test:{server.port}/",
    )


def test_redirect_count_is_bounded(server: Server) -> None:
    obs = probe(server, "many.test", max_redirects=3)
    assert obs.error == "too many redirects (more than 3)"
    assert obs.error_kind == "too-many-redirects"
    assert len(obs.redirects) == 4
    assert obs.final_url == f"https://many.test:{server.port}/3"


def test_huge_page_is_truncated_not_fatal(server: Server) -> None:
    obs = probe(server, "big.test", max_bytes=100_000)
    assert obs.error is None
    assert obs.truncated
    hosts = [t.host for t in obs.third_parties]
    assert hosts == ["early.thirdparty.test"]  # the reference past the bound was never read


def test_slow_server_times_out_within_the_bound(server: Server) -> None:
    started = time.monotonic()
    obs = probe(server, "slow.test", timeout=1.0)
    elapsed = time.monotonic() - started
    assert obs.error == "timed out after 1 s"
    assert obs.error_kind == "timeout"
    assert elapsed < 2.5
    assert obs.status == 200  # what was seen before the deadline is kept
    assert obs.tls is not None


def test_malformed_html_still_yields_references(server: Server) -> None:
    obs = probe(server, "malformed.test")
    assert obs.error is None
    hosts = {t.host for t in obs.third_parties}
    # The first of two duplicate attributes wins and a script's content is text, as in browsers.
    assert hosts == {"cdn.bad.test", "frame.bad.test", "img.bad.test", "login.microsoftonline.com"}
    assert "login.microsoftonline.com" in obs.identity_providers


def test_non_html_content_is_not_parsed(server: Server) -> None:
    obs = probe(server, "json.test")
    assert obs.error is None
    assert obs.content_type == "application/json"
    assert obs.third_parties == ()


def test_compressed_body_is_decoded_within_bounds(server: Server) -> None:
    obs = probe(server, "gzip.test")
    assert obs.error is None
    assert [t.host for t in obs.third_parties] == ["zipped.thirdparty.test"]


def test_garbage_response_is_an_error(server: Server) -> None:
    obs = probe(server, "garbage.test")
    assert obs.status is None
    assert obs.error is not None and obs.error.startswith(f"https://garbage.test:{server.port}/:")
    assert obs.error_kind == "protocol"
    assert obs.tls is not None  # the handshake succeeded before the garbage


@pytest.mark.parametrize("host", ["exa mple.test", "", "a..b.test", "[::1", "x" * 300])
def test_junk_host_input_ends_in_an_observation(host: str) -> None:
    obs = asyncio.run(probe_web(host, resolve={}, timeout=2.0))
    assert obs.error is not None
    assert obs.error_kind == "bad-url", obs.error
    assert obs.status is None


@pytest.mark.parametrize("location", BAD_LOCATIONS)
def test_each_bad_location_is_reported(server: Server, location: str) -> None:
    index = BAD_LOCATIONS.index(location)
    Handler.next_bad = index
    obs = probe(server, "badloc.test")
    assert obs.error is not None, obs
    assert obs.error_kind in ("bad-redirect", "bad-url"), obs.error
    assert "not in the resolve map" not in obs.error  # rejected before any resolution
    assert obs.status == 302
    assert obs.final_url == f"https://badloc.test:{server.port}/"


def test_compression_bomb_is_bounded(server: Server) -> None:
    obs = probe(server, "bomb.test", max_bytes=100_000)
    assert obs.error is None
    assert obs.truncated


def test_connection_cut_mid_body_keeps_what_arrived(server: Server) -> None:
    obs = probe(server, "cut.test")
    assert obs.error is not None and obs.error.startswith("body incomplete")
    assert obs.error_kind == "body-incomplete"
    assert [t.host for t in obs.third_parties] == ["before.thirdparty.test"]


def test_names_outside_the_resolve_map_are_refused(server: Server) -> None:
    obs = probe(server, "away.test")
    assert obs.redirects == ("https://unpinned.example/",)
    assert obs.error is not None and "not in the resolve map" in obs.error
    assert obs.error_kind == "not-pinned"
    assert obs.final_url == f"https://away.test:{server.port}/"


def test_resolve_accepts_an_async_lookup(server: Server) -> None:
    asked: list[str] = []

    async def lookup(name: str) -> str | None:
        asked.append(name)
        return "127.0.0.1" if name.endswith(".test") else None

    obs = asyncio.run(
        probe_web(
            "away.test",
            port=server.port,
            verify=server.client_context(),
            resolve=lookup,
            timeout=3.0,
            allow_loopback=True,
        )
    )
    assert asked == ["away.test", "unpinned.example"]
    assert obs.status == 302
    assert obs.error_kind == "not-pinned"


def test_untrusted_certificate_is_an_error_but_still_recorded(server: Server) -> None:
    other = ssl.create_default_context()
    trustme.CA().configure_trust(other)  # trusts a different CA
    obs = probe(server, "site.test", verify=other)
    assert obs.error is not None and "certificate verify failed" in obs.error
    assert obs.error_kind == "tls-verify"
    assert obs.status is None
    assert obs.tls is not None
    assert not obs.tls.verified
    assert obs.tls.issuer_organization == "Sovaudit Test CA"


def test_unreachable_port_is_an_error(server: Server) -> None:
    obs = asyncio.run(
        probe_web("site.test", port=1, resolve=PINNED, timeout=2.0, allow_loopback=True)
    )
    assert obs.status is None
    assert obs.error is not None and obs.error.startswith("https://site.test:1/:")
    assert obs.error_kind == "connect"


def test_known_ca_gives_its_country(letsencrypt_like: Server) -> None:
    obs = probe(letsencrypt_like, "site.test")
    assert obs.error is None
    ca = [s for s in obs.signals if s.kind == "ca"]
    assert [(s.provider, s.operator, s.country) for s in ca] == [
        ("Let's Encrypt (ISRG)", "isrg", "US")
    ]


def test_details_round_trip_through_json(server: Server) -> None:
    obs = probe(server, "www.site.test")
    details = json.loads(json.dumps(observation_to_details(obs)))
    assert details["tls"]["issuer_organization"] == "Sovaudit Test CA"
    assert observation_from_details(details) == obs


# --------------------------------------------------------------------------- pure parts


def test_base_href_srcset_refresh_and_schemes() -> None:
    html = """<html><head><base href="https://static.example.org/assets/">
    <meta http-equiv="Refresh" content="5; URL='https://idp.example.net/login'">
    <link rel="preload" as="font" href="f.woff2"><link rel="canonical" href="https://x.test/">
    <img srcset="a.png 1x, //img2.test/b.png 2x"><a href="https://links.are.not.refs/">x</a>
    <script src="javascript:alert(1)"></script><img src="data:image/png;base64,AAAA">"""
    refs = extract_refs(html, "https://www.example.org/")
    assert refs == (
        PageRef("refresh", "https://idp.example.net/login"),
        PageRef("font", "https://static.example.org/assets/f.woff2"),
        PageRef("img", "https://static.example.org/assets/a.png"),
        PageRef("img", "https://img2.test/b.png"),
    )


def test_bodies_in_odd_encodings_do_not_raise() -> None:
    img = b'<img src="https://x.test/\xe9.png">'
    assert extract_refs(b"", "https://a.test/") == ()
    latin = extract_refs(img, "https://a.test/", encoding="iso-8859-1")
    assert latin == (PageRef("img", "https://x.test/\u00e9.png"),)
    # An unknown charset from a Content-Type header falls back to sniffing, not to an error.
    assert len(extract_refs(img, "https://a.test/", encoding="no-such-charset")) == 1


def test_own_site_and_cap() -> None:
    refs = [PageRef("script", f"https://h{i}.other.test/x.js") for i in range(300)]
    refs.insert(0, PageRef("img", "https://media.example.org/a.png"))
    tps = third_parties(refs, ["www.example.org"])
    assert len(tps) == 200
    assert tps[0].host == "h0.other.test"
    assert site_of("www.example.org") == "example.org"
    assert site_of("www.org") == "www.org"


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(list("<>/=\"' abcdefghijklmnopqrstuvwxyz:.#&;!-\n")), max_size=400
    )
)
def test_parser_never_raises_on_arbitrary_markup(text: str) -> None:
    for ref in extract_refs("<script src=x>" + text, "https://a.test/"):
        assert ref.url.startswith(("http://", "https://"))


def test_header_matching_is_case_insensitive_and_respects_values() -> None:
    signals = default_web_signals()
    kept, found = match_headers(
        [("X-Served-By", "cache-yul8720-YUL"), ("Via", "1.1 varnish"), ("X-AKAMAI-Foo", "1")],
        signals,
    )
    providers = {s.provider for s in found}
    assert providers == {"Fastly", "Akamai"}  # a plain "varnish" Via says nothing
    assert ("via", "1.1 varnish") in kept  # but is kept as evidence
    _, found = match_headers([("X-Served-By", "app-server-3")], signals)
    assert found == ()


def test_identity_provider_globs_do_not_match_lookalikes() -> None:
    signals = default_web_signals()
    rule = match_identity_provider("acme.okta.com", signals)
    assert rule is not None and rule.operator == "okta"
    assert match_identity_provider("okta.com.attacker.test", signals) is None
    assert match_identity_provider("LOGIN.MicrosoftOnline.com.", signals) is not None
    ca = match_ca("DigiCert Inc", signals)
    assert ca is not None and ca.country == "US"
    assert match_ca("Unknown Authority", signals) is None


def test_signal_operators_exist_in_the_provider_registry() -> None:
    registry = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))
    operators = {op["id"] for op in registry["operators"]}
    data = yaml.safe_load(WEB_SIGNALS.read_text(encoding="utf-8"))
    used = {
        entry["operator"]
        for section in ("headers", "cookies", "identity_providers", "cas")
        for entry in data[section]
        if entry.get("operator")
    }
    assert used - operators == set()
    assert len(used) > 20


def test_observation_from_details_accepts_minimal_error_record() -> None:
    obs = observation_from_details({"url": "https://x.test/", "error": "boom"})
    assert obs.error == "boom" and obs.tls is None and obs.third_parties == ()
