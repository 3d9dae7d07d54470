"""Offline IP -> ASN table: which autonomous system announces an address, without the network.

The table is built once from an openly licensed dataset (``@ip-location-db/asn`` by default, or an
iptoasn.com TSV) into three compact package files under ``sovaudit/attribute/data/``:

``ip2asn-v4.bin.xz`` / ``ip2asn-v6.bin.xz``
    An xz (LZMA) stream whose payload is, all integers little-endian::

        offset  size  field
        0       8     magic b"SOVAIP2A"
        8       2     format version (1)
        10      1     address family (4 or 6)
        11      1     reserved (0)
        12      4     N, the number of ranges
        16      4     M, the length of the metadata
        20      M     metadata: UTF-8 JSON object (name, version, date, published, source,
                      licence, built_from, input_rows, rows)
        IPv4:   starts u32[N], ends u32[N], asns u32[N]
        IPv6:   starts_hi u64[N], starts_lo u64[N], ends_hi u64[N], ends_lo u64[N], asns u32[N]

    Ranges are inclusive, sorted, disjoint; adjacent ranges of the same ASN are merged. Where the
    source overlaps, the narrowest range wins (like a longest-prefix match), and special-purpose
    space (private, loopback, documentation, multicast...) is cut out, so a lookup there finds
    nothing.

``asn-names.tsv.xz``
    xz-compressed UTF-8 lines ``ASN<TAB>organization name``, sorted by ASN.

The user can rebuild the table from a newer file with ``sovaudit data update``; the copy lands in
``<user data dir>/ip2asn/<stamp>/`` and a ``CURRENT`` file names the active stamp, replaced
atomically, so a reader sees either the old complete table or the new one.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import heapq
import io
import ipaddress
import json
import lzma
import os
import re
import secrets
import shutil
import socket
import struct
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sovaudit.collect.netpolicy import allow_loopback_from_env, build_opener
from sovaudit.errors import DatasetError
from sovaudit.models import Dataset

_Built = TypeVar("_Built")

__all__ = [
    "AsnMatch",
    "AsnTable",
    "SourceRow",
    "build_files",
    "data_dir",
    "install_table",
    "latest_npm_tarball",
    "package_data_dir",
    "read_source",
    "reset_user_table",
    "user_table_dir",
]

MAGIC = b"SOVAIP2A"
FORMAT_VERSION = 1
V4_FILE = "ip2asn-v4.bin.xz"
V6_FILE = "ip2asn-v6.bin.xz"
NAMES_FILE = "asn-names.tsv.xz"
TABLE_FILES = (V4_FILE, V6_FILE, NAMES_FILE)
_HEADER = struct.Struct("<8sHBBII")

# Environment variable that overrides platformdirs' user data directory (tests, CI, containers).
DATA_DIR_ENV = "SOVAUDIT_DATA_DIR"

# Bounds for `data update`: the npm tarball is ~19 MB and its CSVs ~65 MB, so these leave room
# for growth while stopping a hostile or wrong URL from filling the disk or memory.
MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
MAX_INPUT_BYTES = 1024 * 1024 * 1024
DOWNLOAD_TIMEOUT = 120.0

_MEMO_SIZE = 65536
_MAX4 = (1 << 32) - 1
_MAX6 = (1 << 128) - 1
_LO64 = (1 << 64) - 1

# Special-purpose space (RFC 6890 and the IANA registries) that must never be attributed to an
# operator, whatever a source file says about it.
_SPECIAL_V4 = (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16",
    "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
)  # fmt: skip
_SPECIAL_V6 = (
    "::/3", "4000::/2", "8000::/1",  # everything outside 2000::/3 global unicast
    "2001::/32", "2001:2::/48", "2001:10::/28", "2001:20::/28", "2001:db8::/32",
    "2002::/16", "3fff::/20",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class AsnMatch:
    """The autonomous system whose range contains an address."""

    asn: int
    name: str | None  # AS organization name from the dataset
    network: str  # the matched range: a CIDR when it is exactly one, else "first-last"
    source: str  # e.g. "ip-location-db/asn 2.3.2026061719 (offline)"


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One row of a source dataset: an inclusive range of one family and its origin ASN."""

    family: int
    start: int
    end: int
    asn: int
    name: str | None


