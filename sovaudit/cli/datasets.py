"""Every dataset a scan uses, as ``sovaudit data info`` lists them (name, version, date, source,
licence, counts).

One function per dataset, in :data:`DATASETS`: a new table (the AS -> country table, for one)
is one more function there. A dataset that cannot be loaded is a row that says so: ``data
info`` is what a user runs when something is wrong, so it must not fail itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sovaudit.errors import SovauditError

__all__ = ["DATASETS", "dataset_rows"]

Row = dict[str, Any]


def ip_asn_table() -> list[Row]:
    """The IP -> ASN table (packaged, or the user's copy from ``data update``)."""
    from sovaudit.attribute.asntable import AsnTable, user_table_dir

    table = AsnTable.default()
    user = user_table_dir()
    return [{
        "kind": "ip-asn",
        "name": table.dataset.name,
        "version": table.dataset.version,
        "date": table.dataset.date,
        "source": table.dataset.source,
        "licence": table.dataset.licence,
        "rows": {"ipv4": table.rows(4), "ipv6": table.rows(6)},
        "counts": {"IPv4 ranges": table.rows(4), "IPv6 ranges": table.rows(6)},
        "file": str(table.directory),
        "origin": "user" if user is not None and user == table.directory else "package",
        "published": str(table.metadata.get("published", "")),
    }]


def asn_country_table() -> list[Row]:
    """The ASN -> country-of-registration table (weak answers; packaged or the user's copy)."""
    from sovaudit.attribute.asncountry import AsnCountryTable, user_country_dir

    table = AsnCountryTable.default()
    user = user_country_dir()
    meta = table.metadata
    return [{
        "kind": "asn-country",
        **_fields(table.dataset),
        "rows": {"asns": len(table)},
        "counts": {"ASNs": len(table)},
        "file": str(table.directory),
        "origin": "user" if user is not None and user == table.directory else "package",
        "published": str(meta.get("published", "")),
        "joined_with": str(meta.get("joined_with", "")),
    }]


def provider_registry() -> list[Row]:
    """Operators, their ultimate parents and jurisdictions (reviewed by hand, with sources)."""
    from sovaudit.attribute.engine import Attributor
    from sovaudit.attribute.registry import default_registry

    registry = default_registry()
    dataset = next(
        d for d in Attributor(registry, None).datasets() if d.name.endswith("registry")
    )
    return [{
        "kind": "registry",
        **_fields(dataset),
        "counts": {"operators": len(registry.operators), "entities": len(registry.entities)},
        "file": str(registry.path),
    }]


def tld_table() -> list[Row]:
    """Domain registries (TLDs and second-level suffixes) and registrars."""
    from sovaudit.attribute.domain import default_domain_table

    table = default_domain_table()
    return [{
        "kind": "tld",
        **_fields(table.dataset()),
        "counts": {"suffixes": len(table.registries), "registrars": len(table.registrars)},
        "file": str(table.path),
    }]


def rule_packs() -> list[Row]:
    """The rule packs of the default profile (a scan's --profile may choose others)."""
    from sovaudit.evaluate import load_rules

    return [
        {
            "kind": "rules",
            **_fields(pack.dataset()),
            "counts": {"rules": len(pack.rule_ids)},
            "file": pack.source,
        }
        for pack in load_rules().packs
    ]


# In the order they are printed.
DATASETS: tuple[tuple[str, Callable[[], list[Row]]], ...] = (
    ("IP -> ASN table", ip_asn_table),
    ("ASN -> country table", asn_country_table),
    ("provider registry", provider_registry),
    ("TLD table", tld_table),
    ("rule packs", rule_packs),
)


def _fields(dataset: Any) -> Row:
    return {
        "name": dataset.name,
        "version": dataset.version,
        "date": dataset.date,
        "source": dataset.source,
        "licence": dataset.licence,
    }


def dataset_rows() -> list[Row]:
    """One row per dataset in use; one ``{"kind": "error", ...}`` row for one that fails."""
    rows: list[Row] = []
    for label, load in DATASETS:
        try:
            rows.extend(load())
        except SovauditError as exc:
            rows.append({"kind": "error", "name": label, "error": str(exc)})
    return rows
