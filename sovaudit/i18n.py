"""Report strings in French and English, and the choice of language from the environment.

Every user-facing string of a report lives here, once per language, so a missing translation is
caught by one test (every key has both languages) instead of by a reader.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from sovaudit.errors import LanguageError

LANGS = ("fr", "en")
DEFAULT_LANG = "en"

# key -> {lang: text}; texts may hold str.format fields.
STRINGS: dict[str, dict[str, str]] = {
    "title": {
        "en": "Data sovereignty report",
        "fr": "Rapport de souveraineté des données",
    },
    "legal_notice_title": {"en": "Legal notice", "fr": "Avis juridique"},
    "legal_notice": {
        "en": (
            "This report is an exposure analysis, not legal advice. It says which companies "
            "operate the infrastructure behind each name and which laws reach those companies, "
            "from public DNS data and the datasets listed in this report; it does not assess "
            "contracts, encryption or the data actually stored. Consult counsel before acting "
            "on it."
        ),
        "fr": (
            "Ce rapport est une analyse d'exposition, pas un avis juridique. Il indique quelles "
            "entreprises exploitent l'infrastructure derrière chaque nom et quelles lois "
            "s'appliquent à ces entreprises, à partir des données DNS publiques et des jeux de "
            "données indiqués dans ce rapport; il n'évalue ni les contrats, ni le chiffrement, "
            "ni les données réellement stockées. Consultez un juriste avant d'agir sur cette "
            "base."
        ),
    },
    "partial_warning": {
        "en": "Partial results: some lookups failed; see the endpoints marked unknown.",
        "fr": (
            "Résultats partiels : certaines résolutions ont échoué; voir les points d'accès "
            "marqués inconnus."
        ),
    },
    "internal_errors_warning": {
        "en": (
            "Incomplete results: {count} endpoint(s) met an internal error of sovaudit (a bug, "
            "not a network failure); their answers are missing or unknown. Please report it."
        ),
        "fr": (
            "Résultats incomplets : {count} point(s) d'accès ont rencontré une erreur interne "
            "de sovaudit (un défaut du logiciel, pas une panne du réseau) ; leurs réponses "
            "manquent ou sont inconnues. Merci de la signaler."
        ),
    },
    "summary": {"en": "Summary", "fr": "Synthèse"},
    "key_figures": {"en": "Key figures", "fr": "Chiffres clés"},
    "scan_info": {"en": "About this scan", "fr": "À propos de cette analyse"},
    "scan_date": {"en": "Scan date", "fr": "Date de l'analyse"},
    "report_date": {"en": "Report rendered", "fr": "Rapport produit le"},
    "tool": {"en": "Tool", "fr": "Outil"},
    "inventory": {"en": "Inventory", "fr": "Inventaire"},
    "resolvers": {"en": "Resolvers", "fr": "Résolveurs"},
    "none": {"en": "none", "fr": "aucun"},
    "datasets": {"en": "Datasets", "fr": "Jeux de données"},
    "dataset_name": {"en": "Name", "fr": "Nom"},
    "dataset_version": {"en": "Version", "fr": "Version"},
    "dataset_date": {"en": "Date", "fr": "Date"},
    "dataset_source": {"en": "Source", "fr": "Source"},
    "dataset_licence": {"en": "Licence", "fr": "Licence"},
    "by_severity": {"en": "Findings by severity", "fr": "Constats par gravité"},
    "by_jurisdiction": {
        "en": "Endpoints by controlling jurisdiction",
        "fr": "Points d'accès par juridiction de contrôle",
    },
    "by_data_class": {
        "en": "US control by data class (services)",
        "fr": "Contrôle américain par catégorie de données (services)",
    },
    "by_organization": {
        "en": "Foreign control by organization (endpoints)",
        "fr": "Contrôle étranger par organisme (points d'accès)",
    },
    "severity": {"en": "Severity", "fr": "Gravité"},
    "count": {"en": "Count", "fr": "Nombre"},
    "accepted_count": {"en": "Accepted", "fr": "Acceptés"},
    "total": {"en": "Total", "fr": "Total"},
    "jurisdiction": {"en": "Jurisdiction", "fr": "Juridiction"},
    "endpoints": {"en": "Endpoints", "fr": "Points d'accès"},
    "data_class": {"en": "Data class", "fr": "Catégorie de données"},
    "services": {"en": "Services", "fr": "Services"},
    "us_controlled": {"en": "Under US control", "fr": "Sous contrôle américain"},
    "foreign_controlled": {"en": "Under foreign control", "fr": "Sous contrôle étranger"},
    "organization": {"en": "Organization", "fr": "Organisme"},
    "service": {"en": "Service", "fr": "Service"},
    "host": {"en": "Host", "fr": "Hôte"},
    "layer": {"en": "Layer", "fr": "Couche"},
    "operator": {"en": "Operator", "fr": "Exploitant"},
    "parent": {"en": "Ultimate parent", "fr": "Société mère ultime"},
    "rule": {"en": "Rule", "fr": "Règle"},
    "status": {"en": "Status", "fr": "État"},
    "subject": {"en": "Subject", "fr": "Objet"},
    "reason": {"en": "Reason", "fr": "Motif"},
    "source": {"en": "Source", "fr": "Source"},
    "findings": {"en": "Findings", "fr": "Constats"},
    "no_findings": {"en": "No findings.", "fr": "Aucun constat."},
    "findings_table": {"en": "All findings", "fr": "Tous les constats"},
    "filter": {"en": "Filter", "fr": "Filtrer"},
    "accepted": {"en": "accepted risk", "fr": "risque accepté"},
    "accepted_col": {"en": "Accepted", "fr": "Accepté"},
    "yes": {"en": "yes", "fr": "oui"},
    "no": {"en": "no", "fr": "non"},
    "references": {"en": "References", "fr": "Références"},
    "evidence": {"en": "Evidence", "fr": "Preuves"},
    "evidence_for": {"en": "Evidence for {host}", "fr": "Preuves pour {host}"},
    "evidence_chain": {"en": "Evidence chains", "fr": "Chaînes de preuve"},
    "endpoint_list": {"en": "Endpoints", "fr": "Points d'accès"},
    "records": {"en": "DNS records", "fr": "Enregistrements DNS"},
    # Web probe (--probe web): the compact summary under an endpoint's evidence.
    "web_probe": {"en": "Web probe", "fr": "Sonde web"},
    "web_cdn": {
        "en": "CDN / host (response headers)",
        "fr": "CDN / hébergeur (en-têtes de réponse)",
    },
    "web_ca": {"en": "Certificate issued by", "fr": "Certificat émis par"},
    "web_ca_unverified": {"en": "did not verify", "fr": "non vérifié"},
    "web_idp": {"en": "Identity providers", "fr": "Fournisseurs d'identité"},
    "web_third_parties": {
        "en": "Third parties ({n})",
        "fr": "Tiers ({n})",
    },
    "web_more": {"en": "and {n} more", "fr": "et {n} autres"},
    "web_error": {"en": "Probe incomplete", "fr": "Sonde incomplète"},
    "attributions": {"en": "Attributions", "fr": "Attributions"},
    "step": {"en": "Step", "fr": "Étape"},
    "value": {"en": "Value", "fr": "Valeur"},
    "name": {"en": "Name", "fr": "Nom"},
    "type": {"en": "Type", "fr": "Type"},
    "rcode": {"en": "Response", "fr": "Réponse"},
    "answers": {"en": "Answers", "fr": "Réponses"},
    "ttl": {"en": "TTL", "fr": "TTL"},
    "resolver": {"en": "Resolver", "fr": "Résolveur"},
    "error": {"en": "Error", "fr": "Erreur"},
    "confidence": {"en": "Confidence", "fr": "Confiance"},
    "flags": {"en": "Flags", "fr": "Indicateurs"},
    "conflicts": {"en": "Conflicts", "fr": "Conflits"},
    "role": {"en": "Role", "fr": "Rôle"},
    "rule_step": {"en": "Rule", "fr": "Règle"},
    "unknown": {"en": "unknown", "fr": "inconnue"},
    "not_attributed": {"en": "not attributed", "fr": "non attribué"},
    "data_classes": {"en": "Data classes", "fr": "Catégories de données"},
    "baseline_status": {"en": "Since baseline", "fr": "Depuis la référence"},
    "chart_text": {
        "en": "The same figures are given in the table that follows the chart.",
        "fr": "Les mêmes chiffres figurent dans le tableau qui suit le graphique.",
    },
    "chart_top": {
        "en": "Chart: the {n} organizations with the most foreign-controlled endpoints; the table "
        "lists all {total}.",
        "fr": "Graphique : les {n} organismes qui ont le plus de points d'accès sous contrôle "
        "étranger; le tableau les présente tous les {total}.",
    },
    "skip_link": {"en": "Skip to findings", "fr": "Aller aux constats"},
    # Headline, see sovaudit.report.summary.headline().
    "headline_class": {
        "en": "{x} of {y} services holding {cls} are under US control",
        "fr": "{x} services sur {y} qui détiennent {cls} sont sous contrôle américain",
    },
    "headline_class_one_x": {
        "en": "1 of {y} services holding {cls} is under US control",
        "fr": "1 service sur {y} qui détient {cls} est sous contrôle américain",
    },
    "headline_class_none": {
        "en": "None of the {y} services holding {cls} is under US control",
        "fr": "Aucun des {y} services qui détiennent {cls} n'est sous contrôle américain",
    },
    "headline_class_single_yes": {
        "en": "The only service holding {cls} is under US control",
        "fr": "Le seul service qui détient {cls} est sous contrôle américain",
    },
    "headline_class_single_no": {
        "en": "The only service holding {cls} is not under US control",
        "fr": "Le seul service qui détient {cls} n'est pas sous contrôle américain",
    },
    "headline_all": {
        "en": "{x} of {y} services are under US control",
        "fr": "{x} services sur {y} sont sous contrôle américain",
    },
    "headline_all_one_x": {
        "en": "1 of {y} services is under US control",
        "fr": "1 service sur {y} est sous contrôle américain",
    },
    "headline_all_none": {
        "en": "None of the {y} services is under US control",
        "fr": "Aucun des {y} services n'est sous contrôle américain",
    },
    "headline_all_single_yes": {
        "en": "The only service scanned is under US control",
        "fr": "Le seul service analysé est sous contrôle américain",
    },
    "headline_all_single_no": {
        "en": "The only service scanned is not under US control",
        "fr": "Le seul service analysé n'est pas sous contrôle américain",
    },
    "headline_empty": {
        "en": "No service was scanned",
        "fr": "Aucun service n'a été analysé",
    },
    # Headline when some services could not be attributed: "... (2 not attributed)".
    "headline_unattributed_one": {"en": " (1 not attributed)", "fr": " (1 non attribué)"},
    "headline_unattributed": {
        "en": " ({n} not attributed)",
        "fr": " ({n} non attribués)",
    },
    "headline_class_single_unattributed": {
        "en": "The only service holding {cls} could not be attributed",
        "fr": "Le seul service qui détient {cls} n'a pas pu être attribué",
    },
    "headline_all_single_unattributed": {
        "en": "The only service scanned could not be attributed",
        "fr": "Le seul service analysé n'a pas pu être attribué",
    },
    # Rules, compact findings table, evidence once per endpoint.
    "rules_matched": {"en": "Rules that matched", "fr": "Règles déclenchées"},
    "rule_counts": {
        "en": "Findings: {n}; accepted: {accepted}",
        "fr": "Constats : {n}; acceptés : {accepted}",
    },
    "rule_counts_new": {"en": "; new: {n}", "fr": "; nouveaux : {n}"},
    "title_col": {"en": "Title", "fr": "Titre"},
    "triggered": {"en": "Triggered", "fr": "Déclenche"},
    "same_chain_as": {
        "en": "Same evidence chain as for",
        "fr": "Même chaîne de preuve que pour",
    },
    "more_findings": {
        "en": "{n} more findings (least severe): see the HTML, CSV or JSON report.",
        "fr": "{n} autres constats (les moins graves) : voir le rapport HTML, CSV ou JSON.",
    },
    "more_findings_html": {
        "en": "{n} more findings (least severe): see the CSV, SARIF or JSON report.",
        "fr": "{n} autres constats (les moins graves) : voir le rapport CSV, SARIF ou JSON.",
    },
    "more_endpoints": {
        "en": "{n} more endpoints: see the HTML or JSON report.",
        "fr": "{n} autres points d'accès : voir le rapport HTML ou JSON.",
    },
    "more_endpoints_html": {
        "en": "{n} more endpoints: see the JSON evidence file.",
        "fr": "{n} autres points d'accès : voir le fichier de preuves JSON.",
    },
    "control_chain": {"en": "control chain", "fr": "chaîne de contrôle"},
    "control_chains": {
        "en": "Control chains (operator to ultimate parent)",
        "fr": "Chaînes de contrôle (de l'exploitant à la société mère ultime)",
    },
    "sources": {"en": "Sources", "fr": "Sources"},
    "more_rows": {
        "en": "{n} more rows: see the HTML or JSON report.",
        "fr": "{n} autres lignes : voir le rapport HTML ou JSON.",
    },
    "more_items": {
        "en": "{n} more: see the findings table.",
        "fr": "{n} de plus : voir le tableau des constats.",
    },
    "more_resolved": {
        "en": "{n} more: see the evidence file (options.baseline.resolved).",
        "fr": "{n} de plus : voir le fichier de preuves (options.baseline.resolved).",
    },
    "evidence_note": {
        "en": "Each chain goes from the DNS record to the jurisdiction of the ultimate parent, "
        "with the source of every step, and lists the rules it triggered.",
        "fr": "Chaque chaîne va de l'enregistrement DNS à la juridiction de la société mère "
        "ultime, avec la source de chaque étape, et indique les règles qu'elle a déclenchées.",
    },
    # Baseline (CI): new and resolved findings.
    "baseline": {"en": "Baseline", "fr": "Référence"},
    "new_since_baseline": {"en": "New since the baseline", "fr": "Nouveau depuis la référence"},
    "new_count": {
        "en": "{n} new findings since the baseline {file} ({date}); {resolved} resolved.",
        "fr": "{n} nouveaux constats depuis la référence {file} ({date}); {resolved} résolus.",
    },
    "no_new": {
        "en": "No new finding since the baseline.",
        "fr": "Aucun nouveau constat depuis la référence.",
    },
    "resolved_title": {"en": "Resolved since the baseline", "fr": "Résolus depuis la référence"},
    "no_resolved": {
        "en": "No finding of the baseline was resolved.",
        "fr": "Aucun constat de la référence n'a été résolu.",
    },
    # History chart.
    "history": {"en": "History", "fr": "Historique"},
    "history_chart": {
        "en": "Share of endpoints under foreign and US control over time",
        "fr": "Part des points d'accès sous contrôle étranger et américain au fil du temps",
    },
    "history_desc": {
        "en": "{n} scans from {first} to {last}: foreign control from {f0}% to {f1}%, "
        "US control from {u0}% to {u1}%.",
        "fr": "{n} analyses du {first} au {last} : contrôle étranger de {f0} % à {f1} %, "
        "contrôle américain de {u0} % à {u1} %.",
    },
    "history_date": {"en": "Scan date", "fr": "Date de l'analyse"},
    "foreign_share": {"en": "Foreign control (%)", "fr": "Contrôle étranger (%)"},
    "us_share": {"en": "US control (%)", "fr": "Contrôle américain (%)"},
    "history_more": {
        "en": "Last {n} scans of {total}.",
        "fr": "Les {n} dernières analyses sur {total}.",
    },
    # Dataset credits (CC BY 4.0 asks for attribution).
    "dataset_credit": {
        "en": "The IP to AS table is licensed CC BY 4.0 and built from data by:",
        "fr": "La table IP vers AS est sous licence CC BY 4.0 et tirée des données de :",
    },
    # SARIF
    "sarif_message": {
        "en": "{title} ({host}, {layer}, {service}, {organization})",
        "fr": "{title} ({host}, {layer}, {service}, {organization})",
    },
    "sarif_accepted": {"en": "Accepted risk", "fr": "Risque accepté"},
    # Rule texts kept in the scan's language (their pack is not available at report time).
    "rule_text_note_title": {"en": "Rule texts", "fr": "Textes des règles"},
    "rule_text_note": {
        "en": "Some rule texts are in the scan's language ({scan_lang}): their rule pack is "
        "not available where this report was rendered. Rules concerned: {rules}.",
        "fr": "Certains textes de règles sont dans la langue de l'analyse ({scan_lang}) : leur "
        "ensemble de règles n'est pas disponible là où ce rapport a été produit. Règles "
        "concernées : {rules}.",
    },
}

# The labels of `sovaudit explain` (sovaudit.report.explain); texts may hold str.format fields.
EXPLAIN_LABELS: dict[str, dict[str, str]] = {
    "endpoint": {"en": "Endpoint", "fr": "Point d'accès"},
    "organization": {"en": "Organization", "fr": "Organisme"},
    "service": {"en": "Service", "fr": "Service"},
    "layer": {"en": "Layer", "fr": "Couche"},
    "status": {"en": "Status", "fr": "État"},
    "reason": {"en": "Reason", "fr": "Raison"},
    "declared": {"en": "Declared at", "fr": "Déclaré à"},
    "data_classes": {"en": "Data", "fr": "Données"},
    "records": {"en": "DNS answers", "fr": "Réponses DNS"},
    "no_records": {"en": "DNS answers: none recorded", "fr": "Réponses DNS : aucune"},
    "names": {"en": "Names followed", "fr": "Noms suivis"},
    "addresses": {"en": "Addresses", "fr": "Adresses"},
    "attribution": {"en": "Attribution", "fr": "Attribution"},
    "in_short": {"en": "In short", "fr": "En bref"},
    "asn": {"en": "Network (ASN)", "fr": "Réseau (ASN)"},
    "operator": {"en": "Operator", "fr": "Exploitant"},
    "parent": {"en": "Ultimate parent", "fr": "Société mère ultime"},
    "jurisdiction": {"en": "Jurisdiction", "fr": "Juridiction"},
    "operator_jurisdiction": {
        "en": "Operator's own jurisdiction",
        "fr": "Juridiction de l'exploitant",
    },
    "ownership": {"en": "Ownership", "fr": "Propriété"},
    "confidence": {"en": "Confidence", "fr": "Confiance"},
    "flags": {"en": "Flags", "fr": "Indicateurs"},
    "conflicts": {"en": "Conflicting sources", "fr": "Sources en conflit"},
    "evidence": {"en": "Evidence", "fr": "Preuves"},
    "source": {"en": "source", "fr": "source"},
    "findings": {"en": "Findings", "fr": "Constats"},
    "no_findings": {"en": "Exposures: none", "fr": "Expositions : aucune"},
    "exposures": {"en": "Exposures", "fr": "Expositions"},
    "good_outcomes": {"en": "Good outcomes", "fr": "Cas favorables"},
    "legal_bases": {"en": "Legal bases", "fr": "Fondements juridiques"},
    "rule_text_hint": {
        "en": "each rule's text: sovaudit rules show RULE-ID",
        "fr": "texte de chaque règle : sovaudit rules show RÈGLE",
    },
    "not_attributed_party": {"en": "not attributed", "fr": "non attribué"},
    "same_control": {
        "en": "Operator, parent and law: as in attribution {position}",
        "fr": "Exploitant, société mère et droit : comme l'attribution {position}",
    },
    "own_public": {"en": "public", "fr": "publique"},
    "own_private": {"en": "private", "fr": "privée"},
    "own_not-for-profit": {"en": "not for profit", "fr": "sans but lucratif"},
    "subject": {"en": "About", "fr": "Concerne"},
    "rationale": {"en": "Why", "fr": "Pourquoi"},
    "accepted": {"en": "Accepted risk", "fr": "Risque accepté"},
    "baseline": {"en": "Against the baseline", "fr": "Par rapport à la référence"},
    "reference": {"en": "Reference", "fr": "Référence"},
    "rule_source": {"en": "Rule pack", "fr": "Ensemble de règles"},
    "datasets": {"en": "Datasets used", "fr": "Jeux de données utilisés"},
    "scan": {"en": "Scan of", "fr": "Analyse du"},
    "partial": {"en": "(partial scan)", "fr": "(analyse partielle)"},
    "unknown": {"en": "unknown", "fr": "inconnu"},
    "not_attributed": {
        "en": "{subject} ({role}): no operator could be attributed",
        "fr": "{subject} ({role}) : aucun exploitant n'a pu être attribué",
    },
    "story_asn": {"en": "announced by AS{asn}{name}", "fr": "annoncé par l'AS{asn}{name}"},
    "story_operator": {"en": "operated by {op}", "fr": "exploité par {op}"},
    "story_parent": {
        "en": "ultimately controlled by {parent}",
        "fr": "contrôlé en dernier ressort par {parent}",
    },
    "story_law": {"en": "subject to the law of {law}", "fr": "soumis au droit de : {law}"},
    "story_weak": {
        "en": "network {name}, registered in {country}; owner not in the registry (weak)",
        "fr": "réseau {name}, enregistré en {country} ; propriétaire absent du registre "
        "(indice faible)",
    },
    "level": {"en": "Level", "fr": "Niveau"},
}

# Exposures, good outcomes, providers and organization cards (issue 24): what a reader counts.
STRINGS.update({
    "exposures": {"en": "Exposures", "fr": "Expositions"},
    "exposures_intro": {
        "en": "One row per endpoint and controlling party: who controls it, which data it "
        "holds, the worst severity and the legal bases (each links to its text). The {n} "
        "rule-level findings are in the JSON, CSV and SARIF reports.",
        "fr": "Une ligne par point d'accès et par partie qui le contrôle : qui, quelles "
        "données, la gravité la plus haute et les fondements juridiques (chacun renvoie à "
        "son texte). Les {n} constats règle par règle sont dans les rapports JSON, CSV et "
        "SARIF.",
    },
    "no_exposures": {"en": "No exposure.", "fr": "Aucune exposition."},
    "controlled_by": {"en": "Controlled by", "fr": "Contrôlé par"},
    "country": {"en": "Country", "fr": "Pays"},
    "data": {"en": "Data", "fr": "Données"},
    "legal_bases": {"en": "Legal bases", "fr": "Fondements juridiques"},
    "legal_bases_title": {"en": "Legal bases", "fr": "Fondements juridiques"},
    "by_severity_exposures": {"en": "Exposures by severity", "fr": "Expositions par gravité"},
    "more_exposures": {
        "en": "{n} more exposures (least severe): see the HTML, CSV or JSON report.",
        "fr": "{n} autres expositions (les moins graves) : voir le rapport HTML, CSV ou JSON.",
    },
    "good_outcomes": {"en": "Good outcomes", "fr": "Cas favorables"},
    "good_outcomes_intro": {
        "en": "Endpoints whose data stays under home control ({home}): domestic public "
        "infrastructure or a domestic private host. Not findings: nothing to fix.",
        "fr": "Points d'accès dont les données restent sous contrôle national ({home}) : "
        "infrastructure publique ou hébergeur privé du pays. Ce ne sont pas des constats : "
        "rien à corriger.",
    },
    "no_good_outcomes": {"en": "None.", "fr": "Aucun."},
    "providers": {"en": "Who the providers are", "fr": "Qui sont les fournisseurs"},
    "providers_intro": {
        "en": "Companies that hold the data of the audited services, ranked by services and "
        "organizations served; colour by the group of their country.",
        "fr": "Entreprises qui détiennent les données des services audités, classées par "
        "services et organismes desservis; couleur selon le groupe de leur pays.",
    },
    "parents_ranking": {"en": "Ultimate parents", "fr": "Sociétés mères ultimes"},
    "operators_ranking": {"en": "Operators", "fr": "Exploitants"},
    "organizations": {"en": "Organizations", "fr": "Organismes"},
    "group": {"en": "Group", "fr": "Groupe"},
    "group_home": {"en": "Home ({codes})", "fr": "National ({codes})"},
    "group_allied": {
        "en": "Allied (EEA, EU adequacy)", "fr": "Allié (EEE, adéquation UE)",
    },
    "group_us": {"en": "United States", "fr": "États-Unis"},
    "group_other": {"en": "Other", "fr": "Autre"},
    "group_unknown": {"en": "Unknown", "fr": "Inconnu"},
    "legend": {"en": "Legend", "fr": "Légende"},
    "scope_line": {
        "en": "Scan of {date} · inventory {inventory} · profile {profile} · {n} endpoints, "
        "{done} resolved ({pct} %)",
        "fr": "Analyse du {date} · inventaire {inventory} · profil {profile} · {n} points "
        "d'accès, {done} résolus ({pct} %)",
    },
    "most_exposed": {
        "en": "Most exposed: {orgs}. Main foreign providers: {providers}.",
        "fr": "Les plus exposés : {orgs}. Principaux fournisseurs étrangers : {providers}.",
    },
    "most_exposed_no_provider": {
        "en": "Most exposed: {orgs}.", "fr": "Les plus exposés : {orgs}.",
    },
    "new_exposures": {
        "en": "{n} exposure(s) with a finding new since the baseline {file} ({date}); "
        "{resolved} finding(s) of the baseline are gone.",
        "fr": "{n} exposition(s) avec un constat nouveau depuis la référence {file} ({date}); "
        "{resolved} constat(s) de la référence ont disparu.",
    },
    "no_new_exposures": {
        "en": "No new exposure since the baseline.",
        "fr": "Aucune nouvelle exposition depuis la référence.",
    },
    "org_cards": {"en": "Organizations at a glance", "fr": "Organismes en un coup d'œil"},
    "card_web": {"en": "Web", "fr": "Web"},
    "card_gateway": {"en": "Mail gateway", "fr": "Passerelle de courriel"},
    "card_mailbox": {"en": "Mailboxes", "fr": "Boîtes aux lettres"},
    "card_dns": {"en": "DNS", "fr": "DNS"},
    "card_idp": {"en": "Identity provider", "fr": "Fournisseur d'identité"},
    "card_registry": {"en": "Domain registry", "fr": "Registre du domaine"},
    "card_none": {"en": "not seen", "fr": "non observé"},
    "card_exposures": {"en": "{n} exposure(s)", "fr": "{n} exposition(s)"},
    "chart_data": {"en": "data", "fr": "données"},
})


# Names of the languages, in each language ("the scan's language (English)").
LANG_NAMES: dict[str, dict[str, str]] = {
    "en": {"en": "English", "fr": "anglais"},
    "fr": {"en": "French", "fr": "français"},
}

SEVERITY_LABELS: dict[str, dict[str, str]] = {
    "critical": {"en": "Critical", "fr": "Critique"},
    "high": {"en": "High", "fr": "Élevée"},
    "medium": {"en": "Medium", "fr": "Moyenne"},
    "low": {"en": "Low", "fr": "Faible"},
    "info": {"en": "Info", "fr": "Information"},
}

# Phrases used inside the headline ("services holding health data").
DATA_CLASS_PHRASES: dict[str, dict[str, str]] = {
    "health": {"en": "health data", "fr": "des données de santé"},
    "tax": {"en": "tax data", "fr": "des données fiscales"},
    "justice": {"en": "justice data", "fr": "des données judiciaires"},
    "identity": {"en": "identity data", "fr": "des données d'identité"},
    "education": {"en": "education data", "fr": "des données scolaires"},
    "personal": {"en": "personal data", "fr": "des renseignements personnels"},
    "financial": {"en": "financial data", "fr": "des données financières"},
    "infrastructure": {"en": "infrastructure data", "fr": "des données d'infrastructure"},
    "public": {"en": "public data", "fr": "des données publiques"},
}

DATA_CLASS_LABELS: dict[str, dict[str, str]] = {
    "health": {"en": "Health", "fr": "Santé"},
    "tax": {"en": "Tax", "fr": "Fiscalité"},
    "justice": {"en": "Justice", "fr": "Justice"},
    "identity": {"en": "Identity", "fr": "Identité"},
    "education": {"en": "Education", "fr": "Éducation"},
    "personal": {"en": "Personal", "fr": "Renseignements personnels"},
    "financial": {"en": "Financial", "fr": "Finances"},
    "infrastructure": {"en": "Infrastructure", "fr": "Infrastructure"},
    "public": {"en": "Public", "fr": "Public"},
}

JURISDICTION_LABELS: dict[str, dict[str, str]] = {
    "US": {"en": "United States", "fr": "États-Unis"},
    "CA": {"en": "Canada", "fr": "Canada"},
    "CA-QC": {"en": "Québec public sector", "fr": "Secteur public québécois"},
    "FR": {"en": "France", "fr": "France"},
    "DE": {"en": "Germany", "fr": "Allemagne"},
    "GB": {"en": "United Kingdom", "fr": "Royaume-Uni"},
    "IE": {"en": "Ireland", "fr": "Irlande"},
    "NL": {"en": "Netherlands", "fr": "Pays-Bas"},
    "CN": {"en": "China", "fr": "Chine"},
    "JP": {"en": "Japan", "fr": "Japon"},
    "CH": {"en": "Switzerland", "fr": "Suisse"},
    "unknown": {"en": "Unknown", "fr": "Inconnue"},
}

# Endpoint layers (models.Layer): where someone can read the data.
LAYER_LABELS: dict[str, dict[str, str]] = {
    "web": {"en": "Website", "fr": "Site web"},
    "mail": {"en": "Email", "fr": "Courriel"},
    "dns": {"en": "DNS hosting", "fr": "Hébergement DNS"},
    "reporting": {"en": "Email reports (DMARC)", "fr": "Rapports de courriel (DMARC)"},
    "collaboration": {"en": "Collaboration suite", "fr": "Suite collaborative"},
    "saas": {"en": "Cloud service (SaaS)", "fr": "Service infonuagique (SaaS)"},
    "third-party": {"en": "Third-party web service", "fr": "Service web tiers"},
    "domain": {"en": "Domain name", "fr": "Nom de domaine"},
}

# Attribution roles (Attribution.role): what the attributed name or address is to the endpoint.
ROLE_LABELS: dict[str, dict[str, str]] = {
    "address": {"en": "address", "fr": "adresse"},
    "cname": {"en": "alias (CNAME)", "fr": "alias (CNAME)"},
    "mx": {"en": "mail server (MX)", "fr": "serveur de courriel (MX)"},
    "ns": {"en": "name server (NS)", "fr": "serveur de noms (NS)"},
    "autodiscover": {"en": "autodiscover", "fr": "découverte automatique"},
    "gateway": {"en": "mail gateway", "fr": "passerelle de courriel"},
    "mailbox": {"en": "mailbox host", "fr": "hébergeur des boîtes aux lettres"},
    "spf": {"en": "SPF", "fr": "SPF"},
    "spf-host": {"en": "SPF host", "fr": "hôte SPF"},
    "spf-include": {"en": "SPF include", "fr": "inclusion SPF"},
    "spf-ip": {"en": "SPF address", "fr": "adresse SPF"},
    "txt": {"en": "TXT record", "fr": "enregistrement TXT"},
    "txt-token": {"en": "verification token", "fr": "jeton de vérification"},
    "asn": {"en": "AS", "fr": "AS"},
    "registry": {"en": "registry", "fr": "registre"},
    "registrar": {"en": "registrar", "fr": "bureau d'enregistrement"},
    "certificate-authority": {"en": "certification authority", "fr": "autorité de certification"},
    "identity-provider": {"en": "identity provider", "fr": "fournisseur d'identité"},
    "web-signal": {"en": "web signal", "fr": "indice web"},
}

STATUS_LABELS: dict[str, dict[str, str]] = {
    "ok": {"en": "ok", "fr": "ok"},
    "unknown": {"en": "unknown", "fr": "inconnu"},
    "skipped": {"en": "skipped", "fr": "ignoré"},
    "new": {"en": "new", "fr": "nouveau"},
    "unchanged": {"en": "unchanged", "fr": "inchangé"},
    "resolved": {"en": "resolved", "fr": "résolu"},
}

# Evidence step names written by the attribution and rule engines.
STEP_LABELS: dict[str, dict[str, str]] = {
    "record": {"en": "record", "fr": "enregistrement"},
    "address": {"en": "address", "fr": "adresse"},
    "asn": {"en": "AS", "fr": "AS"},
    "operator": {"en": "operator", "fr": "exploitant"},
    "entity": {"en": "entity", "fr": "entité"},
    "parent": {"en": "parent", "fr": "société mère"},
    "jurisdiction": {"en": "jurisdiction", "fr": "juridiction"},
    "rule": {"en": "rule", "fr": "règle"},
    "pattern": {"en": "name pattern", "fr": "motif de nom"},
    "rdap": {"en": "RDAP", "fr": "RDAP"},
    "spf-include": {"en": "SPF include", "fr": "inclusion SPF"},
    "token": {"en": "verification token", "fr": "jeton de vérification"},
    "via": {"en": "via", "fr": "par"},
    "attribution": {"en": "attribution", "fr": "attribution"},
    "endpoint": {"en": "endpoint", "fr": "point d'accès"},
    "spf": {"en": "SPF", "fr": "SPF"},
    "dkim": {"en": "DKIM", "fr": "DKIM"},
    "mta-sts": {"en": "MTA-STS", "fr": "MTA-STS"},
    "gateway-signal": {"en": "gateway signal", "fr": "indice de passerelle"},
    "mailbox-signal": {"en": "mailbox signal", "fr": "indice de boîte aux lettres"},
    "domain": {"en": "domain", "fr": "domaine"},
    "suffix": {"en": "suffix", "fr": "suffixe"},
    "registry": {"en": "registry", "fr": "registre"},
    "registrar": {"en": "registrar", "fr": "bureau d'enregistrement"},
    "http": {"en": "HTTP answer", "fr": "réponse HTTP"},
    "caveat": {"en": "caveat", "fr": "réserve"},
    "ca": {"en": "certification authority", "fr": "autorité de certification"},
    "identity-provider": {"en": "identity provider", "fr": "fournisseur d'identité"},
    "note": {"en": "note", "fr": "remarque"},
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is a supported report language, else raise LanguageError (exit 2)."""
    if lang not in LANGS:
        raise LanguageError(f"unknown language {lang!r} (valid: {', '.join(LANGS)})")
    return lang


