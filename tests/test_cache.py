"""The sqlite answer cache: TTL, negative entries, concurrency, and never being fatal."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sovaudit.collect.cache import NullCache, SqliteCache, default_cache_path


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_roundtrip_ttl_and_purge(tmp_path: Path) -> None:
    clock = Clock()
    with SqliteCache(tmp_path / "c.sqlite3", clock=clock) as cache:
        assert cache.enabled and cache.error is None
        assert cache.get("k") == (False, None)
        cache.set("k", {"asn": 8075, "names": ["Microsoft", "Québec"]}, ttl=60)
        cache.set("none", None, ttl=10)  # a negative answer is a value too
        assert cache.get("k") == (True, {"asn": 8075, "names": ["Microsoft", "Québec"]})
        assert cache.get("none") == (True, None)
        clock.now += 30
        assert cache.get("none") == (False, None)  # expired
        assert cache.get("k")[0] is True
        cache.set("k", 2, ttl=60)  # overwrite
        assert cache.get("k") == (True, 2)
        assert cache.purge() == 1
        clock.now += 61
        assert cache.get("k") == (False, None)
    # Persisted across instances (and processes).
    with SqliteCache(tmp_path / "c.sqlite3", clock=lambda: 0.0) as again:
        assert again.get("k") == (True, 2)
        again.clear()
        assert again.get("k") == (False, None)


def test_null_cache() -> None:
    cache = NullCache()
    cache.set("k", 1, ttl=60)
    assert cache.get("k") == (False, None)


def test_default_path_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOVAUDIT_CACHE_DIR", str(tmp_path / "cache"))
    assert default_cache_path() == tmp_path / "cache" / "cache.sqlite3"
    with SqliteCache() as cache:
        cache.set("k", 1, ttl=60)
    assert (tmp_path / "cache" / "cache.sqlite3").is_file()


def test_unusable_paths_degrade_to_misses(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = SqliteCache(blocker / "c.sqlite3")  # parent is a file: cannot be created
    assert not cache.enabled
    assert cache.error is not None and "cache disabled" in cache.error
    cache.set("k", 1, ttl=60)
    assert cache.get("k") == (False, None)
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    broken = SqliteCache(garbage)
    assert not broken.enabled and "not a database" in (broken.error or "")
    assert broken.get("k") == (False, None)


def test_write_failure_after_open_is_not_fatal(tmp_path: Path) -> None:
    cache = SqliteCache(tmp_path / "c.sqlite3")
    cache.set("before", 1, ttl=60)
    # Simulate a file that became read-only (root ignores chmod, so ask sqlite itself).
    assert cache._conn is not None
    cache._conn.execute("PRAGMA query_only = 1")
    cache.set("after", 2, ttl=60)  # must not raise
    assert not cache.enabled and "readonly" in (cache.error or "")
    assert cache.get("before") == (False, None)  # disabled: misses from now on


def test_threads_share_one_cache(tmp_path: Path) -> None:
    with SqliteCache(tmp_path / "c.sqlite3") as cache:

        def work(n: int) -> None:
            for i in range(100):
                cache.set(f"t{n}:{i}", i, ttl=60)
                assert cache.get(f"t{n}:{i}") == (True, i)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert cache.enabled
        assert all(cache.get(f"t{n}:99") == (True, 99) for n in range(8))


WRITER = """
import sys
from pathlib import Path
from sovaudit.collect.cache import SqliteCache
cache = SqliteCache(Path(sys.argv[1]))
for i in range(200):
    cache.set(f"p{sys.argv[2]}:{i}", i, ttl=600)
assert cache.enabled, cache.error
print(cache.error)
"""


def test_concurrent_processes(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,  # so `import sovaudit` works uninstalled
        )
        for n in range(4)
    ]
    for proc in procs:
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert out.strip() == "None"
    with SqliteCache(path) as cache:
        assert all(cache.get(f"p{n}:{i}") == (True, i) for n in range(4) for i in (0, 199))
