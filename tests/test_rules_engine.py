"""The rule engine: loading (errors with FILE:LINE), operators, evaluation, accepted risks, CLI."""

from __future__ import annotations

import datetime
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import sovaudit.cli.rules_cmd  # noqa: F401  registers `sovaudit rules`
from sovaudit.cli.app import app
from sovaudit.errors import InventoryError, RuleError, UserError
from sovaudit.evaluate import FACTS, OPERATOR_DOCS, OPERATORS, evaluate, load_pack, load_rules
from sovaudit.evaluate.facts import EndpointFacts
from sovaudit.evaluate.operators import OperatorError, compile_regex
from sovaudit.models import (
    AcceptedRisk,
    Attribution,
    DataClass,
    Endpoint,
    EvidenceStep,
    Layer,
    Severity,
    Status,
)

NOW = datetime.date(2026, 11, 25)
DEFAULT = load_rules()

AZURE = Attribution(
    subject="20.48.196.10",
    role="address",
    asn=8075,
    operator="microsoft-azure",
    operator_name="Microsoft Canada Inc.",
    category="cloud",
    ultimate_parent="Microsoft Corporation",
    jurisdiction="US",
    operator_jurisdiction="CA",
    ownership="private",
    confidence=0.9,
    status=Status.OK,
    evidence=(
        EvidenceStep("record", "A portail.example.qc.ca -> 20.48.196.10", "dns@127.0.0.1:53"),
        EvidenceStep("asn", "AS8075", "ip-location-db"),
        EvidenceStep("operator", "microsoft-azure", "providers.yaml"),
        EvidenceStep("jurisdiction", "US", "providers.yaml"),
    ),
)
RISQ = Attribution(
    subject="192.77.55.10",
    role="address",
    asn=376,
    operator="risq",
    operator_name="RISQ",
    category="isp",
    ultimate_parent="RISQ",
    jurisdiction="CA-QC",
    operator_jurisdiction="CA-QC",
    ownership="public",
    confidence=0.9,
    status=Status.OK,
)
UNKNOWN = Attribution(subject="203.0.113.7", role="address", reason="no ASN for this address")


def endpoint(*attributions: Attribution, classes: tuple[DataClass, ...] = (DataClass.HEALTH,),
             layer: Layer = Layer.WEB, host: str = "portail.example.qc.ca",
             organization: str = "sante-qc", status: Status = Status.OK) -> Endpoint:
    return Endpoint(organization=organization, service="portail", host=host, layer=layer,
                    data_classes=classes, status=status, attributions=attributions)