# French typography: a narrow no-break space (U+202F) before : ; ? ! (our own texts only: the
# substitution runs on the template, before untrusted values are put in).
NNBSP = "\u202f"
_FR_PUNCT = re.compile(r"(?<=\S) ?([:;?!])(?=\s|$)")


def french_typography(text: str) -> str:
    """``text`` with a narrow no-break space before : ; ? and ! that end a word."""
    return _FR_PUNCT.sub(NNBSP + r"\1", text)


def colon(lang: str) -> str:
    """The separator after a label: ": " in English, narrow no-break space + ": " in French."""
    return f"{NNBSP}: " if lang == "fr" else ": "


_fr_cache: dict[str, str] = {}


def t(key: str, lang: str, **fields: object) -> str:
    """The string ``key`` in ``lang``, formatted with ``fields`` (French typography in fr)."""
    if lang == "fr":
        text = _fr_cache.get(key)
        if text is None:
            text = _fr_cache[key] = french_typography(STRINGS[key][lang])
    else:
        text = STRINGS[key][lang]
    return text.format(**fields) if fields else text


def _label(table: Mapping[str, Mapping[str, str]], code: str, lang: str) -> str:
    entry = table.get(code)
    return entry[lang] if entry else code


def severity_label(severity: str, lang: str) -> str:
    """Human label of a severity code."""
    return _label(SEVERITY_LABELS, severity, lang)


