"""Shared fixtures: a real nameserver on loopback serving tests/data/zones."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# pytest-xdist workers inherit a COLUMNS of 80, which Rich freezes into the CLI's consoles when
# sovaudit.cli is first imported; tests that set COLUMNS themselves need it left unfrozen.
os.environ.pop("COLUMNS", None)

from sovaudit.demo.nameserver import LoopbackNameserver  # noqa: E402

# In CI, property tests explore the same examples every run: a failure is reproducible, and a
# green run is not luck. Locally they stay random to keep finding new cases.
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
if os.environ.get("CI"):
    settings.load_profile("ci")

DATA = Path(__file__).parent / "data"
ZONES = DATA / "zones"

# Faults the zone files cannot express; the names exist in faults.test.zone.
FAULTS = {
    "servfail.faults.test.": "servfail",
    "refused.faults.test.": "refused",
    "dropped.faults.test.": "drop",
    "wrongid.faults.test.": "wrongid",
    "garbage.faults.test.": "garbage",
    "truncated.faults.test.": "truncate",
    "slow.faults.test.": "delay:0.3",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SOVAUDIT_ONLINE") == "1":
        return
    skip = pytest.mark.skip(reason="needs the internet; set SOVAUDIT_ONLINE=1 to run")
    for item in items:
        if "online" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def nameserver() -> Iterator[LoopbackNameserver]:
    """A loopback nameserver with every test zone, shared by the whole session."""
    with LoopbackNameserver.from_zone_dir(ZONES, faults=FAULTS) as ns:
        yield ns


@pytest.fixture()
def fresh_nameserver() -> Iterator[LoopbackNameserver]:
    """A nameserver of the test's own, for tests that change zones or faults."""
    with LoopbackNameserver.from_zone_dir(ZONES, faults=FAULTS) as ns:
        yield ns
