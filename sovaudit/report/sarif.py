"""SARIF 2.1.0 report: exposures as static-analysis results pointing at the inventory file.

Code-scanning dashboards (GitHub, GitLab, Azure DevOps) then show each exposure on the inventory
line that declared the service. One result per exposure (an endpoint and the party that controls
it), not per rule: the legal bases (rule ids) are listed in its message and properties, and the
result's rule is the most severe of them, so a dashboard is not flooded with one alert per law.

Locations are relative to the repository root (``uriBaseId: %SRCROOT%``): the root is the
nearest parent of the inventory holding ``.git``, else the inventory's own directory; no URI
has a ``..`` or an absolute path. ``partialFingerprints`` hash the organization, host, layer
and controlling party (never the language, the rules or the line), so code scanning tracks one
exposure across runs, and closes it when the endpoint moves to another party.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from sovaudit.i18n import layer_label, t
from sovaudit.models import Attribution, Endpoint, Finding, Reference, Scan, Severity
from sovaudit.report.escape import safe_url, visible
from sovaudit.report.summary import FindingRow, ReportView, endpoint_jurisdictions

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub code scanning ranks security results by this CVSS-like score (string, 0.0-10.0).
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
BASELINE_STATES = {"new": "new", "unchanged": "unchanged", "resolved": "absent"}
# The base of every artifact URI: the root of the repository that holds the inventory.
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "sovauditExposure/v1"


def level(severity: Severity) -> str:
    """SARIF level of a severity: critical/high -> error, medium -> warning, low/info -> note."""
    return LEVELS[severity]


def source_root(path: Path) -> Path:
    """The repository root above ``path`` (a parent holding ``.git``), else its directory."""
    directory = path.parent
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory


def _artifact_location(file: str) -> dict[str, str]:
    """``{"uri": ..., "uriBaseId": "%SRCROOT%"}``: relative to the repository root, no ``..``."""
    path = Path(file)
    if path.is_absolute() or ".." in path.parts or path.exists():
        absolute = Path(os.path.abspath(path))  # ".." folded without following links
        relative = absolute.relative_to(source_root(absolute))
    else:
        # A relative path that does not exist here (evidence rendered elsewhere): as written.
        relative = path
    return {"uri": str(PurePosixPath(*relative.parts)) or file, "uriBaseId": SRCROOT}


def party(row: FindingRow) -> tuple[str, str]:
    """(controlling party, jurisdiction) of a finding: the ultimate parent (else the operator)
    of the attribution it is about; the finding's subject when no attribution says."""
    at: Attribution | None = row.attribution
    if at is not None and (at.ultimate_parent or at.operator_name or at.operator):
        return at.ultimate_parent or at.operator_name or at.operator or "", at.jurisdiction or ""
    return "", ""  # unattributed: the exposure is the endpoint's unknown operator


def _fingerprint(endpoint: Endpoint, controller: str, jurisdiction: str) -> str:
    # Stable across runs, languages, rule packs and line moves: the exposure's identity only.
    ident = "\x1f".join(
        (endpoint.organization, endpoint.host, endpoint.layer.value, controller, jurisdiction)
    )
    return hashlib.sha256(ident.encode("utf-8")).hexdigest()


def _references(refs: tuple[Reference, ...]) -> list[dict[str, Any]]:
    return [{"title": r.title, "url": safe_url(r.url)} for r in refs]


def _help_text(finding: Finding, lang: str) -> str:
    lines = [finding.rationale]
    if finding.references:
        lines += ["", f"{t('references', lang)}:"]
        for r in finding.references:
            url = safe_url(r.url)
            lines.append(f"- {r.title}" + (f" <{url}>" if url else ""))
    # Keep our own line breaks, make every other control character visible.
    return "\n".join(visible(line) for line in lines)


def _rules(view: ReportView) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """One reportingDescriptor per rule id, described by its first (most severe) finding."""
    first: dict[str, Finding] = {}
    for row in view.findings:
        first.setdefault(row.finding.rule_id, row.finding)
    rules = []
    index = {}
    for i, rule_id in enumerate(sorted(first)):
        f = first[rule_id]
        index[rule_id] = i
        descriptor: dict[str, Any] = {
            "id": rule_id,
            "shortDescription": {"text": visible(f.title)},
            "fullDescription": {"text": visible(f.rationale)},
            "help": {"text": _help_text(f, view.lang)},
            "defaultConfiguration": {"level": level(f.severity)},
            "properties": {
                "tags": ["sovereignty", "compliance"],
                "references": _references(f.references),
                "security-severity": SECURITY_SEVERITY[f.severity],
            },
        }
        url = next((u for u in (safe_url(r.url) for r in f.references) if u), None)
        if url:
            descriptor["helpUri"] = url
        rules.append(descriptor)
    return rules, index


