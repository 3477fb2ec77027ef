"""One rules file everywhere: the chart takes the file `check --config` reads, and refuses at render time
(with the value's path) whatever rules the server would refuse at start, so a typo cannot crash-loop the
pods behind a fail-closed webhook. Real Helm; the server's own loader is the oracle."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from chart_rendering import CHART, ROOT, Render, one, run_helm

from app.errors import RulesFileError
from app.ruleset import Mode, load_ruleset, parse_ruleset_text

EXAMPLE_RULES = ROOT / "deploy" / "examples" / "rules.yaml"
HEADER = "apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\n"


def served_rules(objects: list[dict[str, object]]) -> str:
    configmap = one(objects, "ConfigMap", "netpol-guard-rules")
    data = configmap["data"]
    assert isinstance(data, dict)
    text = data["rules.yaml"]
    assert isinstance(text, str)
    return text


def template(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_helm(helm, "template", "netpol-guard", str(CHART), *args)


def test_the_file_check_reads_is_served_verbatim_with_set_file(helm: str) -> None:
    result = template(helm, "--set-file", f"rulesFile={EXAMPLE_RULES}")

    assert result.returncode == 0, result.stderr
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert served_rules(objects).rstrip("\n") == EXAMPLE_RULES.read_text().rstrip("\n")
    assert parse_ruleset_text(served_rules(objects), "ConfigMap") == load_ruleset(EXAMPLE_RULES)


def test_the_starter_from_rules_init_is_accepted_by_the_chart(helm: str, tmp_path: Path) -> None:
    starter = subprocess.run(
        [sys.executable, "-m", "app", "rules", "init"], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    rules = tmp_path / "rules.yaml"
    rules.write_text(starter)

    result = template(helm, "--set-file", f"rulesFile={rules}")

    assert result.returncode == 0, result.stderr
    objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert parse_ruleset_text(served_rules(objects), "ConfigMap") == load_ruleset(None)


def test_the_rules_value_may_hold_the_whole_file_with_apiversion_and_kind(
    render: Render, tmp_path: Path
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"rules": yaml.safe_load(EXAMPLE_RULES.read_text())}))

    loaded = parse_ruleset_text(served_rules(render(values)), "ConfigMap")

    assert loaded == load_ruleset(EXAMPLE_RULES)


def _require_labels(pattern: str, extra: str = "") -> str:
    labels = f"      - key: team\n        pattern: '{pattern}'\n{extra}"
    return f"{HEADER}rules:\n  require-labels:\n    labels:\n{labels}"


BAD_RULES = [
    pytest.param(_require_labels("[a-"), "rules.require-labels.labels[0].pattern", id="unclosed-class"),
    pytest.param(_require_labels("(?=x)"), "rules.require-labels.labels[0].pattern", id="lookahead"),
    pytest.param(_require_labels("a)|(b"), "rules.require-labels.labels[0].pattern", id="bracket-escape"),
    pytest.param(_require_labels(r"(a)\1"), "rules.require-labels.labels[0].pattern", id="backreference"),
    pytest.param(_require_labels("a{1001}"), "rules.require-labels.labels[0].pattern", id="repeat-over-1000"),
    pytest.param(
        _require_labels("x", "      - key: team\n"), "rules.require-labels", id="duplicate-label-key"
    ),
    pytest.param(f"{HEADER}colour: blue\n", "colour", id="unknown-top-level-key"),
    pytest.param(f"{HEADER}rules:\n  no-such-rule: {{}}\n", "rules.no-such-rule", id="unknown-rule-id"),
    pytest.param(
        f"{HEADER}rules:\n  limit-complexity:\n    maxRules: -1\n",
        "rules.limit-complexity.maxRules",
        id="negative",
    ),
    pytest.param(
        f"{HEADER}rules:\n  limit-complexity:\n    maxRules: lots\n",
        "rules.limit-complexity.maxRules",
        id="not-int",
    ),
    pytest.param(
        f"{HEADER}rules:\n  limit-complexity:\n    maxRules: 1000001\n",
        "rules.limit-complexity.maxRules",
        id="above-maximum",
    ),
    pytest.param(
        f"{HEADER}rules:\n  forbid-broad-cidr:\n    allow: [10.0.0.0/8, 10.0.0.0/33]\n",
        "rules.forbid-broad-cidr.allow[1]",
        id="allow-prefix-too-long",
    ),
    pytest.param(
        f"{HEADER}rules:\n  forbid-broad-cidr:\n    allow: ['1::2::3/64']\n",
        "rules.forbid-broad-cidr.allow[0]",
        id="allow-two-ellipses",
    ),
    pytest.param(f"{HEADER}mode: block\n", "mode", id="unknown-mode"),
    pytest.param(f"{HEADER}exemptions:\n  users: alice\n", "exemptions.users", id="string-instead-of-list"),
    pytest.param(
        f"{HEADER}rules:\n  require-labels:\n    labels:\n      - pattern: x\n",
        "rules.require-labels.labels[0].key",
        id="missing-required-key",
    ),
    pytest.param("apiVersion: netpol-guard.io/v1\nkind: RuleSet\n", "apiVersion", id="wrong-api-version"),
]


@pytest.mark.parametrize(("text", "path"), BAD_RULES)
def test_a_rules_file_the_server_refuses_fails_the_render_naming_its_path(
    helm: str, tmp_path: Path, text: str, path: str
) -> None:
    with pytest.raises(RulesFileError, match=re.escape(path)):
        parse_ruleset_text(text, "rules.yaml")  # the server refuses it: the chart must too
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)

    result = template(helm, "--set-file", f"rulesFile={rules}")

    assert result.returncode != 0
    assert f"rulesFile: {path}" in result.stderr, result.stderr


@pytest.mark.parametrize(("text", "path"), BAD_RULES)
def test_the_same_rules_as_the_rules_value_fail_the_render_naming_the_values_path(
    helm: str, tmp_path: Path, text: str, path: str
) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump({"rules": yaml.safe_load(text)}))

    result = template(helm, "-f", str(values))

    assert result.returncode != 0
    # The values schema (Helm's own messages, JSON pointer) or the render-time check (dotted path).
    parts = path.split("[")[0].split(".")
    pointer, parent = "/".join(["/rules", *parts]), "/".join(["/rules", *parts[:-1]])
    assert (
        f"rules.{path}" in result.stderr
        or f"at '{pointer}" in result.stderr
        or f"at '{parent}': additional properties '{parts[-1]}' not allowed" in result.stderr
    ), result.stderr


@pytest.mark.parametrize(
    "pattern", ["team-[a-z]+", "^(a+)+$", r"a\(", "[(]x", "[]()]x", r"\p{L}+", "((a)(b))", "(?i)Team"]
)
def test_patterns_the_server_accepts_render(helm: str, tmp_path: Path, pattern: str) -> None:
    text = _require_labels(pattern)
    parse_ruleset_text(text, "rules.yaml")
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)

    result = template(helm, "--set-file", f"rulesFile={rules}")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        pytest.param(
            "mode: warn\nrules: {}\n",
            "rulesFile: a rules file starts with apiVersion: netpol-guard.io/v1alpha1 and kind: RuleSet",
            id="chart-value-shape",
        ),
        pytest.param(
            (CHART / "values.yaml").read_text(),
            "rulesFile: this is a Helm values file, not a rules file",
            id="values-file",
        ),
        pytest.param("rules: [\n", "rulesFile: not a YAML mapping", id="not-yaml"),
    ],
)
def test_a_rules_file_in_the_wrong_shape_gets_a_one_line_hint(
    helm: str, tmp_path: Path, text: str, hint: str
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)

    result = template(helm, "--set-file", f"rulesFile={rules}")

    assert result.returncode != 0
    [line] = [line for line in result.stderr.splitlines() if hint in line]
    assert line.startswith("Error: execution error at ")


def test_default_values_still_serve_the_default_rules(render: Render) -> None:
    loaded = parse_ruleset_text(served_rules(render()), "ConfigMap")
    assert loaded.mode is Mode.ENFORCE
    assert loaded == load_ruleset(None)


def test_a_5000_digit_number_fails_the_render_as_it_fails_the_server(helm: str, tmp_path: Path) -> None:
    text = f"{HEADER}rules:\n  limit-complexity:\n    maxRules: 1{'0' * 5000}\n"
    with pytest.raises(RulesFileError, match="5,001 digits"):
        parse_ruleset_text(text, "rules.yaml")
    rules = tmp_path / "rules.yaml"
    rules.write_text(text)

    result = template(helm, "--set-file", f"rulesFile={rules}")

    assert result.returncode != 0
    assert "rulesFile: rules.limit-complexity.maxRules: " in result.stderr, result.stderr
