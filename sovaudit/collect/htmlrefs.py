"""Pure parsing of a landing page: which other hosts does it make a browser talk to?

A page that loads a script, a style sheet, a font, a frame or an image from another host makes
every visitor's browser send a request (IP address, user agent, referrer, often cookies) to that
host's operator; a form that posts elsewhere sends the typed data there. Those hosts are the
page's third parties.

Parser choice (measured on 2 MB hostile pages, Python 3.11): the stdlib ``html.parser`` is pure
Python and super-linear on crafted input (``"<p " * 700_000`` took 18 s, an unclosed comment
run never finished in ``close()``: CVE-2025-6069, unpatched in 3.11.7), and a probe cannot
interrupt CPU work with a timeout. selectolax (Lexbor) was quadratic on deep nesting (100 000
``<div>``: 28 s). lxml (libxml2 2.14, whose HTML tokenizer follows HTML5: script, title and
iframe contents are text, the first duplicate attribute wins) stayed under 1 s on every case,
and as a parser *target* it builds no tree. No regular expression ever runs over markup. No
I/O here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

from lxml import etree

from sovaudit.collect.hostnames import discovered_host
from sovaudit.collect.names import normalize_name

# Bounds: a hostile page can hold millions of tags; we keep the first ones.
MAX_REFS = 5_000
MAX_THIRD_PARTIES = 200
MAX_URL_LENGTH = 2_048
_FEED_CHUNK = 65_536

KINDS = ("script", "style", "font", "frame", "img", "form", "media", "refresh", "preconnect")

_FONT_EXTENSIONS = (".woff", ".woff2", ".ttf", ".otf", ".eot")
# Hosts whose style sheets exist to deliver web fonts; the font files come from the same family.
_FONT_HOSTS = ("fonts.googleapis.com", "fonts.gstatic.com", "use.typekit.net", "p.typekit.net")


@dataclass(frozen=True, slots=True)
class PageRef:
    """One reference found in a page: its kind and its absolute URL."""

    kind: str
    url: str


@dataclass(frozen=True, slots=True)
class ThirdParty:
    """A host on another site that the page makes the browser contact."""

    host: str
    kinds: tuple[str, ...]  # sorted, from KINDS
    first_url: str  # the first URL seen for this host, in document order


class _RefCollector:
    """lxml parser target: collects (kind, raw URL) pairs and the first ``<base href>``.

    As a parser *target* it receives start tags as the tokenizer emits them; no tree is built,
    so memory stays flat whatever the nesting. It deliberately has no ``start_ns``/``end_ns``:
    HTML has no namespaces, and lxml 6.2 calls ``end_ns`` for every HTML end tag on a target
    that defines it while never calling ``start_ns``, then pops an empty stack (IndexError).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.raw: list[tuple[str, str]] = []
        self.base: str | None = None

    def _add(self, kind: str, value: str | None) -> None:
        if value is None or len(self.raw) >= self.limit:
            return
        value = value.strip()
        if value and len(value) <= MAX_URL_LENGTH:
            self.raw.append((kind, value))

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        # libxml2 lower-cases HTML tag and attribute names and keeps the first of duplicates.
        a: Mapping[str, str | None] = attrib
        if tag == "base" and self.base is None and a.get("href"):
            self.base = a["href"]
        elif tag == "script":
            self._add("script", a.get("src"))
        elif tag == "link":
            self._add(_link_kind(a), a.get("href"))
        elif tag in ("iframe", "frame"):
            self._add("frame", a.get("src"))
        elif tag == "img":
            self._add("img", a.get("src"))
            for candidate in _srcset(a.get("srcset")):
                self._add("img", candidate)
        elif tag in ("video", "audio", "source", "track", "embed"):
            self._add("media", a.get("src"))
        elif tag == "object":
            self._add("media", a.get("data"))
        elif tag == "form":
            # A form without action posts to the page itself: not a third party.
            self._add("form", a.get("action"))
        elif tag == "meta" and (a.get("http-equiv") or "").lower() == "refresh":
            self._add("refresh", _refresh_url(a.get("content")))

    def end(self, tag: str) -> None:
        pass

    def data(self, data: str) -> None:
        pass

    def comment(self, text: str) -> None:
        pass

    def pi(self, target: str, data: str) -> None:
        pass

    def doctype(self, root_tag: str | None, public_id: str | None, system_id: str | None) -> None:
        pass

    def close(self) -> None:
        pass


