"""A small persistent key/value cache (sqlite, JSON values, per-entry TTL) for network answers.

Team Cymru and RDAP answers change slowly and the services are rate limited, so repeated scans
read them from here. The cache is an optimisation, never a dependency: if the file cannot be
opened or written, every call degrades to a miss and :attr:`SqliteCache.error` says why.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

__all__ = ["CACHE_DIR_ENV", "Cache", "NullCache", "SqliteCache", "default_cache_path"]

# Environment variable that overrides platformdirs' user cache directory (tests, CI).
CACHE_DIR_ENV = "SOVAUDIT_CACHE_DIR"
SCHEMA = 1
_BUSY_TIMEOUT_MS = 10_000  # concurrent scans (shards) share one cache file


class Cache(Protocol):
    """What collectors need from a cache; ``--no-cache`` passes a :class:`NullCache`."""

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` for a live entry (the value may be None), else ``(False, None)``."""
        ...

    def set(self, key: str, value: Any, ttl: float) -> None:
        """Store a JSON-serialisable value for ``ttl`` seconds."""
        ...


class NullCache:
    """A cache that never stores anything (``--no-cache``)."""

    error: str | None = None

    def get(self, key: str) -> tuple[bool, Any]:
        """Always a miss."""
        return False, None

    def set(self, key: str, value: Any, ttl: float) -> None:
        """Do nothing."""


def default_cache_path() -> Path:
    """``$SOVAUDIT_CACHE_DIR/cache.sqlite3``, else in platformdirs' ``user_cache_dir``."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return Path(override) / "cache.sqlite3"
    import platformdirs  # late: only needed without the override

    return Path(platformdirs.user_cache_dir("sovaudit")) / "cache.sqlite3"


class SqliteCache:
    """sqlite-backed :class:`Cache`, safe to share between threads and processes.

    WAL mode lets readers and one writer work at once; a busy timeout makes concurrent writers
    wait instead of failing. Time is injected (``clock``) so tests can expire entries.
    """

    def __init__(self, path: Path | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path or default_cache_path()
        self.clock = clock
        self.error: str | None = None
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_MS / 1000, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            # WAL fails on some network filesystems; the busy timeout alone is still safe.
            try:
                conn.execute("PRAGMA journal_mode = WAL")
            except sqlite3.DatabaseError:
                pass
            conn.execute(
                "CREATE TABLE IF NOT EXISTS entries ("
                " key TEXT PRIMARY KEY, value TEXT NOT NULL,"
                " created REAL NOT NULL, expires REAL NOT NULL)"
            )
            conn.execute(f"PRAGMA user_version = {SCHEMA}")
            conn.commit()
            self._conn = conn
        except (sqlite3.Error, OSError) as exc:
            self._disable(exc)

    def _disable(self, exc: BaseException) -> None:
        self.error = f"cache disabled ({self.path}): {exc}"
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
        self._conn = None

    @property
    def enabled(self) -> bool:
        """False once the cache failed and fell back to misses."""
        return self._conn is not None

    def get(self, key: str) -> tuple[bool, Any]:
        """``(True, value)`` for a live entry, else ``(False, None)``; never raises."""
        with self._lock:
            if self._conn is None:
                return False, None
            try:
                row = self._conn.execute(
                    "SELECT value, expires FROM entries WHERE key = ?", (key,)
                ).fetchone()
            except sqlite3.Error as exc:
                self._disable(exc)
                return False, None
        if row is None or row[1] <= self.clock():
            return False, None
        try:
            return True, json.loads(row[0])
        except ValueError:
            return False, None  # a corrupt entry is a miss; the next set() overwrites it

    def set(self, key: str, value: Any, ttl: float) -> None:
        """Store ``value`` (JSON-serialisable) for ``ttl`` seconds; never raises on I/O errors."""
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        now = self.clock()
        with self._lock:
            if self._conn is None:
                return
            try:
                with self._conn:
                    self._conn.execute(
                        "INSERT OR REPLACE INTO entries (key, value, created, expires)"
                        " VALUES (?, ?, ?, ?)",
                        (key, text, now, now + ttl),
                    )
            except sqlite3.Error as exc:
                # Read-only file, full disk, lock held too long: stop caching, keep scanning.
                self._disable(exc)

    def purge(self) -> int:
        """Delete expired entries; returns how many."""
        with self._lock:
            if self._conn is None:
                return 0
            try:
                with self._conn:
                    cursor = self._conn.execute(
                        "DELETE FROM entries WHERE expires <= ?", (self.clock(),)
                    )
                return cursor.rowcount
            except sqlite3.Error as exc:
                self._disable(exc)
                return 0

    def clear(self) -> None:
        """Delete every entry."""
        with self._lock:
            if self._conn is None:
                return
            try:
                with self._conn:
                    self._conn.execute("DELETE FROM entries")
            except sqlite3.Error as exc:
                self._disable(exc)

    def close(self) -> None:
        """Close the database (further calls are misses)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> SqliteCache:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
