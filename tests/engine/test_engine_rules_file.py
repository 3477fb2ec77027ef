"""Rules file errors name the file and the key path; a valid file is applied as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.errors import RulesFileError
from app.ruleset import load_ruleset, parse_ruleset_text

HEADER = "apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\n"


@pytest.mark.parametrize(
    ("body", "where", "what"),
    [
        pytest.param("colour: blue\n", "colour", "unknown key", id="unknown-top-level-key"),
        pytest.param(
            "exemptions:\n  namespace: [a]\n", "exemptions.namespace", "unknown key", id="unknown-nested-key"
        ),
        pytest.param(
            "rules:\n  forbid-everything: {}\n",
            "rules.forbid-everything",
            "unknown rule id",
            id="unknown-rule-id",
        ),
        pytest.param(
            "rules:\n  forbid-allow-all:\n    allowPortsScoped: false\n",
            "rules.forbid-allow-all.allowPortsScoped",
            "unknown key",
            id="misspelt-parameter",
        ),
        pytest.param(
            "rules:\n  require-labels:\n    labels:\n      - key: team\n        pattern: '[a-'\n",
            "rules.require-labels.labels[0].pattern",
            "not a valid RE2 regular expression",
            id="bad-regex",
        ),
        pytest.param(
            "rules:\n  limit-port-range:\n    maxPorts: lots\n",
            "rules.limit-port-range.maxPorts",
            "integer",
            id="wrong-type-int",
        ),
        pytest.param(
            "rules:\n  forbid-allow-all:\n    allowPortScoped: 'no'\n",
            "rules.forbid-allow-all.allowPortScoped",
            "boolean",
            id="wrong-type-bool",
        ),
        pytest.param(
            "rules:\n  require-policy-types:\n    mustInclude: [Ingress, egress]\n",
            "rules.require-policy-types.mustInclude[1]",
            "'Ingress' or 'Egress'",
            id="must-include-value",
        ),
        pytest.param(
            "rules:\n  forbid-broad-cidr:\n    allow: [0.0.0.0/0, 10.0.0.0/33]\n",
            "rules.forbid-broad-cidr.allow[1]",
            "not a CIDR",
            id="allow-entry-not-a-cidr",
        ),
        pytest.param(
            "rules:\n  protect-baseline:\n    allowedUsers: alice\n",
            "rules.protect-baseline.allowedUsers",
            "list",
            id="string-instead-of-list",
        ),
        pytest.param(
            "rules:\n  limit-complexity:\n    action: block\n",
            "rules.limit-complexity.action",
            "'deny', 'warn', 'audit' or 'off'",
            id="unknown-action",
        ),
        pytest.param("mode: strict\n", "mode", "'enforce', 'warn' or 'audit'", id="unknown-mode"),
        pytest.param("rules: []\n", "rules", "must be a mapping", id="rules-as-a-list"),
        pytest.param(
            "rules:\n  forbid-allow-all:\n",
            "rules.forbid-allow-all",
            "must be a mapping",
            id="rule-left-empty",
        ),
        pytest.param(
            "rules:\n  require-labels:\n    labels: [team]\n",
            "rules.require-labels.labels[0]",
            "must be a mapping",
            id="requirement-as-a-string",
        ),
    ],
)
def test_invalid_rules_files_name_the_file_and_key_path(
    tmp_path: Path, body: str, where: str, what: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(HEADER + body, encoding="utf-8")
    with pytest.raises(RulesFileError) as raised:
        load_ruleset(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: {where}: "), message
    assert what in message


def test_every_problem_in_a_file_is_reported_at_once() -> None:
    body = "rules:\n  limit-port-range: {maxPorts: 0}\n  forbid-broad-cidr: {ipv4MinPrefix: 40}\n"
    with pytest.raises(RulesFileError) as raised:
        parse_ruleset_text(HEADER + body, "org.yaml")
    lines = str(raised.value).splitlines()
    assert [line.split(": ")[1] for line in lines] == [
        "rules.forbid-broad-cidr.ipv4MinPrefix",
        "rules.limit-port-range.maxPorts",
    ]


@pytest.mark.parametrize(
    ("text", "what"),
    [
        pytest.param("rules: [\n", "not valid YAML", id="broken-yaml"),
        pytest.param("- a\n- b\n", "must be a YAML mapping", id="not-a-mapping"),
        pytest.param("kind: RuleSet\n", "apiVersion: required key is missing", id="missing-api-version"),
    ],
)
def test_unreadable_rules_files_are_rules_file_errors(text: str, what: str) -> None:
    with pytest.raises(RulesFileError, match=what):
        parse_ruleset_text(text, "org.yaml")


def test_missing_rules_file_is_a_rules_file_error(tmp_path: Path) -> None:
    with pytest.raises(RulesFileError, match="cannot read the rules file") as raised:
        load_ruleset(tmp_path / "absent.yaml")
    assert (
        str(raised.value)
        == f"{tmp_path / 'absent.yaml'}: cannot read the rules file: No such file or directory"
    )


def test_a_rules_file_that_is_not_utf8_is_an_error_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("apiVersion: netpol-guard.io/v1\n# caf\xe9\n".encode("latin-1"))

    with pytest.raises(RulesFileError) as raised:
        load_ruleset(path)

    assert str(raised.value) == f"{path}:2:6: not UTF-8 text (byte 0xe9); save it as UTF-8"


def test_parameters_in_the_file_reach_the_rule() -> None:
    body = (
        "rules:\n"
        "  forbid-broad-cidr: {allow: [10.0.0.0/8], ipv4MinPrefix: 20}\n"
        "  require-policy-types: {mustInclude: [Ingress, Egress]}\n"
    )
    rules = parse_ruleset_text(HEADER + body, "org.yaml")
    assert rules.settings_for("forbid-broad-cidr").model_dump(
        by_alias=True, include={"allow", "ipv4_min_prefix"}
    ) == {
        "allow": ["10.0.0.0/8"],
        "ipv4MinPrefix": 20,
    }
    assert rules.settings_for("require-policy-types").model_dump()["must_include"] == ["Ingress", "Egress"]


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        pytest.param(
            "mode: warn\nrules:\n  require-labels:\n    action: warn\n",
            "a rules file starts with apiVersion: netpol-guard.io/v1alpha1 and kind: RuleSet",
            id="chart-rules-value-without-apiversion-and-kind",
        ),
        pytest.param(
            "image:\n  tag: x\nrules:\n  mode: warn\n  rules: {}\n",
            "this is a Helm values file, not a rules file",
            id="helm-values-file",
        ),
    ],
)
def test_a_rules_file_in_another_shape_is_one_line_naming_the_right_one(text: str, hint: str) -> None:
    with pytest.raises(RulesFileError) as raised:
        parse_ruleset_text(text, "policy/rules.yaml")

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"policy/rules.yaml: {hint}")
    assert "netpol-guard.io/v1alpha1" in message


def test_the_charts_own_values_file_as_a_rules_file_gets_the_values_file_hint() -> None:
    values = Path(__file__).parents[2] / "charts" / "netpol-guard" / "values.yaml"
    with pytest.raises(RulesFileError, match="this is a Helm values file, not a rules file"):
        load_ruleset(values)


def test_a_5000_digit_number_is_one_line_naming_its_line_and_column(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"{HEADER}rules:\n  limit-complexity:\n    maxRules: 1{'0' * 5000}\n")

    with pytest.raises(RulesFileError) as raised:
        load_ruleset(rules)

    assert (
        str(raised.value)
        == f"{rules}:5:15: not valid YAML: a number of 5,001 digits cannot be read (no field holds one)"
    )
