"""What shapes a scan (:class:`ScanOptions`): a leaf module every stage can import.

It imports no other pipeline module, so the run loop and its stages (web, network enrichment)
depend on it without depending on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sovaudit.collect.dns import ResolverAddress


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """Everything that shapes a scan; the CLI builds it from options and configuration."""

    resolvers: tuple[ResolverAddress, ...]
    timeout: float = 2.0
    retries: int = 2
    concurrency: int = 256
    lang: str = "en"
    rule_paths: tuple[Path, ...] = ()
    default_rules: bool = True
    skip_rules: tuple[str, ...] = ()
    profile: str | None = None  # rule packs for a legal context; None: quebec
    attribute: bool = True
    asn_sources: tuple[str, ...] = ("offline",)
    rdap_url: str | None = None
    use_cache: bool = True
    probes: tuple[str, ...] = ()  # opt-in network probes beyond DNS: "web", "rdap"
    extra: dict[str, Any] = field(default_factory=dict)