def write(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


RULE = """
rules:
  - id: TEST-RULE
    title: {fr: "Titre", en: "Title"}
    rationale: {fr: "Justification", en: "Rationale"}
    references:
      - {title: "18 U.S.C. § 2713", url: "https://www.law.cornell.edu/uscode/text/18/2713"}
    reviewed: 2026-11-01
    when:
      all:
        - {fact: ultimate_parent_jurisdiction, in: [US]}
    severity:
      default: high
"""


def one_rule(tmp_path: Path, when: str, *, severity: str = "default: high") -> Any:
    """Load a pack with one rule whose condition is ``when`` (YAML flow text)."""
    text = RULE.replace(
        "    when:\n      all:\n        - {fact: ultimate_parent_jurisdiction, in: [US]}\n",
        f"    when: {when}\n",
    ).replace("      default: high", f"      {severity}")
    return load_rules([write(tmp_path, text)], include_default=False)


# --- the two cases the project must get right -------------------------------------------------


def test_azure_health_endpoint_is_cloud_act_critical_with_references() -> None:
    [result] = evaluate([endpoint(AZURE)], DEFAULT, now=NOW)
    by_id = {f.rule_id: f for f in result.findings}
    finding = by_id["US-CLOUD-ACT-HOSTING"]
    assert finding.severity is Severity.CRITICAL
    assert finding.subject == "20.48.196.10"
    assert any(r.url == "https://www.law.cornell.edu/uscode/text/18/2713" for r in
               finding.references)
    # The attribution's evidence chain, then the rule and its pack.
    assert finding.evidence[:4] == AZURE.evidence
    assert finding.evidence[-1] == EvidenceStep("rule", "US-CLOUD-ACT-HOSTING",
                                                "rules/united-states.yaml")
    # The US parent's control can reach a Canadian subsidiary: these follow from the parent.
    assert {"US-SUBSIDIARY-NO-SHIELD", "QC-LAW25-FOREIGN-LAW", "QC-HEALTH-INFO",
            "SOV-FOREIGN-OWNERSHIP"} <= set(by_id)
    assert "SOV-PUBLIC-INFRA" not in by_id and "UNKNOWN-OPERATOR" not in by_id
    # Findings come most severe first, then by rule id.
    keys = [(-f.severity.rank, f.rule_id) for f in result.findings]
    assert keys == sorted(keys)


def test_same_endpoint_on_risq_has_no_us_finding_and_is_public_infra() -> None:
    [result] = evaluate([endpoint(RISQ)], DEFAULT, now=NOW)
    ids = {f.rule_id for f in result.findings}
    assert not {i for i in ids if i.startswith("US-")}
    assert ids == {"SOV-PUBLIC-INFRA"}
    assert result.findings[0].severity is Severity.INFO


def test_french_texts_and_references() -> None:
    [result] = evaluate([endpoint(AZURE)], DEFAULT, lang="fr", now=NOW)
    finding = next(f for f in result.findings if f.rule_id == "QC-LAW25-FOREIGN-LAW")
    assert finding.title.startswith("Renseignements personnels")
    assert any(r.title.startswith("Loi sur l'accès") for r in finding.references)
    with pytest.raises(UserError, match="unknown language"):
        evaluate([endpoint(AZURE)], DEFAULT, lang="de", now=NOW)


# --- evaluation semantics ---------------------------------------------------------------------


def test_unknown_operator_is_never_silently_clean() -> None:
    failed = Endpoint(organization="o", service="s", host="down.example.qc.ca", layer=Layer.MAIL,
                      data_classes=(DataClass.PUBLIC,), status=Status.UNKNOWN,
                      reason="SERVFAIL from every resolver")
    results = evaluate([endpoint(UNKNOWN), failed, endpoint(UNKNOWN, RISQ)], DEFAULT, now=NOW)
    first, second, third = ({f.rule_id: f for f in r.findings} for r in results)
    assert set(first) == {"UNKNOWN-OPERATOR"}
    assert first["UNKNOWN-OPERATOR"].severity is Severity.HIGH  # health
    assert first["UNKNOWN-OPERATOR"].subject == "portail.example.qc.ca"
    assert first["UNKNOWN-OPERATOR"].evidence[0].value.startswith("203.0.113.7 (address)")
    assert set(second) == {"UNKNOWN-OPERATOR"}
    assert second["UNKNOWN-OPERATOR"].severity is Severity.LOW  # public
    assert "SERVFAIL" in second["UNKNOWN-OPERATOR"].evidence[0].value
    assert "UNKNOWN-OPERATOR" not in third  # one attribution succeeded


def test_one_finding_per_rule_and_the_first_matching_attribution(tmp_path: Path) -> None:
    other = Attribution(subject="20.48.196.11", role="address", jurisdiction="US",
                        status=Status.OK)
    rules = one_rule(tmp_path, "{fact: ultimate_parent_jurisdiction, in: [US]}")
    [result] = evaluate([endpoint(RISQ, AZURE, other)], rules, now=NOW)
    assert [f.subject for f in result.findings] == ["20.48.196.10"]


def test_layers_restrict_rules(tmp_path: Path) -> None:
    text = RULE.replace("    when:", "    layers: [mail, dns]\n    when:")
    rules = load_rules([write(tmp_path, text)], include_default=False)
    web, mail = evaluate([endpoint(AZURE), endpoint(AZURE, layer=Layer.MAIL)], rules, now=NOW)
    assert web.findings == ()
    assert [f.rule_id for f in mail.findings] == ["TEST-RULE"]


def test_severity_is_the_highest_of_the_endpoint_data_classes(tmp_path: Path) -> None:
    rules = one_rule(
        tmp_path,
        "{fact: ultimate_parent_jurisdiction, in: [US]}",
        severity="default: medium\n      by_data_class: {health: critical, public: low, "
        "personal: high}",
    )
    cases = {
        (DataClass.PUBLIC,): Severity.LOW,
        (DataClass.PUBLIC, DataClass.HEALTH): Severity.CRITICAL,
        (DataClass.PERSONAL, DataClass.PUBLIC): Severity.HIGH,
        (DataClass.EDUCATION,): Severity.MEDIUM,
        (): Severity.MEDIUM,
    }
    for classes, expected in cases.items():
        [result] = evaluate([endpoint(AZURE, classes=classes)], rules, now=NOW)
        assert result.findings[0].severity is expected, classes


def test_evaluate_replaces_previous_findings_and_keeps_clean_endpoints() -> None:
    [once] = evaluate([endpoint(RISQ)], DEFAULT, now=NOW)
    [twice] = evaluate([once], DEFAULT, now=NOW)
    assert twice.findings == once.findings
    clean = endpoint(Attribution(subject="x", role="address", status=Status.OK))
    [result] = evaluate([clean], DEFAULT, now=NOW)
    assert result is clean  # nothing matched: the same object, no copy


def test_skip_removes_rules_and_rejects_unknown_ids() -> None:
    rules = load_rules(skip=["US-CLOUD-ACT-HOSTING"])
    assert rules.get("US-CLOUD-ACT-HOSTING") is None
    [result] = evaluate([endpoint(AZURE)], rules, now=NOW)
    assert "US-CLOUD-ACT-HOSTING" not in {f.rule_id for f in result.findings}
    with pytest.raises(RuleError, match="NOPE"):
        load_rules(skip=["NOPE"])


# --- accepted risks ---------------------------------------------------------------------------


def _accepted(result: Endpoint, rule_id: str) -> tuple[bool, str | None]:
    finding = next(f for f in result.findings if f.rule_id == rule_id)
    return finding.accepted, finding.accepted_reason


@pytest.mark.parametrize(
    ("risk", "expected"),
    [
        (AcceptedRisk("US-CLOUD-ACT-HOSTING", "PIA 2026-04"), (True, "PIA 2026-04")),
        (AcceptedRisk("US-CLOUD-ACT-HOSTING", "r", host="portail.example.qc.ca"), (True, "r")),
        (AcceptedRisk("US-CLOUD-ACT-HOSTING", "r", host="other.example.qc.ca"), (False, None)),
        (AcceptedRisk("US-CLOUD-ACT-HOSTING", "r", organization="sante-qc"), (True, "r")),
        (AcceptedRisk("US-CLOUD-ACT-HOSTING", "r", organization="other"), (False, None)),
        (AcceptedRisk("US-CLOUD-ACT-HOSTING", "r", until="2026-11-25"), (True, "r")),
        (AcceptedRisk("US-CLOUD-ACT-HOSTING", "r", until="2026-11-24"), (False, None)),
        (AcceptedRisk("US-CLOUD-ACT-MAIL", "r"), (False, None)),
    ],
)
def test_accepted_risks(risk: AcceptedRisk, expected: tuple[bool, str | None]) -> None:
    [result] = evaluate([endpoint(AZURE)], DEFAULT, accepted=[risk], now=NOW)
    assert _accepted(result, "US-CLOUD-ACT-HOSTING") == expected
    # Only the named rule is accepted.
    assert not _accepted(result, "QC-HEALTH-INFO")[0]


def test_accepted_risk_with_a_bad_date_is_an_inventory_error() -> None:
    from sovaudit.models import SourceLocation

    risk = AcceptedRisk("US-CLOUD-ACT-HOSTING", "r", until="next year",
                        source=SourceLocation("inv.yaml", 12))
    with pytest.raises(InventoryError) as info:
        evaluate([endpoint(AZURE)], DEFAULT, accepted=[risk], now=NOW)
    assert str(info.value).startswith("inv.yaml:12: ")


# --- operators --------------------------------------------------------------------------------


WEAK = Attribution(subject="198.51.100.1", role="address", status=Status.OK, confidence=0.3,
                   flags=("weak", "conflict"))


@pytest.mark.parametrize(
    ("when", "attribution", "matches"),
    [
        ("{fact: category, equals: cloud}", AZURE, True),
        ("{fact: category, equals: cloud}", WEAK, False),
        ("{fact: ultimate_parent_jurisdiction, in: [US, GB]}", AZURE, True),
        # Unknown is neither in nor not in: `not_in` on None is false.
        ("{fact: ultimate_parent_jurisdiction, not_in: [US]}", WEAK, False),
        ("{fact: ultimate_parent_jurisdiction, not_in: [US]}", RISQ, True),
        # ... while `not` of `in` is true on unknown: the documented difference.
        ("{not: {fact: ultimate_parent_jurisdiction, in: [US]}}", WEAK, True),
        ("{fact: ultimate_parent_jurisdiction, exists: false}", WEAK, True),
        ("{fact: ultimate_parent_jurisdiction, exists: true}", AZURE, True),
        ("{fact: flags, contains: weak}", WEAK, True),
        ("{fact: flags, contains: weak}", AZURE, False),
        ("{fact: flags, in: [bogon, conflict]}", WEAK, True),
        ("{fact: flags, not_in: [bogon]}", WEAK, True),
        ("{fact: flags, exists: false}", AZURE, True),
        ("{fact: operator_name, contains: Canada}", AZURE, True),
        ("{fact: operator_name, matches: '(?i)^microsoft\\b'}", AZURE, True),
        ("{fact: operator_name, matches: 'Amazon'}", AZURE, False),
        ("{fact: operator_name, matches: 'x'}", WEAK, False),
        ("{fact: confidence, gte: 0.5}", AZURE, True),
        ("{fact: confidence, gte: 0.5}", WEAK, False),
        ("{fact: confidence, lte: 0.5}", WEAK, True),
        ("{fact: asn, in: [8075, 8068]}", AZURE, True),
        ("{fact: asn, gte: 1}", WEAK, False),
        ("{fact: foreign_controlled, equals: true}", AZURE, True),
        ("{fact: foreign_controlled, equals: false}", RISQ, True),
        ("{fact: foreign_controlled, equals: false}", WEAK, False),
        ("{fact: status, equals: ok}", AZURE, True),
        ("{fact: host, matches: '\\.qc\\.ca$'}", AZURE, True),
        ("{fact: data_classes, in: [health, tax]}", AZURE, True),
        ("{fact: data_classes, contains: public}", AZURE, False),
        ("{fact: layer, equals: web}", AZURE, True),
        ("{any: [{fact: category, equals: cdn}, {fact: asn, equals: 8075}]}", AZURE, True),
        ("{all: [{fact: category, equals: cloud}, {fact: asn, equals: 1}]}", AZURE, False),
        ("{all: [{fact: category, equals: cloud}, {fact: asn, equals: 8075}, "
         "{fact: role, equals: address}, {fact: layer, equals: web}]}", AZURE, True),
        ("{any: [{fact: role, equals: mx}, {fact: role, equals: ns}, "
         "{fact: role, equals: address}]}", AZURE, True),
    ],
)
def test_operator_semantics(tmp_path: Path, when: str, attribution: Attribution,
                            matches: bool) -> None:
    rules = one_rule(tmp_path, when)
    [result] = evaluate([endpoint(attribution)], rules, now=NOW)
    assert bool(result.findings) is matches


@pytest.mark.parametrize(
    ("when", "attributed", "matches"),
    [
        ("{fact: attributed, equals: false}", False, True),
        ("{fact: attributed, equals: false}", True, False),
        ("{all: [{fact: attributed, equals: true}, {fact: endpoint_status, equals: ok}]}",
         True, True),
    ],
)
def test_endpoint_only_rules(tmp_path: Path, when: str, attributed: bool, matches: bool) -> None:
    rules = one_rule(tmp_path, when)
    assert rules.rules[0].endpoint_only
    ep = endpoint(RISQ if attributed else UNKNOWN)
    [result] = evaluate([ep], rules, now=NOW)
    assert bool(result.findings) is matches
    if matches:
        assert result.findings[0].subject == ep.host


def test_every_fact_is_documented_and_readable() -> None:
    facts = EndpointFacts(endpoint(AZURE))
    for fact in FACTS.values():
        assert fact.doc.endswith(".") and len(fact.doc) > 15, fact.name
        fact.value(facts, AZURE)  # readable on a real attribution
        assert fact.value(facts, None) is None or fact.scope.value == "endpoint"
    assert FACTS["ultimate_parent_jurisdiction"].value(facts, AZURE) == "US"
    assert FACTS["foreign_controlled"].value(facts, UNKNOWN) is None
    assert FACTS["data_classes"].value(facts, None) == ("health",)
    assert set(OPERATORS) == set(OPERATOR_DOCS)


@pytest.mark.parametrize(
    "pattern",
    ["(a+)+$", "(a*)*b", "(x+x+)+y", "(a|aa)*c", "(\\w+\\s?)*$", "(a)\\1", "(?:a{2,})+"],
)
def test_catastrophic_regexes_are_rejected(pattern: str) -> None:
    with pytest.raises(OperatorError):
        compile_regex(pattern)


@pytest.mark.parametrize("pattern", ["^www\\.", "\\.azurewebsites\\.net$", "(?i)microsoft",
                                     "^(mx|smtp)[0-9]*\\.", "a{1,3}b"])
def test_ordinary_regexes_are_accepted(pattern: str) -> None:
    compile_regex(pattern)


def test_regex_length_is_capped() -> None:
    with pytest.raises(OperatorError, match="longer than"):
        compile_regex("a" * 300)


# --- loader errors: always FILE:LINE ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (RULE.replace("fact: ultimate_parent_jurisdiction", "fact: parent_country"), 10,
         "unknown fact 'parent_country'"),
        (RULE.replace("in: [US]", "within: [US]"), 10, "unknown operator 'within'"),
        (RULE.replace('{fr: "Titre", en: "Title"}', '{fr: "Titre"}'), 3,
         "lacks the 'en' translation"),
        (RULE.replace('rationale: {fr: "Justification", en: "Rationale"}',
                      'rationale: {fr: "", en: "Rationale"}'), 4, "'fr' must be a non-empty"),
        (RULE.replace("default: high", "default: severe"), 12, "unknown severity 'severe'"),
        (RULE.replace("reviewed: 2026-11-01", "reviewed: 2026-13-01"), 7, "invalid value"),
        (RULE.replace("reviewed: 2026-11-01", "reviewed: soon"), 7, "must be a date"),
        (RULE.replace("in: [US]", "in: [USA]"), 10, "not a valid value"),
        (RULE.replace("ultimate_parent_jurisdiction, in: [US]", "category, in: [clod]"), 10,
         "not a known value of fact 'category'"),
        (RULE.replace("in: [US]", "in: US"), 10, "expects a non-empty list"),
        (RULE.replace("in: [US]", "in: [US], equals: US"), 10, "exactly one operator"),
        (RULE.replace("in: [US]}", "matches: '(a+)+'}"), 10, "nested quantifiers"),
        (RULE.replace("in: [US]}", "gte: 1}"), 10, "does not apply to fact"),
        (RULE.replace("id: TEST-RULE", "id: test rule"), 2, "rule id must be"),
        (RULE.replace("    reviewed: 2026-11-01\n", ""), 2, "lacks the required key 'reviewed'"),
        (RULE.replace("    when:", "    whenever: 1\n    when:"), 8, "unknown key 'whenever'"),
        (RULE.replace("url: \"https://", "url: \"ftp://"), 6, "http(s) URL"),
        (RULE.replace("      default: high", "      default: high\n      by_data_class: "
                      "{medical: high}"), 13, "unknown data class 'medical'"),
        (RULE.replace("    when:", "    layers: [web, cloud]\n    when:"), 8, "unknown layer"),
        (RULE.replace("      all:", "      every:"), 9, "one of all / any / not"),
        (RULE.replace("reviewed: 2026-11-01", "reviewed: !!python/object:os.system x"), 7,
         "not allowed"),
        (RULE + "  - *anchor\n", 13, "invalid YAML"),
        (RULE.replace("    title:", "    id: TEST-RULE\n    title:"), 3, "duplicate key 'id'"),
        ("rules: {}\n", 1, "'rules' must be a list"),
        ("- 1\n", 1, "must be a mapping with a 'rules' list"),
        ("rules: [\n", 2, "invalid YAML"),
        ("---\nrules: []\n---\nrules: []\n", 3, "invalid YAML"),
    ],
)
def test_rule_errors_name_file_and_line(tmp_path: Path, text: str, line: int,
                                        message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RuleError) as info:
        load_rules([path], include_default=False)
    assert info.value.path == str(path)
    assert info.value.line == line, str(info.value)
    assert message in info.value.message
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_aliases_merge_keys_and_binary_tags_are_rejected(tmp_path: Path) -> None:
    alias = RULE.replace('    title: {fr: "Titre", en: "Title"}',
                         '    title: &t {fr: "Titre", en: "Title"}').replace(
        '    rationale: {fr: "Justification", en: "Rationale"}', "    rationale: *t")
    with pytest.raises(RuleError, match="aliases"):
        load_rules([write(tmp_path, alias)], include_default=False)
    merge = RULE.replace('    title: {fr: "Titre", en: "Title"}',
                         '    title: {<<: {fr: "Titre"}, en: "Title"}')
    with pytest.raises(RuleError, match="plain strings"):
        load_rules([write(tmp_path, merge)], include_default=False)
    binary = RULE.replace('title: "18 U.S.C. § 2713"', "title: !!binary aGVsbG8=")
    with pytest.raises(RuleError, match="not allowed"):
        load_rules([write(tmp_path, binary)], include_default=False)


