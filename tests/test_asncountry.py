"""The offline ASN -> country-of-registration table and the weak, country-only attribution."""

from __future__ import annotations

import json
import lzma
import random
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sovaudit.attribute.asncountry import (
    COUNTRY_FILE,
    AsnCountryTable,
    derive_countries,
    install_country_table,
    read_country_source,
    user_country_dir,
)
from sovaudit.attribute.asntable import AsnTable, install_table, package_data_dir
from sovaudit.attribute.engine import (
    CONF_COUNTRY,
    LEVEL_CHAIN,
    LEVEL_COUNTRY,
    LEVEL_NONE,
    Attributor,
    attribution_level,
    level_label,
)
from sovaudit.attribute.registry import parse_registry
from sovaudit.cli import app
from sovaudit.errors import DatasetError
from sovaudit.models import Status

DATA = Path(__file__).parent / "data" / "asn"

# A registry that lists none of the networks below: the weak path does not depend on what the
# shipped registry grows to list.
_TINY = """
version: "t"
reviewed: 2026-12-03
entities:
  - {id: acme, name: "Acme Cloud, Inc.", country: US, ownership: private, parent: null,
     listed: null, source: "test", reviewed: 2026-12-03}
operators:
  - {id: acme-cloud, name: Acme Cloud, category: cloud, parent: acme, asns: [64999],
     source: "test", reviewed: 2026-12-03}
"""


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "userdata"
    monkeypatch.setenv("SOVAUDIT_DATA_DIR", str(directory))
    return directory


# -- the packaged table: @ip-location-db/asn-country 2.3.2026061719 ----------------------------


@pytest.mark.parametrize(
    ("asn", "country"),
    [(3303, "CH"), (13030, "CH"), (29222, "CH"), (16509, "US"), (4134, "CN"), (12876, "FR")],
)
def test_packaged_table_gives_registration_countries(asn: int, country: str) -> None:
    found = AsnCountryTable.from_files(package_data_dir()).country_of(asn)
    assert found is not None and found.country == country and 0 < found.share <= 100
    assert "asn-country" in found.source


def test_packaged_table_metadata_names_source_and_licence() -> None:
    table = AsnCountryTable.from_files(package_data_dir())
    ds = table.dataset
    assert (ds.name, ds.version, ds.date) == (
        "ip-location-db/asn-country", "2.3.2026061719", "2026-06-17",
    )  # fmt: skip
    assert "NRO" in ds.licence and "CC BY 4.0" in ds.licence
    assert len(table) > 90_000
    assert table.country_of(4_294_000_000) is None


def test_random_public_addresses_all_get_a_country() -> None:
    # 10,000 addresses drawn from the embedded IP -> ASN table (both families): each gets an
    # operator chain or a country; "unknown" only when the country table has no entry for its
    # ASN (73 of 84,000 IPv4 ASNs).
    from sovaudit.attribute.registry import default_registry
    from sovaudit.cli.lookup_cmd import lookup_target

    table = AsnTable.from_files(package_data_dir())
    countries = AsnCountryTable.from_files(package_data_dir())
    attributor = Attributor(default_registry(), table, country_table=countries)
    rng = random.Random(27)
    fam4, fam6 = table._family(4), table._family(6)
    import ipaddress

    counts = {LEVEL_CHAIN: 0, LEVEL_COUNTRY: 0, LEVEL_NONE: 0}
    for i in range(10_000):
        fam = fam4 if i % 5 else fam6
        k = rng.randrange(len(fam.starts))
        value = rng.randint(fam.starts[k], fam.ends[k])
        ip = str(ipaddress.ip_address(value))
        (at,) = lookup_target(ip, attributor)  # what `sovaudit lookup IP` answers, offline
        level = attribution_level(at)
        counts[level] += 1
        if level == LEVEL_NONE:
            assert at.asn is not None and countries.country_of(at.asn) is None, (ip, at.reason)
            assert "asn-not-in-registry" in at.flags
        elif level == LEVEL_COUNTRY:
            hit = countries.country_of(at.asn or 0)
            assert hit is not None and at.jurisdiction == hit.country
    assert counts[LEVEL_NONE] <= 20, counts
    assert counts[LEVEL_CHAIN] + counts[LEVEL_COUNTRY] >= 9_980, counts


