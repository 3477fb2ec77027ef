"""Modes: enforce keeps actions, warn turns denials into warnings, audit shows nothing."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import evaluate_document
from app.rules.base import Action
from app.ruleset import Mode, parse_ruleset_text

ALLOW_ALL_ON_EVERY_POD = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}


@pytest.mark.parametrize(
    ("mode", "denied", "actions"),
    [
        pytest.param("enforce", True, [Action.DENY, Action.WARN], id="enforce"),
        pytest.param("warn", False, [Action.WARN, Action.WARN], id="warn"),
        pytest.param("audit", False, [Action.AUDIT, Action.AUDIT], id="audit"),
    ],
)
def test_mode_decides_what_a_violation_does(
    ruleset: Any, policy: Any, mode: str, denied: bool, actions: list[Action]
) -> None:
    rules = ruleset(mode=mode)
    verdict = evaluate_document(policy(ALLOW_ALL_ON_EVERY_POD), rules)
    assert verdict.mode is Mode(mode)
    assert [(v.rule, v.path) for v in verdict.violations] == [
        ("forbid-allow-all", "spec.ingress[0]"),
        ("forbid-empty-pod-selector", "spec.podSelector"),
    ]
    assert [v.action for v in verdict.violations] == actions
    assert verdict.denied is denied
    assert len(verdict.denials) == actions.count(Action.DENY)
    assert len(verdict.warnings) == actions.count(Action.WARN)


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        pytest.param("deny", Action.DENY, id="deny"),
        pytest.param("warn", Action.WARN, id="warn"),
        pytest.param("audit", Action.AUDIT, id="audit"),
        pytest.param("off", None, id="off"),
    ],
)
def test_rule_action_from_the_rules_file_is_applied(
    ruleset: Any, policy: Any, action: str, expected: Action | None
) -> None:
    rules = ruleset(
        rules={"forbid-allow-all": {"action": action}, "forbid-empty-pod-selector": {"action": "off"}}
    )
    verdict = evaluate_document(policy(ALLOW_ALL_ON_EVERY_POD), rules)
    assert [v.action for v in verdict.violations] == ([] if expected is None else [expected])


def test_bare_yaml_off_switches_a_rule_off(policy: Any) -> None:

    rules = parse_ruleset_text(
        "apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\nrules:\n  forbid-allow-all:\n    action: off\n",
        "rules.yaml",
    )
    assert "forbid-allow-all" not in evaluate_document(policy(ALLOW_ALL_ON_EVERY_POD), rules).rule_ids


def test_violation_renders_rule_path_problem_and_fix(ruleset: Any, policy: Any) -> None:
    (violation,) = evaluate_document(
        policy({**ALLOW_ALL_ON_EVERY_POD, "podSelector": {"matchLabels": {"a": "b"}}}), ruleset()
    ).violations
    assert violation.render() == (
        "[forbid-allow-all] spec.ingress[0]: rule with no from admits all sources on every port. "
        "Fix: list the allowed sources and ports"
    )
