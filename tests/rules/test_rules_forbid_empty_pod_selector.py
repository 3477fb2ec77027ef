"""forbid-empty-pod-selector: allow rules on every pod are reported, deny-all baselines are not."""

from __future__ import annotations

from typing import Any

import pytest

RULE = "forbid-empty-pod-selector"
FROM_WEB = {"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 80}]}


@pytest.mark.parametrize(
    ("spec", "reported"),
    [
        pytest.param({"podSelector": {}, "policyTypes": ["Ingress"]}, False, id="deny-all-ingress-baseline"),
        pytest.param(
            {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, False, id="deny-all-both-baseline"
        ),
        pytest.param({"policyTypes": ["Ingress"], "ingress": []}, False, id="absent-selector-empty-rules"),
        pytest.param({"podSelector": {}, "ingress": [FROM_WEB]}, True, id="empty-selector-with-ingress-rule"),
        pytest.param({"ingress": [FROM_WEB]}, True, id="absent-selector-with-ingress-rule"),
        pytest.param({"podSelector": None, "egress": [{}]}, True, id="null-selector-with-egress-rule"),
        pytest.param(
            {"podSelector": {"matchLabels": None, "matchExpressions": []}, "ingress": [None]},
            True,
            id="selector-with-empty-members-and-null-rule",
        ),
        pytest.param(
            {"podSelector": {"matchLabels": {"app": "api"}}, "ingress": [FROM_WEB]},
            False,
            id="selected-pods",
        ),
        pytest.param(
            {
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]},
                "ingress": [FROM_WEB],
            },
            False,
            id="selected-by-expression",
        ),
        pytest.param(
            {"podSelector": {}, "policyTypes": ["Ingress"], "egress": [{}]},
            False,
            id="dead-egress-rules-allow-nothing",
        ),
    ],
)
def test_empty_pod_selector_is_reported_only_when_the_policy_allows_something(
    judge: Any, spec: dict[str, Any], reported: bool
) -> None:
    violations = judge(RULE, spec)
    assert [v.path for v in violations] == (["spec.podSelector"] if reported else [])
    if reported:
        assert "every pod in the namespace" in violations[0].problem
        assert "matchLabels" in violations[0].fix
