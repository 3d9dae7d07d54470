"""Host names discovered in network answers, validated with the inventory's rules.

DMARC/TLS-RPT ``rua`` hosts (percent-decoded: they can hold anything), SPF ``include:`` targets
and the third-party hosts of a web page come from whoever controls a zone or a page. Each is
checked with the same rules as an inventory host (labels of letters, digits, ``-`` and ``_``, 1
to 63 characters, no leading or trailing hyphen, at least two labels, at most 253 characters,
IDN through ``idna``, not a dotted number) before it becomes an endpoint or reaches a report;
an invalid one is dropped with the reason, so a record cannot plant a line feed, a bidi control
or a ``::error::`` line in a log through a "host name". (``collect`` sits below ``inventory``
in the layers, so the rules are restated here; a test checks both agree.)
"""

from __future__ import annotations

import ipaddress
import re

import idna

__all__ = ["discovered_host"]

_NAME = re.compile(r"(?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)+(?!-)[a-z0-9_-]{1,63}(?<!-)")


def discovered_host(text: str) -> tuple[str | None, str | None]:
    """``(name, None)`` for a valid host name or IP literal (normalized), else ``(None, why)``."""
    try:
        return str(ipaddress.ip_address(text.strip().strip("[]"))), None
    except ValueError:
        pass
    name = text.strip().rstrip(".")
    shown = repr(text)[:80]
    if not name:
        return None, "invalid host name: empty"
    if not name.isascii():
        try:
            name = idna.encode(name, uts46=True, transitional=False).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            return None, f"invalid host name {shown}: not a valid internationalized name"
    name = name.lower()
    if len(name) > 253 or not _NAME.fullmatch(name):
        return None, f"invalid host name {shown}"
    if name[name.rfind(".") + 1 :].isdigit():
        return None, f"invalid host name {shown}: looks like an IP address, not a name"
    return name, None
