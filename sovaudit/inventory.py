"""Inventory loading: YAML (or plain text) -> organizations -> targets, with file:line in errors.

The YAML is composed into nodes (never constructed into arbitrary objects), so every error can
name the line it comes from, tags and aliases are refused, and size and depth are capped.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import idna
import yaml

from sovaudit.errors import InventoryError
from sovaudit.models import (
    INVENTORY_LAYERS,
    AcceptedRisk,
    DataClass,
    Layer,
    SourceLocation,
    Target,
)

# Input size caps (documented in the README, "Security and reliability").
MAX_INVENTORY_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 12
MAX_ORGANIZATIONS = 20_000
MAX_ENTRIES_PER_ORG = 5_000

# libyaml when present: same safe semantics, and a 10 MiB file parses in seconds, not minutes.
_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Untrusted values quoted in error messages are cut: one clear line, not a megabyte of echo.
MAX_SHOWN = 80

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

_TOP_KEYS = {"version", "name", "description", "profile", "organizations", "accepted"}
_ORG_KEYS = {
    "id",
    "name",
    "description",
    "url",
    "notes",
    "source",
    "data_classes",
    "domains",
    "services",
    "accepted",
}
_SERVICE_KEYS = {"name", "host", "layer", "data_classes", "notes", "source", "description"}
_ACCEPTED_KEYS = {"rule", "host", "reason", "until"}


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    host: str
    layer: Layer
    data_classes: tuple[DataClass, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Domain:
    name: str
    line: int


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    data_classes: tuple[DataClass, ...]
    domains: tuple[Domain, ...]
    services: tuple[Service, ...]
    line: int


@dataclass(frozen=True, slots=True)
class Inventory:
    """A loaded inventory: where it came from, its organizations and its accepted risks."""

    path: str
    organizations: tuple[Organization, ...]
    accepted: tuple[AcceptedRisk, ...] = ()
    profile: str | None = None
    warnings: tuple[str, ...] = field(default=())

    def targets(self) -> list[Target]:
        """Every endpoint to resolve: explicit services, then each domain's expansion."""
        out: list[Target] = []
        seen: set[tuple[str, str, str]] = set()
        for org in self.organizations:
            for svc in org.services:
                key = (org.id, svc.host, svc.layer.value)
                if key in seen:
                    continue
                seen.add(key)
                out.append(
                    Target(
                        organization=org.id,
                        organization_name=org.name,
                        service=svc.name,
                        host=svc.host,
                        layer=svc.layer,
                        data_classes=svc.data_classes,
                        source=SourceLocation(self.path, svc.line),
                        origin="service",
                    )
                )
            for dom in org.domains:
                for host, layer in expand_domain(dom.name):
                    key = (org.id, host, layer.value)
                    if key in seen:
                        continue
                    seen.add(key)
                    out.append(
                        Target(
                            organization=org.id,
                            organization_name=org.name,
                            service=dom.name,
                            host=host,
                            layer=layer,
                            data_classes=org.data_classes,
                            source=SourceLocation(self.path, dom.line),
                            origin="domain",
                        )
                    )
        return out


def _idna_name(text: str, name: str) -> str:
    """An internationalized name in its ASCII form (UTS 46, non-transitional)."""
    try:
        return idna.encode(name, uts46=True, transitional=False).decode("ascii").lower()
    except idna.IDNAError as exc:
        raise ValueError(f"invalid host name {_show(text)}: {exc}") from None


def _event_line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


