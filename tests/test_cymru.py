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
        assert cache.get(f"cymru:{cymru.address[0]}#{cymru.address[1]}:origin:198.0.0.2") == (
            False, None
        )


def test_the_cache_key_holds_the_resolver_and_a_hit_says_it_is_cached(tmp_path: Path) -> None:
    # issue 21: one scan through a hostile resolver must not decide what later scans through an
    # honest one report; a cached answer says so, when and through which resolver.
    hostile_zone = ZONE.replace("8075", "64666")
    with (
        LoopbackNameserver.from_zone_texts({"asn.cymru.com.": hostile_zone}) as hostile,
        LoopbackNameserver.from_zone_texts({"asn.cymru.com.": ZONE}) as honest,
        SqliteCache(tmp_path / "c.sqlite3") as cache,
    ):
        bad = asyncio.run(cymru_lookup_detailed(["20.190.128.1"], hostile.address, cache=cache))
        good = asyncio.run(cymru_lookup_detailed(["20.190.128.1"], honest.address, cache=cache))
        again = asyncio.run(cymru_lookup_detailed(["20.190.128.1"], honest.address, cache=cache))
    first, second, third = bad["20.190.128.1"], good["20.190.128.1"], again["20.190.128.1"]
    assert isinstance(first, CymruResult) and isinstance(second, CymruResult)
    assert first.asn == 64666 and second.asn == 8075  # the honest resolver was asked
    assert first.cached is None and second.cached is None
    assert isinstance(third, CymruResult) and third.asn == 8075
    assert third.cached is not None and f"via resolver {honest.address[0]}#" in third.cached
    assert "cached answer of 20" in third.cached


def test_a_cached_answer_is_labelled_in_the_evidence_step() -> None:
    from sovaudit.attribute.engine import Attributor
    from sovaudit.models import DataClass, Endpoint, Layer, Status

    live = CymruResult(8075, "20.190.128.0/18", "US", "arin", None, "MICROSOFT")
    cached = CymruResult(8075, "20.190.128.0/18", "US", "arin", None, "MICROSOFT",
                         cached="cached answer of 2026-11-30T10:00:00Z via resolver 9.9.9.9#53")
    page = Endpoint(organization="o", service="s", host="a.example", layer=Layer.WEB,
                    data_classes=(DataClass.HEALTH,), status=Status.OK,
                    addresses=("20.190.128.1",))
    sources = []
    for answer in (live, cached):
        attributor = Attributor.default()
        attributor.cymru = {"20.190.128.1": answer}
        out = attributor.attribute_endpoint(page)
        sources.append({s.source for a in out.attributions for s in a.evidence})
    assert any(s == "team-cymru (live DNS)" for s in sources[0])
    assert any("team-cymru (cached answer of 2026-11-30T10:00:00Z via resolver 9.9.9.9#53)" == s
               for s in sources[1]), sources[1]
