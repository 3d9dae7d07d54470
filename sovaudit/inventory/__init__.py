"""Inventory loading: YAML (or plain text) -> organizations -> targets, with file:line in errors.

The YAML is never constructed into arbitrary objects. A small composer reads the parser's event
stream once and builds light nodes (tag, line, value: no Mark objects); each organization is
turned into its model as soon as its last event is read and its nodes are dropped, so a
100,000-host file never exists as one node tree. Tags and aliases are refused, size and depth
are capped, and every error names its line.

When a file holds several errors, the one reported does not depend on this streaming: errors
are ranked as the loader always ranked them (YAML syntax, aliases and nesting in stream order;
then the composer's duplicate anchors and extra documents; then tags and node depth; then the
inventory's own checks, top-level keys first, organizations in order, top-level accepted risks
last).

The module is large on purpose: the streaming parser and the checks it runs on each node are one
pass over the YAML events, which keeps memory flat on inventories of 100,000 hosts.
"""

from __future__ import annotations

import gc
import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import idna
import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from sovaudit.errors import InventoryError
from sovaudit.evaluate.loader import PROFILES
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

# \Z, not $: '$' also matches before a final newline, which let "a\n.test" through as a host.
_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}\Z")
_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)\Z")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}\Z")
# A whole name of at least two valid labels, in one match (the common case, per label below).
_NAME = re.compile(r"(?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)+(?!-)[a-z0-9_-]{1,63}(?<!-)")

_TOP_KEYS = {"version", "name", "description", "profile", "organizations", "accepted"}
_ORG_KEYS = {
    "id",
    "name",
    "description",
    "url",
    "notes",
    "source",
    # Provenance of the organization's domains: 'verified: YYYY-MM-DD' (the day they were checked
    # against 'source'), or 'unverified: what was tried'. Documented, checked, not used by a scan.
    "verified",
    "unverified",
    "data_classes",
    "domains",
    "services",
    "accepted",
}
_SERVICE_KEYS = {"name", "host", "layer", "data_classes", "notes", "source", "description"}
_ACCEPTED_KEYS = {"rule", "host", "reason", "until"}

_STR_TAG = "tag:yaml.org,2002:str"
_ALLOWED_CORE_TAGS = frozenset({"str", "int", "float", "bool", "null", "seq", "map", "timestamp"})
# The same, in full: one set lookup for nearly every node instead of the string tests.
_ALLOWED_TAGS = frozenset(f"tag:yaml.org,2002:{name}" for name in _ALLOWED_CORE_TAGS)
# What an organization without 'data_classes' holds (one tuple shared by all of them).
_DEFAULT_CLASSES: tuple[DataClass, ...] = (DataClass.PERSONAL,)


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
        """Every endpoint to resolve: explicit services, then each domain's expansion.

        Built on each call, not cached: the list is as large as the scan, and a frozen
        inventory outlives it (reports, shards).
        """
        with _gc_paused():
            return self._targets()

    def target_count(self) -> int:
        """``len(self.targets())`` without building the targets (for a progress bar's total)."""
        seen: set[tuple[str, str, Layer]] = set()
        add = seen.add
        for org in self.organizations:
            for svc in org.services:
                add((org.id, svc.host, svc.layer))
            for dom in org.domains:
                for host, layer in expand_domain(dom.name):
                    add((org.id, host, layer))
        return len(seen)

    def _targets(self) -> list[Target]:
        out: list[Target] = []
        append = out.append
        # Layer is a StrEnum: the member hashes and compares as its value.
        seen: set[tuple[str, str, Layer]] = set()
        path = self.path
        for org in self.organizations:
            org_id = org.id
            org_name = org.name
            for svc in org.services:
                key = (org_id, svc.host, svc.layer)
                if key in seen:
                    continue
                seen.add(key)
                append(
                    Target(
                        organization=org_id,
                        organization_name=org_name,
                        service=svc.name,
                        host=svc.host,
                        layer=svc.layer,
                        data_classes=svc.data_classes,
                        source=SourceLocation(path, svc.line),
                        origin="service",
                    )
                )
            for dom in org.domains:
                # One location for the four endpoints of a domain (equal values, one object).
                source = SourceLocation(path, dom.line)
                for host, layer in expand_domain(dom.name):
                    key = (org_id, host, layer)
                    if key in seen:
                        continue
                    seen.add(key)
                    append(
                        Target(
                            organization=org_id,
                            organization_name=org_name,
                            service=dom.name,
                            host=host,
                            layer=layer,
                            data_classes=org.data_classes,
                            source=source,
                            origin="domain",
                        )
                    )
        return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while many acyclic objects are built.

    Targets hold no cycles, so a collection there finds nothing, but each full one walks
    every live object: at 100,000 hosts they tripled the time of ``targets()``.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
    if _NAME.fullmatch(ascii_name):
        # Every label is valid and there are at least two: only the IP check remains.
        if ascii_name[ascii_name.rfind(".") + 1 :].isdigit():
            raise ValueError(
                f"invalid host name {_show(text)}: looks like an IP address, not a name"
            )
        return ascii_name
    # The slow path names the first problem, as it always did.
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
        data = _read_capped(sys.stdin.buffer)
        name = "<stdin>"
    else:
        p = Path(path)
        try:
            with p.open("rb") as fh:
                data = _read_capped(fh)
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
    del data  # the bytes are not needed while the text is parsed (10 MiB less at the cap)
    return parse_inventory(text, name)


