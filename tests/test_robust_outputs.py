"""Hostile record text in every output, private addresses in public DNS, and a source audit.

The evidence below puts attacker-controlled text (DNS answers, TXT, names, reasons, whois-like
operator names, finding text) in every field a report shows. Each renderer must keep it inert:
HTML escaped, CSV formula-neutralized, Markdown free of HTML/links/images from records, the
terminal free of ESC and BEL bytes, SARIF/JSON valid and the JSON evidence round-trip exact.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from sovaudit.collect.dns import ResolverAddress
from sovaudit.demo.nameserver import LoopbackNameserver
from sovaudit.evidence.read import read_evidence
from sovaudit.inventory import parse_inventory
from sovaudit.models import (
    Attribution,
    DataClass,
    DnsRecord,
    Endpoint,
    EvidenceStep,
    Finding,
    Layer,
    Reference,
    Scan,
    Severity,
    Status,
)
from sovaudit.pipeline.options import ScanOptions
from sovaudit.pipeline.run import scan
from sovaudit.report import render

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
PACKAGE = Path(__file__).resolve().parent.parent / "sovaudit"

HOSTILE = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "=cmd|' /C calc'!A0",
    "@SUM(1)",
    "[x](javascript:alert(1))",
    "![](http://evil/x.png)",
    "<details open>",
    "`code` | pipe | ``x``",
    "\x1b[2J\x1b]8;;http://evil\x07link\x1b]8;;\x07",
    "nul\x00byte",
    "rtl\u202egnp.exe",
    "+1-1",
    "-2+3",
    "http://evil.example/phish",
    "www.evil.example",
    "a@evil.example",
)


def _h(i: int) -> str:
    """The i-th hostile string, cycling."""
    return HOSTILE[i % len(HOSTILE)]


def _hostile_scan(tag: str = "") -> Scan:
    endpoints = []
    for k in range(len(HOSTILE)):
        h = _h(k) + tag
        step = EvidenceStep(step=_h(k + 1), value=h, source=_h(k + 2))
        attribution = Attribution(
            subject=h,
            role="address",
            address=h,
            asn=64496,
            asn_name=_h(k + 3),
            operator="evil-" + str(k),
            operator_name=_h(k + 4),
            category="cloud",
            ultimate_parent=_h(k + 5),
            jurisdiction="US",
            operator_jurisdiction="US",
            ownership=_h(k + 6),
            confidence=0.9,
            status=Status.OK,
            reason=_h(k + 7),
            flags=(_h(k + 8),),
            evidence=(step,),
        )
        finding = Finding(
            rule_id="US-CLOUD-ACT-HOSTING",
            severity=Severity.HIGH,
            title=_h(k + 9),
            rationale=_h(k + 10),
            references=(
                Reference(title=_h(k + 11), url="javascript:alert(1)"),
                Reference(title="ok", url="https://example.org/law"),
            ),
            accepted=k % 3 == 0,
            accepted_reason=_h(k + 12) if k % 3 == 0 else None,
            subject=h,
            evidence=(step,),
        )
        record = DnsRecord(
            name=h,
            type="TXT",
            rcode="NOERROR",
            answers=(h, _h(k + 13)),
            ttl=300,
            resolver=_h(k + 14),
            timestamp="2026-11-25T12:00:00Z",
            error=_h(k + 15),
        )
        endpoints.append(
            Endpoint(
                organization=f"org{k}",
                organization_name=_h(k + 2),
                service=_h(k + 3),
                host=f"h{k}.evil.test",
                layer=Layer.WEB,
                data_classes=(DataClass.HEALTH,),
                status=Status.UNKNOWN if k % 4 == 0 else Status.OK,
                reason=_h(k + 4) if k % 4 == 0 else None,
                records=(record,),
                addresses=(h,),
                names=(_h(k + 5), _h(k + 6)),
                attributions=(attribution,),
                findings=(finding,),
                details={"txt": [h], "cname_chain": [_h(k + 7)]},
            )
        )
    return Scan(
        tool_version="0.1.0",
        generated_at="2026-11-25T12:00:00Z",
        inventory=_h(0),
        resolvers=(_h(8),),
        endpoints=tuple(endpoints),
        options={"lang": "en"},
    )


def _benign_scan() -> Scan:
    """The same structure with harmless text: what the report's own markup looks like."""
    s = _hostile_scan()
    data = json.dumps(s.to_dict())
    for k, h in enumerate(HOSTILE):
        data = data.replace(json.dumps(h)[1:-1], f"benign{k}")
    return Scan.from_dict(json.loads(data))


