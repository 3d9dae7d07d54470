"""The English sentences the collectors store in the evidence, in the report's language.

The evidence file keeps English (it is the contract, and an analyst greps it); reports rebuild
each sentence in French from its template, with the values read back out of the English text.
A sentence that matches no template exactly is left as it is (never half translated), and the
test ``tests/test_report_french.py`` fails when the French demo report holds one.

Attribution reasons have their own templates (``attribute.engine.UNKNOWN_REASONS``); this module
covers endpoint reasons, evidence step values and attribution flags.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sovaudit.attribute.engine import UNKNOWN_REASONS, reason_text, translate_reason
from sovaudit.i18n import NNBSP, french_typography, role_label, status_label
from sovaudit.models import Endpoint, EvidenceStep, Scan

# English template -> French template; ``{name}`` fields are carried over as they are, except
# those named in _LOCALIZED, which are translated again (nested sentences).
ENDPOINT_REASONS: dict[str, str] = {
    "name does not exist (NXDOMAIN)": "le nom n'existe pas (NXDOMAIN)",
    "domain does not exist (NXDOMAIN)": "le domaine n'existe pas (NXDOMAIN)",
    "no A or AAAA record": "aucun enregistrement A ni AAAA",
    "no MX record": "aucun enregistrement MX",
    "no NS record (not a zone apex)": "aucun enregistrement NS (pas un sommet de zone)",
    "{what}, but the inventory lists this service":
        "{what}, alors que l'inventaire déclare ce service",
    "null MX (RFC 7505): the domain accepts no mail":
        "MX nul (RFC 7505) : le domaine n'accepte aucun courriel",
    "reserved top-level domain .{tld} (RFC 6761): no registry":
        "domaine de premier niveau réservé .{tld} (RFC 6761) : aucun registre",
    "report destination has no MX and no address":
        "la destination des rapports n'a ni MX ni adresse",
    # sovaudit.collect.dns.Answer.describe(), joined by "; " when several lookups failed.
    "{qtype} {qname}: {rcode} (resolver {resolver})":
        "{qtype} {qname} : {rcode} (résolveur {resolver})",
    "{qtype} {qname}: {rcode}: {error} (resolver {resolver})":
        "{qtype} {qname} : {rcode} : {error} (résolveur {resolver})",
}

STEP_VALUES: dict[str, str] = {
    # Mail signals (attribute.engine): "mx host (weight 0.5)".
    "{kind} {subject} (weight {weight})": "{kind} {subject} (poids {weight})",
}

# Flags of an attribution: what each code means, for a reader.
FLAG_LABELS: dict[str, dict[str, str]] = {
    "gateway": {"en": "gateway (reads the traffic in clear)",
                "fr": "passerelle (lit le trafic en clair)"},
    "unverified": {"en": "unverified ownership", "fr": "propriété non vérifiée"},
    "weak": {"en": "weak evidence", "fr": "indice faible"},
    "country-only": {"en": "country only", "fr": "pays seulement"},
    "as-name-match": {"en": "matched by AS name", "fr": "reconnu par le nom de l'AS"},
    "asn-not-in-registry": {"en": "AS not in the registry", "fr": "AS absent du registre"},
    "no-pattern": {"en": "no name pattern", "fr": "aucun motif de nom"},
    "no-asn": {"en": "no AS", "fr": "aucun AS"},
    "unresolved": {"en": "unresolved", "fr": "non résolu"},
    "dangling-ns": {"en": "dangling name server", "fr": "serveur de noms orphelin"},
    "private-address": {"en": "private address", "fr": "adresse privée"},
    "bogon": {"en": "bogon address", "fr": "adresse non routable"},
    "reserved-asn": {"en": "reserved AS", "fr": "AS réservé"},
    "conflict": {"en": "conflicting sources", "fr": "sources en conflit"},
    "multi-origin": {"en": "several origin AS", "fr": "plusieurs AS d'origine"},
    "rdap-match": {"en": "matched by RDAP", "fr": "reconnu par RDAP"},
    "spf-unknown": {"en": "unknown SPF include", "fr": "inclusion SPF inconnue"},
    "tls-unverified": {"en": "unverified TLS certificate",
                       "fr": "certificat TLS non vérifié"},
    "http-header": {"en": "seen in an HTTP header", "fr": "vu dans un en-tête HTTP"},
    "ca-table": {"en": "from the CA table", "fr": "d'après la table des AC"},
    "idp-not-in-registry": {"en": "identity provider not in the registry",
                            "fr": "fournisseur d'identité absent du registre"},
    "invalid": {"en": "invalid", "fr": "invalide"},
}
# Flags with a value: "chain:CA" (a company of the ownership chain is in Canada).
FLAG_PREFIXES: dict[str, dict[str, str]] = {
    "chain": {"en": "ownership chain through {v}", "fr": "chaîne de propriété par {v}"},
    "backend": {"en": "back end in {v}", "fr": "infrastructure en {v}"},
}

_LOCALIZED = frozenset({"what"})


def flag_label(flag: str, lang: str) -> str:
    """What an attribution flag means, in ``lang``; an unknown flag is returned as is."""
    entry = FLAG_LABELS.get(flag)
    if entry is not None:
        return entry[lang]
    prefix, sep, value = flag.partition(":")
    if sep and prefix in FLAG_PREFIXES:
        return FLAG_PREFIXES[prefix][lang].format(v=value)
    return flag


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    return re.compile("".join(
        re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts)
    ), re.DOTALL)


_REASONS = [(_compile(en), fr) for en, fr in ENDPOINT_REASONS.items()]
_STEPS = [(_compile(en), fr) for en, fr in STEP_VALUES.items()]
# "subject (role): status: reason": an attribution summarized in a rule's evidence.
_ATTRIBUTION = re.compile(r"(?P<subject>\S+) \((?P<role>[a-z-]+)\): (?P<status>ok|unknown|"
                          r"skipped): (?P<reason>.+)", re.DOTALL)
_ENDPOINT = re.compile(r"(?P<host>\S+): (?P<status>ok|unknown|skipped): (?P<reason>.+)",
                       re.DOTALL)


def _fr(text: str) -> str:
    # Our French templates are written with plain spaces; typography is applied here.
    return text.replace(" : ", f"{NNBSP}: ")


def _one_reason(text: str) -> str | None:
    for pattern, fr in _REASONS:
        m = pattern.fullmatch(text)
        if m is not None:
            fields = {
                k: (endpoint_reason(v, "fr") if k in _LOCALIZED else v)
                for k, v in m.groupdict().items()
            }
            return _fr(fr.format(**fields))
    return None


def endpoint_reason(text: str, lang: str) -> str:
    """An endpoint's stored reason in ``lang``; several failed lookups joined by "; " are
    translated one by one. Unchanged when any part matches no template."""
    if lang == "en" or not text:
        return text
    if "; " not in text:
        return _one_reason(text) or text
    parts = [_one_reason(p) for p in text.split("; ")]
    if all(p is not None for p in parts):
        return f"{NNBSP}; ".join(p for p in parts if p is not None)
    return text


_UNRESOLVED = "endpoint not resolved: "


def attribution_reason(text: str, lang: str, flags: tuple[str, ...] = ()) -> str:
    """An attribution reason in ``lang`` (every reason template is tried after those its flags
    name); the endpoint reason inside "endpoint not resolved: ..." is translated too."""
    if lang == "en" or not text:
        return text
    if text.startswith(_UNRESOLVED):
        inner = endpoint_reason(text[len(_UNRESOLVED):], lang)
        return french_typography(reason_text("unresolved", lang, reason="{reason}")).format(
            reason=inner)
    out = translate_reason(text, (*flags, *UNKNOWN_REASONS), lang)
    return french_typography(out) if out != text else text


def step_value(step: EvidenceStep, lang: str) -> str:
    """The value of an evidence step in ``lang`` (names, addresses and codes stay as they are)."""
    value = step.value
    if lang == "en":
        return value
    for pattern, fr in _STEPS:
        m = pattern.fullmatch(value)
        if m is not None:
            fields = m.groupdict()
            if "weight" in fields:
                fields["weight"] = fields["weight"].replace(".", ",")
            return fr.format(**fields)
    m = _ATTRIBUTION.fullmatch(value)
    if m is not None:
        return _fr(f"{m['subject']} ({role_label(m['role'], lang)}) : "
                   f"{status_label(m['status'], lang)} : {attribution_reason(m['reason'], lang)}")
    m = _ENDPOINT.fullmatch(value)
    if m is not None:
        return _fr(f"{m['host']} : {status_label(m['status'], lang)} : "
                   f"{endpoint_reason(m['reason'], lang)}")
    return value


def _steps(steps: tuple[EvidenceStep, ...], lang: str) -> tuple[EvidenceStep, ...]:
    out = tuple(replace(s, value=step_value(s, lang)) for s in steps)
    return steps if all(a.value == b.value for a, b in zip(out, steps, strict=True)) else out


def localize_endpoint(e: Endpoint, lang: str) -> Endpoint:
    """The endpoint with its reason and evidence step values in ``lang``."""
    if lang == "en":
        return e
    return replace(
        e,
        reason=endpoint_reason(e.reason, lang) if e.reason else e.reason,
        attributions=tuple(
            replace(a, evidence=_steps(a.evidence, lang),
                    reason=attribution_reason(a.reason, lang, a.flags) if a.reason else a.reason)
            for a in e.attributions
        ),
        findings=tuple(replace(f, evidence=_steps(f.evidence, lang)) for f in e.findings),
    )


def localize_phrases(scan: Scan, lang: str) -> Scan:
    """The scan with every stored English sentence we know in ``lang`` (see module doc)."""
    if lang == "en":
        return scan
    return replace(scan, endpoints=tuple(localize_endpoint(e, lang) for e in scan.endpoints))