# -- locations --------------------------------------------------------------------------------


def package_data_dir() -> Path:
    """Directory of the table shipped inside the package."""
    return Path(__file__).resolve().parent / "data"


def data_dir() -> Path:
    """The user data directory: ``$SOVAUDIT_DATA_DIR`` or platformdirs' ``user_data_dir``."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs  # imported late: only needed when no override is set

    return Path(platformdirs.user_data_dir("sovaudit"))


def user_table_dir(base: Path | None = None) -> Path | None:
    """The active user-updated table directory, or None when there is none (or it is broken)."""
    root = (base or data_dir()) / "ip2asn"
    try:
        stamp = (root / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    # The stamp is a single path component we wrote; refuse anything else.
    if not re.fullmatch(r"[0-9A-Za-z._-]+", stamp) or stamp.startswith("."):
        return None
    directory = root / stamp
    if all((directory / f).is_file() for f in TABLE_FILES):
        return directory
    return None


# -- the table --------------------------------------------------------------------------------


class _Family:
    """The loaded ranges of one address family."""

    __slots__ = ("asns", "ends", "meta", "starts")

    def __init__(
        self, starts: list[int], ends: Sequence[int], asns: Sequence[int], meta: dict[str, Any]
    ) -> None:
        self.starts = starts
        self.ends = ends
        self.asns = asns
        self.meta = meta


def _read_family(path: Path, family: int) -> _Family:
    try:
        payload = lzma.decompress(path.read_bytes())
    except (OSError, lzma.LZMAError) as exc:
        raise DatasetError(f"cannot read the IP -> ASN table: {exc}", path=str(path)) from exc
    if len(payload) < _HEADER.size:
        raise DatasetError("truncated IP -> ASN table", path=str(path))
    magic, version, fam, _reserved, count, meta_len = _HEADER.unpack_from(payload)
    if magic != MAGIC or version != FORMAT_VERSION or fam != family:
        raise DatasetError(
            f"not a sovaudit IP -> ASN table (format {version}, family {fam}; "
            f"expected format {FORMAT_VERSION}, family {family})",
            path=str(path),
        )
    offset = _HEADER.size
    try:
        meta = json.loads(payload[offset : offset + meta_len].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DatasetError(f"bad metadata in the IP -> ASN table: {exc}", path=str(path)) from exc
    offset += meta_len
    widths = (4, 4, 4) if family == 4 else (8, 8, 8, 8, 4)
    if len(payload) != offset + count * sum(widths):
        raise DatasetError("IP -> ASN table has the wrong size for its row count", path=str(path))
    columns: list[array[int]] = []
    for width in widths:
        column = array("I" if width == 4 else "Q")
        column.frombytes(payload[offset : offset + count * width])
        if sys.byteorder == "big":
            column.byteswap()
        columns.append(column)
        offset += count * width
    if family == 4:
        starts4, ends4, asns = columns
        # A list makes bisect a little faster than an array (no int boxing per comparison).
        return _Family(starts4.tolist(), ends4, asns, meta)
    s_hi, s_lo, e_hi, e_lo, asns = columns
    starts6 = [(h << 64) | lo for h, lo in zip(s_hi, s_lo, strict=True)]
    ends6 = [(h << 64) | lo for h, lo in zip(e_hi, e_lo, strict=True)]
    return _Family(starts6, ends6, asns, meta)


def _read_names(path: Path) -> dict[int, str]:
    try:
        text = lzma.decompress(path.read_bytes()).decode("utf-8")
    except (OSError, lzma.LZMAError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the ASN names: {exc}", path=str(path)) from exc
    names: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        asn, sep, name = line.partition("\t")
        if not sep or not asn.isdigit():
            raise DatasetError("malformed ASN name line", path=str(path), line=number)
        names[int(asn)] = name
    return names


class AsnTable:
    """Longest-match lookup of IPv4 and IPv6 addresses in the offline IP -> ASN table.

    Families and names load lazily on first use, so a scan with only IPv4 addresses never pays
    for the IPv6 table.
    """

    _default_lock = threading.Lock()
    _defaults: dict[Path, AsnTable] = {}

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._v4: _Family | None = None
        self._v6: _Family | None = None
        self._names: dict[int, str] | None = None
        self._source_label: str | None = None
        self._memo: dict[int, AsnMatch] = {}

    @classmethod
    def default(cls) -> AsnTable:
        """The table in use: the user-updated copy if there is one, else the package data.

        Cached per directory, so a ``data update`` made by another process is picked up by the
        next call while repeated calls share one loaded table.
        """
        directory = user_table_dir() or package_data_dir()
        with cls._default_lock:
            table = cls._defaults.get(directory)
            if table is None:
                table = cls.from_files(directory)
                cls._defaults[directory] = table
            return table

    @classmethod
    def from_files(cls, directory: Path) -> AsnTable:
        """A table read from ``directory`` (the three files of the format above)."""
        missing = [f for f in TABLE_FILES if not (directory / f).is_file()]
        if missing:
            raise DatasetError(
                f"IP -> ASN table incomplete, missing {', '.join(missing)}", path=str(directory)
            )
        return cls(directory)

    # -- loading ------------------------------------------------------------------------------

    def _family(self, family: int) -> _Family:
        loaded = self._v4 if family == 4 else self._v6
        if loaded is not None:
            return loaded
        with self._lock:
            if family == 4:
                if self._v4 is None:
                    self._v4 = _read_family(self.directory / V4_FILE, 4)
                return self._v4
            if self._v6 is None:
                self._v6 = _read_family(self.directory / V6_FILE, 6)
            return self._v6

    def _name_map(self) -> dict[int, str]:
        if self._names is None:
            with self._lock:
                if self._names is None:
                    self._names = _read_names(self.directory / NAMES_FILE)
        return self._names

    def load(self) -> AsnTable:
        """Load every part now (lookups otherwise load lazily); returns self."""
        self._family(4)
        self._family(6)
        self._name_map()
        return self

    # -- queries ------------------------------------------------------------------------------

    def lookup(self, ip: str) -> AsnMatch | None:
        """The range and ASN containing ``ip``; None if unrouted, special-purpose or malformed.

        IPv4-mapped IPv6 addresses (``::ffff:a.b.c.d``) are looked up as IPv4.
        """
        if not isinstance(ip, str):
            return None
        try:
            if ":" in ip:
                value = int.from_bytes(socket.inet_pton(socket.AF_INET6, ip), "big")
                family = 6
                if value >> 32 == 0xFFFF:
                    value &= _MAX4
                    family = 4
            else:
                value = int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")
                family = 4
        except (OSError, ValueError):
            return None
        # Hot path (hundreds of thousands of calls per second): attributes read directly.
        table = (self._v4 if family == 4 else self._v6) or self._family(family)
        starts = table.starts
        index = bisect_right(starts, value) - 1
        if index < 0:
            return None
        end = table.ends[index]
        if value > end:
            return None
        key = index if family == 4 else -1 - index
        match = self._memo.get(key)
        if match is None:
            # Scans hit the same few ranges again and again: build each match once.
            asn = table.asns[index]
            names = self._names if self._names is not None else self._name_map()
            match = AsnMatch(
                asn=asn,
                name=names.get(asn),
                network=_network_text(family, starts[index], end),
                source=self._source_label or self.source_label,
            )
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[key] = match
        return match

    def name_of(self, asn: int) -> str | None:
        """The organization name of an ASN in the dataset, or None."""
        return self._name_map().get(asn)

    def rows(self, family: int) -> int:
        """Number of ranges of one family (4 or 6)."""
        return len(self._family(family).starts)

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata JSON of the table (taken from the IPv4 file)."""
        return dict(self._family(4).meta)

    @property
    def dataset(self) -> Dataset:
        """The dataset this table was built from, as printed in reports."""
        meta = self._family(4).meta
        return Dataset(
            name=str(meta.get("name", "")),
            version=str(meta.get("version", "")),
            date=str(meta.get("date", "")),
            source=str(meta.get("source", "")),
            licence=str(meta.get("licence", "")),
        )

    @property
    def source_label(self) -> str:
        """Short provenance put in every match, e.g. ``ip-location-db/asn 2.3.x (offline)``."""
        if self._source_label is None:
            meta = self._family(4).meta
            self._source_label = f"{meta.get('name', 'ip2asn')} {meta.get('version', '')} (offline)"
        return self._source_label


