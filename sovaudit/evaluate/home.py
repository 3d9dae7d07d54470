"""Home jurisdictions of each profile: the one table that says what "foreign" means.

A Québec audit counts Québec, Canada and every Canadian province as home; a Swiss audit counts
Switzerland; a French audit counts France (and the EU for EU-wide figures); an EU audit counts
the EEA. Rules' facts, reports and history all read this table, so a Swiss scan never calls a
Swiss host foreign nor a Canadian one domestic.
"""

from __future__ import annotations

from dataclasses import dataclass

# EU member states (ISO 3166-1 alpha-2: Greece is GR here, EL in EU usage), as of 2026-11-25.
EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
})
# The EEA adds Iceland, Liechtenstein and Norway: GDPR Chapter V governs transfers beyond it.
EEA_STATES = EU_MEMBER_STATES | {"IS", "LI", "NO"}
# Profile used when a scan records none (older evidence, library calls): the default profile.
DEFAULT_PROFILE = "quebec"


def country(jurisdiction: str | None) -> str | None:
    """The country of a jurisdiction code: ``CA`` for ``CA-QC`` and other subdivisions."""
    return None if jurisdiction is None else jurisdiction.split("-", 1)[0]


@dataclass(frozen=True, slots=True)
class Home:
    """The countries an audit calls home, and the wider area of its regional figures.

    ``countries`` are ISO 3166-1 alpha-2 codes; a subdivision (``CA-QC``, ``CA-ON``) belongs to
    its country. ``region`` is the area of EU-wide figures (empty when the profile has none).
    """

    profile: str
    countries: frozenset[str]
    region: frozenset[str] = frozenset()

    def is_home(self, jurisdiction: str | None) -> bool | None:
        """True for a home jurisdiction, False for a foreign one, None when unknown."""
        c = country(jurisdiction)
        return None if c is None else c in self.countries

    def is_foreign(self, jurisdiction: str | None) -> bool | None:
        """True for a known jurisdiction outside home; None when unknown."""
        home = self.is_home(jurisdiction)
        return None if home is None else not home

    def in_region(self, jurisdiction: str | None) -> bool | None:
        """True inside home or its region (the EU for France); None when unknown."""
        c = country(jurisdiction)
        return None if c is None else c in self.countries or c in self.region


# Countries with an EU adequacy decision (GDPR Art. 45, list of the European Commission),
# without the United States, whose decision covers only certified companies and whose law is
# what most reports are about: it is its own group. With the EEA they form the "allied" group
# of the charts (colour only; no rule reads it).
# unverified: written from the Commission's list as the author knew it; the search budget was
# spent before it could be checked against
# https://commission.europa.eu/law/law-topic/data-protection/international-dimension-data-protection/adequacy-decisions_en
# (check also whether the Brazil decision has been adopted).
ADEQUACY = frozenset({
    "AD", "AR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "UY",
})
ALLIED = EEA_STATES | ADEQUACY

# Jurisdiction groups of the charts, in legend order.
GROUPS = ("home", "allied", "us", "other", "unknown")


def jurisdiction_group(home: Home, jurisdiction: str | None) -> str:
    """``home``, ``allied``, ``us``, ``other`` or ``unknown``: the colour of a jurisdiction."""
    c = country(jurisdiction)
    if not c or c == "UNKNOWN" or jurisdiction == "unknown":
        return "unknown"
    if c in home.countries:
        return "home"
    if c == "US":
        return "us"
    return "allied" if c in ALLIED or c in home.region else "other"


CANADA = frozenset({"CA"})
HOMES: dict[str, Home] = {
    h.profile: h
    for h in (
        Home("quebec", CANADA),
        Home("canada", CANADA),
        Home("france", frozenset({"FR"}), EU_MEMBER_STATES),
        Home("switzerland", frozenset({"CH"})),
        Home("eu", EEA_STATES),
    )
}


def home_of(profile: object) -> Home:
    """The home of a profile name (as recorded in ``scan.options["profile"]``).

    No profile recorded means the default profile; a profile this version does not know has no
    home we can vouch for, so the default is used too (and named in the report's scope line).
    """
    if isinstance(profile, str) and profile in HOMES:
        return HOMES[profile]
    return HOMES[DEFAULT_PROFILE]