def test_weak_attribution_flags_confidence_and_evidence() -> None:
    attributor = Attributor(
        parse_registry(_TINY),
        AsnTable.from_files(package_data_dir()),
        country_table=AsnCountryTable.from_files(package_data_dir()),
    )
    at = attributor.attribute_address("194.230.0.1")  # AS6730 Sunrise GmbH, registered in CH
    assert at.status is Status.UNKNOWN and at.operator is None
    assert (at.jurisdiction, at.confidence) == ("CH", CONF_COUNTRY) and CONF_COUNTRY == 0.3
    assert {"weak", "country-only"} <= set(at.flags)
    assert at.operator_name == "Sunrise GmbH" and at.asn == 6730
    steps = [s.step for s in at.evidence]
    assert steps == ["address", "asn", "as-name", "registration-country"]
    assert at.evidence[-1].value.startswith("CH (") and "asn-country" in at.evidence[-1].source
    assert level_label(at, "en") == "country only: registered in CH; owner not in the registry"
    assert level_label(at, "fr") == (
        "pays seulement : enregistré en CH ; propriétaire absent du registre"
    )
    # The same through an AS number.
    by_asn = attributor.attribute_asn(6730)
    assert by_asn.jurisdiction == "CH" and {"weak", "country-only"} <= set(by_asn.flags)
    assert attribution_level(by_asn) == LEVEL_COUNTRY


def test_without_a_country_table_an_unlisted_asn_stays_unknown() -> None:
    attributor = Attributor(parse_registry(_TINY), AsnTable.from_files(package_data_dir()))
    at = attributor.attribute_address("194.230.0.1")
    assert at.jurisdiction is None and "asn-not-in-registry" in at.flags
    assert attribution_level(at) == LEVEL_NONE


# -- building and updating --------------------------------------------------------------------


def test_derive_countries_by_majority_of_announced_space(data_dir: Path) -> None:
    install_table(str(DATA / "small.csv"), base=data_dir, version="t")
    table = AsnTable.default()
    ranges, direct, info = read_country_source((DATA / "country-small.csv").read_bytes(), "x")
    assert info["format"] == "csv" and not direct
    assert all(r.country != "ZZ" for r in ranges)
    countries = derive_countries(table, ranges)
    assert countries[64500] == ("US", 50)  # half of its /24 is registered in US, half nowhere
    assert countries[64501] == ("CA", 100)
    assert countries[64502] == ("DE", 50)  # a tie: the alphabetically first code
    assert countries[64504] == ("NL", 100)  # IPv6 only
    assert 64503 not in countries  # private space is never attributed


def test_delegated_statistics_asn_lines_win(data_dir: Path) -> None:
    install_table(str(DATA / "small.csv"), base=data_dir, version="t")
    ranges, direct, info = read_country_source((DATA / "delegated-small.txt").read_bytes(), "x")
    assert info["format"] == "rir-delegated"
    assert direct == {64501: "CH", 64504: "SE"}
    countries = derive_countries(AsnTable.default(), ranges, direct)
    assert countries[64501] == ("CH", 100) and countries[64504] == ("SE", 100)


