"""Mail policy records (DMARC, MTA-STS, TLS-RPT, DKIM): pure parsers, no I/O.

Each ``parse_*`` takes the TXT strings of one name and returns a frozen result that says what
the record holds and, when it is broken, why (``error``); nothing here raises on bad input,
because a malformed record is evidence too.

- DMARC (RFC 7489) at ``_dmarc.<domain>``: policy and the ``rua``/``ruf`` report destinations;
- MTA-STS (RFC 8461) at ``_mta-sts.<domain>``: the policy id (the policy itself is over HTTPS);
- TLS-RPT (RFC 8460) at ``_smtp._tls.<domain>``: ``rua`` destinations (mailto: or https:);
- DKIM (RFC 6376) at ``<selector>._domainkey.<domain>``: key type and whether a key is there.

The report destinations are the point: where a domain's mail metadata is sent.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

# A record with more tags than this is not a real policy: stop there.
MAX_TAGS = 64
# At most this many report destinations per tag (real records have one to three).
MAX_DESTINATIONS = 16
_SIZE_SUFFIX = re.compile(r"![0-9]+[kmgt]?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ReportUri:
    """One report destination: the URI as written, its scheme and the domain it goes to."""

    uri: str
    scheme: str  # mailto or https (anything else is kept with its scheme, domain None)
    domain: str | None
    address: str | None = None  # the mailbox for mailto:
    error: str | None = None  # why the destination's host was dropped (not a valid host name)

    def as_dict(self) -> dict[str, Any]:
        out = {
            "uri": self.uri,
            "scheme": self.scheme,
            "domain": self.domain,
            "address": self.address,
        }
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True, slots=True)
class DmarcRecord:
    """A parsed DMARC record."""

    record: str | None
    policy: str | None = None
    subdomain_policy: str | None = None
    pct: int | None = None
    rua: tuple[ReportUri, ...] = ()
    ruf: tuple[ReportUri, ...] = ()
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "record": self.record,
            "policy": self.policy,
            "subdomain_policy": self.subdomain_policy,
            "pct": self.pct,
            "rua": [u.as_dict() for u in self.rua],
            "ruf": [u.as_dict() for u in self.ruf],
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class TlsRptRecord:
    """A parsed SMTP TLS reporting record."""

    record: str | None
    rua: tuple[ReportUri, ...] = ()
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "rua": [u.as_dict() for u in self.rua], "error": self.error}


@dataclass(frozen=True, slots=True)
class MtaStsRecord:
    """A parsed MTA-STS TXT record (the policy file itself is fetched over HTTPS, not here)."""

    record: str | None
    id: str | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"record": self.record, "id": self.id, "error": self.error}


@dataclass(frozen=True, slots=True)
class DkimKey:
    """A parsed DKIM key record."""

    record: str
    key_type: str = "rsa"
    has_key: bool = False  # an empty p= is a revoked key (RFC 6376 § 3.6.1)
    testing: bool = False
    error: str | None = None


def parse_tags(record: str) -> dict[str, str]:
    """Split a ``tag=value; tag=value`` record; tags are lower-cased, the first one wins."""
    tags: dict[str, str] = {}
    for part in record.split(";")[:MAX_TAGS]:
        if "=" not in part:
            continue
        name, value = part.split("=", 1)
        tags.setdefault(name.strip().lower(), value.strip())
    return tags


def parse_report_uris(value: str) -> tuple[ReportUri, ...]:
    """The destinations of a ``rua``/``ruf`` tag: ``mailto:a@b.example!10m, https://...``."""
    out: list[ReportUri] = []
    for raw in value.split(",")[:MAX_DESTINATIONS]:
        uri = _SIZE_SUFFIX.sub("", raw.strip())
        if not uri:
            continue
        scheme, _, rest = uri.partition(":")
        scheme = scheme.lower()
        if scheme == "mailto":
            address = unquote(rest.split("?", 1)[0]).strip()
            domain = address.rpartition("@")[2] if "@" in address else None
            name, why = _domain(domain)
            out.append(ReportUri(uri, scheme, name, address or None, why))
        elif scheme in ("https", "http"):
            try:
                host = urlsplit(uri).hostname
            except ValueError:
                host = None
            name, why = _domain(host)
            out.append(ReportUri(uri, scheme, name, None, why))
        else:
            out.append(ReportUri(uri, scheme or "?", None))
    return tuple(out)


