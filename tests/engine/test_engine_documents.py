"""evaluate_document: undecodable shapes become api-validation violations, under the same exemptions."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import evaluate_document
from app.rules.base import Action, Context


@pytest.mark.parametrize(
    ("spec", "path", "explain"),
    [
        pytest.param(
            {"ingress": [{"from": {}}]},
            "spec.ingress[0].from",
            "networkpolicy.spec.ingress.from",
            id="object-instead-of-list",
        ),
        pytest.param(
            {"ingress": [{"ports": [{"endPort": "100"}]}]},
            "spec.ingress[0].ports[0].endPort",
            "networkpolicy.spec.ingress.ports.endPort",
            id="string",
        ),
        pytest.param(
            {"ingress": [{"ports": [{"port": 2**40}]}]},
            "spec.ingress[0].ports[0].port",
            "networkpolicy.spec.ingress.ports.port",
            id="huge-int",
        ),
        pytest.param(
            {"podSelector": {"matchLabels": {"a": True}}},
            "spec.podSelector.matchLabels.a",
            "networkpolicy.spec.podSelector.matchLabels",
            id="bool-label-value",
        ),
    ],
)
def test_undecodable_fields_are_api_validation_denials(
    ruleset: Any, policy: Any, spec: Any, path: str, explain: str
) -> None:
    verdict = evaluate_document(policy(spec), ruleset())
    assert [(v.rule, v.path, v.action) for v in verdict.violations] == [("api-validation", path, Action.DENY)]
    assert "cannot decode" in verdict.violations[0].problem
    assert f"`kubectl explain {explain}`" in verdict.violations[0].fix
    assert verdict.policy == "team-a/web"


def test_an_undecodable_metadata_field_points_at_the_metadata_docs(ruleset: Any) -> None:
    document = {"metadata": {"name": "web", "namespace": "team-a", "labels": {"app": 1}}, "spec": {}}

    [violation] = evaluate_document(document, ruleset()).violations

    assert violation.path == "metadata.labels.app"
    assert "`kubectl explain networkpolicy.metadata.labels`" in violation.fix


@pytest.mark.parametrize(
    ("document", "name"),
    [
        pytest.param({"metadata": {"name": "x"}, "spec": []}, "x", id="name-only"),
        pytest.param({"metadata": {"generateName": "x-"}, "spec": []}, "x-", id="generate-name"),
        pytest.param({"metadata": None, "spec": []}, "<unnamed>", id="no-metadata"),
        pytest.param({"metadata": {"name": 7}, "spec": {}}, "<unnamed>", id="name-not-a-string"),
        pytest.param(["not", "an", "object"], "<unnamed>", id="not-an-object"),
    ],
)
def test_undecodable_documents_are_named_sensibly(ruleset: Any, document: Any, name: str) -> None:
    verdict = evaluate_document(document, ruleset())
    assert verdict.policy == name
    assert verdict.denied


@pytest.mark.parametrize(
    ("top", "context", "judged"),
    [
        pytest.param({}, Context(), True, id="judged"),
        pytest.param({"exemptions": {"namespaces": ["team-*"]}}, Context(), False, id="exempt-namespace"),
        pytest.param({"exemptions": {"users": ["ci"]}}, Context(username="ci"), False, id="exempt-user"),
        pytest.param(
            {"rules": {"api-validation": {"excludeNamespaces": ["team-a"]}}}, Context(), False, id="excluded"
        ),
        pytest.param({"rules": {"api-validation": {"action": "off"}}}, Context(), False, id="off"),
    ],
)
def test_undecodable_documents_respect_exemptions_and_rule_scope(
    ruleset: Any, policy: Any, top: dict[str, Any], context: Context, judged: bool
) -> None:
    verdict = evaluate_document(policy({"ingress": {}}), ruleset(**top), context)
    assert bool(verdict.violations) is judged


def test_undecodable_document_in_warn_mode_only_warns(ruleset: Any, policy: Any) -> None:
    verdict = evaluate_document(policy({"ingress": {}}), ruleset(mode="warn"))
    assert [v.action for v in verdict.violations] == [Action.WARN]
