"""``--help`` in French, when LC_ALL / LC_MESSAGES / LANG say French (``--lang fr`` wins).

Keyed by the English text: a help string changed in English and not here stays in English
(``tests/test_cli_french.py`` checks the main commands). Typer's own words (panel titles,
"[default: ...]", "[required]") are set in :func:`apply_typer_words`.
"""

from __future__ import annotations

__all__ = ["COMMANDS_FR", "OPTIONS_FR", "PANELS_FR", "apply_typer_words"]

PANELS_FR = {
    "Input": "Entrée",
    "Network": "Réseau",
    "Rules": "Règles",
    "Output": "Sortie",
    "CI": "Intégration continue",
}

# Command path -> French help (first line: the one in the command list).
COMMANDS_FR = {
    "": "Auditer la souveraineté des données des services publics : résoudre chaque point "
    "d'accès dans le DNS, l'attribuer à son exploitant, à sa société mère ultime et à sa "
    "juridiction, appliquer les règles juridiques, écrire les rapports.",
    "scan": "Résoudre chaque point d'accès d'INVENTORY, l'attribuer, appliquer les règles, "
    "écrire les rapports.\n\nAvec --stream FICHIER, les points d'accès sont écrits dès leur "
    "analyse et rien n'est gardé en mémoire ; les rapports ne sont écrits que si -o ou --format "
    "les demandent.\n\nExample: sovaudit scan ministeres.yaml -o rapport.html --lang fr",
    "demo": "Lancer une analyse complète hors ligne : un serveur de noms local sert des zones "
    ".example fictives.\n\nExample: sovaudit demo -o rapport-demo/ --lang fr",
    "report": "Produire de nouveau les rapports d'une preuve, hors ligne : même preuve et même "
    "langue, mêmes octets que 'scan'.\n\nExample: sovaudit report out/report.json -o "
    "out/report.fr.html --lang fr",
    "lookup": "Qui exploite un hôte, une adresse ou un AS, sa société mère ultime et sa "
    "juridiction.\n\nLa réponse vient d'abord en une ligne (exploitant -> société mère "
    "(juridiction), par quoi), puis les tableaux ; --brief n'affiche que la ligne. Un résolveur "
    "qui ne répond pas donne le code 2 (comme pour 'scan').\n\nExample: sovaudit lookup "
    "20.190.128.1 ; sovaudit lookup AS5769 --json",
    "merge": "Fusionner les preuves de chaque tranche en ce qu'une analyse complète aurait "
    "écrit.\n\nUne tranche manquante est un avertissement, et le code 3 avec --strict.\n\n"
    "Example: sovaudit merge shard-*.json -o all.json --fail-on high",
    "diff": "Ce qui a changé entre deux analyses : exploitants, constats nouveaux et résolus.",
    "history": "La part des points d'accès sous contrôle étranger (et américain) dans le temps.",
    "explain": "Expliquer un point d'accès : réponses DNS, adresses, ASN, exploitant, société "
    "mère, juridiction, règles.",
    "job-summary": "Résumé Markdown pour une tâche CI : titre, expositions, nouveautés depuis la "
    "référence.\n\nExample: sovaudit job-summary out/report.json >> \"$GITHUB_STEP_SUMMARY\"",
    "export": "Écrire la preuve en tables Parquet normalisées, pour DuckDB, Spark ou pandas.\n\n"
    "Tables : scan, endpoints, records, attributions, endpoint_attributions, findings, rules. "
    "Demande pip install 'sovaudit\\[parquet]'.\n\nExample: sovaudit export scan.json -o "
    "scan-parquet/",
    "query": "Poser sa propre question à la preuve en SQL (DuckDB), sans la charger entière.\n\n"
    "Example: sovaudit query scan-parquet/ \"SELECT count(*) FROM findings\"",
    "rules": "Règles juridiques : lister, afficher, valider.",
    "rules list": "Lister les règles d'un profil : identifiant, gravité et titre.",
    "rules show": "Afficher une règle : titre, justification, références, gravité, couches et "
    "condition.",
    "rules validate": "Valider des fichiers de règles : syntaxe, faits, opérateurs, traductions, "
    "gravités, dates, identifiants.",
    "data": "Jeux de données hors ligne : les afficher, mettre à jour la table IP -> ASN.",
    "data info": "Afficher chaque jeu de données utilisé : table IP -> ASN, registre des "
    "fournisseurs, table des domaines de premier niveau, règles (version, date, source, "
    "licence, effectifs).",
    "data update": "Reconstruire la table IP -> ASN à partir d'un jeu plus récent.",
    "config": "Afficher la configuration (sovaudit.toml).",
    "config show": "Afficher chaque réglage, sa valeur effective et sa provenance.",
}