def _domain(text: str | None) -> tuple[str | None, str | None]:
    """A discovered destination host, validated like an inventory host: (name, None) or
    (None, reason). A percent-decoded host can hold anything (line feeds, bidi controls)."""
    if not text:
        return None, None
    from sovaudit.collect.hostnames import discovered_host

    return discovered_host(text)


def _pick(txt_strings: list[str], prefix: str) -> tuple[str | None, str | None]:
    """The one record starting with ``prefix`` (case-insensitive), or an error if several."""
    found = [t for t in txt_strings if t.strip().lower().replace(" ", "").startswith(prefix)]
    if not found:
        return None, None
    if len(found) > 1:
        return found[0], f"{len(found)} records: the policy is ignored by receivers"
    return found[0], None


def parse_dmarc(txt_strings: list[str]) -> DmarcRecord:
    """The DMARC record among the TXT strings of ``_dmarc.<domain>`` (RFC 7489 § 6.3)."""
    record, error = _pick(txt_strings, "v=dmarc1")
    if record is None:
        return DmarcRecord(None)
    tags = parse_tags(record)
    policy = tags.get("p", "").lower() or None
    if policy not in (None, "none", "quarantine", "reject"):
        error = error or f"invalid policy p={policy}"
    pct: int | None = None
    if "pct" in tags:
        pct = int(tags["pct"]) if tags["pct"].isdigit() else None
    return DmarcRecord(
        record=record,
        policy=policy,
        subdomain_policy=tags.get("sp", "").lower() or None,
        pct=pct,
        rua=parse_report_uris(tags.get("rua", "")),
        ruf=parse_report_uris(tags.get("ruf", "")),
        error=error or (None if policy else "missing p= tag"),
    )


def parse_tlsrpt(txt_strings: list[str]) -> TlsRptRecord:
    """The TLS-RPT record among the TXT strings of ``_smtp._tls.<domain>`` (RFC 8460 § 3)."""
    record, error = _pick(txt_strings, "v=tlsrptv1")
    if record is None:
        return TlsRptRecord(None)
    rua = parse_report_uris(parse_tags(record).get("rua", ""))
    return TlsRptRecord(record, rua, error or (None if rua else "missing rua= tag"))


def parse_mta_sts(txt_strings: list[str]) -> MtaStsRecord:
    """The MTA-STS record among the TXT strings of ``_mta-sts.<domain>`` (RFC 8461 § 3.1)."""
    record, error = _pick(txt_strings, "v=stsv1")
    if record is None:
        return MtaStsRecord(None)
    policy_id = parse_tags(record).get("id") or None
    return MtaStsRecord(record, policy_id, error or (None if policy_id else "missing id= tag"))


def parse_dkim(txt_strings: list[str]) -> DkimKey | None:
    """The DKIM key among the TXT strings of a selector name, or None when none is there."""
    for text in txt_strings:
        tags = parse_tags(text)
        # v= is optional in key records, but p= is required.
        if "p" not in tags or tags.get("v", "DKIM1").upper() != "DKIM1":
            continue
        return DkimKey(
            record=text if len(text) <= 96 else text[:93] + "...",
            key_type=tags.get("k", "rsa").lower() or "rsa",
            has_key=bool(tags["p"].replace(" ", "")),
            testing="y" in tags.get("t", "").lower().split(":"),
        )
    return None


@dataclass(frozen=True, slots=True)
class DkimSelector:
    """A well-known DKIM selector, and the operator its key usually belongs to."""

    selector: str
    # Operator id when the selector name alone hints at a provider (a TXT key published by
    # the domain itself); None when only a CNAME target can say who holds the key.
    operator: str | None = None
    note: str | None = None


@functools.cache
def default_dkim_selectors() -> tuple[DkimSelector, ...]:
    """The bounded list of selectors to ask for (``collect/data/dkim_selectors.yaml``)."""
    text = (
        resources.files("sovaudit.collect")
        .joinpath("data/dkim_selectors.yaml")
        .read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text) or {}
    return tuple(
        DkimSelector(str(s["selector"]).lower(), s.get("operator"), s.get("note"))
        for s in data.get("selectors") or ()
    )


@functools.cache
def mailbox_operators() -> frozenset[str]:
    """Operators that keep mailboxes (not only relay or send mail), from the same data file."""
    text = (
        resources.files("sovaudit.collect")
        .joinpath("data/dkim_selectors.yaml")
        .read_text(encoding="utf-8")
    )
    data = yaml.safe_load(text) or {}
    return frozenset(str(x) for x in data.get("mailbox_operators") or ())
