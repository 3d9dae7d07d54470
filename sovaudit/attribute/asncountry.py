"""Offline ASN -> country of registration: a country for every announced address, offline.

The source, ``@ip-location-db/asn-country`` (the five RIRs' delegation statistics, NRO), maps
IP *ranges* to the country in which each block is registered. sovaudit needs the country of
the autonomous system that announces an address (the same AS whose organization name the IP ->
ASN table gives), so the ranges are joined with the IP -> ASN table once, when the table is
built or updated:

- for every ASN, the announced space of each of its ranges is split by the country ranges it
  overlaps; the addresses (IPv4) or the /64 blocks (IPv6) per country are summed;
- the ASN's country is the one holding most of its announced IPv4 space, or of its IPv6 space
  when it announces no IPv4 (ties: the alphabetically first code); the share of the announced
  space registered in that country is kept, so evidence can say "93 % of its space".

The result is one small package file, ``asn-country.tsv.xz``: an xz (LZMA) stream of UTF-8 lines::

    #sovaudit-asn-country 1
    #meta {"name": ..., "version": ..., "date": ..., "source": ..., "licence": ..., ...}
    ASN<TAB>CC<TAB>SHARE

sorted by ASN, ``CC`` an ISO 3166-1 alpha-2 code, ``SHARE`` the integer percentage (0-100) of
the ASN's announced space (of the family used) registered in ``CC``. A lookup is a dict look-up
after the (bisecting) IP -> ASN look-up, loaded lazily on first use.

``sovaudit data update --dataset asn-country`` rebuilds it from a newer npm tarball, a CSV
(``start,end,CC``, optionally gzipped) or an RIR delegated(-extended) statistics file (whose
``asn`` lines give the country of registration of the AS itself, used as they are) into
``<user data dir>/asn-country/<stamp>/`` with an atomically replaced ``CURRENT``, like the IP ->
ASN table. The join uses the IP -> ASN table in use at that moment; an ASN that a later IP -> ASN
update adds has no country until the next country update.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import ipaddress
import json
import lzma
import re
import shutil
import tarfile
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sovaudit.attribute.asntable import (
    DOWNLOAD_TIMEOUT,
    MAX_DOWNLOAD_BYTES,
    MAX_INPUT_BYTES,
    AsnTable,
    data_dir,
    fetch,
    flatten,
    install_user_copy,
    package_data_dir,
    version_date,
)
from sovaudit.errors import DatasetError
from sovaudit.models import Dataset

__all__ = [
    "COUNTRY_FILE",
    "AsnCountry",
    "AsnCountryTable",
    "CountryRange",
    "build_country_file",
    "derive_countries",
    "install_country_table",
    "latest_country_tarball",
    "read_country_source",
    "reset_user_country_table",
    "user_country_dir",
]

COUNTRY_FILE = "asn-country.tsv.xz"
MAGIC_LINE = "#sovaudit-asn-country 1"
USER_SUBDIR = "asn-country"
NPM_COUNTRY_LATEST_URL = "https://registry.npmjs.org/@ip-location-db/asn-country/latest"
DEFAULT_NAME = "ip-location-db/asn-country"
DEFAULT_LICENCE = "CC BY 4.0 (NRO); npm package: CC0-1.0"
_CC = re.compile(r"^[A-Z]{2}$")
_MAX4 = (1 << 32) - 1
_V4_FILES = ("asn-country-ipv4.csv", "asn-country-ipv4-num.csv")
_V6_FILES = ("asn-country-ipv6.csv", "asn-country-ipv6-num.csv")


@dataclass(frozen=True, slots=True)
class AsnCountry:
    """The country where an autonomous system's announced space is registered."""

    asn: int
    country: str  # ISO 3166-1 alpha-2
    share: int  # percentage of the AS's announced space (of the family used) registered there
    source: str  # e.g. "ip-location-db/asn-country 2.3.2026061719 (offline)"


@dataclass(frozen=True, slots=True)
class CountryRange:
    """One row of a source: an inclusive range of one family and its country of registration."""

    family: int
    start: int
    end: int
    country: str


def _code(cc: str) -> int:
    return (ord(cc[0]) << 8) | ord(cc[1])


def _cc(code: int) -> str:
    return chr(code >> 8) + chr(code & 0xFF)


# -- locations --------------------------------------------------------------------------------