OPTIONS_FR = {
    "Configuration file (default: $SOVAUDIT_CONFIG, ./sovaudit.toml, or \\[tool.sovaudit] in "
    "./pyproject.toml).":
        "Fichier de configuration (défaut : $SOVAUDIT_CONFIG, ./sovaudit.toml, ou "
        "\\[tool.sovaudit] dans ./pyproject.toml).",
    "Install completion for the current shell.":
        "Installer la complétion pour l'interpréteur de commandes courant.",
    "Show completion for the current shell, to copy it or customize the installation.":
        "Afficher la complétion pour l'interpréteur courant, pour la copier ou l'adapter.",
    "Show this message and exit.": "Afficher cette aide et quitter.",
    "Print the version and the dataset versions, and exit.":
        "Afficher la version et celles des jeux de données, puis quitter.",
    "Print JSON instead of a table.": "Écrire du JSON au lieu d'un tableau.",
    "JSON instead of a table.": "Du JSON au lieu d'un tableau.",
    "Directory (or file) for the reports.": "Répertoire (ou fichier) des rapports.",
    "Formats to write (default: json, md and html).":
        "Formats à écrire (défaut : json, md et html).",
    "Report language: fr or en (default: from LANG, else en).":
        "Langue des rapports : fr ou en (défaut : selon LANG, sinon en).",
    "No summary line, no list of files written.":
        "Ni ligne de bilan, ni liste des fichiers écrits.",
    "Evidence file written by 'sovaudit scan' (JSON).":
        "Fichier de preuve écrit par 'sovaudit scan' (JSON).",
    "Evidence file written by 'sovaudit scan' (JSON or JSON Lines).":
        "Fichier de preuve écrit par 'sovaudit scan' (JSON ou JSON Lines).",
    "Host name, IP address or AS number (AS5769).":
        "Nom d'hôte, adresse IP ou numéro d'AS (AS5769).",
    "Resolver IP[:PORT] for host names (repeatable).":
        "Résolveur IP[:PORT] pour les noms d'hôte (répétable).",
    "DNS timeout in seconds.": "Délai DNS en secondes.",
    "Output language: fr or en (default: from the locale).":
        "Langue de sortie : fr ou en (défaut : selon la locale).",
    "Print the one-line answer only.": "N'afficher que la réponse en une ligne.",
    "md, html, json, csv or sarif; repeat for several (with -o DIR).":
        "md, html, json, csv ou sarif ; à répéter pour plusieurs (avec -o RÉPERTOIRE).",
    "Report file (format from its extension) or directory.":
        "Fichier de rapport (format selon son extension) ou répertoire.",
    "Do not list the files written.": "Ne pas lister les fichiers écrits.",
    "Extra rule pack (YAML file or directory); repeatable.":
        "Règles supplémentaires (fichier YAML ou répertoire) ; répétable.",
    "Use only the packs given with --rules.": "N'utiliser que les règles données par --rules.",
    "Inventory file (YAML, or one domain per line); '-' for stdin.":
        "Fichier d'inventaire (YAML, ou un domaine par ligne) ; '-' pour l'entrée standard.",
    "Resolver IP[:PORT] (IPv6 as [::1]:5353); repeatable. Default: the system's.":
        "Résolveur IP[:PORT] (IPv6 : [::1]:5353) ; répétable. Défaut : celui du système.",
    "Seconds to wait for one answer.": "Secondes d'attente d'une réponse.",
    "Retries after a timeout.": "Nouvelles tentatives après un délai dépassé.",
    "Queries in flight at once.": "Requêtes simultanées.",
    "Rule id to skip; repeatable.": "Identifiant de règle à ne pas appliquer ; répétable.",
    "Legal context: quebec (default), canada, eu, france, switzerland "
    "(else the inventory's 'profile:').":
        "Contexte juridique : quebec (défaut), canada, eu, france, switzerland (sinon le "
        "'profile:' de l'inventaire).",
    "Exit 1 when a finding is at or above this severity (default: never).":
        "Code 1 si un constat atteint cette gravité (défaut : jamais).",
    "Earlier evidence file: mark findings new, unchanged or resolved.":
        "Preuve antérieure : marquer les constats nouveaux, inchangés ou résolus.",
    "Exit 1 when a NEW finding (vs --baseline) is at or above this.":
        "Code 1 si un NOUVEAU constat (par rapport à --baseline) atteint cette gravité.",
    "Exit 3 when any endpoint is unknown or met an internal error.":
        "Code 3 si un point d'accès est inconnu ou a rencontré une erreur interne.",
    "Partial evidence file of an interrupted scan: reuse what is done.":
        "Preuve partielle d'une analyse interrompue : reprendre ce qui est fait.",
    "SQLite file: append this scan's counts to it.":
        "Fichier SQLite : y ajouter les effectifs de cette analyse.",
    "IP -> ASN sources in order: offline (default), cymru (DNS), rdap; repeatable.":
        "Sources IP -> ASN dans l'ordre : offline (défaut), cymru (DNS), rdap ; répétable.",
    "RDAP base URL instead of the registries' bootstrap.":
        "URL de base RDAP au lieu de l'amorce des registres.",
    "Do not read or write the Cymru/RDAP cache.":
        "Ne pas lire ni écrire le cache Cymru/RDAP.",
    "Opt-in probes beyond DNS: rdap (domain registrars), web (TLS, HTTP, third parties); "
    "repeatable.":
        "Sondes facultatives au-delà du DNS : rdap (bureaux d'enregistrement), web (TLS, HTTP, "
        "tiers) ; répétable.",
    "No progress, no summary.": "Ni progression, ni bilan.",
    "Scan only slice K of N (by organization, stable); merge with 'sovaudit merge'.":
        "N'analyser que la tranche K sur N (par organisme, stable) ; fusionner avec "
        "'sovaudit merge'.",
    "Write the evidence to FILE ('-': stdout) as JSON Lines while scanning, so memory stays "
    "bounded; render it later with 'sovaudit report FILE'.":
        "Écrire la preuve dans FICHIER ('-' : sortie standard) en JSON Lines pendant "
        "l'analyse, à mémoire bornée ; la rendre ensuite avec 'sovaudit report FICHIER'.",
    "Exit 1 when a merged finding is at or above this severity.":
        "Code 1 si un constat fusionné atteint cette gravité.",
    "Exit 3 when a shard is missing, a part was interrupted or any merged endpoint is unknown "
    "(as 'scan --strict').":
        "Code 3 si une tranche manque, si une partie a été interrompue ou si un point d'accès "
        "est inconnu (comme 'scan --strict').",
    "Run the scan on Dask: local[:N] (N worker processes here) or a scheduler address such as "
    "tcp://scheduler:8786; needs pip install 'sovaudit[cluster]'.":
        "Lancer l'analyse sur Dask : local[:N] (N processus ici) ou l'adresse d'un ordonnanceur "
        "comme tcp://scheduler:8786 ; demande pip install 'sovaudit[cluster]'.",
    "Evidence file (JSON or JSON Lines).": "Fichier de preuve (JSON ou JSON Lines).",
    "Folder for the Parquet tables (created).": "Répertoire des tables Parquet (créé).",
    "Do not list the files.": "Ne pas lister les fichiers.",
    "Output format.": "Format de sortie.",
    "With --cluster: targets per partition (organizations are never split).":
        "Avec --cluster : cibles par partition (un organisme n'est jamais coupé).",
    "Exit 1 when a new finding is at or above this severity.":
        "Code 1 si un nouveau constat atteint cette gravité.",
}


def apply_typer_words() -> None:
    """Typer's own words of the help screen in French (module constants it reads at print)."""
    from typer import rich_utils

    rich_utils.ARGUMENTS_PANEL_TITLE = "Arguments"
    rich_utils.OPTIONS_PANEL_TITLE = "Options"
    rich_utils.COMMANDS_PANEL_TITLE = "Commandes"
    rich_utils.DEFAULT_STRING = "[défaut : {}]"
    rich_utils.REQUIRED_LONG_STRING = "[obligatoire]"
    rich_utils.ERRORS_PANEL_TITLE = "Erreur"
