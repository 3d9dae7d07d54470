"""Inventory loading: valid files expand to targets; bad files give FILE:LINE and exit 2."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sovaudit.errors import InventoryError
from sovaudit.inventory import (
    MAX_INVENTORY_BYTES,
    _first_lines,
    _read_capped,
    load_inventory,
    normalize_host,
    parse_inventory,
)
from sovaudit.models import DataClass, Layer

GOOD = """\
version: 1
organizations:
  - id: ramq
    name: Régie de l'assurance maladie du Québec
    data_classes: [health, personal]
    domains: [ramq.gouv.qc.ca]
    services:
      - name: Portail
        host: portail.ramq.gouv.qc.ca
        layer: web
        data_classes: [health]
    accepted:
      - {rule: US-CLOUD-ACT-MAIL, host: ramq.gouv.qc.ca, reason: planned,
         until: 2027-01-01}
  - id: idn
    name: IDN body
    domains: [québec.test]
"""


def test_good_inventory_expands_domains_and_services() -> None:
    inv = parse_inventory(GOOD, "inv.yaml")
    targets = inv.targets()
    ramq = [(t.host, t.layer, t.service) for t in targets if t.organization == "ramq"]
    assert ramq == [
        ("portail.ramq.gouv.qc.ca", Layer.WEB, "Portail"),
        ("ramq.gouv.qc.ca", Layer.WEB, "ramq.gouv.qc.ca"),
        ("www.ramq.gouv.qc.ca", Layer.WEB, "ramq.gouv.qc.ca"),
        ("ramq.gouv.qc.ca", Layer.MAIL, "ramq.gouv.qc.ca"),
        ("ramq.gouv.qc.ca", Layer.DNS, "ramq.gouv.qc.ca"),
    ]
    portail = targets[0]
    assert portail.data_classes == (DataClass.HEALTH,)
    assert portail.source is not None and portail.source.line == 8
    assert targets[1].data_classes == (DataClass.HEALTH, DataClass.PERSONAL)
    assert targets[1].source is not None and targets[1].source.line == 6
    assert [t.host for t in targets if t.organization == "idn"][0] == "xn--qubec-csa.test"
    (risk,) = inv.accepted
    assert (risk.rule, risk.organization, risk.until) == ("US-CLOUD-ACT-MAIL", "ramq", "2027-01-01")


def test_plain_text_inventory() -> None:
    inv = parse_inventory("# a comment\nexample.test\n\nWWW.Other.test  # trailing\n", "l.txt")
    hosts = sorted({t.host for t in inv.targets()})
    # A www. name is a web host; anything else is a domain and expands.
    assert hosts == ["example.test", "www.example.test", "www.other.test"]


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("version: 1\norganizations:\n  - id: a\n    domains: [a.test]\n    colour: red\n",
         5, "unknown key 'colour'"),
        ("version: 1\norganizations:\n  - id: a\n    data_classes: [secret]\n"
         "    domains: [a.test]\n", 4, "unknown data class 'secret'"),
        ("version: 1\norganizations:\n  - id: a\n    domains: [a.test]\n  - id: a\n"
         "    domains: [b.test]\n", 5, "duplicate organization id 'a'"),
        ("version: 1\norganizations:\n  - id: a\n    domains: ['bad..name']\n", 4,
         "invalid host name"),
        ("version: 1\norganizations:\n  - id: a\n    domains: [-bad.test]\n", 4, "bad label"),
        ("version: 1\norganizations:\n  - id: a\n    domains: [1.2.3.4]\n", 4, "IP address"),
        ("version: 2\norganizations: []\n", 1, "unsupported version"),
        ("version: 1\norganizations:\n  - id: a\n    domains: [a.test\n", 5, "invalid YAML"),
        ("version: 1\norganizations:\n  - id: A B\n    domains: [a.test]\n", 3,
         "invalid organization id"),
        ("version: 1\norganizations:\n  - id: a\n    services:\n      - host: x.test\n"
         "        layer: mail2\n", 6, "unknown layer"),
        ("version: 1\norganizations:\n  - id: a\n", 3, "no domains and no services"),
        ("version: 1\norganizations:\n  - id: a\n    domains: [a.test]\n    accepted:\n"
         "      - {rule: X, reason: y, until: tomorrow}\n", 6, "'until' must be a date"),
        ("version: 1\nx: &a [1]\norganizations:\n  - id: a\n    domains: *a\n", 2,
         "aliases are not allowed"),
        ("version: 1\norganizations:\n  - &o {id: a, domains: [a.test]}\n  - *o\n", 3,
         "aliases are not allowed"),
        ("version: 1\norganizations:\n  - id: !!python/object:os.system a\n"
         "    domains: [a.test]\n", 3, "tag"),
        ("- just\n- a list\n", 1, "must be a mapping"),
        ("version: 1\nprofile: mars\norganizations:\n  - id: a\n    domains: [a.test]\n", 2,
         "unknown profile 'mars'"),
    ],
)
def test_bad_inventories_name_file_and_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, "bad.yaml")
    err = info.value
    assert err.path == "bad.yaml"
    assert err.line == line, str(err)
    assert needle in err.message
    assert str(err).startswith(f"bad.yaml:{line}: ")


def test_deep_nesting_is_refused() -> None:
    text = "version: 1\norganizations:\n  - id: a\n    domains: [a.test]\n    notes: " + (
        "[" * 50 + "]" * 50
    ) + "\n"
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, "deep.yaml")
    assert "nested deeper" in info.value.message


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match="no such file"):
        load_inventory(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\x00\x01\x02")
    with pytest.raises(InventoryError, match="binary data"):
        load_inventory(binary)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"version: 1\n# r\xe9gie\n")
    with pytest.raises(InventoryError) as info:
        load_inventory(latin)
    assert info.value.line == 2


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Example.TEST.", "example.test"),
        ("québec.test", "xn--qubec-csa.test"),
        ("_dmarc.example.test", "_dmarc.example.test"),
        ("xn--qubec-csa.test", "xn--qubec-csa.test"),
    ],
)
def test_normalize_host(raw: str, expected: str) -> None:
    assert normalize_host(raw) == expected


@pytest.mark.parametrize("raw", ["", "localhost", "a" * 64 + ".test", "a b.test", "ex!.test"])
def test_normalize_host_rejects(raw: str) -> None:
    with pytest.raises(ValueError):
        normalize_host(raw)


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        # '$' in a pattern also matches before a final newline: these went through before.
        ('version: 1\norganizations:\n  - id: a\n    domains: ["x\\n.test"]\n', 4,
         "bad label 'x\\n'"),
        ("version: 1\norganizations:\n  - id: a\n    domains: [a.test]\n    accepted:\n"
         '      - {rule: R, reason: r, until: "2027-01-01\\n"}\n', 6, "'until' must be a date"),
    ],
)
def test_a_newline_inside_a_value_is_refused(text: str, line: int, needle: str) -> None:
    with pytest.raises(InventoryError) as info:
        parse_inventory(text, "nl.yaml")
    assert info.value.line == line
    assert needle in info.value.message


def test_target_count_matches_targets_with_duplicates() -> None:
    # A service that repeats a domain's own endpoint is one target, not two.
    inv = parse_inventory(
        "version: 1\norganizations:\n  - id: a\n    domains: [a.test, b.test]\n"
        "    services:\n      - host: a.test\n      - host: www.b.test\n"
        "      - {host: a.test, layer: mail}\n  - id: b\n    domains: [a.test]\n",
        "dup.yaml",
    )
    targets = inv.targets()
    assert len(targets) == inv.target_count() == 12
    assert len({(t.organization, t.host, t.layer) for t in targets}) == 12
    # The service keeps its own line and origin; the expansion does not add it again.
    first = [t for t in targets if (t.organization, t.host, t.layer) == ("a", "a.test", Layer.WEB)]
    assert [(t.origin, t.source.line if t.source else 0) for t in first] == [("service", 6)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="ab #:-", max_size=3000),
            st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]),
        ),
        max_size=12,
    ),
    st.text(alphabet="ab\r\n", max_size=5),
)
def test_first_lines_are_the_lines_of_splitlines(parts: list[tuple[str, str]], tail: str) -> None:
    # The plain-list sniffing reads lines lazily; it must cut them exactly as splitlines does,
    # including a CRLF that straddles one of its 4096-character prefixes.
    text = "".join(a + b for a, b in parts) + tail
    assert list(_first_lines(text)) == text.splitlines()
    crlf = "x" * 4095 + "\r\n" + "y"
    assert list(_first_lines(crlf)) == ["x" * 4095, "y"]


def _pipe_with(data: bytes) -> BinaryIO:
    """The read end of a real pipe that a thread fills with ``data`` and closes."""
    read_fd, write_fd = os.pipe()

    def write() -> None:
        with os.fdopen(write_fd, "wb") as out:
            with contextlib.suppress(BrokenPipeError):  # the reader stops at the cap
                out.write(data)

    threading.Thread(target=write, daemon=True).start()
    return os.fdopen(read_fd, "rb")


@pytest.mark.parametrize("size", [0, 5, MAX_INVENTORY_BYTES, MAX_INVENTORY_BYTES + 1,
                                  MAX_INVENTORY_BYTES + 3 * 1024 * 1024])
def test_read_capped_reads_a_file_or_a_pipe_up_to_one_byte_past_the_cap(
    tmp_path: Path, size: int
) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    expected = data[: MAX_INVENTORY_BYTES + 1]
    path = tmp_path / "inv.yaml"
    path.write_bytes(data)
    with path.open("rb") as fh:
        assert _read_capped(fh) == expected
    with _pipe_with(data) as fh:
        assert _read_capped(fh) == expected


def test_a_file_over_the_cap_is_refused_with_the_line_where_it_crosses(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"version: 1\n" + b"#" * MAX_INVENTORY_BYTES)
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    assert "larger than 10 MiB" in info.value.message
    assert info.value.line == 2
