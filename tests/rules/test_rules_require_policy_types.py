"""require-policy-types: explicit policyTypes, mustInclude, dead rules, and omission at admission."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.rules.base import Context

RULE = "require-policy-types"
ADMISSION = Context(source="admission", operation="CREATE")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ALLOW_WEB = [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 80}]}]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param({"policyTypes": ["Ingress"]}, [], id="explicit-ingress"),
        pytest.param({"policyTypes": ["Ingress", "Egress"], "egress": ALLOW_WEB}, [], id="explicit-both"),
        pytest.param({"policyTypes": ["Egress"], "egress": [{}]}, [], id="explicit-egress-only"),
        pytest.param({}, [("spec.policyTypes", "not set")], id="absent"),
        pytest.param(None, [("spec.policyTypes", "not set")], id="null-spec"),
        pytest.param({"policyTypes": None}, [("spec.policyTypes", "not set")], id="null-policy-types"),
        pytest.param({"policyTypes": []}, [("spec.policyTypes", "empty")], id="empty-list"),
        pytest.param(
            {"egress": ALLOW_WEB},
            [("spec.policyTypes", "[Ingress, Egress]")],
            id="absent-with-egress-names-the-surprising-default",
        ),
        pytest.param(
            {"policyTypes": ["Ingress"], "egress": ALLOW_WEB},
            [("spec.egress", "ignored")],
            id="dead-egress-rules",
        ),
        pytest.param(
            {"policyTypes": ["Ingress"], "egress": [None]},
            [("spec.egress", "ignored")],
            id="dead-null-egress-rule",
        ),
        pytest.param(
            {"policyTypes": ["Egress"], "ingress": ALLOW_WEB, "egress": [{}]},
            [("spec.ingress", "ignored")],
            id="dead-ingress-rules",
        ),
        pytest.param({"policyTypes": ["Ingress"], "egress": []}, [], id="empty-egress-list-is-not-dead"),
    ],
)
def test_raw_manifests_must_state_policy_types_and_have_no_dead_rules(
    judge: Any, reported: Any, spec: Any, expected: list[tuple[str, str]]
) -> None:
    violations = judge(RULE, spec)
    reported(violations, expected)
    for violation in violations:
        assert violation.fix.startswith(("set it explicitly", "add Ingress", "add Egress"))


def test_dead_rule_fix_names_the_missing_direction(judge: Any) -> None:
    (violation,) = judge(RULE, {"policyTypes": ["Ingress"], "egress": ALLOW_WEB})
    assert "add Egress to policyTypes" in violation.fix


@pytest.mark.parametrize(
    ("must_include", "spec", "missing"),
    [
        pytest.param(["Ingress", "Egress"], {"policyTypes": ["Ingress", "Egress"]}, [], id="both-present"),
        pytest.param(["Egress"], {"policyTypes": ["Ingress"]}, ["Egress"], id="egress-missing"),
        pytest.param(["Ingress"], {"policyTypes": ["Egress"]}, ["Ingress"], id="ingress-missing"),
        pytest.param(
            ["Ingress", "Egress"],
            {"policyTypes": ["Egress", "Egress"]},
            ["Ingress"],
            id="duplicates-count-once",
        ),
        pytest.param(["Egress"], {"policyTypes": ["Egress"]}, [], id="egress-present"),
    ],
)
def test_must_include_applies_to_the_policy_types(
    judge: Any, must_include: list[str], spec: dict[str, Any], missing: list[str]
) -> None:
    violations = judge(RULE, spec, {"mustInclude": must_include})
    assert [v.path for v in violations] == ["spec.policyTypes"] * len(missing)
    assert [v.problem.split()[2].rstrip(",") for v in violations] == missing


def test_must_include_applies_to_the_defaulted_policy_types(judge: Any) -> None:
    # No policyTypes and egress rules: the default is [Ingress, Egress], so only the omission is reported.
    violations = judge(RULE, {"egress": ALLOW_WEB}, {"mustInclude": ["Ingress", "Egress"]})
    assert [v.problem.startswith("policyTypes not set;") for v in violations] == [True]
    # No egress rules: the default [Ingress] lacks Egress.
    violations = judge(RULE, {}, {"mustInclude": ["Egress"]})
    assert ["lacks Egress" in v.problem for v in violations] == [False, True]


def _admitted(metadata: dict[str, Any], spec: dict[str, Any] | None = None) -> dict[str, Any]:
    # At admission the API server has defaulted policyTypes already.
    full_spec = {"podSelector": {}, "policyTypes": ["Ingress"], **(spec or {})}
    return {"metadata": {"name": "np", "namespace": "team-a", **metadata}, "spec": full_spec}


def _last_applied(spec: Any) -> dict[str, Any]:
    document = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "np"}}
    if spec is not None:
        document["spec"] = spec
    return {"annotations": {LAST_APPLIED: json.dumps(document)}}


def _applied_by(*managers: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "managedFields": [
            {"manager": "kubectl", "operation": operation, "fieldsV1": fields}
            for operation, fields in managers
        ]
    }


SSA_WITHOUT = {"f:spec": {"f:podSelector": {}, "f:ingress": {}}}
SSA_WITH = {"f:spec": {"f:podSelector": {}, "f:policyTypes": {}}}


@pytest.mark.parametrize(
    ("metadata", "reported"),
    [
        pytest.param(_last_applied({"policyTypes": ["Ingress"]}), False, id="last-applied-with-policy-types"),
        pytest.param(_last_applied({"podSelector": {}}), True, id="last-applied-without-policy-types"),
        pytest.param(_last_applied({"policyTypes": []}), True, id="last-applied-with-empty-policy-types"),
        pytest.param(_last_applied(None), True, id="last-applied-without-spec"),
        pytest.param(
            {"annotations": {LAST_APPLIED: "{not json"}}, False, id="broken-last-applied-is-no-evidence"
        ),
        pytest.param({"annotations": {LAST_APPLIED: "[1, 2]"}}, False, id="last-applied-not-an-object"),
        pytest.param(
            {"annotations": {LAST_APPLIED: '{"spec": 3}'}}, False, id="last-applied-spec-not-an-object"
        ),
        pytest.param(_applied_by(("Apply", SSA_WITH)), False, id="server-side-apply-with-policy-types"),
        pytest.param(_applied_by(("Apply", SSA_WITHOUT)), True, id="server-side-apply-without-policy-types"),
        pytest.param(
            _applied_by(("Apply", SSA_WITHOUT), ("Apply", SSA_WITH)),
            False,
            id="one-applier-wrote-policy-types",
        ),
        pytest.param(
            _applied_by(("Apply", SSA_WITH), ("Apply", SSA_WITHOUT)),
            False,
            id="one-applier-wrote-policy-types-before-another-applied",
        ),
        pytest.param(
            _applied_by(("Update", SSA_WITHOUT)), False, id="update-entries-are-not-the-authors-manifest"
        ),
        pytest.param(
            _applied_by(("Apply", {"f:metadata": {"f:labels": {}}})),
            False,
            id="apply-without-spec-says-nothing-about-spec",
        ),
        pytest.param(
            {"managedFields": [{"operation": "Apply", "fieldsV1": None}]}, False, id="odd-managed-fields"
        ),
        pytest.param({}, False, id="neither-source-no-report"),
        pytest.param({"annotations": {"team": "a"}}, False, id="unrelated-annotations-no-report"),
    ],
)
def test_at_admission_omission_is_read_from_the_authors_manifest(
    judge: Any, metadata: dict[str, Any], reported: bool
) -> None:
    violations = judge(RULE, _admitted(metadata), context=ADMISSION)
    assert [v.path for v in violations] == (["spec.policyTypes"] if reported else [])
    if reported:
        assert "applied manifest" in violations[0].problem


def test_at_admission_the_defaulted_policy_types_are_not_an_omission(judge: Any) -> None:
    assert judge(RULE, _admitted({}), context=ADMISSION) == ()


def test_at_admission_dead_rules_and_must_include_still_apply(judge: Any) -> None:
    policy = _admitted(_last_applied({"policyTypes": ["Ingress"]}), {"egress": ALLOW_WEB})
    violations = judge(RULE, policy, {"mustInclude": ["Egress"]}, context=ADMISSION)
    assert [v.path for v in violations] == ["spec.policyTypes", "spec.egress"]