def _network_text(family: int, start: int, end: int) -> str:
    # inet_ntop is several times faster than building ipaddress objects on the lookup path.
    if family == 4:
        first = socket.inet_ntop(socket.AF_INET, start.to_bytes(4, "big"))
        bits = 32
    else:
        first = socket.inet_ntop(socket.AF_INET6, start.to_bytes(16, "big"))
        bits = 128
    size = end - start + 1
    # A range is one CIDR exactly when its size is a power of two and its start is aligned.
    if size & (size - 1) == 0 and start % size == 0:
        return f"{first}/{bits - size.bit_length() + 1}"
    width = 4 if family == 4 else 16
    last = socket.inet_ntop(
        socket.AF_INET if family == 4 else socket.AF_INET6, end.to_bytes(width, "big")
    )
    return f"{first}-{last}"


# -- building ---------------------------------------------------------------------------------


def _special_ranges(family: int) -> list[tuple[int, int]]:
    blocks = _SPECIAL_V4 if family == 4 else _SPECIAL_V6
    out = []
    for block in blocks:
        net = ipaddress.ip_network(block)
        out.append((int(net.network_address), int(net.broadcast_address)))
    return out


def flatten(rows: Iterable[tuple[int, int, int]], family: int) -> list[tuple[int, int, int]]:
    """Turn possibly overlapping ``(start, end, asn)`` ranges into sorted disjoint ranges.

    The narrowest covering range wins on overlaps, special-purpose space is removed, rows with
    ASN 0 ("not routed" in iptoasn.com) are dropped, and adjacent ranges of one ASN are merged.
    """
    # Special-purpose blocks get a negative size so they always win, with ASN 0 (then dropped).
    items: list[tuple[int, int, int, int]] = [(s, e, -1, 0) for s, e in _special_ranges(family)]
    items.extend((s, e, e - s, a) for s, e, a in rows if a != 0)
    items.sort()
    bounds = sorted({s for s, _, _, _ in items} | {e + 1 for _, e, _, _ in items})
    heap: list[tuple[int, int]] = []  # (size, item index): narrowest active range on top
    out: list[tuple[int, int, int]] = []
    j = 0
    for k in range(len(bounds) - 1):
        point = bounds[k]
        while j < len(items) and items[j][0] <= point:
            heapq.heappush(heap, (items[j][2], j))
            j += 1
        while heap and items[heap[0][1]][1] < point:
            heapq.heappop(heap)
        if not heap:
            continue
        asn = items[heap[0][1]][3]
        if asn == 0:
            continue
        seg_end = bounds[k + 1] - 1
        if out and out[-1][2] == asn and out[-1][1] + 1 == point:
            out[-1] = (out[-1][0], seg_end, asn)
        else:
            out.append((point, seg_end, asn))
    return out


