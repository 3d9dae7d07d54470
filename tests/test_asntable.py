"""The offline IP -> ASN table: packaged data, the converter, and ``sovaudit data``."""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import ipaddress
import json
import lzma
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sovaudit.attribute.asntable import (
    NAMES_FILE,
    V4_FILE,
    AsnTable,
    SourceRow,
    build_files,
    flatten,
    install_table,
    latest_npm_tarball,
    package_data_dir,
    read_source,
    reset_user_table,
    user_table_dir,
    version_date,
)
from sovaudit.cli import data_cmd  # noqa: F401  registers `data` on the app
from sovaudit.cli.app import app
from sovaudit.errors import DatasetError

DATA = Path(__file__).parent / "data" / "asn"


@pytest.fixture(scope="module")
def table() -> AsnTable:
    return AsnTable.from_files(package_data_dir())


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "userdata"
    monkeypatch.setenv("SOVAUDIT_DATA_DIR", str(directory))
    return directory


# -- packaged table: real rows of @ip-location-db/asn 2.3.2026061719 ---------------------------


@pytest.mark.parametrize(
    ("ip", "asn", "name"),
    [
        ("20.190.128.1", 8075, "Microsoft Corporation"),  # login.microsoftonline.com range
        ("52.94.236.248", 16509, "Amazon.com, Inc."),
        ("70.24.0.1", 577, "Bell Canada"),
        ("24.200.0.1", 5769, "Videotron Ltee"),
        ("206.167.0.1", 376, "Reseau d'Informations Scientifiques du Quebec (RISQ Inc.)"),
        ("2603:1000::1", 8075, "Microsoft Corporation"),
        ("2607:fa48::1", 5769, "Videotron Ltee"),
        ("2001:510::1", 376, "Reseau d'Informations Scientifiques du Quebec (RISQ Inc.)"),
        ("::ffff:20.190.128.1", 8075, "Microsoft Corporation"),  # IPv4-mapped -> IPv4 table
    ],
)
def test_known_rows(table: AsnTable, ip: str, asn: int, name: str) -> None:
    match = table.lookup(ip)
    assert match is not None
    assert (match.asn, match.name) == (asn, name)
    assert match.source == "ip-location-db/asn 2.3.2026061719 (offline)"
    assert table.name_of(asn) == name


def test_boundaries_and_network_text(table: AsnTable) -> None:
    # 24.200.0.0/14 is one Videotron range; its neighbours belong to other ASes.
    first, last = table.lookup("24.200.0.0"), table.lookup("24.203.255.255")
    assert first is not None and last is not None
    assert first.asn == last.asn == 5769
    assert first.network == last.network == "24.200.0.0/14"
    before, after = table.lookup("24.199.255.255"), table.lookup("24.204.0.0")
    assert before is not None and before.asn != 5769
    assert after is not None and after.asn != 5769
    # RISQ's 206.167.0.0/24 is followed by unrouted space.
    assert table.lookup("206.167.0.255") is not None
    assert table.lookup("206.167.1.0") is None
    # IPv6: RISQ 2001:510::/32 with nothing on either side.
    assert table.lookup("2001:50f:ffff:ffff:ffff:ffff:ffff:ffff") is None
    v6 = table.lookup("2001:510:ffff:ffff:ffff:ffff:ffff:ffff")
    assert v6 is not None and v6.network == "2001:510::/32"
    assert table.lookup("2001:511::") is None
    # A range that is not one CIDR is shown first-last.
    ms = table.lookup("20.190.128.1")
    assert ms is not None and ms.network == "20.184.0.0-20.255.255.255"


@pytest.mark.parametrize(
    "ip",
    ["10.0.0.1", "192.168.1.1", "100.64.0.1", "127.0.0.1", "169.254.1.1", "224.0.0.1",
     "255.255.255.255", "0.0.0.0", "192.0.2.1", "198.51.100.7", "::1", "fe80::1", "::",
     "2001:db8::1", "2002:c000:204::1", "2001::1", "ff02::1"],
)  # fmt: skip
def test_special_purpose_space_is_never_attributed(table: AsnTable, ip: str) -> None:
    assert table.lookup(ip) is None


