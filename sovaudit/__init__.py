"""sovaudit: audit who controls the infrastructure behind public services, and which laws reach it.

Usable as a library: ``from sovaudit import scan`` runs the same pipeline as the CLI.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "scan"]


def __getattr__(name: str) -> object:
    # Lazy import keeps `sovaudit --help` fast and avoids import cycles.
    if name == "scan":
        from sovaudit.pipeline.run import scan

        return scan
    raise AttributeError(name)