def _pack_family(ranges: list[tuple[int, int, int]], family: int, meta: dict[str, Any]) -> bytes:
    meta_bytes = json.dumps(meta, ensure_ascii=False, sort_keys=True).encode("utf-8")
    parts = [_HEADER.pack(MAGIC, FORMAT_VERSION, family, 0, len(ranges), len(meta_bytes))]
    parts.append(meta_bytes)
    if family == 4:
        columns = [array("I", (r[i] for r in ranges)) for i in range(3)]
    else:
        columns = [
            array("Q", (r[0] >> 64 for r in ranges)),
            array("Q", (r[0] & _LO64 for r in ranges)),
            array("Q", (r[1] >> 64 for r in ranges)),
            array("Q", (r[1] & _LO64 for r in ranges)),
            array("I", (r[2] for r in ranges)),
        ]
    for column in columns:
        if sys.byteorder == "big":
            column.byteswap()
        parts.append(column.tobytes())
    return lzma.compress(b"".join(parts), preset=9 | lzma.PRESET_EXTREME)


_NAME_JUNK = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def build_files(rows: Iterable[SourceRow], meta: dict[str, Any], directory: Path) -> dict[str, int]:
    """Convert source rows into the three table files in ``directory``; returns row counts.

    ``meta`` (name, version, date, published, source, licence, built_from...) is stored in the
    header of both family files.
    """
    by_family: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
    names: dict[int, Counter[str]] = {}
    input_rows = 0
    for row in rows:
        input_rows += 1
        by_family[row.family].append((row.start, row.end, row.asn))
        if row.name and row.asn:
            names.setdefault(row.asn, Counter())[row.name] += 1
    counts = {"input_rows": input_rows}
    directory.mkdir(parents=True, exist_ok=True)
    for family, filename in ((4, V4_FILE), (6, V6_FILE)):
        ranges = flatten(by_family[family], family)
        counts[f"v{family}_rows"] = len(ranges)
        family_meta = {**meta, "input_rows": len(by_family[family]), "rows": len(ranges)}
        (directory / filename).write_bytes(_pack_family(ranges, family, family_meta))
    lines = []
    for asn in sorted(names):
        # The most frequent spelling wins if a source names one ASN in several ways.
        name = _NAME_JUNK.sub(" ", names[asn].most_common(1)[0][0]).strip()
        lines.append(f"{asn}\t{name}\n")
    counts["names"] = len(lines)
    (directory / NAMES_FILE).write_bytes(
        lzma.compress("".join(lines).encode("utf-8"), preset=9 | lzma.PRESET_EXTREME)
    )
    return counts