def test_depth_and_size_are_capped(tmp_path: Path) -> None:
    deep = RULE.replace("{fact: ultimate_parent_jurisdiction, in: [US]}",
                        "{not: " * 40 + "{fact: asn, equals: 1}" + "}" * 40)
    with pytest.raises(RuleError, match="nesting deeper"):
        load_rules([write(tmp_path, deep)], include_default=False)
    big = tmp_path / "big.yaml"
    big.write_bytes(b"# " + b"x" * (1024 * 1024 + 10) + b"\nrules: []\n")
    with pytest.raises(RuleError, match="larger than"):
        load_rules([big], include_default=False)


def test_duplicate_ids_across_packs(tmp_path: Path) -> None:
    first = write(tmp_path, RULE, "a.yaml")
    second = write(tmp_path, "\n# another pack\n" + RULE, "b.yaml")
    with pytest.raises(RuleError) as info:
        load_rules([first, second], include_default=False)
    assert str(info.value).startswith(f"{second}:4: duplicate rule id TEST-RULE")
    assert f"{first}:2" in str(info.value)
    clash = write(tmp_path, RULE.replace("TEST-RULE", "UNKNOWN-OPERATOR"), "c.yaml")
    with pytest.raises(RuleError, match="rules/sovereignty.yaml"):
        load_rules([clash])