@pytest.mark.parametrize(
    "ip",
    ["", "garbage", "1.2.3", "1.2.3.256", "01.2.3.4", " 1.2.3.4", "1.2.3.4\x00", "fe80::1%eth0",
     "2001:db8:::1", "20.190.128.1/32", "::ffff:999.1.1.1", None, 42, b"1.2.3.4"],
)  # fmt: skip
def test_malformed_input_returns_none(table: AsnTable, ip: object) -> None:
    assert table.lookup(ip) is None  # type: ignore[arg-type]


def test_dataset_metadata(table: AsnTable) -> None:
    dataset = table.dataset
    assert dataset.name == "ip-location-db/asn"
    assert dataset.version == "2.3.2026061719"
    assert dataset.date == "2026-06-17"
    assert "CC BY 4.0" in dataset.licence
    assert "ip-location-db" in dataset.source
    assert table.metadata["published"] == "2026-09-16"
    assert table.rows(4) > 300_000 and table.rows(6) > 50_000
    notice = (package_data_dir() / "NOTICE.ip2asn.md").read_text(encoding="utf-8")
    assert dataset.version in notice and "CC BY 4.0" in notice


def test_default_prefers_user_copy(data_dir: Path) -> None:
    assert AsnTable.default().directory == package_data_dir()
    install_table(str(DATA / "small.csv"), base=data_dir)
    user = AsnTable.default()
    assert user.directory == user_table_dir(data_dir)
    match = user.lookup("20.190.128.1")
    assert match is not None and match.asn == 64502
    assert reset_user_table(data_dir) is True
    assert AsnTable.default().directory == package_data_dir()


# -- the converter ----------------------------------------------------------------------------


def test_flatten_narrowest_wins_specials_removed_adjacent_merged() -> None:
    ranges = flatten(
        [
            (0x01000000, 0x01FFFFFF, 100),  # 1.0.0.0/8
            (0x01020000, 0x0102FFFF, 200),  # 1.2.0.0/16 inside: wins there
            (0x02000000, 0x020000FF, 300),
            (0x02000100, 0x020001FF, 300),  # adjacent, same ASN: merged
            (0x0A000000, 0x0AFFFFFF, 400),  # 10/8: removed
            (0x03000000, 0x030000FF, 0),  # ASN 0: dropped
        ],
        4,
    )
    assert ranges == [
        (0x01000000, 0x0101FFFF, 100),
        (0x01020000, 0x0102FFFF, 200),
        (0x01030000, 0x01FFFFFF, 100),
        (0x02000000, 0x020001FF, 300),
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 40), st.integers(1, 4)),
        min_size=1,
        max_size=12,
    )
)
def test_flatten_matches_brute_force(spec: list[tuple[int, int, int]]) -> None:
    # Small ranges placed inside 1.0.0.0/8 (no special-purpose space there).
    base = 0x01000000
    rows = [(base + s, base + s + w, a) for s, w, a in spec]
    flat = flatten(rows, 4)
    for point in range(base, base + 245):
        covering = [r for r in rows if r[0] <= point <= r[1]]
        hits = [r for r in flat if r[0] <= point <= r[1]]
        if not covering:
            assert hits == []
            continue
        narrowest = min(r[1] - r[0] for r in covering)
        assert len(hits) == 1
        assert hits[0][2] in {r[2] for r in covering if r[1] - r[0] == narrowest}
    assert all(a[1] < b[0] for a, b in zip(flat, flat[1:], strict=False))


def test_build_and_read_back(tmp_path: Path) -> None:
    rows, info = read_source((DATA / "small.csv").read_bytes(), "small.csv")
    assert info["format"] == "csv" and len(rows) == 7
    counts = build_files(rows, {"name": "t", "version": "1", "date": "2026-01-01"}, tmp_path)
    assert counts == {"input_rows": 7, "v4_rows": 3, "v6_rows": 3, "names": 5}
    table = AsnTable.from_files(tmp_path)
    merged = table.lookup("203.0.112.200")
    assert merged is not None and merged.network == "203.0.112.0/24"  # two /25s merged
    assert merged.name == "Exemple Hébergement Québec"
    assert table.lookup("10.1.2.3") is None  # private row dropped
    inner = table.lookup("2001:db9:1::1")
    outer = table.lookup("2001:db9:2::1")
    assert inner is not None and inner.asn == 64504
    assert outer is not None and outer.asn == 64500
    assert outer.network == "2001:db9:2::-2001:db9:ffff:ffff:ffff:ffff:ffff:ffff"
    assert table.dataset.version == "1"
    # Names file: plain sorted TSV inside xz.
    names = lzma.decompress((tmp_path / NAMES_FILE).read_bytes()).decode().splitlines()
    assert names[0] == "64500\tExample Hosting, Inc."