def _link_kind(a: Mapping[str, str | None]) -> str:
    rel = set((a.get("rel") or "").lower().split())
    as_ = (a.get("as") or "").lower()
    href = (a.get("href") or "").lower()
    path = urlsplit(href).path if "://" in href or href.startswith("//") else href
    if as_ == "font" or path.endswith(_FONT_EXTENSIONS):
        return "font"
    if "stylesheet" in rel or as_ == "style":
        return "style"
    if as_ == "script" or "modulepreload" in rel:
        return "script"
    if rel & {"icon", "apple-touch-icon", "mask-icon"} or as_ == "image":
        return "img"
    if rel & {"preconnect", "dns-prefetch"}:
        return "preconnect"
    # canonical, alternate, manifest...: links, not resources the browser necessarily fetches.
    return ""


def _srcset(value: str | None) -> list[str]:
    # "a.png 1x, b.png 2x": candidates are comma-separated, each "URL [descriptor]".
    if not value:
        return []
    return [part.split()[0] for part in value.split(",") if part.split()]


def _refresh_url(content: str | None) -> str | None:
    # content="0; url=https://example.org/" (the "url=" keyword and quotes are optional).
    if not content or ";" not in content:
        return None
    target = content.split(";", 1)[1].strip()
    if target[:4].lower() == "url=":
        target = target[4:].strip()
    return target.strip("'\"") or None


def extract_refs(
    html: str | bytes,
    page_url: str,
    *,
    encoding: str | None = None,
    limit: int = MAX_REFS,
) -> tuple[PageRef, ...]:
    """Return the resources and targets a page references, as absolute http(s) URLs.

    ``html`` is the body as received (bytes, decoded with ``encoding`` from the HTTP header or
    else the page's own ``<meta charset>``) or already decoded text. Relative URLs resolve
    against the page's first ``<base href>`` (itself resolved against ``page_url``), as a
    browser does. ``data:``, ``javascript:``, ``mailto:`` and other schemes are dropped. Never
    raises on malformed markup.
    """
    collector = _RefCollector(limit)
    # The stubs' ParserTarget protocol lists start_ns/end_ns, which this target must not have.
    target = cast(Any, collector)
    try:
        parser = etree.HTMLParser(
            target=target,
            encoding=encoding if isinstance(html, bytes) else None,
            no_network=True,
            remove_comments=True,
            remove_pis=True,
        )
    except LookupError:  # a charset name libxml2 does not know: let it sniff
        parser = etree.HTMLParser(target=target, no_network=True)
    try:
        for i in range(0, len(html), _FEED_CHUNK):
            parser.feed(html[i : i + _FEED_CHUNK])
        parser.close()
    except (etree.LxmlError, ValueError, UnicodeError):
        pass  # keep what was read: a broken tail must not hide the references before it
    base = page_url
    if collector.base:
        candidate = _absolute(page_url, collector.base)
        if candidate:
            base = candidate
    refs: list[PageRef] = []
    for kind, raw in collector.raw:
        if not kind:
            continue
        url = _absolute(base, raw)
        if url:
            refs.append(PageRef(kind, url))
    return tuple(refs)


def _absolute(base: str, raw: str) -> str | None:
    try:
        url = urljoin(base, raw)
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url


def url_host(url: str) -> str | None:
    """The normalized host name of an absolute URL, or None when it has none."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return normalize_name(host) if host else None


def site_of(host: str) -> str:
    """The site a host belongs to for third-party purposes: the host without a leading ``www.``.

    Deliberately narrow (no public-suffix list): ``cdn.quebec.ca`` is first party for
    ``www.quebec.ca``, but ``static.gouv.qc.ca`` is a third party of ``sante.gouv.qc.ca``. A
    false third party costs one extra attribution; a false first party would hide one.
    """
    host = normalize_name(host)
    return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host


def is_same_site(host: str, sites: Iterable[str]) -> bool:
    """True when ``host`` is one of ``sites`` or a subdomain of one."""
    host = normalize_name(host)
    return any(host == s or host.endswith("." + s) for s in sites)


def third_parties(
    refs: Iterable[PageRef], own_hosts: Iterable[str], *, limit: int = MAX_THIRD_PARTIES
) -> tuple[ThirdParty, ...]:
    """Group references by host, excluding the page's own site(s), in first-seen order."""
    sites = {site_of(h) for h in own_hosts if h}
    order: list[str] = []
    kinds: dict[str, set[str]] = {}
    first: dict[str, str] = {}
    for ref in refs:
        host = url_host(ref.url)
        if host is None or is_same_site(host, sites):
            continue
        if host not in kinds and discovered_host(host)[0] is None:
            continue  # not a valid host name (validated like inventory hosts): never an endpoint
        if host not in kinds:
            if len(order) >= limit:
                continue
            order.append(host)
            kinds[host] = set()
            first[host] = ref.url
        kinds[host].add(ref.kind)
        if ref.kind == "style" and host in _FONT_HOSTS:
            kinds[host].add("font")
    return tuple(ThirdParty(h, tuple(sorted(kinds[h])), first[h]) for h in order)