# -- reading sources --------------------------------------------------------------------------


def _parse_address(text: str, where: str) -> tuple[int, int]:
    text = text.strip()
    try:
        if text.isdigit():
            value = int(text)
            # Numeric files (-num.csv) do not say the family; the file name or the size does.
            return (4 if value <= _MAX4 and "v6" not in where else 6), value
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise DatasetError(f"bad IP address {text[:60]!r}", path=where) from exc
    return address.version, int(address)


def _rows_from_text(text: Iterable[str], where: str) -> Iterator[SourceRow]:
    """Rows of an ip-location-db CSV (start,end,asn,org) or an iptoasn.com TSV."""
    lines = iter(text)
    first = next(lines, "")
    tsv = "\t" in first
    reader = (
        (line.rstrip("\r\n").split("\t") for line in _chain(first, lines))
        if tsv
        else csv.reader(_chain(first, lines))
    )
    for number, fields in enumerate(reader, 1):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if len(fields) < 3:
            raise DatasetError("expected start,end,asn[,name]", path=where, line=number)
        try:
            fam_s, start = _parse_address(fields[0], where)
            fam_e, end = _parse_address(fields[1], where)
            asn = int(fields[2].strip().removeprefix("AS"))
        except DatasetError as exc:
            raise DatasetError(exc.message, path=where, line=number) from exc
        except ValueError as exc:
            raise DatasetError(f"bad ASN {fields[2][:20]!r}", path=where, line=number) from exc
        if fam_s != fam_e or end < start or not 0 <= asn <= _MAX4:
            raise DatasetError("inconsistent range or ASN", path=where, line=number)
        # iptoasn.com: start, end, asn, country, description; ip-location-db: ..., asn, org.
        name = fields[4] if tsv and len(fields) > 4 else fields[3] if len(fields) > 3 else ""
        name = name.strip()
        if tsv and name == "Not routed":
            name = ""
        yield SourceRow(fam_s, start, end, asn, name or None)