def test_corrupt_table_raises_dataset_error(tmp_path: Path) -> None:
    build_files(read_source((DATA / "small.csv").read_bytes(), "x")[0], {}, tmp_path)
    (tmp_path / V4_FILE).write_bytes(lzma.compress(b"NOTMAGIC" + bytes(40)))
    table = AsnTable.from_files(tmp_path)
    with pytest.raises(DatasetError, match="not a sovaudit IP -> ASN table"):
        table.lookup("198.51.99.1")
    with pytest.raises(DatasetError, match="missing"):
        AsnTable.from_files(tmp_path / "nowhere")


def test_read_source_iptoasn_tsv_and_npm_tarball(tmp_path: Path) -> None:
    rows, info = read_source((DATA / "iptoasn.tsv").read_bytes(), "iptoasn.tsv")
    assert info["format"] == "tsv"
    assert [(r.asn, r.name) for r in rows][:2] == [
        (64500, "EXAMPLE-AS Example Hosting"),
        (64510, "TSV-AS"),
    ]
    assert rows[2].name is None  # "Not routed"
    package = {"name": "@ip-location-db/asn", "version": "2.3.2026111500"}
    tarball = _npm_tarball(package)
    rows, info = read_source(tarball, "pkg.tgz")
    assert info == {"format": "npm-tarball", **{k: package[k] for k in ("version",)},
                    "package": package["name"]}  # fmt: skip
    assert len(rows) == 7
    assert version_date(info["version"]) == "2026-11-15"


def test_bad_rows_report_file_and_line() -> None:
    with pytest.raises(DatasetError) as caught:
        read_source((DATA / "bad.csv").read_bytes(), "bad.csv")
    assert str(caught.value).startswith("bad.csv:2: bad IP address 'not-an-ip'")


