"""Team Cymru over DNS, against a real nameserver on loopback serving recorded answers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sovaudit.collect.asn import (
    CymruMiss,
    CymruResult,
    cymru_lookup,
    cymru_lookup_detailed,
    origin_query_name,
    parse_asname_txt,
    parse_origin_txt,
)
from sovaudit.collect.cache import SqliteCache
from sovaudit.demo.nameserver import LoopbackNameserver

ZONE = (Path(__file__).parent / "data" / "asn" / "cymru.zone").read_text(encoding="utf-8")


@pytest.fixture()
def cymru() -> Iterator[LoopbackNameserver]:
    faults = {
        "1.0.0.198.origin.asn.cymru.com.": "servfail",
        "2.0.0.198.origin.asn.cymru.com.": "drop",
    }
    with LoopbackNameserver.from_zone_texts({"asn.cymru.com.": ZONE}, faults=faults) as ns:
        yield ns


def test_query_names() -> None:
    assert origin_query_name("20.190.128.1") == "1.128.190.20.origin.asn.cymru.com."
    assert origin_query_name("2001:510::1") == (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.5.0.1.0.0.2.origin6.asn.cymru.com."
    )
    assert origin_query_name("::ffff:20.190.128.1") == "1.128.190.20.origin.asn.cymru.com."
    with pytest.raises(ValueError):
        origin_query_name("not-an-ip")


def test_parsers() -> None:
    result = parse_origin_txt(['"13335 209242 | 1.1.1.0/24 | au | apnic | 2011-08-11"'])
    assert result == CymruResult(13335, "1.1.1.0/24", "AU", "apnic", "2011-08-11", None, (209242,))
    assert parse_origin_txt(["garbage", "1 | not/a/prefix | US"]) is None
    assert parse_origin_txt(["64500 | 198.0.0.0/24 |  | "]) == CymruResult(
        64500, "198.0.0.0/24", None, None, None, None
    )
    assert parse_asname_txt(["8075 | US | arin | 1997-03-31 | MS - Microsoft | Corp, US"]) == (
        "MS - Microsoft | Corp, US"  # a '|' inside the name is kept
    )
    assert parse_asname_txt(["8075 | US | arin"]) is None


def test_lookup_v4_v6_most_specific_and_names(cymru: LoopbackNameserver) -> None:
    ips = ["20.190.128.1", "8.8.8.8", "1.1.1.1", "2001:510::1", "2607:fa48::1", "24.200.0.1"]
    results = asyncio.run(cymru_lookup(ips, cymru.address, timeout=1.0))
    assert results["20.190.128.1"] == CymruResult(
        8075, "20.184.0.0/13", "US", "arin", "2017-10-18",
        "MICROSOFT-CORP-MSN-AS-BLOCK - Microsoft Corporation, US",
    )  # fmt: skip
    google = results["8.8.8.8"]
    assert google is not None and google.prefix == "8.8.8.0/24"
    cloudflare = results["1.1.1.1"]
    assert cloudflare is not None and cloudflare.other_origins == (209242,)
    risq = results["2001:510::1"]
    assert risq is not None
    assert (risq.asn, risq.prefix, risq.country) == (376, "2001:510::/32", "CA")
    assert risq.as_name is not None and "RISQ" in risq.as_name
    videotron = results["2607:fa48::1"]
    assert videotron is not None and videotron.as_name == "VIDEOTRON - Videotron Ltee, CA"


def test_misses_are_explained_and_bounded(cymru: LoopbackNameserver) -> None:
    ips = ["192.0.2.1", "203.9.9.9", "198.0.0.1", "198.0.0.2", "bogus", "24.200.0.1"]
    started = time.monotonic()
    results = asyncio.run(cymru_lookup_detailed(ips, cymru.address, timeout=0.5))
    elapsed = time.monotonic() - started
    assert results["192.0.2.1"] == CymruMiss("no origin announced")
    unparsable = results["203.9.9.9"]
    assert isinstance(unparsable, CymruMiss) and "unparsable" in unparsable.reason
    servfail = results["198.0.0.1"]
    assert isinstance(servfail, CymruMiss) and servfail.transient and "SERVFAIL" in servfail.reason
    dropped = results["198.0.0.2"]
    assert isinstance(dropped, CymruMiss) and dropped.transient and "no answer" in dropped.reason
    assert results["bogus"] == CymruMiss("not an IP address: 'bogus'")
    assert isinstance(results["24.200.0.1"], CymruResult)  # one failure does not spoil others
    # Everything runs concurrently: one timeout, not one per query.
    assert elapsed < 3.0
    plain = asyncio.run(cymru_lookup(["198.0.0.2"], cymru.address, timeout=0.3))
    assert plain == {"198.0.0.2": None}


def test_no_resolver_answering_gives_transient_misses() -> None:
    # A port nobody listens on: UDP gets ICMP unreachable or a timeout, never a crash.
    results = asyncio.run(cymru_lookup_detailed(["8.8.8.8"], ("127.0.0.1", 9), timeout=0.3))
    miss = results["8.8.8.8"]
    assert isinstance(miss, CymruMiss) and miss.transient


def test_cache_avoids_second_query(cymru: LoopbackNameserver, tmp_path: Path) -> None:
    with SqliteCache(tmp_path / "c.sqlite3") as cache:
        first = asyncio.run(cymru_lookup(["20.190.128.1", "192.0.2.1"], cymru.address, cache=cache))
        queries = cymru.queries
        second = asyncio.run(
            cymru_lookup(["20.190.128.1", "192.0.2.1"], cymru.address, cache=cache)
        )
        assert second == first
        assert cymru.queries == queries  # answered from the cache, negative answer included
    # Failures are not cached: the dropped name is asked again.
    with SqliteCache(tmp_path / "c.sqlite3") as cache:
        asyncio.run(cymru_lookup(["198.0.0.2"], cymru.address, timeout=0.2, cache=cache))
        assert cache.get("cymru:origin:198.0.0.2") == (False, None)
