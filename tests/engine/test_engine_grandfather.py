"""grandfatherExisting: on UPDATE a violation the old object already had is only a warning; new ones deny."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import evaluate
from app.netpol import decode_policy
from app.rules.base import Action, Context

WEB = {"matchLabels": {"app": "web"}}
LB = {"from": [{"podSelector": {"matchLabels": {"app": "lb"}}}], "ports": [{"port": 80}]}


def spec(*ingress: Any) -> dict[str, Any]:
    return {"podSelector": WEB, "policyTypes": ["Ingress"], "ingress": list(ingress)}


def update(policy: Any, old: dict[str, Any] | None, operation: Any = "UPDATE") -> Context:
    return Context(
        source="admission",
        operation=operation,
        old_object=decode_policy(policy(old)) if old is not None else None,
    )


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(spec({}), spec({}), [("spec.ingress[0]", Action.WARN, True)], id="kept-violation-warns"),
        pytest.param(
            spec({}),
            spec(LB, {}),
            [("spec.ingress[1]", Action.WARN, True)],
            id="violation-moved-by-an-inserted-rule-still-warns",
        ),
        pytest.param(
            spec(LB), spec(LB, {}), [("spec.ingress[1]", Action.DENY, False)], id="new-violation-denies"
        ),
        pytest.param(
            spec({}),
            spec({}, {}),
            [("spec.ingress[0]", Action.WARN, True), ("spec.ingress[1]", Action.DENY, False)],
            id="second-copy-of-an-old-violation-denies",
        ),
        pytest.param(
            spec(LB, {}),
            spec({}, {}),
            [("spec.ingress[0]", Action.DENY, False), ("spec.ingress[1]", Action.WARN, True)],
            id="a-copy-inserted-before-a-kept-violation-is-the-one-that-denies",
        ),
        pytest.param(
            spec(LB, {}),
            spec({}, LB),
            [("spec.ingress[0]", Action.WARN, True)],
            id="reordered-rules-still-warn",
        ),
        pytest.param(spec({}), spec(LB), [], id="fixed-violation-is-gone"),
    ],
)
def test_update_grandfathers_only_what_the_old_object_had(
    ruleset: Any,
    policy: Any,
    old: dict[str, Any],
    new: dict[str, Any],
    expected: list[tuple[str, Action, bool]],
) -> None:
    verdict = evaluate(decode_policy(policy(new)), ruleset(), update(policy, old))
    assert [(v.path, v.action, v.grandfathered) for v in verdict.violations] == expected


def test_a_new_violation_of_another_rule_still_denies_next_to_a_grandfathered_one(
    ruleset: Any, policy: Any
) -> None:
    old, new = spec({}), {**spec({}), "policyTypes": ["Ingress", "Egress"], "egress": [{}]}
    verdict = evaluate(decode_policy(policy(new)), ruleset(), update(policy, old))
    assert [(v.path, v.action) for v in verdict.violations] == [
        ("spec.ingress[0]", Action.WARN),
        ("spec.egress[0]", Action.DENY),
    ]
    assert verdict.denied


@pytest.mark.parametrize(
    ("grandfather", "operation", "has_old", "action"),
    [
        pytest.param(False, "UPDATE", True, Action.DENY, id="grandfathering-off"),
        pytest.param(True, "CREATE", False, Action.DENY, id="create-has-no-past"),
        pytest.param(True, "UPDATE", False, Action.DENY, id="update-without-old-object"),
        pytest.param(True, "UPDATE", True, Action.WARN, id="update-with-old-object"),
    ],
)
def test_grandfathering_needs_the_setting_an_update_and_the_old_object(
    ruleset: Any, policy: Any, grandfather: bool, operation: str, has_old: bool, action: Action
) -> None:
    context = update(policy, spec({}) if has_old else None, operation)
    verdict = evaluate(decode_policy(policy(spec({}))), ruleset(grandfatherExisting=grandfather), context)
    assert [v.action for v in verdict.violations] == [action]


def test_grandfathered_denial_in_audit_mode_is_audit(ruleset: Any, policy: Any) -> None:
    verdict = evaluate(decode_policy(policy(spec({}))), ruleset(mode="audit"), update(policy, spec({})))
    assert [(v.action, v.grandfathered) for v in verdict.violations] == [(Action.AUDIT, True)]


def test_warnings_are_not_marked_grandfathered(ruleset: Any, policy: Any) -> None:
    every_pod = {**spec(LB), "podSelector": {}}
    verdict = evaluate(decode_policy(policy(every_pod)), ruleset(), update(policy, every_pod))
    assert [(v.rule, v.action, v.grandfathered) for v in verdict.violations] == [
        ("forbid-empty-pod-selector", Action.WARN, False)
    ]


def test_baseline_protection_is_never_grandfathered(ruleset: Any, policy: Any) -> None:
    labels = {"netpol-guard.io/baseline": "true"}
    old = policy(spec(LB), labels=labels)
    new = policy(spec(LB, LB), labels=labels)
    context = Context(source="admission", operation="UPDATE", old_object=decode_policy(old))
    verdict = evaluate(decode_policy(new), ruleset(), context)
    assert [(v.rule, v.path, v.action) for v in verdict.violations] == [
        ("protect-baseline", "spec", Action.DENY)
    ]


@pytest.mark.parametrize(
    ("labels", "denied"),
    [
        pytest.param({"netpol-guard.io/baseline": "true"}, True, id="baseline"),
        pytest.param({}, False, id="other"),
    ],
)
def test_delete_runs_only_baseline_protection(
    ruleset: Any, policy: Any, labels: dict[str, str], denied: bool
) -> None:
    # The deleted object violates forbid-allow-all too; DELETE does not judge content.
    deleted = decode_policy(policy(spec({}), labels=labels))
    context = Context(source="admission", operation="DELETE", old_object=deleted)
    verdict = evaluate(deleted, ruleset(), context)
    assert verdict.rule_ids == (("protect-baseline",) if denied else ())
    assert verdict.denied is denied