def _read_capped(fh: BinaryIO) -> bytes:
    """At most MAX_INVENTORY_BYTES + 1 bytes of ``fh`` (the extra byte says "too large").

    ``read(cap + 1)`` allocates a buffer of the cap's size whatever the file's; a file whose
    size is known is read into a buffer of its own size, anything else (a pipe, a file that
    grows) in 1 MiB chunks up to the cap.
    """
    try:
        size = min(os.fstat(fh.fileno()).st_size, MAX_INVENTORY_BYTES)
    except (OSError, ValueError):  # no file descriptor (io.UnsupportedOperation is both)
        size = 0
    want = size + 1
    first = fh.read(want)
    if len(first) < want:
        return first  # the whole file: a buffered read returns short only at end of file
    chunks = [first]
    total = len(first)
    while total <= MAX_INVENTORY_BYTES:
        chunk = fh.read(min(1 << 20, MAX_INVENTORY_BYTES + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def parse_inventory(text: str, name: str = "<inventory>") -> Inventory:
    """Parse inventory text: YAML if it looks like a mapping, else one domain per line."""
    if _looks_like_plain_list(text):
        return _parse_plain(text, name)
    return _YamlInventory(name).parse(text)


def _first_lines(text: str) -> Iterator[str]:
    """The lines of ``text`` as ``str.splitlines`` cuts them, without splitting all of it.

    Prefixes grow fourfold; every line of a prefix but the last is a whole line of the text
    (only the last can be cut, even between the CR and the LF of a CRLF).
    """
    done = 0
    size = 4096
    while True:
        head = text[:size]
        lines = head.splitlines()
        if size >= len(text):
            yield from lines[done:]
            return
        complete = lines[:-1]
        yield from complete[done:]
        done = max(done, len(complete))
        size *= 4


def _looks_like_plain_list(text: str) -> bool:
    for raw in _first_lines(text):
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


# -- YAML: light nodes --------------------------------------------------------------------------


class _Node:
    """A composed YAML node reduced to what the checks read: resolved tag and 1-based line.

    Not a frozen dataclass: collections are filled while their events are read, and a
    100,000-host file makes half a million of these (one organization's worth at a time).
    """

    __slots__ = ("line", "tag")

    def __init__(self, tag: str, line: int) -> None:
        self.tag = tag
        self.line = line


class _Scalar(_Node):
    __slots__ = ("value",)

    def __init__(self, tag: str, line: int, value: str) -> None:
        self.tag = tag
        self.line = line
        self.value = value


class _Sequence(_Node):
    # The streamed 'organizations' list gets an _OrganizationSink instead of a list.
    __slots__ = ("items",)

    def __init__(self, tag: str, line: int) -> None:
        self.tag = tag
        self.line = line
        self.items: list[_Node] | _OrganizationSink = []


class _Mapping(_Node):
    # Keys and values alternate (key, value, key, value...), as their events come.
    __slots__ = ("items",)

    def __init__(self, tag: str, line: int) -> None:
        self.tag = tag
        self.line = line
        self.items: list[_Node] = []


def _tag_refused(tag: str) -> bool:
    """Local tags and core tags beyond plain data (``!!python/...``, ``!!binary``, merge)."""
    if tag in _ALLOWED_TAGS:
        return False
    return tag.startswith("!") or (
        tag.startswith("tag:yaml.org,2002:") and tag.rsplit(":", 1)[1] not in _ALLOWED_CORE_TAGS
    )


class _OrganizationSink:
    """Receives the items of 'organizations' one at a time and keeps only their models.

    Errors are kept, not raised: the inventory's top-level checks (keys, version, profile)
    come first in the error order, and they may sit after 'organizations' in the file.
    """

    __slots__ = ("accepted", "count", "error", "ids", "loader", "organizations")

    def __init__(self, loader: _YamlInventory) -> None:
        self.loader = loader
        self.count = 0
        self.organizations: list[Organization] = []
        self.accepted: list[AcceptedRisk] = []
        self.ids: dict[str, int] = {}
        self.error: InventoryError | None = None

    def append(self, node: _Node) -> None:
        self.count += 1
        if self.error is not None or self.count > MAX_ORGANIZATIONS:
            return  # the outcome is already an error: no need to build anything more
        try:
            org, accepted = self.loader.organization(node)
            if org.id in self.ids:
                raise self.loader.fail(
                    node,
                    f"duplicate organization id {_show(org.id)} (first at line {self.ids[org.id]})",
                )
        except InventoryError as exc:
            self.error = exc
            return
        self.ids[org.id] = org.line
        self.organizations.append(org)
        self.accepted.extend(accepted)


class _YamlInventory:
    """Composes the YAML event stream into light nodes; each check raises at the node's line."""

    def __init__(self, path: str) -> None:
        self.path = path
        # Errors found while composing, raised (first of the highest rank) once the whole
        # stream has been read: a later syntax error, alias or nesting error still wins.
        self.composer_error: InventoryError | None = None
        self.tree_error: InventoryError | None = None
        # Equal data-class tuples shared: one per distinct combination, not one per entry.
        self.class_tuples: dict[tuple[DataClass, ...], tuple[DataClass, ...]] = {}

    def fail(self, node: _Node | None, message: str) -> InventoryError:
        line = node.line if node is not None else None
        return InventoryError(message, path=self.path, line=line)

    def parse(self, text: str) -> Inventory:
        try:
            root = self._compose(text)
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
        if self.composer_error is not None:
            raise self.composer_error
        if self.tree_error is not None:
            raise self.tree_error
        if root is None:
            raise InventoryError("empty inventory", path=self.path, line=1)
        top = self.mapping(root, "the inventory", _TOP_KEYS)
        version = top.get("version")
        if version is None:
            raise self.fail(root, "missing 'version: 1'")
        if self.scalar(version, "version") != "1":
            raise self.fail(version, "unsupported version: this sovaudit reads 'version: 1'")
        orgs_node = top.get("organizations")
        if orgs_node is None:
            raise self.fail(root, "missing 'organizations' list")
        if not isinstance(orgs_node, _Sequence):
            raise self.fail(orgs_node, "'organizations' must be a list")
        sink = orgs_node.items
        if not isinstance(sink, _OrganizationSink):
            # Not streamed (only the first 'organizations' key of the root is): same checks.
            sink = self._sink(sink)
        if sink.count == 0:
            raise self.fail(orgs_node, "'organizations' is empty")
        if sink.count > MAX_ORGANIZATIONS:
            raise self.fail(orgs_node, f"more than {MAX_ORGANIZATIONS} organizations")
        profile = self.scalar(top["profile"], "profile") if "profile" in top else None
        if profile is not None:
            if profile not in PROFILES:
                valid = ", ".join(sorted(PROFILES))
                raise self.fail(top["profile"], f"unknown profile {profile!r} (valid: {valid})")
        if sink.error is not None:
            raise sink.error
        accepted = sink.accepted
        if "accepted" in top:
            accepted.extend(self.accepted(top["accepted"], None))
        return Inventory(
            path=self.path,
            organizations=tuple(sink.organizations),
            accepted=tuple(accepted),
            profile=profile,
        )

    def _sink(self, items: Iterable[_Node]) -> _OrganizationSink:
        sink = _OrganizationSink(self)
        for item in items:
            sink.append(item)
        return sink

    def _compose(self, text: str) -> _Node | None:
        loader = _YamlLoader(text)
        try:
            return self._compose_events(loader)
        finally:
            loader.dispose()

    def _compose_events(self, loader: Any) -> _Node | None:
        """Read every event of the stream once; return the first document's root node.

        Checked on the events, in stream order, and raised at once: aliases (named at their
        anchor) and nesting beyond MAX_DEPTH. The parser is not recursive, so 100,000 '[' fail
        here with their line. Kept for after the stream (see ``parse``): duplicate anchors and
        a second document (as PyYAML's composer reports them), then refused tags and nodes
        deeper than MAX_DEPTH.
        """
        get_event = loader.get_event
        resolve = loader.resolve
        # Tag resolution as the composer does it (``loader.resolve``), skipped for the plain
        # scalars whose first character no implicit resolver looks at (host names): their
        # tag is str. Path resolvers would need the composer's descend/ascend: none exist.
        first_chars = loader.yaml_implicit_resolvers
        resolve_all = None in first_chars
        allowed_tags = _ALLOWED_TAGS
        anchors: dict[str, int] = {}  # every anchor of the stream -> the line it is set on
        doc_anchors: set[str] = set()  # the first document's: the composer refuses repeats
        depth = 0  # open collections, across every document
        documents = 0
        in_first = False  # inside the first document, and no composer error yet
        build = False  # in_first, and no refused tag or deep node yet: nodes are built
        streamed = False
        stack: list[_Sequence | _Mapping] = []
        root: _Node | None = None
        while True:
            event = get_event()
            kind = type(event)
            if kind is ScalarEvent:
                if event.anchor is not None:
                    note = self._note_anchor(event, anchors, doc_anchors, in_first, build)
                    in_first, build = note
                if not build:
                    continue
                value = event.value
                tag = event.tag
                if tag is None or tag == "!":
                    implicit = event.implicit
                    if implicit[0] and (resolve_all or not value or value[0] in first_chars):
                        tag = resolve(yaml.ScalarNode, value, implicit)
                    else:
                        tag = _STR_TAG
                # The parser always gives marks (start_mark is never None on these events).
                node = _Scalar(tag, event.start_mark.line + 1, value)
                if len(stack) > MAX_DEPTH or (tag not in allowed_tags and _tag_refused(tag)):
                    build = self._refuse(node, len(stack))
                    continue
                if stack:
                    stack[-1].items.append(node)
                else:
                    root = node
            elif kind is MappingStartEvent or kind is SequenceStartEvent:
                depth += 1
                # A collection at node depth MAX_DEPTH is still allowed (checked below).
                if depth > MAX_DEPTH + 1:
                    raise InventoryError(
                        f"nested deeper than {MAX_DEPTH} levels",
                        path=self.path,
                        line=_event_line(event),
                    )
                if event.anchor is not None:
                    note = self._note_anchor(event, anchors, doc_anchors, in_first, build)
                    in_first, build = note
                if not build:
                    continue
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(
                        yaml.MappingNode if kind is MappingStartEvent else yaml.SequenceNode,
                        None,
                        event.implicit,
                    )
                line = event.start_mark.line + 1
                collection: _Sequence | _Mapping
                if kind is MappingStartEvent:
                    collection = _Mapping(tag, line)
                else:
                    collection = _Sequence(tag, line)
                    if not streamed and len(stack) == 1 and self._is_organizations_value(stack[0]):
                        # The root's 'organizations' list: each item becomes an Organization
                        # when complete, and its nodes go.
                        streamed = True
                        collection.items = _OrganizationSink(self)
                if len(stack) > MAX_DEPTH or (tag not in allowed_tags and _tag_refused(tag)):
                    build = self._refuse(collection, len(stack))
                    continue
                stack.append(collection)
            elif kind is MappingEndEvent or kind is SequenceEndEvent:
                depth -= 1
                if not build:
                    continue
                done = stack.pop()
                if stack:
                    stack[-1].items.append(done)
                else:
                    root = done
            elif kind is AliasEvent:
                # Named at the anchor (what the author wrote to be reused).
                raise InventoryError(
                    "YAML anchors and aliases are not allowed in an inventory",
                    path=self.path,
                    line=anchors.get(event.anchor or "", _event_line(event)),
                )
            elif kind is DocumentStartEvent:
                documents += 1
                if documents == 1:
                    in_first = build = True
                elif documents == 2 and self.composer_error is None:
                    self.composer_error = InventoryError(
                        "invalid YAML: but found another document",
                        path=self.path,
                        line=_event_line(event),
                    )
            elif kind is DocumentEndEvent:
                in_first = build = False
            elif kind is StreamEndEvent:
                return root

    def _note_anchor(
        self,
        event: Any,
        anchors: dict[str, int],
        doc_anchors: set[str],
        in_first: bool,
        build: bool,
    ) -> tuple[bool, bool]:
        """Record an anchor's line; in the first document, check it is not a repeat."""
        line = _event_line(event)
        if in_first:
            in_first, build = self._first_anchor(event.anchor, line, doc_anchors, build)
        anchors[event.anchor] = line
        return in_first, build

    def _first_anchor(
        self, anchor: str, line: int, seen: set[str], build: bool
    ) -> tuple[bool, bool]:
        """Note an anchor of the first document; a repeat is the composer's error."""
        if anchor in seen:
            self.composer_error = InventoryError(
                "invalid YAML: second occurrence", path=self.path, line=line
            )
            return False, False
        seen.add(anchor)
        return True, build

    def _refuse(self, node: _Node, depth: int) -> bool:
        """Keep the first refused node (too deep, or a refused tag); stop building nodes."""
        if depth > MAX_DEPTH:
            self.tree_error = self.fail(node, f"nested deeper than {MAX_DEPTH} levels")
        else:
            self.tree_error = self.fail(node, f"YAML tag {_show(node.tag)} is not allowed")
        return False

    @staticmethod
    def _is_organizations_value(parent: _Sequence | _Mapping) -> bool:
        """Whether the next child of the root mapping is the value of an 'organizations' key."""
        if not isinstance(parent, _Mapping) or len(parent.items) % 2 == 0:
            return False
        key = parent.items[-1]
        return isinstance(key, _Scalar) and key.value == "organizations"

    # -- typed accessors ----------------------------------------------------------------------

    def mapping(self, node: _Node, what: str, allowed: set[str]) -> dict[str, _Node]:
        if not isinstance(node, _Mapping):
            raise self.fail(node, f"{what} must be a mapping (key: value)")
        out: dict[str, _Node] = {}
        items = iter(node.items)
        for key_node, value_node in zip(items, items, strict=True):
            if not isinstance(key_node, _Scalar):
                raise self.fail(key_node, f"keys of {what} must be plain strings")
            key = key_node.value
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                raise self.fail(key_node, f"unknown key {_show(key)} in {what} (allowed: {hint})")
            if key in out:
                raise self.fail(key_node, f"duplicate key {_show(key)} in {what}")
            out[key] = value_node
        return out

    def sequence(self, node: _Node, what: str) -> list[_Node]:
        if not isinstance(node, _Sequence) or isinstance(node.items, _OrganizationSink):
            raise self.fail(node, f"'{what}' must be a list")
        return node.items

    def scalar(self, node: _Node, what: str) -> str:
        if not isinstance(node, _Scalar) or node.tag.endswith(":null"):
            raise self.fail(node, f"'{what}' must be a single value")
        return node.value

    def text(self, node: _Node, what: str) -> str:
        value = self.scalar(node, what).strip()
        if not value:
            raise self.fail(node, f"'{what}' is empty")
        return value

    def data_classes(self, node: _Node) -> tuple[DataClass, ...]:
        items = [node] if isinstance(node, _Scalar) else self.sequence(node, "data_classes")
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
        classes = tuple(out)
        return self.class_tuples.setdefault(classes, classes)

    def host(self, node: _Node, what: str) -> str:
        value = self.text(node, what)
        try:
            return normalize_host(value)
        except ValueError as exc:
            raise self.fail(node, str(exc)) from None

    # -- entities -----------------------------------------------------------------------------

    def organization(self, node: _Node) -> tuple[Organization, list[AcceptedRisk]]:
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
        self.provenance(m)
        classes = self.data_classes(m["data_classes"]) if "data_classes" in m else _DEFAULT_CLASSES
        domains: list[Domain] = []
        names: set[str] = set()
        for item in self._entries(m, "domains"):
            host = self.host(item, "domains")
            if host in names:
                raise self.fail(item, f"duplicate domain {_show(host)}")
            names.add(host)
            domains.append(Domain(host, item.line))
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
            line=node.line,
        )
        return org, accepted

    def provenance(self, m: dict[str, _Node]) -> None:
        """Check 'verified' (a date) and 'unverified' (what was tried); one of them at most."""
        if "verified" in m and "unverified" in m:
            raise self.fail(
                m["unverified"], "an organization is 'verified' or 'unverified', not both"
            )
        if "verified" in m:
            when = self.scalar(m["verified"], "verified")
            if not _DATE.match(when):
                raise self.fail(
                    m["verified"], f"'verified' must be a date YYYY-MM-DD, got {_show(when)}"
                )
        if "unverified" in m:
            self.text(m["unverified"], "unverified")

    def _entries(self, m: dict[str, _Node], key: str) -> list[_Node]:
        if key not in m:
            return []
        items = self.sequence(m[key], key)
        if len(items) > MAX_ENTRIES_PER_ORG:
            raise self.fail(m[key], f"more than {MAX_ENTRIES_PER_ORG} {key} in one organization")
        return items

    def service(self, node: _Node, org_classes: tuple[DataClass, ...]) -> Service:
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
        return Service(name, host, layer, classes, node.line)

    def accepted(self, node: _Node, org: str | None) -> list[AcceptedRisk]:
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
                    source=SourceLocation(self.path, item.line),
                )
            )
        return out