def _npm_tarball(package: dict[str, str]) -> bytes:
    """An npm tarball like `npm pack` makes: package/ with package.json and the two CSVs."""
    lines = (DATA / "small.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    members = {
        "package/package.json": json.dumps(package),
        "package/asn-ipv4.csv": "".join(line for line in lines if ":" not in line.split(",")[0]),
        "package/asn-ipv6.csv": "".join(line for line in lines if ":" in line.split(",")[0]),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in members.items():
            data = text.encode("utf-8")
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


# -- data update / data info ------------------------------------------------------------------


def test_cli_update_from_csv_then_lookup_uses_it(data_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["data", "update", "--from", str(DATA / "small.csv"), "--version", "test-1"]
    )
    assert result.exit_code == 0, result.output
    assert "3 IPv4 and 3 IPv6 ranges" in result.output
    current = user_table_dir(data_dir)
    assert current is not None and current.parent == data_dir / "ip2asn"
    table = AsnTable.default()
    match = table.lookup("20.190.130.5")
    assert match is not None and (match.asn, match.name) == (64502, "Not Microsoft (test row)")
    assert table.dataset.version == "test-1"
    info = runner.invoke(app, ["data", "info", "--json"])
    assert info.exit_code == 0, info.output
    (row,) = [r for r in json.loads(info.stdout) if r["kind"] == "ip-asn"]
    assert row["version"] == "test-1"
    assert row["origin"] == "user"
    assert row["rows"] == {"ipv4": 3, "ipv6": 3}
    assert row["file"] == str(current)
    # A second update switches CURRENT atomically and keeps only the previous copy.
    for version in ("test-2", "test-3"):
        again = runner.invoke(app, ["data", "update", "--from", str(DATA / "iptoasn.tsv"),
                                    "--version", version])  # fmt: skip
        assert again.exit_code == 0, again.output
    assert AsnTable.default().dataset.version == "test-3"
    assert len([p for p in (data_dir / "ip2asn").iterdir() if p.is_dir()]) == 2
    reset = runner.invoke(app, ["data", "update", "--reset"])
    assert reset.exit_code == 0 and AsnTable.default().directory == package_data_dir()


def test_cli_info_table_lists_packaged_dataset(data_dir: Path) -> None:
    result = CliRunner().invoke(app, ["data", "info"])
    assert result.exit_code == 0, result.output
    assert "ip-location-db/asn" in result.output
    assert "2.3.2026061719" in result.output
    assert "2026-06-17" in result.output


def test_update_refuses_single_family_and_keeps_current(data_dir: Path) -> None:
    install_table(str(DATA / "small.csv"), base=data_dir, version="keep")
    with pytest.raises(DatasetError, match="no IPv6 rows"):
        install_table(str(DATA / "v4only.csv"), base=data_dir)
    with pytest.raises(DatasetError, match="cannot read"):
        install_table(str(DATA / "missing.csv"), base=data_dir)
    assert AsnTable.default().dataset.version == "keep"
    assert not [p for p in (data_dir / "ip2asn").iterdir() if p.name.startswith(".tmp")]


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # keep test output clean


@contextlib.contextmanager
def _serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_Handler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with pytest.MonkeyPatch.context() as mp:  # loopback-only test hook (netpolicy)
            mp.setenv("SOVAUDIT_ALLOW_LOOPBACK", "1")
            yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def http_dir() -> Iterator[str]:
    with _serve(DATA) as url:
        yield url


def test_update_from_url_bounded(data_dir: Path, http_dir: str) -> None:
    directory, counts = install_table(f"{http_dir}/small.csv", base=data_dir)
    assert counts["v4_rows"] == 3
    table = AsnTable.from_files(directory)
    assert table.dataset.source == f"{http_dir}/small.csv"
    assert table.dataset.version.startswith("sha256:")
    with pytest.raises(DatasetError, match="larger than 100 bytes"):
        install_table(f"{http_dir}/small.csv", base=data_dir, max_bytes=100)
    with pytest.raises(DatasetError, match="HTTP 404"):
        install_table(f"{http_dir}/nope.csv", base=data_dir)


def test_network_text_for_whole_space_edges(tmp_path: Path) -> None:
    rows = [SourceRow(4, int(ipaddress.IPv4Address("223.255.255.0")), 0xDFFFFFFF, 7, "edge"),
            SourceRow(6, 0x3FFE << 112, (0x3FFF << 112) - 1, 8, "edge6")]  # fmt: skip
    build_files(rows, {}, tmp_path)
    table = AsnTable.from_files(tmp_path)
    edge = table.lookup("223.255.255.255")
    assert edge is not None and edge.network == "223.255.255.0/24"
    assert table.lookup("224.0.0.0") is None
    edge6 = table.lookup("3ffe:ffff::1")
    assert edge6 is not None and edge6.network == "3ffe::/16"


def test_update_from_npm_registry_latest(data_dir: Path, tmp_path: Path) -> None:
    site = tmp_path / "registry"
    (site / "@ip-location-db" / "asn" / "-").mkdir(parents=True)
    package = {"name": "@ip-location-db/asn", "version": "2.3.2026112012"}
    (site / "@ip-location-db" / "asn" / "-" / "asn-2.3.2026112012.tgz").write_bytes(
        _npm_tarball(package)
    )
    with _serve(site) as base:
        (site / "@ip-location-db" / "asn" / "latest").write_text(
            json.dumps(
                {
                    **package,
                    "dist": {"tarball": f"{base}/@ip-location-db/asn/-/asn-2.3.2026112012.tgz"},
                }
            )
        )
        url = latest_npm_tarball(url=f"{base}/@ip-location-db/asn/latest", timeout=5)
        assert url.endswith("/asn-2.3.2026112012.tgz")
        directory, _ = install_table(url, base=data_dir)
        with pytest.raises(DatasetError, match="unexpected answer from the npm registry"):
            latest_npm_tarball(url=f"{base}/@ip-location-db/asn/-/asn-2.3.2026112012.tgz")
    dataset = AsnTable.from_files(directory).dataset
    assert (dataset.name, dataset.version, dataset.date) == (
        "ip-location-db/asn", "2.3.2026112012", "2026-11-20",
    )  # fmt: skip
    assert dataset.licence == "CC BY 4.0 (RouteViews, DB-IP, NRO)"
