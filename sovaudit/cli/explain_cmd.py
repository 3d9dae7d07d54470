"""``sovaudit explain``: the full chain of one endpoint, read from an evidence file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sovaudit.cli.app import app
from sovaudit.cli.common import out_console, safe
from sovaudit.evidence.read import read_evidence
from sovaudit.i18n import LANGS, check_lang, colon
from sovaudit.report.explain import explain as explain_lines


@app.command("explain")
def explain(
    evidence: Annotated[
        Path, typer.Argument(help="Evidence file written by 'sovaudit scan' (JSON).")
    ],
    host: Annotated[str, typer.Argument(help="Host name of the endpoint to explain.")],
    layer: Annotated[
        str | None,
        typer.Option(help="Only this layer: web, mail, dns, reporting, collaboration, saas..."),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option(help="Language of the labels: fr or en (default: the scan's language)."),
    ] = None,
) -> None:
    """Explain one endpoint: DNS answers, addresses, ASN, operator, parent, jurisdiction, rules.

    Every step names its source, so the chain can be read aloud and checked by hand.

    Example: sovaudit explain out/report.json portail.sante.gouv.qc.ca --layer web --lang fr
    """
    scan = read_evidence(evidence)
    language = check_lang(lang) if lang else str(scan.options.get("lang") or "en")
    if language not in LANGS:
        language = "en"
    for line in explain_lines(scan, host, layer, lang=language):
        # Labels are ours, values come from DNS, whois and the inventory: both go through safe().
        text = f"{'  ' * line.depth}[bold]{safe(line.label)}[/]"
        if line.value:
            text += f"{colon(language)}{safe(line.value)}"
        out_console.print(text, soft_wrap=True)
