"""Classify addresses that must never be attributed: private, shared, reserved, bogon.

A private or documentation address published in public DNS is a finding of its own (a leak of
internal addressing, or a broken record); attributing it to whoever announces a similar range
elsewhere would be wrong, so the engine flags it and stops.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

# (network, kind, flag, label). Order matters: the first match wins, specific ranges first.
# Sources: RFC 6890 special-purpose registries (IANA), RFC 1918, RFC 6598, RFC 5737, RFC 3849,
# RFC 4193, RFC 3927, RFC 4291.
_SPECIAL: tuple[tuple[str, str, str, str], ...] = (
    ("0.0.0.0/8", "this-network", "bogon", "'this network' 0.0.0.0/8 (RFC 1122)"),
    ("10.0.0.0/8", "private", "private-address", "private address 10.0.0.0/8 (RFC 1918)"),
    ("100.64.0.0/10", "shared", "private-address", "carrier-grade NAT 100.64.0.0/10 (RFC 6598)"),
    ("127.0.0.0/8", "loopback", "private-address", "loopback 127.0.0.0/8"),
    ("169.254.0.0/16", "link-local", "private-address", "link-local 169.254.0.0/16 (RFC 3927)"),
    ("172.16.0.0/12", "private", "private-address", "private address 172.16.0.0/12 (RFC 1918)"),
    ("192.0.0.0/24", "reserved", "bogon", "IETF protocol assignments 192.0.0.0/24"),
    ("192.0.2.0/24", "documentation", "bogon", "documentation range 192.0.2.0/24 (RFC 5737)"),
    ("192.88.99.0/24", "reserved", "bogon", "deprecated 6to4 relay anycast 192.88.99.0/24"),
    ("192.168.0.0/16", "private", "private-address", "private address 192.168.0.0/16 (RFC 1918)"),
    ("198.18.0.0/15", "benchmark", "bogon", "benchmarking range 198.18.0.0/15 (RFC 2544)"),
    ("198.51.100.0/24", "documentation", "bogon", "documentation range 198.51.100.0/24 (RFC 5737)"),
    ("203.0.113.0/24", "documentation", "bogon", "documentation range 203.0.113.0/24 (RFC 5737)"),
    ("224.0.0.0/4", "multicast", "bogon", "multicast 224.0.0.0/4"),
    ("240.0.0.0/4", "reserved", "bogon", "reserved 240.0.0.0/4"),
    ("::/128", "unspecified", "bogon", "unspecified address ::"),
    ("::1/128", "loopback", "private-address", "loopback ::1"),
    ("64:ff9b:1::/48", "private", "private-address", "local-use NAT64 64:ff9b:1::/48 (RFC 8215)"),
    ("100::/64", "reserved", "bogon", "discard-only 100::/64 (RFC 6666)"),
    ("2001:db8::/32", "documentation", "bogon", "documentation range 2001:db8::/32 (RFC 3849)"),
    ("3fff::/20", "documentation", "bogon", "documentation range 3fff::/20 (RFC 9637)"),
    ("fc00::/7", "ula", "private-address", "unique local address fc00::/7 (RFC 4193)"),
    ("fe80::/10", "link-local", "private-address", "link-local fe80::/10"),
    ("fec0::/10", "reserved", "bogon", "deprecated site-local fec0::/10"),
    ("ff00::/8", "multicast", "bogon", "multicast ff00::/8"),
)
_NETWORKS = tuple((ipaddress.ip_network(n), k, f, label) for n, k, f, label in _SPECIAL)
# IPv6 global unicast space; anything else (outside the ranges above) is unallocated: a bogon.
_GLOBAL_UNICAST6 = ipaddress.ip_network("2000::/3")
_GLOBAL6_FIRST = int(_GLOBAL_UNICAST6.network_address)
_GLOBAL6_LAST = int(_GLOBAL_UNICAST6.broadcast_address)


@dataclass(frozen=True, slots=True)
class NetClass:
    """Why an address is not a public, routable unicast address."""

    kind: str  # private, shared, loopback, link-local, ula, documentation, reserved, ...
    flag: str  # "private-address" or "bogon": the attribution flag
    label: str  # human-readable range description (English)


def classify(address: str) -> NetClass | None:
    """Return why ``address`` cannot be attributed, or None for a public unicast address.

    A malformed address is classified as ``invalid`` (flag ``bogon``) instead of raising: DNS
    data is untrusted input.
    """
    text = address.strip()
    parsed = _parse_canonical(text)
    if parsed is None:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return NetClass("invalid", "bogon", f"not an IP address: {address!r}")
        parsed = int(ip), ip.version
    return _classify_int(*parsed)


def _parse_canonical(text: str) -> tuple[int, int] | None:
    """(value, version) of an address already in canonical form, else None.

    ``ipaddress`` is slow to parse; the C parser is used only when formatting its result gives
    back ``text`` exactly, i.e. for input ``ipaddress`` reads the same way. Anything else
    (leading zeros, upper case, scope ids, garbage) goes through ``ipaddress`` as before.
    """
    family, version = (socket.AF_INET6, 6) if ":" in text else (socket.AF_INET, 4)
    try:
        packed = socket.inet_pton(family, text)
        if socket.inet_ntop(family, packed) != text:
            return None
    except (OSError, ValueError):
        return None
    return int.from_bytes(packed, "big"), version


def _classify_int(value: int, version: int) -> NetClass | None:
    if version == 6 and value >> 32 == 0xFFFF:
        # An IPv4-mapped AAAA says nothing the embedded IPv4 address does not.
        inner = _classify_int(value & 0xFFFFFFFF, 4)
        return inner or NetClass("mapped", "bogon", "IPv4-mapped IPv6 address ::ffff:0:0/96")
    # Integer range tests, same order as _SPECIAL: "ip in net" is the same test, ten times slower.
    for first, last, result in _RANGES[version]:
        if first <= value <= last:
            return result
    if version == 6 and not _GLOBAL6_FIRST <= value <= _GLOBAL6_LAST:
        return _OUTSIDE_GLOBAL6
    return None


# Per family: (first, last, class) of each special range, in _SPECIAL's order. NetClass is
# frozen, so one instance per range is shared by every address in it.
_RANGES: dict[int, tuple[tuple[int, int, NetClass], ...]] = {
    version: tuple(
        (int(net.network_address), int(net.broadcast_address), NetClass(kind, flag, label))
        for net, kind, flag, label in _NETWORKS
        if net.version == version
    )
    for version in (4, 6)
}
_OUTSIDE_GLOBAL6 = NetClass("reserved", "bogon", "IPv6 address outside global unicast 2000::/3")