def test_cli_update_country_table_then_info_and_reset(data_dir: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["data", "update", "--from", str(DATA / "small.csv")]).exit_code == 0
    result = runner.invoke(
        app,
        ["data", "update", "--dataset", "asn-country", "--from", str(DATA / "country-small.csv"),
         "--version", "c-1", "--date", "2026-12-01"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 ASNs with a country" in result.output
    current = user_country_dir(data_dir)
    assert current is not None and (current / COUNTRY_FILE).is_file()
    table = AsnCountryTable.default()
    assert table.directory == current and table.dataset.version == "c-1"
    hit = table.country_of(64501)
    assert hit is not None and hit.country == "CA"
    info = runner.invoke(app, ["data", "info", "--json"])
    rows = {r["kind"]: r for r in json.loads(info.stdout)}
    assert rows["asn-country"]["origin"] == "user" and rows["asn-country"]["rows"] == {"asns": 4}
    assert rows["asn-country"]["date"] == "2026-12-01"
    text = runner.invoke(app, ["data", "info"])
    assert "asn-country" in text.output and "4 ASNs" in text.output
    reset = runner.invoke(app, ["data", "update", "--dataset", "asn-country", "--reset"])
    assert reset.exit_code == 0
    assert AsnCountryTable.default().directory == package_data_dir()
    bad = runner.invoke(app, ["data", "update", "--dataset", "nope", "--from", "x"])
    assert bad.exit_code != 0 and "--dataset" in str(bad.exception)


def test_update_refuses_single_family_and_keeps_current(data_dir: Path) -> None:
    install_table(str(DATA / "small.csv"), base=data_dir, version="t")
    install_country_table(str(DATA / "country-small.csv"), base=data_dir, version="keep")
    with pytest.raises(DatasetError, match="no IPv6 rows"):
        install_country_table(str(DATA / "country-v4only.csv"), base=data_dir)
    with pytest.raises(DatasetError, match="cannot read"):
        install_country_table(str(DATA / "missing.csv"), base=data_dir)
    assert AsnCountryTable.default().dataset.version == "keep"
    assert not [p for p in (data_dir / "asn-country").iterdir() if p.name.startswith(".tmp")]


def test_corrupt_table_is_a_dataset_error(tmp_path: Path) -> None:
    (tmp_path / COUNTRY_FILE).write_bytes(lzma.compress(b"#sovaudit-asn-country 1\n12\tXYZ\t5\n"))
    with pytest.raises(DatasetError, match="malformed"):
        AsnCountryTable.from_files(tmp_path).load()
    (tmp_path / COUNTRY_FILE).write_bytes(b"not xz")
    with pytest.raises(DatasetError, match="cannot read"):
        AsnCountryTable.from_files(tmp_path).load()
    with pytest.raises(DatasetError, match="missing"):
        AsnCountryTable.from_files(tmp_path / "nowhere")


# -- levels in lookup and explain -------------------------------------------------------------


def _unlisted_address() -> tuple[str, int, str]:
    """An address of the embedded table whose ASN the shipped registry neither lists nor names.

    Chosen at run time so the test keeps working as the registry grows.
    """
    import ipaddress

    from sovaudit.attribute.registry import default_registry

    table = AsnTable.from_files(package_data_dir())
    countries = AsnCountryTable.from_files(package_data_dir())
    registry = default_registry()
    fam = table._family(4)
    for start, asn in zip(fam.starts, fam.asns, strict=True):
        name = table.name_of(asn) or ""
        hit = countries.country_of(asn)
        if (
            hit is not None
            and hit.country not in ("US", "CA")
            and registry.by_asn(asn) is None
            and registry.match_sibling(name, asn) is None
        ):
            return str(ipaddress.ip_address(start + 1)), asn, hit.country
    raise AssertionError("no unlisted address in the table")


def test_lookup_says_which_level_an_answer_comes_from() -> None:
    from sovaudit.cli.app import app as cli_app

    ip, asn, country = _unlisted_address()
    runner = CliRunner()
    result = runner.invoke(cli_app, ["lookup", ip, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["levels"] == ["country"]
    (at,) = payload["attributions"]
    assert at["jurisdiction"] == country and at["asn"] == asn and at["confidence"] == 0.3
    assert {"weak", "country-only"} <= set(at["flags"])
    assert "ip-location-db/asn-country" in {d["name"] for d in payload["datasets"]}
    en = runner.invoke(cli_app, ["lookup", ip, "--lang", "en"])
    assert "Level" in en.output and f"registered in {country};" in en.output
    fr = runner.invoke(cli_app, ["lookup", ip, "--lang", "fr"])
    assert "Niveau" in fr.output and f"enregistré en {country}" in fr.output
    chain = runner.invoke(cli_app, ["lookup", "AS8075", "--json"])
    assert json.loads(chain.stdout)["levels"] == ["chain"]
    nothing = runner.invoke(cli_app, ["lookup", "AS64512", "--json"])
    assert json.loads(nothing.stdout)["levels"] == ["none"]


def test_explain_tells_a_weak_answer_apart() -> None:
    from sovaudit.report.explain import explain_attribution, story

    ip, _asn, country = _unlisted_address()
    at = Attributor.default().attribute_address(ip)
    assert f"registered in {country}; owner not in the registry" in story(at, lang="en")
    assert "propriétaire absent du registre" in story(at, lang="fr")
    lines = explain_attribution(at, "1", lang="fr")
    assert any(line.label == "Niveau" and "pays seulement" in line.value for line in lines)