def test_missing_file_and_directory_of_packs(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="cannot read"):
        load_rules([tmp_path / "nope.yaml"], include_default=False)
    write(tmp_path, RULE, "one.yaml")
    write(tmp_path, RULE.replace("TEST-RULE", "TEST-TWO"), "two.yaml")
    rules = load_rules([tmp_path], include_default=False)
    assert [r.id for r in rules.rules] == ["TEST-RULE", "TEST-TWO"]
    assert [p.id for p in rules.packs] == ["one", "two"]


def test_packs_are_datasets_and_defaults_are_not_loaded_twice() -> None:
    from sovaudit.evaluate import default_pack_paths

    again = load_rules(default_pack_paths())
    assert [r.id for r in again.rules] == [r.id for r in DEFAULT.rules]
    datasets = DEFAULT.datasets()
    names = [d.name for d in datasets]
    assert names[:4] == ["rules:united-states", "rules:quebec", "rules:canada", "rules:sovereignty"]
    # The optional packs (domains, mail signals) join the default profile once shipped.
    assert set(names[4:]) <= {"rules:domains", "rules:mail-signals", "rules:web"}
    # date = the latest review in the pack (rule texts checked on 2026-12-03, the rest earlier)
    assert all(len(d.version) == 12 and d.date in ("2026-11-25", "2026-12-03") for d in datasets)
    assert {d.name: d.date for d in datasets}["rules:united-states"] == "2026-12-03"
    assert datasets[0].source == "rules/united-states.yaml"
    pack, rules = load_pack(default_pack_paths()[1], default=True)
    assert pack.title is not None and pack.title.fr.startswith("Québec")


