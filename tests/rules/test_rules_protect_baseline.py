"""protect-baseline: baseline policies cannot be deleted, unlabelled or changed except by allowed people."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from app.netpol import decode_policy
from app.rules.base import Context

RULE = "protect-baseline"
BASELINE = {"netpol-guard.io/baseline": "true"}
DENY_ALL = {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
ALLOW_DNS = {**DENY_ALL, "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}]}
ALLOWED = {"allowedUsers": ["alice"], "allowedGroups": ["platform"]}


def policy(spec: dict[str, Any], labels: dict[str, str] | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "baseline", "namespace": "team-a"}
    if labels is not None:
        metadata["labels"] = labels
    return {"metadata": metadata, "spec": spec}


def admission(operation: Any, old: dict[str, Any] | None = None, user: str = "bob", *groups: str) -> Context:
    return Context(
        source="admission",
        operation=operation,
        old_object=decode_policy(old) if old is not None else None,
        username=user,
        groups=groups,
    )


@pytest.mark.parametrize(
    ("new", "old", "expected"),
    [
        pytest.param(policy(DENY_ALL, BASELINE), policy(DENY_ALL, BASELINE), [], id="reapply-same-spec"),
        pytest.param(
            policy(DENY_ALL, {**BASELINE, "owner": "net"}),
            policy(DENY_ALL, BASELINE),
            [],
            id="add-another-label",
        ),
        pytest.param(
            policy({**DENY_ALL, "podSelector": None}, BASELINE),
            policy(DENY_ALL, BASELINE),
            [],
            id="null-selector-is-the-same-spec",
        ),
        pytest.param(
            policy(ALLOW_DNS, BASELINE),
            policy(DENY_ALL, BASELINE),
            [("spec", "spec of a baseline")],
            id="change-spec",
        ),
        pytest.param(
            policy(DENY_ALL, None),
            policy(DENY_ALL, BASELINE),
            [("metadata.labels", "removed")],
            id="remove-label",
        ),
        pytest.param(
            policy(DENY_ALL, {"netpol-guard.io/baseline": "false"}),
            policy(DENY_ALL, BASELINE),
            [("metadata.labels", "removed")],
            id="label-set-to-false",
        ),
        pytest.param(
            policy(ALLOW_DNS, {}),
            policy(DENY_ALL, BASELINE),
            [("metadata.labels", "removed"), ("spec", "changed")],
            id="remove-label-and-change-spec",
        ),
        pytest.param(policy(ALLOW_DNS, None), policy(DENY_ALL, None), [], id="not-a-baseline"),
        pytest.param(
            policy(ALLOW_DNS, None),
            policy(DENY_ALL, {"netpol-guard.io/baseline": "True"}),
            [],
            id="label-value-must-be-exactly-true",
        ),
        pytest.param(policy(ALLOW_DNS, BASELINE), policy(DENY_ALL, None), [], id="becoming-a-baseline"),
    ],
)
def test_updates_of_baseline_policies_are_denied(
    judge: Any, new: dict[str, Any], old: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    violations = judge(RULE, new, context=admission("UPDATE", old))
    assert [(v.path, v.action.value) for v in violations] == [(path, "deny") for path, _ in expected]
    for violation, (_, words) in zip(violations, expected, strict=True):
        assert words in violation.problem
        assert "protect-baseline" in violation.fix


FULL = {
    "podSelector": {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db"]}]},
    "policyTypes": ["Ingress", "Egress"],
    "ingress": [
        {
            "from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}],
            "ports": [{"protocol": "TCP", "port": 5000, "endPort": 5010}],
        }
    ],
    "egress": [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"team": "a"}},
                    "podSelector": {"matchLabels": {"app": "x"}},
                }
            ]
        }
    ],
}


def edited(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    spec = copy.deepcopy(FULL)
    change(spec)
    return spec


@pytest.mark.parametrize(
    ("spec", "changed"),
    [
        pytest.param(edited(lambda spec: None), False, id="same-spec"),
        pytest.param(
            edited(lambda spec: spec["podSelector"]["matchExpressions"][0].update(operator="NotIn")),
            True,
            id="selector-operator",
        ),
        pytest.param(
            edited(lambda spec: spec["podSelector"]["matchExpressions"][0]["values"].append("cache")),
            True,
            id="selector-values",
        ),
        pytest.param(
            edited(lambda spec: spec["ingress"][0]["from"][0]["ipBlock"].update(cidr="10.0.0.0/7")),
            True,
            id="cidr",
        ),
        pytest.param(
            edited(lambda spec: spec["ingress"][0]["from"][0]["ipBlock"].update(**{"except": []})),
            True,
            id="except",
        ),
        pytest.param(
            edited(lambda spec: spec["ingress"][0]["ports"][0].update(endPort=6000)), True, id="end-port"
        ),
        pytest.param(
            edited(lambda spec: spec["ingress"][0]["ports"][0].update(protocol="UDP")), True, id="protocol"
        ),
        pytest.param(edited(lambda spec: spec.update(policyTypes=["Ingress"])), True, id="policy-types"),
        pytest.param(
            edited(lambda spec: spec["egress"][0]["to"][0]["namespaceSelector"].update(matchLabels={})),
            True,
            id="namespace-selector",
        ),
        pytest.param(
            edited(lambda spec: spec["egress"][0]["to"][0].pop("podSelector")), True, id="peer-field"
        ),
    ],
)
def test_every_field_of_a_baseline_spec_is_protected(judge: Any, spec: dict[str, Any], changed: bool) -> None:
    violations = judge(RULE, policy(spec, BASELINE), context=admission("UPDATE", policy(FULL, BASELINE)))
    assert [v.path for v in violations] == (["spec"] if changed else [])


def test_update_without_the_old_object_is_not_judged(judge: Any) -> None:
    assert judge(RULE, policy(ALLOW_DNS, None), context=admission("UPDATE")) == ()


@pytest.mark.parametrize(
    ("labels", "denied"),
    [
        pytest.param(BASELINE, True, id="baseline"),
        pytest.param({"app": "x"}, False, id="other-labels"),
        pytest.param(None, False, id="no-labels"),
    ],
)
def test_deleting_a_baseline_policy_is_denied(
    judge: Any, labels: dict[str, str] | None, denied: bool
) -> None:
    # For DELETE the engine receives the deleted object (oldObject) as the policy.
    deleted = policy(DENY_ALL, labels)
    violations = judge(RULE, deleted, context=admission("DELETE", deleted))
    assert [v.path for v in violations] == (["metadata.labels"] if denied else [])
    if denied:
        assert "team-a/baseline is a baseline policy and cannot be deleted" in violations[0].problem


@pytest.mark.parametrize(
    ("user", "groups", "allowed"),
    [
        pytest.param("alice", (), True, id="allowed-user"),
        pytest.param("bob", ("devs", "platform"), True, id="member-of-allowed-group"),
        pytest.param("bob", ("devs",), False, id="other-user-and-group"),
        pytest.param("alice2", ("platform-admins",), False, id="names-are-exact"),
        pytest.param("", (), False, id="anonymous"),
    ],
)
def test_allowed_users_and_groups_may_change_and_delete_baselines(
    judge: Any, user: str, groups: tuple[str, ...], allowed: bool
) -> None:
    old = policy(DENY_ALL, BASELINE)
    update = judge(RULE, policy(ALLOW_DNS, None), ALLOWED, context=admission("UPDATE", old, user, *groups))
    delete = judge(RULE, old, ALLOWED, context=admission("DELETE", old, user, *groups))
    assert (update == (), delete == ()) == (allowed, allowed)


@pytest.mark.parametrize(
    "context",
    [
        pytest.param(Context(source="manifest", operation="CREATE"), id="check"),
        pytest.param(Context(source="admission", operation="CREATE"), id="create"),
        pytest.param(Context(source="manifest", operation="UPDATE"), id="check-with-update"),
    ],
)
def test_only_admission_updates_and_deletes_are_judged(judge: Any, context: Context) -> None:
    assert judge(RULE, policy(ALLOW_DNS, BASELINE), context=context) == ()


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        pytest.param(
            "system:serviceaccount:kube-system:namespace-controller", True, id="namespace-controller"
        ),
        pytest.param(
            "system:serviceaccount:kube-system:generic-garbage-collector", True, id="garbage-collector"
        ),
        pytest.param("system:serviceaccount:team-a:namespace-controller", False, id="same-name-elsewhere"),
        pytest.param("system:serviceaccount:kube-system:replicaset-controller", False, id="other-controller"),
    ],
)
def test_the_namespace_controller_and_garbage_collector_may_always_delete_baselines(
    judge: Any, user: str, allowed: bool
) -> None:
    # With no allowedUsers at all: a namespace holding a baseline must still finish deleting.
    old = policy(DENY_ALL, BASELINE)
    delete = judge(RULE, old, context=admission("DELETE", old, user))
    assert (delete == ()) == allowed
