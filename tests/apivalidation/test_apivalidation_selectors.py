"""Section 7 (and 5.1): label selectors in spec.podSelector and in peers."""

from __future__ import annotations

from typing import Any

import pytest
from apivalidation_cases import LABEL_VALUE_MSG, NAME_PART_MSG, manifest, rendered

from app.apivalidation import ValidationOptions


def pod_selector(selector: Any) -> dict[str, Any]:
    return {"podSelector": selector}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(None, [], id="spec-null"),
        pytest.param(pod_selector(None), [], id="podSelector-null"),
        pytest.param(pod_selector({}), [], id="podSelector-empty"),
        pytest.param(pod_selector({"matchLabels": None}), [], id="matchLabels-null"),
        pytest.param(pod_selector({"matchLabels": {}}), [], id="matchLabels-empty"),
        pytest.param(pod_selector({"matchLabels": {"TEMP_LABEL_NAME": "v"}}), [], id="upper-case-key"),
        pytest.param(
            pod_selector({"matchLabels": {"app@b": "v"}}),
            [("spec.podSelector.matchLabels", f'Invalid value: "app@b": {NAME_PART_MSG}')],
            id="bad-key-reported-on-the-map",
        ),
        pytest.param(
            pod_selector({"matchLabels": {"app": "a b"}}),
            [("spec.podSelector.matchLabels", f'Invalid value: "a b": {LABEL_VALUE_MSG}')],
            id="bad-value-reported-on-the-map",
        ),
        pytest.param(
            pod_selector(
                {
                    "matchExpressions": [
                        {"key": "app", "operator": "In", "values": ["a", "b"]},
                        {"key": "app", "operator": "NotIn", "values": ["c"]},
                        {"key": "app", "operator": "Exists"},
                        {"key": "app", "operator": "DoesNotExist", "values": []},
                    ]
                }
            ),
            [],
            id="all-four-operators",
        ),
        pytest.param(
            pod_selector({"matchExpressions": [{"key": "app", "operator": "in", "values": ["a"]}]}),
            [
                (
                    "spec.podSelector.matchExpressions[0].operator",
                    'Invalid value: "in": not a valid selector operator',
                )
            ],
            id="operator-is-case-sensitive",
        ),
        pytest.param(
            pod_selector({"matchExpressions": [{"key": "app", "operator": "In"}]}),
            [
                (
                    "spec.podSelector.matchExpressions[0].values",
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                )
            ],
            id="in-without-values",
        ),
        pytest.param(
            pod_selector({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": []}]}),
            [
                (
                    "spec.podSelector.matchExpressions[0].values",
                    "Required value: must be specified when `operator` is 'In' or 'NotIn'",
                )
            ],
            id="not-in-with-empty-values",
        ),
        pytest.param(
            pod_selector({"matchExpressions": [{"key": "app", "operator": "Exists", "values": ["a"]}]}),
            [
                (
                    "spec.podSelector.matchExpressions[0].values",
                    "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                )
            ],
            id="exists-with-values",
        ),
        pytest.param(
            pod_selector({"matchExpressions": [{"key": "a@b", "operator": "Exists"}]}),
            [("spec.podSelector.matchExpressions[0].key", f'Invalid value: "a@b": {NAME_PART_MSG}')],
            id="bad-key",
        ),
        pytest.param(
            pod_selector(
                {"matchExpressions": [{"key": "app", "operator": "In", "values": ["ok", "not ok"]}]}
            ),
            [
                (
                    "spec.podSelector.matchExpressions[0].values[1]",
                    f'Invalid value: "not ok": {LABEL_VALUE_MSG}',
                )
            ],
            id="bad-value",
        ),
        pytest.param(
            pod_selector({"matchExpressions": [None]}),
            [
                (
                    "spec.podSelector.matchExpressions[0].operator",
                    'Invalid value: "": not a valid selector operator',
                ),
                (
                    "spec.podSelector.matchExpressions[0].key",
                    'Invalid value: "": name part must be non-empty',
                ),
                ("spec.podSelector.matchExpressions[0].key", f'Invalid value: "": {NAME_PART_MSG}'),
            ],
            id="null-expression-is-the-zero-value",
        ),
        pytest.param(
            {
                "ingress": [
                    {"from": [{"namespaceSelector": {"matchLabels": {"a b": "x"}}, "podSelector": {}}]}
                ]
            },
            [
                (
                    "spec.ingress[0].from[0].namespaceSelector.matchLabels",
                    f'Invalid value: "a b": {NAME_PART_MSG}',
                )
            ],
            id="peer-namespace-selector",
        ),
        pytest.param(
            {
                "egress": [
                    {"to": [{"podSelector": {"matchExpressions": [{"key": "k", "operator": "Bogus"}]}}]}
                ]
            },
            [
                (
                    "spec.egress[0].to[0].podSelector.matchExpressions[0].operator",
                    'Invalid value: "Bogus": not a valid selector operator',
                )
            ],
            id="peer-pod-selector",
        ),
    ],
)
def test_label_selectors_are_validated_like_the_api_server(
    spec: Any, expected: list[tuple[str, str]]
) -> None:
    assert rendered(manifest(spec)) == expected


def test_invalid_expression_values_are_allowed_when_an_update_ratchet_applies() -> None:
    spec = pod_selector({"matchExpressions": [{"key": "app", "operator": "In", "values": ["not ok"]}]})
    ratchet = ValidationOptions(allow_invalid_label_values_in_selector=True)
    assert rendered(manifest(spec), ratchet) == []
    # matchLabels values are always checked.
    labels = pod_selector({"matchLabels": {"app": "not ok"}})
    assert [path for path, _ in rendered(manifest(labels), ratchet)] == ["spec.podSelector.matchLabels"]
