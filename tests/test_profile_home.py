"""Home is the profile's: a Swiss audit calls Swiss hosts home and Canadian hosts foreign in every
figure (reports, provider colours, history), and a Québec audit the other way round."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sovaudit.evaluate.home import HOMES, home_of, jurisdiction_group
from sovaudit.evidence.history import append, series
from sovaudit.models import Attribution, DataClass, Endpoint, Layer, Scan, Status
from sovaudit.report import render
from sovaudit.report.summary import build_view, is_foreign_controlled

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def _endpoint(host: str, parent: str, jurisdiction: str) -> Endpoint:
    a = Attribution(subject="192.0.2.1", role="address", address="192.0.2.1",
                    operator_name=parent, ultimate_parent=parent, jurisdiction=jurisdiction,
                    status=Status.OK, confidence=0.9)
    return Endpoint("office", "Office", host, Layer.WEB, (DataClass.PERSONAL,), Status.OK,
                    organization_name="Office", attributions=(a,))


def _scan(profile: str) -> Scan:
    return Scan("0", "2026-11-25T12:00:00Z", "inv.yaml", (), (
        _endpoint("swiss.example", "Swisscom AG", "CH"),
        _endpoint("canadian.example", "BCE Inc.", "CA"),
        _endpoint("quebec.example", "RISQ", "CA-QC"),
    ), options={"profile": profile})


def test_the_profile_table_defines_home_once() -> None:
    assert home_of("switzerland").countries == {"CH"}
    assert home_of("quebec").is_home("CA-ON") and home_of("canada").is_home("CA-QC")
    assert home_of("france").countries == {"FR"} and home_of("france").in_region("DE")
    assert home_of("eu").is_home("NO") and not home_of("eu").is_home("CH")
    assert home_of(None) is HOMES["quebec"] and home_of("mars") is HOMES["quebec"]
    assert home_of("switzerland").is_home(None) is None  # unknown stays unknown


@pytest.mark.parametrize(("profile", "foreign"), [
    ("switzerland", {"canadian.example", "quebec.example"}),
    ("quebec", {"swiss.example"}),
])
def test_foreign_control_follows_the_profile(profile: str, foreign: set[str]) -> None:
    scan = _scan(profile)
    view = build_view(scan, lang="en", now=NOW)
    assert {e.host for e in view.scan.endpoints if is_foreign_controlled(e, view.home)} == foreign
    (org,) = view.organization_figures
    assert org.foreign_controlled == len(foreign)
    groups = {p.name: p.group for p in view.parents}
    home_names = {"switzerland": {"Swisscom AG"}, "quebec": {"BCE Inc.", "RISQ"}}[profile]
    assert {n for n, g in groups.items() if g == "home"} == home_names
    assert all(g == "allied" for n, g in groups.items() if n not in home_names)


def test_swiss_report_and_history_count_canada_as_foreign(tmp_path: Path) -> None:
    scan = _scan("switzerland")
    md = render(scan, "md", lang="en", now=NOW)
    assert "profile `switzerland`" in md
    assert "| Office | 0 | 3 | 2 | 0 |" in md  # exposures, endpoints, foreign, US
    assert "| Swisscom AG | Switzerland (CH) | Home (CH) |" in md
    assert "| BCE Inc. | Canada (CA) | Allied (EEA, EU adequacy) |" in md
    db = tmp_path / "h.sqlite"
    append(db, scan)
    (point,) = series(db)
    assert (point.endpoints, point.foreign_controlled) == (3, 2)
    append(db, _scan("quebec"))
    assert series(db)[-1].foreign_controlled == 1


def test_jurisdiction_groups() -> None:
    ch = home_of("switzerland")
    assert [jurisdiction_group(ch, j) for j in ("CH", "US", "CA-QC", "CN", None, "unknown")] == [
        "home", "us", "allied", "other", "unknown", "unknown"]