def _location(endpoint: Endpoint, inventory_path: Path | None) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if endpoint.source is not None:
        location["physicalLocation"] = {
            "artifactLocation": _artifact_location(endpoint.source.file),
            "region": {"startLine": endpoint.source.line},
        }
    elif inventory_path is not None:
        # Discovered endpoint (no line of its own): point at the inventory file as a whole.
        location["physicalLocation"] = {
            "artifactLocation": _artifact_location(str(inventory_path))
        }
    org, service, host = endpoint.organization, endpoint.service, endpoint.host
    location["logicalLocations"] = [
        {"name": org, "fullyQualifiedName": org, "kind": "namespace"},
        {"name": service, "fullyQualifiedName": f"{org}/{service}", "kind": "module"},
        {
            "name": host,
            "fullyQualifiedName": f"{org}/{service}/{host}/{endpoint.layer.value}",
            "kind": "resource",
        },
    ]
    return location


def exposures(rows: Sequence[FindingRow]) -> list[list[FindingRow]]:
    """Findings grouped by exposure: endpoint and controlling party.

    Groups keep report order (most severe first); in each, the findings not accepted come
    first, so the first row of a group is its most severe live finding (if it has one).
    """
    groups: dict[tuple[object, ...], list[FindingRow]] = {}
    for row in rows:
        key = (row.endpoint.key, *party(row))
        groups.setdefault(key, []).append(row)
    return [sorted(g, key=lambda r: r.finding.accepted) for g in groups.values()]


def _result(
    group: list[FindingRow], rule_index: dict[str, int], lang: str, inventory_path: Path | None
) -> dict[str, Any]:
    e, f = group[0].endpoint, group[0].finding
    controller, jurisdiction = party(group[0])
    rule_ids = list(dict.fromkeys(r.finding.rule_id for r in group))
    accepted = [r.finding.rule_id for r in group if r.finding.accepted]
    message = t(
        "sarif_message",
        lang,
        title=f.title,
        host=e.host,
        layer=layer_label(e.layer.value, lang),
        service=e.service,
        organization=e.organization_name or e.organization,
    )
    if controller:
        message += f" -> {controller}" + (f" ({jurisdiction})" if jurisdiction else "")
    message += ". " + t("sarif_bases", lang, rules=", ".join(rule_ids))
    if accepted and not f.accepted:
        message += " " + t("sarif_bases_accepted", lang, rules=", ".join(accepted))
    statuses = {r.finding.status for r in group}
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index[f.rule_id],
        "kind": "fail",
        "level": level(f.severity),
        "message": {"text": visible(message)},
        "locations": [_location(e, inventory_path)],
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(e, controller, jurisdiction)},
        "properties": {
            "severity": f.severity.value,
            "rules": rule_ids,
            "acceptedRules": accepted,
            "controller": controller,
            "jurisdiction": jurisdiction,
            "organization": e.organization,
            "service": e.service,
            "host": e.host,
            "layer": e.layer.value,
            "dataClasses": [c.value for c in e.data_classes],
            "jurisdictions": list(endpoint_jurisdictions(e)),
            "subject": f.subject,
            "evidence": [{"step": s.step, "value": s.value, "source": s.source}
                         for s in f.evidence],
        },
    }
    # New when any of its findings is new; unchanged when all were there before.
    for status in ("new", "unchanged"):
        if status in statuses:
            result["baselineState"] = BASELINE_STATES[status]
            break
    if f.accepted:
        result["suppressions"] = [{
            "kind": "external",
            "status": "accepted",
            "justification": visible(f.accepted_reason or t("sarif_accepted", lang)),
        }]
    return result


def render_sarif(view: ReportView, *, inventory_path: Path | None = None) -> str:
    """The SARIF 2.1.0 log of a prepared view, as indented JSON ending with a newline."""
    scan = view.scan
    rules, rule_index = _rules(view)
    log: dict[str, Any] = {
        "$schema": SARIF_SCHEMA_URI,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {"driver": {
                "name": "sovaudit",
                "version": scan.tool_version,
                "language": view.lang,
                "rules": rules,
            }},
            "invocations": [{
                "executionSuccessful": True,
                "endTimeUtc": scan.generated_at,
                "properties": {"partial": scan.partial, "resolvers": list(scan.resolvers)},
            }],
            "language": view.lang,
            "columnKind": "unicodeCodePoints",
            "results": [_result(group, rule_index, view.lang, inventory_path)
                        for group in exposures(view.findings)],
            "properties": {
                **_audit_settings(scan),
                "inventory": scan.inventory,
                "datasets": [
                    {"name": d.name, "version": d.version, "date": d.date,
                     "source": d.source, "licence": d.licence}
                    for d in scan.datasets
                ],
            },
        }],
    }
    if view.untranslated_rules:
        # Rules whose texts stayed in the scan's language (their pack is missing at report time).
        log["runs"][0]["properties"]["untranslatedRules"] = {
            "language": view.scan_lang, "rules": list(view.untranslated_rules),
        }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _audit_settings(scan: Scan) -> dict[str, Any]:
    """Run properties for settings that change the audit (skipped rules, packs, profile)."""
    from sovaudit.report.auditsettings import audit_settings

    changed = audit_settings(scan)
    return {"auditSettings": changed} if changed else {}
