"""Figures shared by every human report: what counts as unknown, what is left out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sovaudit.evidence.baseline import control_summary
from sovaudit.evidence.history import append, series
from sovaudit.models import Attribution, DataClass, Endpoint, Layer, Scan, Status
from sovaudit.report.summary import UNKNOWN, build_view, is_us_controlled

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _ep(host: str, layer: Layer, status: Status, jur: str | None = None) -> Endpoint:
    attrs = (
        (Attribution(subject="192.0.2.1", role="address", jurisdiction=jur, status=Status.OK),)
        if jur
        else ()
    )
    return Endpoint("org", host, host, layer, (DataClass.HEALTH,), status, attributions=attrs)


def test_skipped_endpoints_are_not_counted_as_unknown_control() -> None:
    scan = Scan("0", "2026-11-25T00:00:00Z", "inv.yaml", (), (
        _ep("a.test", Layer.WEB, Status.OK, "US"),
        _ep("b.test", Layer.WEB, Status.UNKNOWN),
        _ep("c.test", Layer.MAIL, Status.SKIPPED),  # null MX: nothing there
        _ep("c.test", Layer.DOMAIN, Status.SKIPPED),  # reserved TLD
    ))
    counts = dict(build_view(scan, lang="en", now=NOW).jurisdiction_counts)
    assert counts == {"US": 1, UNKNOWN: 1}


def test_a_certificate_authority_never_counts_as_control(tmp_path: Path) -> None:
    # A Québec-hosted page whose certificate comes from a US CA: the CA sees no traffic.
    page = Endpoint(
        "org", "portal", "portal.test", Layer.WEB, (DataClass.HEALTH,), Status.OK,
        attributions=(
            Attribution(subject="192.0.2.1", role="address", jurisdiction="CA-QC",
                        ultimate_parent="Gouvernement du Québec", status=Status.OK),
            Attribution(subject="Let's Encrypt", role="certificate-authority",
                        jurisdiction="US", ultimate_parent="ISRG", status=Status.OK),
        ),
    )
    scan = Scan("0", "2026-11-25T00:00:00Z", "inv.yaml", (), (page,))
    assert dict(build_view(scan, lang="en", now=NOW).jurisdiction_counts) == {"CA-QC": 1}
    assert not is_us_controlled(page)
    assert control_summary(page) == "Gouvernement du Québec (CA-QC)"
    db = tmp_path / "h.sqlite"
    append(db, scan)
    (point,) = series(db)
    assert (point.foreign_controlled, point.us_controlled) == (0, 0)