# -- HTML ----------------------------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[tuple[str, tuple[str, ...]]] = set()
        self.urls: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add((tag, tuple(sorted(name for name, _v in attrs))))
        for name, value in attrs:
            if name in ("href", "src", "action", "formaction") and value:
                self.urls.add(value)


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_html_escapes_everything(lang: str) -> None:
    html = render(_hostile_scan(), "html", lang=lang, now=NOW)
    clean = render(_benign_scan(), "html", lang=lang, now=NOW)
    hostile_tags, clean_tags = _tags(html), _tags(clean)
    # No element or attribute that the report does not produce on its own.
    assert hostile_tags.tags <= clean_tags.tags, hostile_tags.tags - clean_tags.tags
    assert hostile_tags.urls <= clean_tags.urls, hostile_tags.urls - clean_tags.urls
    assert not any(u.lower().startswith("javascript:") for u in hostile_tags.urls)
    assert {u for u in hostile_tags.urls if u.startswith("data:")} <= {"data:,"}  # the favicon
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    for byte in ("\x00", "\x1b", "\x07", "\u202e"):
        assert byte not in html


# -- CSV -----------------------------------------------------------------------------------------


def test_csv_neutralizes_formulas_and_controls() -> None:
    text = render(_hostile_scan(), "csv", lang="en", now=NOW)
    rows = list(csv.reader(io.StringIO(text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert len(rows) > len(HOSTILE)
    for cell in cells:
        assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), cell
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f\u202e]", cell), repr(cell)
    assert "'=cmd|' /C calc'!A0" in cells  # kept readable, prefixed with a quote
    assert "'@SUM(1)" in cells


# -- Markdown ------------------------------------------------------------------------------------


def _md_tokens(text: str) -> tuple[_Tags, set[str], int]:
    """HTML the Markdown carries (its own <details> blocks), its links and its images."""
    md = MarkdownIt("gfm-like")
    html = _Tags()
    links: set[str] = set()
    images = 0

    def walk(tokens: list) -> None:  # type: ignore[type-arg]
        nonlocal images
        for tok in tokens:
            if tok.type in ("html_block", "html_inline"):
                html.feed(tok.content)
            if tok.type == "link_open":
                links.add(str(tok.attrGet("href")))
            if tok.type == "image":
                images += 1
            if tok.children:
                walk(tok.children)

    walk(md.parse(text))
    return html, links, images


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_markdown_has_no_html_links_or_images_from_records(lang: str) -> None:
    text = render(_hostile_scan(), "md", lang=lang, now=NOW)
    clean = render(_benign_scan(), "md", lang=lang, now=NOW)
    html, links, images = _md_tokens(text)
    clean_html, clean_links, clean_images = _md_tokens(clean)
    # Raw HTML only where the report itself writes it (<details>/<summary>), never from records.
    assert html.tags <= clean_html.tags, html.tags - clean_html.tags
    assert html.urls == set()
    assert images == clean_images == 0
    assert links <= clean_links, links - clean_links
    assert not any("evil" in link or link.startswith("javascript") for link in links)
    rendered = MarkdownIt("gfm-like").render(text)
    assert "<script" not in rendered and "<img" not in rendered
    assert "<details open" not in rendered
    # Pipes in records did not add table columns: every table row has its header's width.
    for block in re.findall(r"(?m)(?:^\|.*\|$\n?)+", text):
        widths = {len(re.findall(r"(?<!\\)\|", row)) for row in block.splitlines()}
        assert len(widths) == 1, block[:300]
    for byte in ("\x00", "\x1b", "\x07", "\u202e"):
        assert byte not in text


# -- SARIF and JSON ------------------------------------------------------------------------------


def test_sarif_is_valid_json_with_inert_text() -> None:
    text = render(_hostile_scan(), "sarif", lang="en", now=NOW)
    sarif = json.loads(text)
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    assert len(results) == len(HOSTILE)
    assert "\x1b" not in text and "\x00" not in text  # JSON escapes them


def test_json_evidence_round_trips_exactly(tmp_path: Path) -> None:
    hostile = _hostile_scan()
    text = render(hostile, "json", lang="en", now=NOW)
    assert "\x1b" not in text and "\x00" not in text  # escaped by the JSON encoder
    path = tmp_path / "evidence.json"
    path.write_text(text, encoding="utf-8")
    back = read_evidence(path)
    # Reports sort endpoints by key; the data of each endpoint must come back byte for byte.
    assert back == replace(hostile, endpoints=tuple(sorted(hostile.endpoints, key=lambda e: e.key)))
    h8 = next(e for e in back.endpoints if e.host == "h8.evil.test")
    assert h8.records[0].answers[0] == HOSTILE[8]  # the bytes intact: evidence is not cleaned


# -- the terminal --------------------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "sovaudit", *args], capture_output=True, timeout=60
    )


