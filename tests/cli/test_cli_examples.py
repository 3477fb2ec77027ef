"""The shipped examples do what they say: good ones pass, each bad one breaks the rule it is named after."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.engine import evaluate_document
from app.manifests import read_manifests
from app.rules import REGISTRY
from app.rules.base import Action, Context
from app.ruleset import RuleSet, load_ruleset

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "deploy" / "examples"
RULES_FILE = EXAMPLES / "rules.yaml"
GOOD = sorted((EXAMPLES / "policies" / "good").glob("*.yaml"))
BAD = sorted((EXAMPLES / "policies" / "bad").glob("*.yaml"))
CONTEXT = Context(source="manifest")


def fired(path: Path, ruleset: RuleSet) -> set[tuple[str, Action]]:
    (manifest,) = read_manifests([str(path)])
    assert manifest.error is None, manifest.error
    assert manifest.policies, f"{path} holds no NetworkPolicy"
    return {
        (v.rule, v.action)
        for document in manifest.policies
        for v in evaluate_document(document.obj, ruleset, CONTEXT).violations
    }


def test_example_rules_file_loads_and_sets_every_rule() -> None:
    ruleset = load_ruleset(RULES_FILE)
    text = RULES_FILE.read_text()
    missing = [rule_id for rule_id in REGISTRY if f"\n  {rule_id}:" not in text]
    assert not missing, f"{RULES_FILE} does not show these rules: {missing}"
    assert ruleset.exemptions.annotation.enabled


def test_there_is_one_bad_example_per_rule_that_check_runs() -> None:
    check_rules = {rule_id for rule_id, rule in REGISTRY.items() if rule.scope != "admission"}
    assert {path.stem for path in BAD} == check_rules


@pytest.mark.parametrize("rules", ["default", "example"], ids=["default-rules", "example-rules"])
@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_good_example_has_no_finding(path: Path, rules: str) -> None:
    ruleset = load_ruleset(None if rules == "default" else RULES_FILE)
    assert fired(path, ruleset) == set()


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_example_breaks_the_rule_it_is_named_after_and_says_so(path: Path) -> None:
    rule_id = path.stem
    first_line = path.read_text().splitlines()[0]
    assert re.match(rf"# Breaks {re.escape(rule_id)}\b", first_line), first_line
    found = fired(path, load_ruleset(RULES_FILE))
    assert {rule for rule, _ in found} == {rule_id}, found


def test_check_example_target_reports_every_bad_file_and_no_good_one() -> None:
    config = str(RULES_FILE.relative_to(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "app", "check", "--config", config, "deploy/examples/policies"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    reported = {line.split(":", 1)[0] for line in result.stdout.splitlines()[:-1]}
    assert reported == {str(path.relative_to(ROOT)) for path in BAD}


def test_readme_check_example_is_real_output() -> None:
    readme = (ROOT / "README.md").read_text()
    command = "$ netpol-guard check deploy/examples/policies/bad/forbid-allow-all.yaml\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    result = subprocess.run(
        [sys.executable, "-m", "app", "check", "deploy/examples/policies/bad/forbid-allow-all.yaml"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert shown == result.stdout, "update the README example (section 'What a developer sees')"
