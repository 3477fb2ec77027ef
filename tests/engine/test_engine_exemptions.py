"""Exemptions: namespaces (globs), users and groups are never judged; per-rule namespace scoping."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import evaluate, evaluate_document
from app.netpol import decode_policy
from app.rules.base import Context

ALLOW_ALL = {"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"], "ingress": [{}]}
EXEMPTIONS = {
    "namespaces": ["kube-*", "team-?", "sandbox"],
    "users": ["ci-bot"],
    "groups": ["system:masters"],
}


@pytest.mark.parametrize(
    ("namespace", "context", "exempt"),
    [
        pytest.param("kube-system", Context(), "namespace 'kube-system' is exempt", id="glob-star"),
        pytest.param("team-b", Context(), "namespace 'team-b' is exempt", id="glob-question-mark"),
        pytest.param("sandbox", Context(), "namespace 'sandbox' is exempt", id="exact-name"),
        pytest.param("team-bb", Context(), None, id="question-mark-is-one-character"),
        pytest.param("my-sandbox", Context(), None, id="globs-match-the-whole-name"),
        pytest.param("sandbox-2", Context(), None, id="exact-name-is-not-a-prefix"),
        pytest.param("prod", Context(username="ci-bot"), "user 'ci-bot' is exempt", id="user"),
        pytest.param("prod", Context(username="ci-bot-2"), None, id="users-are-exact"),
        pytest.param(
            "prod",
            Context(groups=("devs", "system:masters")),
            "group 'system:masters' is exempt",
            id="any-group",
        ),
        pytest.param("prod", Context(groups=("devs",)), None, id="other-groups"),
        pytest.param(
            "prod", Context(namespace="kube-public"), "namespace 'kube-public' is exempt", id="request-ns"
        ),
    ],
)
def test_exempt_writes_are_not_judged(
    ruleset: Any, policy: Any, namespace: str, context: Context, exempt: str | None
) -> None:
    verdict = evaluate_document(
        policy(ALLOW_ALL, namespace=namespace), ruleset(exemptions=EXEMPTIONS), context
    )
    assert verdict.exempt == exempt
    assert verdict.denied is (exempt is None)
    assert (verdict.violations == ()) is (exempt is not None)


def test_default_exemptions_cover_the_system_namespaces(ruleset: Any, policy: Any) -> None:
    for namespace in ("kube-system", "kube-public", "kube-node-lease"):
        assert evaluate_document(policy(ALLOW_ALL, namespace=namespace), ruleset()).exempt is not None
    assert evaluate_document(policy(ALLOW_ALL, namespace="kube-flannel"), ruleset()).denied


def test_a_policy_without_namespace_is_judged_as_default(ruleset: Any, policy: Any) -> None:
    rules = ruleset(exemptions={"namespaces": ["default"]})
    assert (
        evaluate_document(policy(ALLOW_ALL, namespace=None), rules).exempt == "namespace 'default' is exempt"
    )


def test_request_namespace_wins_over_the_manifest(ruleset: Any, policy: Any) -> None:
    rules = ruleset(exemptions={"namespaces": ["sandbox"]})
    verdict = evaluate_document(policy(ALLOW_ALL, namespace="sandbox"), rules, Context(namespace="prod"))
    assert verdict.exempt is None and verdict.denied


@pytest.mark.parametrize(
    ("scope", "namespace", "judged"),
    [
        pytest.param({}, "prod", True, id="all-namespaces-by-default"),
        pytest.param({"namespaces": ["prod-*"]}, "prod-eu", True, id="included-by-glob"),
        pytest.param({"namespaces": ["prod-*"]}, "dev", False, id="not-included"),
        pytest.param({"namespaces": []}, "prod", False, id="empty-include-list-judges-nothing"),
        pytest.param({"excludeNamespaces": ["dev-*"]}, "dev-1", False, id="excluded-by-glob"),
        pytest.param({"excludeNamespaces": ["dev-*"]}, "prod", True, id="not-excluded"),
        pytest.param({"namespaces": ["p*"], "excludeNamespaces": ["play"]}, "play", False, id="exclude-wins"),
    ],
)
def test_rules_apply_only_to_their_namespaces(
    ruleset: Any, policy: Any, scope: dict[str, Any], namespace: str, judged: bool
) -> None:
    rules = ruleset(rules={"forbid-allow-all": scope})
    verdict = evaluate_document(policy(ALLOW_ALL, namespace=namespace), rules)
    assert ("forbid-allow-all" in verdict.rule_ids) is judged


def test_one_loaded_rule_set_picks_the_rules_of_each_request_afresh(ruleset: Any, policy: Any) -> None:
    # The server judges every review with the same RuleSet: the rules that ran for one namespace, input
    # kind or operation must not carry over to the next request.
    rules = ruleset(rules={"forbid-allow-all": {"namespaces": ["prod-*"]}})
    baseline = decode_policy(
        policy(ALLOW_ALL, name="Not_A_Name", labels={"netpol-guard.io/baseline": "true"})
    )
    requests = [
        (Context(namespace="prod-eu"), ("forbid-allow-all", "api-validation")),
        (Context(namespace="dev"), ("api-validation",)),
        (Context(source="admission", namespace="prod-eu"), ("forbid-allow-all",)),
        (Context(source="admission", namespace="prod-eu", operation="DELETE"), ("protect-baseline",)),
        (Context(source="admission", namespace="prod-eu"), ("forbid-allow-all",)),
        (Context(namespace="dev"), ("api-validation",)),
    ]
    for context, rule_ids in requests:
        assert evaluate(baseline, rules, context).rule_ids == rule_ids, context
