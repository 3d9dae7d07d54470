"""Host names discovered in network answers, validated like inventory hosts.

DMARC/TLS-RPT ``rua`` hosts (percent-decoded: they can hold anything), SPF ``include:`` targets
and the third-party hosts of a web page come from whoever controls a zone or a page. Each is
checked with the inventory's rules (:func:`sovaudit.inventory.normalize_host`) before it becomes
an endpoint or reaches a report; an invalid one is dropped with the reason, so a record cannot
plant a line feed, a bidi control or a ``::error::`` line in a log through a "host name".
"""

from __future__ import annotations

import ipaddress

__all__ = ["discovered_host"]


def discovered_host(text: str) -> tuple[str | None, str | None]:
    """``(name, None)`` for a valid host name or IP literal (normalized), else ``(None, why)``."""
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]"))), None
    except ValueError:
        pass
    from sovaudit.inventory import normalize_host

    try:
        return normalize_host(text), None
    except ValueError as exc:
        return None, str(exc)