# --- CLI --------------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_rules_list_json() -> None:
    result = runner.invoke(app, ["rules", "list", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["id"] for r in data] == [r.id for r in DEFAULT.rules]
    hosting = data[0]
    assert hosting["id"] == "US-CLOUD-ACT-HOSTING"
    assert hosting["by_data_class"]["health"] == "critical"
    assert hosting["title"]["fr"] and hosting["title"]["en"]
    assert hosting["source"].startswith("rules/united-states.yaml:")


def test_cli_rules_list_table_and_show() -> None:
    listed = runner.invoke(app, ["rules", "list", "--lang", "fr"])
    assert listed.exit_code == 0
    assert "UNKNOWN-OPERATOR" in listed.stdout and "Exploitant inconnu" in listed.stdout
    shown = runner.invoke(app, ["rules", "show", "US-FISA702-CDN-TLS", "--lang", "fr"])
    assert shown.exit_code == 0, shown.output
    assert "non vérifié" in shown.stdout and "1881a" in shown.stdout
    assert "Révisée le :" in shown.stdout
    english = runner.invoke(app, ["rules", "show", "UNKNOWN-OPERATOR"])
    assert "once per endpoint" in english.stdout and "attributed" in english.stdout
    missing = runner.invoke(app, ["rules", "show", "NOPE"])
    assert missing.exit_code != 0
    assert isinstance(missing.exception, UserError)


def test_cli_rules_validate(tmp_path: Path) -> None:
    good = write(tmp_path, RULE, "good.yaml")
    bad = write(tmp_path, RULE.replace("default: high", "default: severe"), "bad.yaml")
    ok = runner.invoke(app, ["rules", "validate", str(good)])
    assert ok.exit_code == 0, ok.output
    assert "1 rule(s)" in ok.stdout
    result = runner.invoke(app, ["rules", "validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:12: unknown severity 'severe'" in result.output.replace("\n", "")
    clash = write(tmp_path, RULE.replace("TEST-RULE", "SOV-PUBLIC-INFRA"), "clash.yaml")
    dup = runner.invoke(app, ["rules", "validate", str(clash)])
    assert dup.exit_code == 2 and "duplicate rule id SOV-PUBLIC-INFRA" in dup.output
    alone = runner.invoke(app, ["rules", "validate", "--no-default-rules", str(clash)])
    assert alone.exit_code == 0


def test_docs_list_every_fact_and_operator() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "rules.md").read_text(encoding="utf-8")
    for fact in FACTS.values():
        assert f"| `{fact.name}` | {fact.scope.value} | {fact.kind.value} | {fact.doc} |" in docs
    for op, text in OPERATOR_DOCS.items():
        assert f"| `{op}` | {text} |" in docs
    for rule in DEFAULT.rules:
        assert rule.id in docs
