"""RDAP lookups against a real HTTP server on loopback serving recorded ARIN and RIPE answers."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from sovaudit.collect.cache import SqliteCache
from sovaudit.collect.rdap import (
    RdapError,
    RdapResult,
    country_code,
    parse_rdap,
    rdap_lookup,
    rdap_lookup_many,
)

DATA = Path(__file__).parent / "data" / "rdap"


class _Registry(http.server.BaseHTTPRequestHandler):
    """``/ip/<ip>`` and ``/entity/<handle>`` from tests/data/rdap, plus misbehaving prefixes."""

    requests: list[str] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/rdap+json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        type(self).requests.append(self.path)
        prefix, _, rest = self.path.lstrip("/").partition("/")
        if prefix == "slow":
            time.sleep(2.0)
        elif prefix == "drip":
            self.send_response(200)
            self.send_header("Content-Type", "application/rdap+json")
            self.end_headers()
            for _ in range(20):  # a byte every 0.1 s: each read is quick, the whole is not
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.1)
            return
        elif prefix == "garbage":
            return self._send(200, b"<html>502 Bad Gateway</html>", "text/html")
        elif prefix == "flaky":
            return self._send(503, b"busy", "text/plain")
        elif prefix == "redirect":
            return self._redirect(f"/{rest}")
        elif prefix == "loop":
            return self._redirect(self.path)
        elif prefix == "file":
            return self._redirect("file:///etc/passwd")
        elif prefix == "deep":  # issue 21: must make this one lookup unknown, not kill a scan
            return self._send(200, b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
        elif prefix == "bignum":
            return self._send(200, b'{"startAddress": ' + b"9" * 5000 + b"}")
        elif prefix == "huge":
            return self._send(200, b'{"pad": "' + b"x" * 3_000_000 + b'"}')
        else:
            rest = self.path.lstrip("/")
        kind, _, key = rest.partition("/")
        path = DATA / kind / f"{key.replace(':', '-')}.json"
        if kind in ("ip", "entity") and path.is_file():
            return self._send(200, path.read_bytes())
        return self._send(404, b'{"errorCode": 404, "title": "Not Found"}')


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that time out on purpose leave broken pipes behind


@pytest.fixture(scope="module")
def registry() -> Iterator[str]:
    server = _QuietServer(("127.0.0.1", 0), _Registry)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        # The registry lives on loopback: the explicit, loopback-only test hook (netpolicy).
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SOVAUDIT_ALLOW_LOOPBACK", "1")
            yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_arin_ipv4(registry: str) -> None:
    result = rdap_lookup("20.33.0.1", rdap_url=registry, timeout=2.0)
    assert result == RdapResult(
        network_name="MSFT",
        network_handle="NET-20-33-0-0-1",
        cidr="20.33.0.0/16, 20.34.0.0/15, 20.36.0.0/14, 20.40.0.0/13, 20.48.0.0/12, "
        "20.64.0.0/10, 20.128.0.0/16",
        registrant_name="Microsoft Corporation",
        registrant_country="US",
        source_url=f"{registry}/ip/20.33.0.1",
        registrant_handle="MSFT",
        parent_handle="NET-20-0-0-0-0",
        country=None,
    )


def test_arin_ipv6_canadian_registrant(registry: str) -> None:
    result = rdap_lookup("2001:510::1", rdap_url=registry + "/", timeout=2.0)
    assert (result.network_handle, result.cidr) == ("NET6-2001-510-1", "2001:510::/32")
    assert result.registrant_name == "Reseau d'Informations Scientifiques du Quebec (RISQ Inc.)"
    assert result.registrant_country == "CA"


def test_ripe_registrant_fetched_by_handle_after_redirect(registry: str) -> None:
    _Registry.requests.clear()
    result = rdap_lookup("193.0.6.139", rdap_url=f"{registry}/redirect", timeout=2.0)
    assert result.network_name == "RIPE-NCC"
    assert result.cidr == "193.0.0.0/21"
    assert result.country == "NL"
    assert result.registrant_handle == "ORG-RIEN1-RIPE"
    assert result.registrant_name == "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)"
    assert result.registrant_country == "NL"
    # The redirect was followed, then the entity came from where the IP answer came from.
    assert result.source_url == f"{registry}/ip/193.0.6.139"
    assert _Registry.requests == [
        "/redirect/ip/193.0.6.139",
        "/ip/193.0.6.139",
        "/entity/ORG-RIEN1-RIPE",
    ]
    without = rdap_lookup("193.0.6.139", rdap_url=registry, follow_registrant=False)
    assert without.registrant_name is None and without.registrant_country == "NL"


@pytest.mark.parametrize(
    ("prefix", "message", "transient"),
    [
        ("", "HTTP 404 (no RDAP record)", False),
        ("/garbage", "answer is not JSON", False),
        ("/deep", "answer is not JSON: nested deeper than", False),
        ("/bignum", "answer is not JSON: a number of 5000 digits", False),
        ("/flaky", "HTTP 503 (RDAP server error)", True),
        ("/loop", "HTTP 302: redirect not followed", False),
        ("/file", "HTTP 302: redirect not followed", False),
        ("/huge", "answer larger than", True),
    ],
)
def test_failures_are_clear(registry: str, prefix: str, message: str, transient: bool) -> None:
    with pytest.raises(RdapError) as caught:
        rdap_lookup("198.51.99.1", rdap_url=registry + prefix, timeout=2.0)
    assert message in str(caught.value)
    assert caught.value.transient is transient
    assert str(caught.value).startswith(f"{registry}{prefix}/ip/198.51.99.1: ")


@pytest.mark.parametrize("prefix", ["/slow", "/drip"])
def test_slow_servers_are_bounded(registry: str, prefix: str) -> None:
    started = time.monotonic()
    with pytest.raises(RdapError, match=r"within 0\.5 s") as caught:
        rdap_lookup("20.33.0.1", rdap_url=registry + prefix, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert caught.value.transient


def test_special_purpose_and_malformed_addresses(registry: str) -> None:
    data = (DATA / "ip" / "20.33.0.1.json").read_bytes()
    import json

    with pytest.raises(RdapError, match="special-purpose"):
        parse_rdap("10.0.0.1", json.loads(data), "x")
    with pytest.raises(RdapError, match="not an IP address"):
        parse_rdap("nope", json.loads(data), "x")
    with pytest.raises(RdapError, match="RDAP error: Not Found"):
        parse_rdap("20.33.0.1", {"errorCode": 404, "title": "Not Found"}, "x")
    with pytest.raises(RdapError, match="not an RDAP network object"):
        parse_rdap("20.33.0.1", {"handle": "X"}, "x")


def test_country_code() -> None:
    assert country_code("United States") == "US"
    assert country_code("NETHERLANDS") == "NL"
    assert country_code("ca") == "CA"
    assert country_code("Atlantis") == "Atlantis"
    assert country_code("  ") is None


def test_cache_and_batch(registry: str, tmp_path: Path) -> None:
    with SqliteCache(tmp_path / "c.sqlite3") as cache:
        _Registry.requests.clear()
        results = asyncio.run(
            rdap_lookup_many(
                ["20.33.0.1", "2001:510::1", "198.51.99.1", "20.33.0.1"],
                rdap_url=registry,
                timeout=2.0,
                cache=cache,
            )
        )
        assert list(results) == ["20.33.0.1", "2001:510::1", "198.51.99.1"]
        ms = results["20.33.0.1"]
        assert isinstance(ms, RdapResult) and ms.registrant_name == "Microsoft Corporation"
        assert isinstance(results["198.51.99.1"], RdapError)
        assert len(_Registry.requests) == 3
        again = rdap_lookup("20.33.0.1", rdap_url=registry, cache=cache)
        assert replace(again, source_url=ms.source_url) == ms
        # issue 21: a cached answer says so, with when, in the source of its evidence step.
        assert again.source_url.startswith(f"{ms.source_url} (cached answer of 20")
        assert len(_Registry.requests) == 3  # from the cache
        with pytest.raises(RdapError):  # errors are not cached
            rdap_lookup("198.51.99.1", rdap_url=registry, cache=cache)
        assert len(_Registry.requests) == 4
