"""SARIF 2.1.0 report: findings as static-analysis results pointing at the inventory file.

Code-scanning dashboards (GitHub, GitLab, Azure DevOps) then show each finding on the inventory
line that declared the service, with one rule per legal rule id.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath
from typing import Any

from sovaudit.i18n import layer_label, t
from sovaudit.models import Endpoint, Finding, Reference, Scan, Severity
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


def level(severity: Severity) -> str:
    """SARIF level of a severity: critical/high -> error, medium -> warning, low/info -> note."""
    return LEVELS[severity]


def _artifact_uri(file: str) -> str:
    path = Path(file)
    if path.is_absolute():
        return path.as_uri()
    # Relative URIs resolve against the repository root in code-scanning tools.
    return str(PurePosixPath(*path.parts)) if path.parts else file


def _fingerprint(endpoint: Endpoint, finding: Finding) -> str:
    # Stable across runs and languages: identity of the endpoint, the rule and the subject.
    ident = "\x1f".join((*endpoint.key, finding.rule_id, finding.subject or ""))
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
            "artifactLocation": {"uri": _artifact_uri(endpoint.source.file)},
            "region": {"startLine": endpoint.source.line},
        }
    elif inventory_path is not None:
        # Discovered endpoint (no line of its own): point at the inventory file as a whole.
        location["physicalLocation"] = {
            "artifactLocation": {"uri": _artifact_uri(str(inventory_path))}
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


def _result(
    row: FindingRow, rule_index: dict[str, int], lang: str, inventory_path: Path | None
) -> dict[str, Any]:
    e, f = row.endpoint, row.finding
    message = t(
        "sarif_message",
        lang,
        title=f.title,
        host=e.host,
        layer=layer_label(e.layer.value, lang),
        service=e.service,
        organization=e.organization_name or e.organization,
    )
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index[f.rule_id],
        "kind": "fail",
        "level": level(f.severity),
        "message": {"text": visible(message)},
        "locations": [_location(e, inventory_path)],
        "partialFingerprints": {"sovauditFinding/v1": _fingerprint(e, f)},
        "properties": {
            "severity": f.severity.value,
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
    if f.status in BASELINE_STATES:
        result["baselineState"] = BASELINE_STATES[f.status]
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
            "results": [_result(row, rule_index, view.lang, inventory_path)
                        for row in view.findings],
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