def _chain(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


def _bounded(data: bytes | bytearray, where: str) -> None:
    if len(data) > MAX_INPUT_BYTES:
        raise DatasetError(f"input larger than {MAX_INPUT_BYTES} bytes", path=where)


def _gunzip(data: bytes, where: str) -> bytes:
    # Read in chunks so a gzip bomb stops at the bound instead of exhausting memory.
    out = bytearray()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(1 << 20):
                out += chunk
                _bounded(out, where)
    except (OSError, EOFError) as exc:
        raise DatasetError(f"bad gzip data: {exc}", path=where) from exc
    return bytes(out)


def read_source(data: bytes, where: str) -> tuple[list[SourceRow], dict[str, Any]]:
    """Parse a dataset given as bytes: npm tarball, CSV or TSV (each optionally gzipped).

    Returns the rows and what the input says about itself (``version`` from an npm
    ``package.json``, ``format``).
    """
    info: dict[str, Any] = {}
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, where)
    if len(data) > 262 and data[257:262] == b"ustar":
        return _read_tarball(data, where)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError("input is neither a tarball nor UTF-8 text", path=where) from exc
    rows = list(_rows_from_text(io.StringIO(text, newline=""), where))
    info["format"] = "tsv" if "\t" in text[:4096] else "csv"
    return rows, info


def _read_tarball(data: bytes, where: str) -> tuple[list[SourceRow], dict[str, Any]]:
    info: dict[str, Any] = {"format": "npm-tarball"}
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if not member.isfile() or base not in (
                    "package.json", "asn-ipv4.csv", "asn-ipv6.csv",
                ):  # fmt: skip
                    continue
                handle = tar.extractfile(member)
                if handle is not None:
                    members[base] = handle.read(MAX_INPUT_BYTES + 1)
                    _bounded(members[base], where)
    except tarfile.TarError as exc:
        raise DatasetError(f"bad tarball: {exc}", path=where) from exc
    if "asn-ipv4.csv" not in members and "asn-ipv6.csv" not in members:
        raise DatasetError("tarball has neither asn-ipv4.csv nor asn-ipv6.csv", path=where)
    if "package.json" in members:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            package = json.loads(members["package.json"].decode("utf-8"))
            info["version"] = str(package.get("version", ""))
            info["package"] = str(package.get("name", ""))
    rows: list[SourceRow] = []
    for name in ("asn-ipv4.csv", "asn-ipv6.csv"):
        if name in members:
            text = io.StringIO(members[name].decode("utf-8"), newline="")
            rows.extend(_rows_from_text(text, f"{where}:{name}"))
    return rows, info


def version_date(version: str) -> str:
    """The data date encoded in an ip-location-db version (``2.3.2026061719`` -> 2026-06-17)."""
    match = re.search(r"(20\d{2})(\d{2})(\d{2})\d{0,2}$", version)
    return f"{match[1]}-{match[2]}-{match[3]}" if match else ""


# -- data update ------------------------------------------------------------------------------


def fetch(
    source: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES, timeout: float = DOWNLOAD_TIMEOUT
) -> bytes:
    """The bytes of a local file or an http(s) URL, bounded in size and total time."""
    if not re.match(r"(?i)https?://", source):
        path = Path(source)
        try:
            if path.stat().st_size > max_bytes:
                raise DatasetError(f"file larger than {max_bytes} bytes", path=source)
            return path.read_bytes()
        except OSError as exc:
            raise DatasetError(f"cannot read: {exc.strerror or exc}", path=source) from exc
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(source, headers={"User-Agent": "sovaudit data update"})
    try:
        # The address policy of every outbound connection (netpolicy): global addresses only.
        opener = build_opener(allow_loopback=allow_loopback_from_env(), max_redirects=5)
        with opener.open(request, timeout=min(timeout, 30.0)) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise DatasetError(f"download larger than {max_bytes} bytes", path=source)
            out = bytearray()
            while chunk := response.read1(1 << 16):  # what has arrived, so the deadline holds
                out += chunk
                if len(out) > max_bytes:
                    raise DatasetError(f"download larger than {max_bytes} bytes", path=source)
                if time.monotonic() > deadline:
                    raise DatasetError(f"download took longer than {timeout:g} s", path=source)
            return bytes(out)
    except urllib.error.HTTPError as exc:
        raise DatasetError(f"HTTP {exc.code} {exc.reason}", path=source) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DatasetError(f"download failed: {reason}", path=source) from exc


