"""DNS names as sovaudit compares them, and the name globs of its data files.

Shared by collection (web signals, HTML references) and attribution (the provider registry):
it sits in ``collect`` because names come from there, and attribution may import downwards.

Name patterns are globs over lower-case DNS names without the trailing dot:

- a leading ``*.`` matches one or more labels (``*.cloudfront.net`` matches ``d1.cloudfront.net``
  and ``a.b.cloudfront.net`` but not ``cloudfront.net``);
- any other ``*`` matches characters inside one label only (``ns-*.awsdns-*`` matches
  ``ns-12.awsdns-01.org`` but never ``ns-1.awsdns-1.org.attacker.example``), so a name under
  somebody else's domain can never borrow a provider's identity;
- a pattern without ``*`` matches that exact name.
"""

from __future__ import annotations

import re


def compile_glob(glob: str) -> re.Pattern[str]:
    """Compile a name glob (see the module docstring) to an anchored regex."""
    body = glob
    prefix = ""
    if body.startswith("*."):
        # One or more whole labels.
        prefix = r"(?:[a-z0-9_-][a-z0-9_-]*\.)+"
        body = body[2:]
    parts = [re.escape(p) for p in body.split("*")]
    return re.compile("^" + prefix + r"[a-z0-9_-]*".join(parts) + "$")


def normalize_name(name: str) -> str:
    """Lower-case a DNS name and drop its trailing dot (IDN labels are matched as A-labels)."""
    name = name.strip().rstrip(".").lower()
    if name and not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return name
    return name
