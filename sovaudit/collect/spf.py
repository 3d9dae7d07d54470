"""SPF (RFC 7208): pure parsing, and an include-tree expansion bounded by the RFC's limits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

# RFC 7208 § 4.6.4: at most 10 mechanisms or modifiers that cause DNS lookups.
MAX_DNS_LOOKUPS = 10
# A guard on the size of one record's term list; real records have a few dozen at most.
MAX_TERMS = 128

_LOOKUP_MECHANISMS = {"include", "a", "mx", "ptr", "exists"}


@dataclass(frozen=True, slots=True)
class SpfTerm:
    qualifier: str  # + - ~ ?
    name: str  # mechanism or modifier name, lower case
    value: str | None  # the part after ':' or '=' (or None)
    modifier: bool = False


def find_spf(txt_strings: list[str]) -> tuple[str | None, str | None]:
    """The domain's SPF record among its TXT strings, and an error if there are several."""
    records = [t for t in txt_strings if t.lower() == "v=spf1" or t.lower().startswith("v=spf1 ")]
    if not records:
        return None, None
    if len(records) > 1:
        return records[0], "permerror: more than one SPF record"
    return records[0], None


def parse_spf(record: str) -> list[SpfTerm]:
    """Split one SPF record into terms (pure; unknown terms are kept, the caller decides)."""
    parts = record.split()
    terms: list[SpfTerm] = []
    for part in parts[1 : MAX_TERMS + 1]:
        if "=" in part and (":" not in part or part.index("=") < part.index(":")):
            name, value = part.split("=", 1)
            terms.append(SpfTerm("+", name.lower(), value, modifier=True))
            continue
        qualifier = "+"
        if part[0] in "+-~?":
            qualifier, part = part[0], part[1:]
        if ":" in part:
            name, value = part.split(":", 1)
            terms.append(SpfTerm(qualifier, name.lower(), value))
        elif "/" in part:
            name, _cidr = part.split("/", 1)
            terms.append(SpfTerm(qualifier, name.lower(), None))
        else:
            terms.append(SpfTerm(qualifier, part.lower(), None))
    return terms


@dataclass
class SpfExpansion:
    """What the include tree of a domain's SPF record says, for the evidence file."""

    record: str | None = None
    includes: list[str] = field(default_factory=list)
    ip4: list[str] = field(default_factory=list)
    ip6: list[str] = field(default_factory=list)
    a: list[str] = field(default_factory=list)
    mx: list[str] = field(default_factory=list)
    lookups: int = 0
    error: str | None = None
    # Which record listed each ip4/ip6/a/mx value ("ip4:192.0.2.0/24" -> "_spf.example.org"):
    # a range inside a provider's include is the provider's; one in the domain's own record is
    # a sender the domain chose, attributed on its own.
    origins: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "record": self.record,
            "includes": self.includes,
            "ip4": self.ip4,
            "ip6": self.ip6,
            "a": self.a,
            "mx": self.mx,
            "lookups": self.lookups,
            "error": self.error,
            "origins": self.origins,
        }


TxtFetcher = Callable[[str], Awaitable[tuple[list[str] | None, str | None]]]


async def expand_spf(domain: str, record: str | None, fetch_txt: TxtFetcher) -> SpfExpansion:
    """Follow ``include:`` and ``redirect=`` from ``record`` with the RFC 7208 lookup limit.

    ``fetch_txt(name)`` returns the TXT strings of a name, or ``(None, reason)`` on failure.
    """
    out = SpfExpansion(record=record)
    if record is None:
        return out
    visited: set[str] = {domain}

    async def walk(current_domain: str, rec: str) -> None:
        redirect: str | None = None
        has_all = False
        for term in parse_spf(rec):
            if out.error is not None:
                return
            if term.modifier:
                if term.name == "redirect" and term.value:
                    redirect = term.value.lower().rstrip(".")
                continue
            if term.name == "all":
                has_all = True
            elif term.name == "ip4" and term.value:
                out.ip4.append(term.value)
                out.origins.setdefault(f"ip4:{term.value}", current_domain)
            elif term.name == "ip6" and term.value:
                out.ip6.append(term.value)
                out.origins.setdefault(f"ip6:{term.value}", current_domain)
            if term.name in _LOOKUP_MECHANISMS:
                out.lookups += 1
                if out.lookups > MAX_DNS_LOOKUPS:
                    out.error = f"permerror: more than {MAX_DNS_LOOKUPS} DNS lookups"
                    return
                target = (term.value or current_domain).lower().rstrip(".")
                if term.name == "a":
                    out.a.append(target)
                    out.origins.setdefault(f"a:{target}", current_domain)
                elif term.name == "mx":
                    out.mx.append(target)
                    out.origins.setdefault(f"mx:{target}", current_domain)
                elif term.name == "include":
                    await follow(target)
        if redirect is not None and not has_all:
            out.lookups += 1
            if out.lookups > MAX_DNS_LOOKUPS:
                out.error = f"permerror: more than {MAX_DNS_LOOKUPS} DNS lookups"
                return
            await follow(redirect)

    async def follow(target: str) -> None:
        if "%" in target:
            return  # macros need the sender's address: nothing to resolve ahead of time
        from sovaudit.collect.hostnames import discovered_host

        name, why = discovered_host(target)
        if name is None:
            out.error = out.error or f"permerror: invalid include target: {why}"
            return
        target = name
        if target in visited:
            out.error = out.error or f"permerror: include loop at {target}"
            return
        visited.add(target)
        out.includes.append(target)
        txt, err = await fetch_txt(target)
        if txt is None:
            out.error = out.error or f"temperror: {err}"
            return
        sub, sub_err = find_spf(txt)
        if sub is None:
            out.error = out.error or f"permerror: {target} has no SPF record"
            return
        if sub_err:
            out.error = out.error or f"{sub_err} at {target}"
        await walk(target, sub)

    await walk(domain, record)
    return out