def user_country_dir(base: Path | None = None) -> Path | None:
    """The active user-updated country table directory, or None when there is none."""
    root = (base or data_dir()) / USER_SUBDIR
    try:
        stamp = (root / "CURRENT").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not re.fullmatch(r"[0-9A-Za-z._-]+", stamp) or stamp.startswith("."):
        return None
    directory = root / stamp
    return directory if (directory / COUNTRY_FILE).is_file() else None


# -- the table --------------------------------------------------------------------------------


def _read_file(path: Path) -> tuple[dict[int, tuple[str, int]], dict[str, Any]]:
    try:
        text = lzma.decompress(path.read_bytes()).decode("utf-8")
    except (OSError, lzma.LZMAError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read the ASN -> country table: {exc}", path=str(path)) from exc
    lines = text.splitlines()
    if not lines or lines[0] != MAGIC_LINE:
        raise DatasetError("not a sovaudit ASN -> country table", path=str(path), line=1)
    meta: dict[str, Any] = {}
    countries: dict[int, tuple[str, int]] = {}
    body_start = 1
    for number, line in enumerate(lines[1:], 2):
        if not line.startswith("#"):
            body_start = number - 1
            break
        if line.startswith("#meta "):
            try:
                meta = json.loads(line[6:])
            except ValueError as exc:
                raise DatasetError(f"bad metadata: {exc}", path=str(path), line=number) from exc
    else:
        body_start = len(lines)
    # ~90,000 lines: one split and two int() per line (a regex per line doubles the load time).
    codes: dict[str, str] = {}
    for number, line in enumerate(lines[body_start:], body_start + 1):
        try:
            asn_text, cc, share_text = line.split("\t")
            asn, share = int(asn_text), int(share_text)
        except ValueError:
            asn = share = -1
            cc = ""
        code = codes.get(cc)
        if code is None:
            code = codes[cc] = cc if _CC.match(cc) else ""
        if not code or asn < 0 or not 0 <= share <= 100:
            raise DatasetError("malformed ASN -> country line", path=str(path), line=number)
        countries[asn] = (code, share)
    if not isinstance(meta, dict):
        raise DatasetError("bad metadata: not an object", path=str(path))
    return countries, meta


class AsnCountryTable:
    """ASN -> country of registration, loaded lazily on the first look-up."""

    _default_lock = threading.Lock()
    _defaults: dict[Path, AsnCountryTable] = {}

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._countries: dict[int, tuple[str, int]] | None = None
        self._meta: dict[str, Any] = {}
        self._memo: dict[int, AsnCountry | None] = {}

    @classmethod
    def default(cls) -> AsnCountryTable:
        """The table in use: the user-updated copy if there is one, else the package data."""
        directory = user_country_dir() or package_data_dir()
        with cls._default_lock:
            table = cls._defaults.get(directory)
            if table is None:
                table = cls.from_files(directory)
                cls._defaults[directory] = table
            return table

    @classmethod
    def from_files(cls, directory: Path) -> AsnCountryTable:
        """A table read (lazily) from ``directory/asn-country.tsv.xz``."""
        if not (directory / COUNTRY_FILE).is_file():
            raise DatasetError(
                f"ASN -> country table missing ({COUNTRY_FILE})", path=str(directory)
            )
        return cls(directory)

    def _load(self) -> dict[int, tuple[str, int]]:
        if self._countries is None:
            with self._lock:
                if self._countries is None:
                    countries, meta = _read_file(self.directory / COUNTRY_FILE)
                    self._meta = meta
                    self._countries = countries
        return self._countries

    def load(self) -> AsnCountryTable:
        """Load now (look-ups otherwise load on first use); returns self."""
        self._load()
        return self

    def country_of(self, asn: int) -> AsnCountry | None:
        """The country of registration of ``asn``, or None when the table has none."""
        if asn in self._memo:
            return self._memo[asn]
        hit = self._load().get(asn)
        result = (
            AsnCountry(asn=asn, country=hit[0], share=hit[1], source=self.source_label)
            if hit is not None
            else None
        )
        if len(self._memo) >= 65536:
            self._memo.clear()
        self._memo[asn] = result
        return result

    def countries(self) -> dict[int, str]:
        """Every ASN of the table and its country (a copy)."""
        return {asn: cc for asn, (cc, _share) in self._load().items()}

    def __len__(self) -> int:
        return len(self._load())

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata line of the table."""
        self._load()
        return dict(self._meta)

    @property
    def dataset(self) -> Dataset:
        """The dataset this table was built from, as printed in reports."""
        meta = self.metadata
        return Dataset(
            name=str(meta.get("name", "")),
            version=str(meta.get("version", "")),
            date=str(meta.get("date", "")),
            source=str(meta.get("source", "")),
            licence=str(meta.get("licence", "")),
        )

    @property
    def source_label(self) -> str:
        """Short provenance put in every answer."""
        meta = self.metadata
        return f"{meta.get('name', 'asn-country')} {meta.get('version', '')} (offline)"



# -- reading sources --------------------------------------------------------------------------


def _parse_bound(text: str, family: int | None, where: str, line: int) -> tuple[int, int]:
    text = text.strip()
    try:
        if text.isdigit():
            value = int(text)
            fam = family or (4 if value <= _MAX4 else 6)
            return fam, value
        address = ipaddress.ip_address(text)
    except ValueError as exc:
        raise DatasetError(f"bad IP address {text[:60]!r}", path=where, line=line) from exc
    return address.version, int(address)


def _csv_rows(text: str, where: str, family: int | None = None) -> Iterator[CountryRange]:
    """Rows of an ``start,end,CC`` CSV (addresses or numbers)."""
    for number, fields in enumerate(csv.reader(io.StringIO(text, newline="")), 1):
        if not fields or (len(fields) == 1 and not fields[0].strip()):
            continue
        if len(fields) < 3:
            raise DatasetError("expected start,end,country", path=where, line=number)
        fam_s, start = _parse_bound(fields[0], family, where, number)
        fam_e, end = _parse_bound(fields[1], family, where, number)
        cc = fields[2].strip().upper()
        if fam_s != fam_e or end < start:
            raise DatasetError("inconsistent range", path=where, line=number)
        if cc in ("", "ZZ", "EU", "AP"):  # unassigned or regional: no country
            continue
        if not _CC.match(cc):
            raise DatasetError(f"bad country code {cc[:8]!r}", path=where, line=number)
        yield CountryRange(fam_s, start, end, cc)


def _delegated(text: str, where: str) -> tuple[list[CountryRange], dict[int, str]]:
    """RIR delegated(-extended) statistics: address ranges and, from ``asn`` lines, ASNs."""
    ranges: list[CountryRange] = []
    asns: dict[int, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line.startswith("#"):
            continue
        fields = line.split("|")
        if len(fields) < 7 or fields[1] in ("", "*"):
            continue  # version line, summary lines
        kind, cc, first, count = fields[2], fields[1].upper(), fields[3], fields[4]
        if not _CC.match(cc) or cc == "ZZ" or fields[6] not in ("allocated", "assigned"):
            continue
        try:
            if kind == "asn":
                base, n = int(first), int(count)
                if not 0 < base <= _MAX4 or not 0 < n <= 1 << 20:
                    raise ValueError(first)
                for asn in range(base, base + n):
                    asns[asn] = cc
            elif kind == "ipv4":
                start = int(ipaddress.IPv4Address(first))
                ranges.append(CountryRange(4, start, start + int(count) - 1, cc))
            elif kind == "ipv6":
                net = ipaddress.IPv6Network(f"{first}/{int(count)}")
                ranges.append(
                    CountryRange(6, int(net.network_address), int(net.broadcast_address), cc)
                )
        except ValueError as exc:
            raise DatasetError(f"bad {kind} line", path=where, line=number) from exc
    return ranges, asns


def read_country_source(
    data: bytes, where: str
) -> tuple[list[CountryRange], dict[int, str], dict[str, Any]]:
    """Parse a country source given as bytes: npm tarball, CSV or RIR statistics (gzip ok).

    Returns the address ranges, the ASN -> country pairs the source states directly (RIR ``asn``
    lines; empty for ip-location-db) and what the input says about itself.
    """
    from sovaudit.attribute.asntable import _gunzip

    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, where)
    if len(data) > MAX_INPUT_BYTES:
        raise DatasetError(f"input larger than {MAX_INPUT_BYTES} bytes", path=where)
    if len(data) > 262 and data[257:262] == b"ustar":
        ranges, info = _read_tarball(data, where)
        return ranges, {}, info
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError("input is neither a tarball nor UTF-8 text", path=where) from exc
    head = "\n".join(line for line in text[:4096].splitlines() if not line.startswith("#"))
    if "|" in head:
        ranges, asns = _delegated(text, where)
        return ranges, asns, {"format": "rir-delegated"}
    return list(_csv_rows(text, where)), {}, {"format": "csv"}


def _read_tarball(data: bytes, where: str) -> tuple[list[CountryRange], dict[str, Any]]:
    info: dict[str, Any] = {"format": "npm-tarball"}
    members: dict[str, bytes] = {}
    wanted = ("package.json", *_V4_FILES, *_V6_FILES)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if not member.isfile() or base not in wanted:
                    continue
                handle = tar.extractfile(member)
                if handle is not None:
                    members[base] = handle.read(MAX_INPUT_BYTES + 1)
                    if len(members[base]) > MAX_INPUT_BYTES:
                        raise DatasetError(
                            f"{base} larger than {MAX_INPUT_BYTES} bytes", path=where
                        )
    except tarfile.TarError as exc:
        raise DatasetError(f"bad tarball: {exc}", path=where) from exc
    if "package.json" in members:
        with contextlib.suppress(ValueError, UnicodeDecodeError):
            package = json.loads(members["package.json"].decode("utf-8"))
            info["version"] = str(package.get("version", ""))
            info["package"] = str(package.get("name", ""))
    rows: list[CountryRange] = []
    for family, names in ((4, _V4_FILES), (6, _V6_FILES)):
        # The address files first; the numeric twins only when the address file is missing.
        name = next((n for n in names if n in members), None)
        if name is not None:
            text = members[name].decode("utf-8")
            rows.extend(_csv_rows(text, f"{where}:{name}", family))
    if not rows:
        raise DatasetError("tarball has no asn-country-ipv4/ipv6 CSV rows", path=where)
    return rows, info


# -- deriving per-ASN countries ----------------------------------------------------------------


def _family_weights(
    starts: Sequence[int],
    ends: Sequence[int],
    asns: Sequence[int],
    countries: Sequence[tuple[int, int, int]],
    shift: int,
) -> tuple[dict[int, dict[int, int]], dict[int, int]]:
    """Per ASN: announced units registered in each country, and all announced units.

    Both lists are sorted and disjoint, so one merge pass suffices. ``shift`` turns addresses
    into units (0 for IPv4 addresses, 64 for IPv6 /64 blocks; a smaller overlap counts as 1).
    """
    weights: dict[int, dict[int, int]] = {}
    totals: dict[int, int] = {}
    j = 0
    n = len(countries)
    for start, end, asn in zip(starts, ends, asns, strict=True):
        if not asn:
            continue
        totals[asn] = totals.get(asn, 0) + max(1, (end - start + 1) >> shift)
        while j < n and countries[j][1] < start:
            j += 1
        k = j
        while k < n and countries[k][0] <= end:
            c_start, c_end, code = countries[k]
            overlap = min(end, c_end) - max(start, c_start) + 1
            if overlap > 0:
                per = weights.setdefault(asn, {})
                per[code] = per.get(code, 0) + max(1, overlap >> shift)
            k += 1
    return weights, totals


def derive_countries(
    table: AsnTable, ranges: Iterable[CountryRange], direct: dict[int, str] | None = None
) -> dict[int, tuple[str, int]]:
    """ASN -> (country, share %) from country ranges joined with an IP -> ASN table.

    ``direct`` (ASN -> country stated by an RIR ``asn`` line) wins over the derived country,
    with a share of 100 when no announced space contradicts it, else the share of its space in
    that country.
    """
    by_family: dict[int, list[tuple[int, int, int]]] = {4: [], 6: []}
    for row in ranges:
        by_family[row.family].append((row.start, row.end, _code(row.country)))
    chosen: dict[int, tuple[str, int]] = {}
    family_data = []
    for family in (4, 6):
        flat = flatten(by_family[family], family)
        fam = table._family(family)
        weights, totals = _family_weights(
            fam.starts, fam.ends, fam.asns, flat, 0 if family == 4 else 64
        )
        family_data.append((weights, totals))
    for weights, totals in family_data:  # IPv4 first: an ASN keeps its IPv4 answer
        for asn, per in weights.items():
            if asn in chosen:
                continue
            code, units = min(per.items(), key=lambda item: (-item[1], item[0]))
            chosen[asn] = (_cc(code), min(100, units * 100 // max(1, totals[asn])))
    for asn, cc in (direct or {}).items():
        share = 100
        for weights, totals in family_data:
            found = weights.get(asn)
            if found is not None:
                share = min(100, found.get(_code(cc), 0) * 100 // max(1, totals[asn]))
                break
        chosen[asn] = (cc, share)
    return chosen


def build_country_file(
    countries: dict[int, tuple[str, int]], meta: dict[str, Any], directory: Path
) -> int:
    """Write ``asn-country.tsv.xz`` into ``directory``; returns the number of ASNs."""
    directory.mkdir(parents=True, exist_ok=True)
    lines = [MAGIC_LINE, "#meta " + json.dumps(meta, ensure_ascii=False, sort_keys=True)]
    lines.extend(f"{asn}\t{cc}\t{share}" for asn, (cc, share) in sorted(countries.items()))
    payload = ("\n".join(lines) + "\n").encode("utf-8")
    (directory / COUNTRY_FILE).write_bytes(lzma.compress(payload, preset=9 | lzma.PRESET_EXTREME))
    return len(countries)


# -- data update ------------------------------------------------------------------------------


def install_country_table(
    source: str,
    *,
    asn_table: AsnTable | None = None,
    base: Path | None = None,
    now: datetime | None = None,
    version: str | None = None,
    date: str | None = None,
    name: str | None = None,
    licence: str | None = None,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> tuple[Path, int]:
    """Rebuild the ASN -> country table from ``source`` (file or URL) into the user data dir.

    Same download bounds and address policy as the IP -> ASN update (``asntable.fetch``), same
    atomic ``CURRENT`` swap. Returns the new directory and the number of ASNs.
    """
    now = now or datetime.now(UTC)
    table = asn_table or AsnTable.default()
    data = fetch(source, max_bytes=max_bytes, timeout=timeout)
    ranges, direct, info = read_country_source(data, source)
    families = {r.family for r in ranges}
    if not direct and families != {4, 6}:
        missing = " and ".join(f"IPv{f}" for f in (4, 6) if f not in families)
        raise DatasetError(
            f"no {missing} rows: give a file with both families (an npm tarball, a combined "
            "CSV or RIR statistics), so lookups do not silently lose a family",
            path=source,
        )
    countries = derive_countries(table, ranges, direct)
    if not countries:
        raise DatasetError("no ASN of the IP -> ASN table got a country", path=source)
    is_npm = info.get("format") == "npm-tarball"
    digest = hashlib.sha256(data).hexdigest()
    version = version or info.get("version") or f"sha256:{digest[:12]}"
    meta = {
        "name": name or (DEFAULT_NAME if is_npm else f"asn-country ({info.get('format')} file)"),
        "version": version,
        "date": date or version_date(version) or now.date().isoformat(),
        "published": "",
        "source": source,
        "licence": licence or (DEFAULT_LICENCE if is_npm else "see the source's licence"),
        "built_from": f"{source} (sha256 {digest})",
        "built_at": now.isoformat(timespec="seconds"),
        "joined_with": table.source_label,
        "method": "per ASN, the country holding most of its announced IPv4 space (IPv6 if none)"
        + ("; RIR asn lines as stated" if direct else ""),
    }
    return install_user_copy(
        (base or data_dir()) / USER_SUBDIR,
        now,
        lambda tmp: build_country_file(countries, meta, tmp),
        lambda: user_country_dir(base),
    )


def latest_country_tarball(
    *, url: str = NPM_COUNTRY_LATEST_URL, timeout: float = 30.0
) -> str:
    """The tarball URL of the latest ``@ip-location-db/asn-country`` version (npm registry)."""
    from sovaudit.attribute.asntable import latest_npm_tarball

    return latest_npm_tarball(url=url, timeout=timeout)


def reset_user_country_table(base: Path | None = None) -> bool:
    """Remove the user-updated country table; True if one existed."""
    root = (base or data_dir()) / USER_SUBDIR
    existed = user_country_dir(base) is not None
    if root.is_dir():
        shutil.rmtree(root, ignore_errors=True)
    return existed