def install_table(
    source: str,
    *,
    base: Path | None = None,
    now: datetime | None = None,
    version: str | None = None,
    date: str | None = None,
    name: str | None = None,
    licence: str | None = None,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> tuple[Path, dict[str, int]]:
    """Rebuild the table from ``source`` (file or URL) into the user data dir, atomically.

    The new table is written in a fresh directory, then ``CURRENT`` is replaced with
    ``os.replace``; older copies except the previous one are removed. Returns the new directory
    and the row counts.
    """
    now = now or datetime.now(UTC)
    data = fetch(source, max_bytes=max_bytes, timeout=timeout)
    rows, info = read_source(data, source)
    families = {r.family for r in rows}
    if families != {4, 6}:
        missing = " and ".join(f"IPv{f}" for f in (4, 6) if f not in families)
        raise DatasetError(
            f"no {missing} rows: give a file with both families (an npm tarball or a combined "
            "CSV/TSV), so lookups do not silently lose a family",
            path=source,
        )
    is_npm = info.get("format") == "npm-tarball"
    version = version or info.get("version") or f"sha256:{hashlib.sha256(data).hexdigest()[:12]}"
    meta = {
        "name": name or ("ip-location-db/asn" if is_npm else "ip2asn (user file)"),
        "version": version,
        "date": date or version_date(version) or now.date().isoformat(),
        "published": "",
        "source": source,
        "licence": licence
        or ("CC BY 4.0 (RouteViews, DB-IP, NRO)" if is_npm else "see the source's licence"),
        "built_from": f"{source} (sha256 {hashlib.sha256(data).hexdigest()})",
        "built_at": now.isoformat(timespec="seconds"),
    }
    return install_user_copy(
        (base or data_dir()) / "ip2asn",
        now,
        lambda tmp: build_files(rows, meta, tmp),
        lambda: user_table_dir(base),
    )


def install_user_copy(
    root: Path,
    now: datetime,
    build: Callable[[Path], _Built],
    current: Callable[[], Path | None],
) -> tuple[Path, _Built]:
    """Build a new copy of a table in ``root`` and make it current atomically.

    ``build(folder)`` writes the files into a fresh temporary folder; it is renamed to a dated
    name, then a ``CURRENT`` pointer is replaced in one rename, so a reader sees the old copy or
    the new one, never half of one. The previous copy (``current()`` before the switch) is kept:
    a process may be reading it right now; older ones are removed. DatasetError on a write error.
    """
    root.mkdir(parents=True, exist_ok=True)
    stamp = f"{now.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"
    tmp = root / f".tmp-{stamp}"
    try:
        built = build(tmp)
        final = root / stamp
        tmp.rename(final)
        pointer = root / f".CURRENT-{stamp}"
        pointer.write_text(stamp + "\n", encoding="utf-8")
        previous = current()
        os.replace(pointer, root / "CURRENT")
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DatasetError(f"cannot write the table: {exc}", path=str(root)) from exc
    keep = {stamp, previous.name if previous else ""}
    for entry in root.iterdir():
        if entry.is_dir() and entry.name not in keep:
            shutil.rmtree(entry, ignore_errors=True)
    return final, built


NPM_LATEST_URL = "https://registry.npmjs.org/@ip-location-db/asn/latest"


def latest_npm_tarball(*, url: str = NPM_LATEST_URL, timeout: float = 30.0) -> str:
    """The tarball URL of the latest ``@ip-location-db/asn`` version, from the npm registry."""
    data = fetch(url, max_bytes=1024 * 1024, timeout=timeout)
    try:
        tarball = json.loads(data.decode("utf-8"))["dist"]["tarball"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise DatasetError("unexpected answer from the npm registry", path=url) from exc
    if not isinstance(tarball, str) or not re.match(r"https?://", tarball):
        raise DatasetError("the npm registry gave no tarball URL", path=url)
    return tarball


def reset_user_table(base: Path | None = None) -> bool:
    """Remove the user-updated table so the packaged one is used again; True if one existed."""
    root = (base or data_dir()) / "ip2asn"
    existed = user_table_dir(base) is not None
    with contextlib.suppress(FileNotFoundError):
        (root / "CURRENT").unlink()
    if root.is_dir():
        shutil.rmtree(root, ignore_errors=True)
    return existed