def test_terminal_commands_never_emit_escape_or_bell(
    tmp_path: Path, nameserver: LoopbackNameserver
) -> None:
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    old.write_text(render(_hostile_scan(), "json", lang="en", now=NOW), encoding="utf-8")
    changed = _hostile_scan("\x1b[31m")
    new.write_text(render(changed, "json", lang="en", now=NOW), encoding="utf-8")
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        "version: 1\norganizations:\n  - id: x\n    name: \"N\\e[2J\\a\"\n"
        "    services: [{host: hostile.faults.test, layer: mail, name: \"S\\e]8;;x\\a\"}]\n",
        encoding="utf-8",
    )
    jobs = {
        "explain": ["explain", str(old), "h8.evil.test"],
        "explain-fr": ["explain", str(old), "h0.evil.test", "--lang", "fr"],
        "diff": ["diff", str(old), str(new)],
        "diff-md": ["diff", str(old), str(new), "--format", "md"],
        "report-md": ["report", str(new), "--format", "md"],
        "lookup": ["lookup", "\x1b[2J.evil.test", "--resolver", nameserver.spec],
        "lookup-host": ["lookup", "hostile.faults.test", "--resolver", nameserver.spec],
        "scan": ["scan", str(inv), "--resolver", nameserver.spec, "--format", "md"],
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_cli, *args) for name, args in jobs.items()}
        runs = {name: f.result() for name, f in futures.items()}
    for name, proc in runs.items():
        assert b"Traceback" not in proc.stderr, (name, proc.stderr[-800:])
        for stream in (proc.stdout, proc.stderr):
            assert b"\x1b" not in stream and b"\x07" not in stream, (name, stream[:400])
    assert runs["explain"].returncode == 0, runs["explain"].stderr
    assert b"alert(1)" in runs["explain"].stdout  # the text is shown, made inert
    assert runs["diff"].returncode == 0, runs["diff"].stderr
    assert runs["scan"].returncode in (0, 1), runs["scan"].stderr
    assert b"endpoints:" in runs["scan"].stderr  # the summary was printed
    assert runs["lookup"].returncode == 2  # not a host name: refused, and echoed inertly
    assert rb"\x1b[2J.evil.test" in runs["lookup"].stderr  # a visible escape
    assert runs["lookup-host"].returncode == 0, runs["lookup-host"].stderr


# -- private and reserved addresses in public DNS ------------------------------------------------


PRIVATE = {
    "ten": ("10.1.2.3", "private-address"),
    "cgnat": ("100.64.0.1", "private-address"),
    "loop4": ("127.0.0.1", "private-address"),
    "doc": ("192.0.2.1", "bogon"),
    "zero": ("0.0.0.0", "bogon"),
    "class-e": ("240.0.0.1", "bogon"),
    "loop6": ("::1", "private-address"),
    "ula": ("fc00::1", "private-address"),
}


def test_private_and_bogon_addresses_are_flagged_never_attributed() -> None:
    lines = ["$TTL 60", "@ IN SOA ns1 h 1 2 3 4 5"]
    for name, (address, _flag) in PRIVATE.items():
        lines.append(f"{name} IN {'AAAA' if ':' in address else 'A'} {address}")
    # A public name whose CNAME target holds a private address: the chain does not launder it.
    lines += ["via-cname IN CNAME ten", "mixed IN A 10.1.2.3", "mixed IN AAAA fc00::1"]
    zone = "\n".join(lines) + "\n"
    services = "".join(
        f"      - {{host: {n}.public.test}}\n" for n in [*PRIVATE, "via-cname", "mixed"]
    )
    inv = parse_inventory(
        "version: 1\norganizations:\n  - id: p\n    data_classes: [health]\n"
        f"    services:\n{services}",
        "inv.yaml",
    )
    with LoopbackNameserver.from_zone_texts({"public.test.": zone}) as ns:
        options = ScanOptions(resolvers=(ResolverAddress(*ns.address),), timeout=1, retries=1)
        result = scan(inv, options, now=NOW)
    by_host = {e.host: e for e in result.endpoints}
    expected = {f"{n}.public.test": [PRIVATE[n]] for n in PRIVATE}
    expected["via-cname.public.test"] = [PRIVATE["ten"]]
    expected["mixed.public.test"] = [PRIVATE["ten"], PRIVATE["ula"]]
    for host, pairs in expected.items():
        e = by_host[host]
        assert e.status is Status.OK, (host, e.reason)
        for address, flag in pairs:
            assert address in e.addresses
            att = next(a for a in e.attributions if a.address == address)
            assert flag in att.flags, (host, att.flags)
            # Never attributed to a provider (nor its parent or jurisdiction).
            assert att.operator is None and att.asn is None, (host, att)
            assert att.ultimate_parent is None and att.jurisdiction is None, (host, att)
            assert att.reason, host
        # And no provider-based finding (CLOUD Act...) is raised from a private address.
        assert not any(f.rule_id.startswith("US-") for f in e.findings), (host, e.findings)