def _show(value: object) -> str:
    """``repr`` of an untrusted value for an error message, cut to MAX_SHOWN characters."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def expand_domain(domain: str) -> list[tuple[str, Layer]]:
    """The endpoints a domain entry stands for: apex and www (web), mail, and DNS hosting."""
    return [
        (domain, Layer.WEB),
        (f"www.{domain}", Layer.WEB),
        (domain, Layer.MAIL),
        (domain, Layer.DNS),
    ]


def normalize_host(text: str) -> str:
    """Validate a host name and return it in lower-case ASCII (IDN converted with ``idna``).

    Raises ValueError with a readable message.
    """
    name = text.strip().rstrip(".")
    if not name:
        raise ValueError("empty host name")
    if len(name) > 253 * 4:
        raise ValueError("host name too long")
    if name.isascii():
        # What idna returns for ASCII (or what the fallback below keeps), without its cost:
        # a 500,000-line list must load in seconds.
        ascii_name = name.lower()
    else:
        ascii_name = _idna_name(text, name)
    if len(ascii_name) > 253:
        raise ValueError(f"invalid host name {_show(text)}: longer than 253 characters")
    labels = ascii_name.split(".")
    if len(labels) < 2:
        raise ValueError(f"invalid host name {_show(text)}: needs at least two labels")
    for label in labels:
        if not _LABEL.match(label):
            raise ValueError(f"invalid host name {_show(text)}: bad label {_show(label)}")
    if labels[-1].isdigit():
        raise ValueError(f"invalid host name {_show(text)}: looks like an IP address, not a name")
    return ascii_name


# -- loading ------------------------------------------------------------------------------------


def load_inventory(path: str | Path) -> Inventory:
    """Load an inventory file (YAML, or plain text with one domain per line); ``-`` is stdin."""
    name = str(path)
    if name == "-":
        data = sys.stdin.buffer.read(MAX_INVENTORY_BYTES + 1)
        name = "<stdin>"
    else:
        p = Path(path)
        try:
            with p.open("rb") as fh:
                data = fh.read(MAX_INVENTORY_BYTES + 1)
        except FileNotFoundError:
            raise InventoryError("no such file", path=name) from None
        except IsADirectoryError:
            raise InventoryError("is a directory, not an inventory file", path=name) from None
        except OSError as exc:
            raise InventoryError(f"cannot read: {exc.strerror}", path=name) from None
    if len(data) > MAX_INVENTORY_BYTES:
        # The line where the cap is crossed: every error names a FILE:LINE an editor can open.
        line = data[:MAX_INVENTORY_BYTES].count(b"\n") + 1
        raise InventoryError(
            f"larger than {MAX_INVENTORY_BYTES // (1024 * 1024)} MiB; split it",
            path=name,
            line=line,
        )
    nul = data.find(b"\x00")
    if nul >= 0:
        raise InventoryError(
            "binary data (NUL byte): not a YAML or text inventory",
            path=name,
            line=data[:nul].count(b"\n") + 1,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InventoryError("not valid UTF-8", path=name, line=line) from None
    return parse_inventory(text, name)


def parse_inventory(text: str, name: str = "<inventory>") -> Inventory:
    """Parse inventory text: YAML if it looks like a mapping, else one domain per line."""
    if _looks_like_plain_list(text):
        return _parse_plain(text, name)
    return _YamlInventory(name).parse(text)


def _looks_like_plain_list(text: str) -> bool:
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        return ":" not in line and not line.startswith(("-", "{", "[", "%", "---"))
    return False


def _parse_plain(text: str, name: str) -> Inventory:
    domains: list[Domain] = []
    services: list[Service] = []
    seen: set[str] = set()
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if len(seen) >= MAX_ENTRIES_PER_ORG:
            raise InventoryError(
                f"more than {MAX_ENTRIES_PER_ORG} domains in one list; split it or use YAML",
                path=name,
                line=lineno,
            )
        if " " in line or "\t" in line:
            raise InventoryError(
                f"one domain or host per line, got {_show(line)}", path=name, line=lineno
            )
        try:
            host = normalize_host(line)
        except ValueError as exc:
            raise InventoryError(str(exc), path=name, line=lineno) from None
        if host in seen:
            continue
        seen.add(host)
        if host.startswith("www."):
            # A web host, not a domain: expanding it would ask for www.www.<domain>.
            services.append(Service(host, host, Layer.WEB, (DataClass.PERSONAL,), lineno))
        else:
            domains.append(Domain(host, lineno))
    if not domains and not services:
        raise InventoryError("no domain in the file", path=name)
    org = Organization(
        id="inventory",
        name=Path(name).stem if name != "<stdin>" else "stdin",
        data_classes=(DataClass.PERSONAL,),
        domains=tuple(domains),
        services=tuple(services),
        line=min([d.line for d in domains] + [s.line for s in services]),
    )
    return Inventory(path=name, organizations=(org,))


class _YamlInventory:
    """Walks composed YAML nodes; each check raises InventoryError at the node's line."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.seen_nodes: set[int] = set()

    def fail(self, node: yaml.Node | None, message: str) -> InventoryError:
        line = node.start_mark.line + 1 if node is not None else None
        return InventoryError(message, path=self.path, line=line)

    def parse(self, text: str) -> Inventory:
        try:
            self._check_events(text)
            root = yaml.compose(text, Loader=_YamlLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else None
            problem = exc.problem or exc.context or "invalid YAML"
            raise InventoryError(f"invalid YAML: {problem}", path=self.path, line=line) from None
        except yaml.reader.ReaderError as exc:
            # A character YAML forbids (control characters, from a paste or a hostile file):
            # libyaml gives a position, not a mark; the message must stay on one line.
            line = text[: exc.position].count("\n") + 1
            raise InventoryError(
                f"invalid YAML: unacceptable character #x{exc.character:04x} "
                "(control characters are not allowed)",
                path=self.path,
                line=line,
            ) from None
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
            raise InventoryError(f"invalid YAML: {first}", path=self.path, line=1) from None
        except RecursionError:
            raise InventoryError("YAML nested too deeply", path=self.path, line=1) from None
        if root is None:
            raise InventoryError("empty inventory", path=self.path, line=1)
        self._check_tree(root, 0)
        top = self.mapping(root, "the inventory", _TOP_KEYS)
        version = top.get("version")
        if version is None:
            raise self.fail(root, "missing 'version: 1'")
        if self.scalar(version, "version") != "1":
            raise self.fail(version, "unsupported version: this sovaudit reads 'version: 1'")
        orgs_node = top.get("organizations")
        if orgs_node is None:
            raise self.fail(root, "missing 'organizations' list")
        org_nodes = self.sequence(orgs_node, "organizations")
        if not org_nodes:
            raise self.fail(orgs_node, "'organizations' is empty")
        if len(org_nodes) > MAX_ORGANIZATIONS:
            raise self.fail(orgs_node, f"more than {MAX_ORGANIZATIONS} organizations")
        profile = self.scalar(top["profile"], "profile") if "profile" in top else None
        if profile is not None:
            from sovaudit.evaluate.loader import PROFILES

            if profile not in PROFILES:
                valid = ", ".join(sorted(PROFILES))
                raise self.fail(top["profile"], f"unknown profile {profile!r} (valid: {valid})")
        orgs: list[Organization] = []
        accepted: list[AcceptedRisk] = []
        ids: dict[str, int] = {}
        for node in org_nodes:
            org, org_accepted = self.organization(node)
            if org.id in ids:
                raise self.fail(
                    node, f"duplicate organization id {_show(org.id)} (first at line {ids[org.id]})"
                )
            ids[org.id] = org.line
            orgs.append(org)
            accepted.extend(org_accepted)
        if "accepted" in top:
            accepted.extend(self.accepted(top["accepted"], None))
        return Inventory(
            path=self.path, organizations=tuple(orgs), accepted=tuple(accepted), profile=profile
        )

    def _check_events(self, text: str) -> None:
        """Refuse aliases and deep nesting on the event stream, before nodes are built.

        The event stream is produced without recursion, so a file of 100,000 '[' fails here
        with its line instead of exhausting the composer's stack.
        """
        depth = 0
        anchors: dict[str, int] = {}
        for event in yaml.parse(text, Loader=_YamlLoader):
            if isinstance(event, yaml.AliasEvent):
                # Named at the anchor (what the author wrote to be reused), like _check_tree.
                raise InventoryError(
                    "YAML anchors and aliases are not allowed in an inventory",
                    path=self.path,
                    line=anchors.get(event.anchor or "", _event_line(event)),
                )
            anchor = getattr(event, "anchor", None)
            if anchor is not None:
                anchors[anchor] = _event_line(event)
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                # A collection at node depth MAX_DEPTH is still allowed by _check_tree.
                if depth > MAX_DEPTH + 1:
                    raise InventoryError(
                        f"nested deeper than {MAX_DEPTH} levels",
                        path=self.path,
                        line=_event_line(event),
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1

    def _check_tree(self, node: yaml.Node, depth: int) -> None:
        """Refuse aliases (billion-laughs), custom tags and excessive nesting."""
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels")
        if id(node) in self.seen_nodes:
            raise self.fail(node, "YAML anchors and aliases are not allowed in an inventory")
        self.seen_nodes.add(id(node))
        if node.tag.startswith("!") or (
            node.tag.startswith("tag:yaml.org,2002:")
            and node.tag.rsplit(":", 1)[1]
            not in ("str", "int", "float", "bool", "null", "seq", "map", "timestamp")
        ):
            raise self.fail(node, f"YAML tag {_show(node.tag)} is not allowed")
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                self._check_tree(child, depth + 1)
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self._check_tree(key, depth + 1)
                self._check_tree(value, depth + 1)

    # -- typed accessors ----------------------------------------------------------------------

    def mapping(self, node: yaml.Node, what: str, allowed: set[str]) -> dict[str, yaml.Node]:
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, f"{what} must be a mapping (key: value)")
        out: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise self.fail(key_node, f"keys of {what} must be plain strings")
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                raise self.fail(key_node, f"unknown key {_show(key)} in {what} (allowed: {hint})")
            if key in out:
                raise self.fail(key_node, f"duplicate key {_show(key)} in {what}")
            out[key] = value_node
        return out

    def sequence(self, node: yaml.Node, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, f"'{what}' must be a list")
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag.endswith(":null"):
            raise self.fail(node, f"'{what}' must be a single value")
        return str(node.value)

    def text(self, node: yaml.Node, what: str) -> str:
        value = self.scalar(node, what).strip()
        if not value:
            raise self.fail(node, f"'{what}' is empty")
        return value

    def data_classes(self, node: yaml.Node) -> tuple[DataClass, ...]:
        items = [node] if isinstance(node, yaml.ScalarNode) else self.sequence(node, "data_classes")
        out: list[DataClass] = []
        valid = ", ".join(c.value for c in DataClass)
        for item in items:
            value = self.scalar(item, "data_classes")
            try:
                dc = DataClass(value)
            except ValueError:
                raise self.fail(
                    item, f"unknown data class {_show(value)} (valid: {valid})"
                ) from None
            if dc not in out:
                out.append(dc)
        return tuple(out)

    def host(self, node: yaml.Node, what: str) -> str:
        value = self.text(node, what)
        try:
            return normalize_host(value)
        except ValueError as exc:
            raise self.fail(node, str(exc)) from None

    # -- entities -----------------------------------------------------------------------------

    def organization(self, node: yaml.Node) -> tuple[Organization, list[AcceptedRisk]]:
        m = self.mapping(node, "an organization", _ORG_KEYS)
        if "id" not in m:
            raise self.fail(node, "organization without 'id'")
        org_id = self.text(m["id"], "id")
        if not _SLUG.match(org_id):
            raise self.fail(
                m["id"],
                f"invalid organization id {_show(org_id)}: "
                "use lower-case letters, digits, '.', '_', '-'",
            )
        name = self.text(m["name"], "name") if "name" in m else org_id
        classes = (
            self.data_classes(m["data_classes"]) if "data_classes" in m else (DataClass.PERSONAL,)
        )
        domains: list[Domain] = []
        for item in self._entries(m, "domains"):
            host = self.host(item, "domains")
            if any(d.name == host for d in domains):
                raise self.fail(item, f"duplicate domain {_show(host)}")
            domains.append(Domain(host, item.start_mark.line + 1))
        services = [self.service(item, classes) for item in self._entries(m, "services")]
        if not domains and not services:
            raise self.fail(node, f"organization {_show(org_id)} has no domains and no services")
        accepted = self.accepted(m["accepted"], org_id) if "accepted" in m else []
        org = Organization(
            id=org_id,
            name=name,
            data_classes=classes,
            domains=tuple(domains),
            services=tuple(services),
            line=node.start_mark.line + 1,
        )
        return org, accepted

    def _entries(self, m: dict[str, yaml.Node], key: str) -> Iterator[yaml.Node]:
        if key not in m:
            return iter(())
        items = self.sequence(m[key], key)
        if len(items) > MAX_ENTRIES_PER_ORG:
            raise self.fail(m[key], f"more than {MAX_ENTRIES_PER_ORG} {key} in one organization")
        return iter(items)

    def service(self, node: yaml.Node, org_classes: tuple[DataClass, ...]) -> Service:
        m = self.mapping(node, "a service", _SERVICE_KEYS)
        if "host" not in m:
            raise self.fail(node, "service without 'host'")
        host = self.host(m["host"], "host")
        name = self.text(m["name"], "name") if "name" in m else host
        layer = Layer.WEB
        if "layer" in m:
            value = self.scalar(m["layer"], "layer")
            allowed = ", ".join(lay.value for lay in INVENTORY_LAYERS)
            try:
                layer = Layer(value)
            except ValueError:
                raise self.fail(
                    m["layer"], f"unknown layer {_show(value)} (valid: {allowed})"
                ) from None
            if layer not in INVENTORY_LAYERS:
                raise self.fail(
                    m["layer"], f"layer {_show(value)} is found by the scan; use {allowed}"
                )
        classes = self.data_classes(m["data_classes"]) if "data_classes" in m else org_classes
        return Service(name, host, layer, classes, node.start_mark.line + 1)

    def accepted(self, node: yaml.Node, org: str | None) -> list[AcceptedRisk]:
        out = []
        for item in self.sequence(node, "accepted"):
            m = self.mapping(item, "an accepted risk", _ACCEPTED_KEYS)
            for required in ("rule", "reason"):
                if required not in m:
                    raise self.fail(item, f"accepted risk without '{required}'")
            until = None
            if "until" in m:
                until = self.scalar(m["until"], "until")
                if not _DATE.match(until):
                    raise self.fail(
                        m["until"], f"'until' must be a date YYYY-MM-DD, got {_show(until)}"
                    )
            out.append(
                AcceptedRisk(
                    rule=self.text(m["rule"], "rule"),
                    reason=self.text(m["reason"], "reason"),
                    host=self.host(m["host"], "host") if "host" in m else None,
                    organization=org,
                    until=until,
                    source=SourceLocation(self.path, item.start_mark.line + 1),
                )
            )
        return out