def data_class_label(data_class: str, lang: str) -> str:
    """Human label of a data class code."""
    return _label(DATA_CLASS_LABELS, data_class, lang)


def data_class_phrase(data_class: str, lang: str) -> str:
    """Noun phrase of a data class for sentences ("health data", "des données de santé")."""
    return _label(DATA_CLASS_PHRASES, data_class, lang)


def jurisdiction_label(code: str, lang: str) -> str:
    """Human label of a jurisdiction code (ISO 3166-1 alpha-2 or CA-QC); unknown codes as is."""
    return _label(JURISDICTION_LABELS, code, lang)


def layer_label(layer: str, lang: str) -> str:
    """Human label of an endpoint layer code ("mail" -> "Courriel"); unknown codes as is."""
    return _label(LAYER_LABELS, layer, lang)


def role_label(role: str, lang: str) -> str:
    """Human label of an attribution role ("mx" -> "mail server (MX)"); unknown roles as is."""
    return _label(ROLE_LABELS, role, lang)


def lang_name(code: str, lang: str) -> str:
    """Name of the language ``code`` written in ``lang`` ("en", "fr" -> "anglais")."""
    return _label(LANG_NAMES, code, lang)


def status_label(status: str, lang: str) -> str:
    """Human label of an endpoint, attribution or baseline status."""
    return _label(STATUS_LABELS, status, lang)


def step_label(step: str, lang: str) -> str:
    """Human label of an evidence step name; unknown names (from the evidence file) as is.

    A name's record step is named after its role ("mx", "txt"...), hence the role labels.
    """
    return _label(STEP_LABELS if step in STEP_LABELS else ROLE_LABELS, step, lang)


def detect_lang(environ: Mapping[str, str] | None = None) -> str:
    """Report language from LC_ALL, then LC_MESSAGES, then LANG ("fr_CA.UTF-8" -> "fr").

    Falls back to English when nothing is set or the locale is not French or English.
    """
    env = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if not value:
            continue
        # The first variable set wins, as in POSIX locale resolution.
        code = value.split(".", 1)[0].split("_", 1)[0].split("-", 1)[0].lower()
        return code if code in LANGS else DEFAULT_LANG
    return DEFAULT_LANG