# -- source audit --------------------------------------------------------------------------------


def _sources() -> list[tuple[Path, str]]:
    return [(p, p.read_text(encoding="utf-8")) for p in sorted(PACKAGE.rglob("*.py"))]


def test_no_shell_eval_exec_or_unsafe_yaml_in_the_package() -> None:
    forbidden = {
        r"shell\s*=\s*True": "subprocess with a shell",
        r"\bos\.system\s*\(": "os.system",
        r"\bos\.popen\s*\(": "os.popen",
        r"(?<![\w.])eval\s*\(": "eval",
        r"(?<![\w.])exec\s*\(": "exec",
        r"\byaml\.(?:unsafe_load|full_load|load_all)\s*\(": "unsafe YAML loader",
        r"Loader\s*=\s*yaml\.(?:Loader|FullLoader|UnsafeLoader)": "unsafe YAML loader",
        r"\bpickle\.loads?\s*\(": "pickle",
        r"\bmarshal\.loads?\s*\(": "marshal",
        r"__import__\s*\(": "__import__",
    }
    hits = [
        f"{path.relative_to(PACKAGE.parent)}:{text[: m.start()].count(chr(10)) + 1}: {why}"
        for path, text in _sources()
        for pattern, why in forbidden.items()
        for m in re.finditer(pattern, text)
    ]
    assert hits == []


def test_yaml_is_only_read_with_safe_loaders() -> None:
    import importlib

    import yaml

    safe = (yaml.SafeLoader, *([yaml.CSafeLoader] if hasattr(yaml, "CSafeLoader") else []))
    calls = 0
    for path, text in _sources():
        module = None
        for m in re.finditer(r"\byaml\.(\w+)\s*\(", text):
            if m.group(1) not in ("compose", "parse", "load", "safe_load", "compose_all",
                                  "parse_all", "load_all", "full_load", "unsafe_load", "scan"):
                continue
            calls += 1
            call = text[m.start() : m.start() + 200]
            if m.group(1) == "safe_load":
                continue
            loader = re.search(r"Loader=([\w.]+)", call)
            assert loader is not None, f"{path}: {call[:80]} has no explicit Loader"
            # Resolve the loader in the module's own namespace (no eval): it must be safe.
            name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
            module = module or importlib.import_module(name)
            obj: object = module
            for part in loader.group(1).split("."):
                obj = getattr(obj, part)
            assert isinstance(obj, type) and issubclass(obj, safe), f"{path}: {call[:80]}"
    assert calls >= 3


def test_shipped_rule_regexes_are_bounded() -> None:
    """Every `matches` pattern in the shipped packs passes the bounded-regex check."""
    import yaml

    from sovaudit.evaluate.operators import MAX_REGEX_LENGTH, compile_regex

    patterns: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "matches" and isinstance(value, str):
                    patterns.append(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for pack in sorted((PACKAGE / "rules").glob("*.yaml")):
        walk(yaml.safe_load(pack.read_text(encoding="utf-8")))
    for pattern in patterns:
        assert len(pattern) <= MAX_REGEX_LENGTH
        compile_regex(pattern)  # raises on nested quantifiers and the like
    with pytest.raises(Exception, match="exponential"):
        compile_regex("(a+)+$")


def test_accepted_risk_dates_are_not_evaluated_as_code() -> None:
    # A date-shaped string must stay a string: no YAML timestamp/constructor surprises either.
    inv = parse_inventory(
        "version: 1\norganizations:\n  - id: a\n    domains: [a.test]\n    accepted:\n"
        "      - {rule: R, reason: r, until: 2026-12-31}\n",
        "x.yaml",
    )
    assert inv.accepted[0].until == "2026-12-31"
    assert date.fromisoformat(inv.accepted[0].until) == date(2026, 12, 31)
    assert replace(inv.accepted[0], reason="x").reason == "x"
