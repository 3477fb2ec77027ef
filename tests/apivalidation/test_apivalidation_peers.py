"""Sections 5.2, 5.4, 5.5: rules, peers R1-R2 and policyTypes T1-T2."""

from __future__ import annotations

from typing import Any

import pytest
from apivalidation_cases import manifest, rendered

REQUIRED = "Required value: must specify a peer"
FORBIDDEN = "Forbidden: may not specify both ipBlock and another peer"
IP_BLOCK = {"cidr": "10.0.0.0/8"}


def peers(*entries: Any, direction: str = "ingress") -> dict[str, Any]:
    return {direction: [{"from" if direction == "ingress" else "to": list(entries)}]}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param({"ingress": [{}]}, [], id="empty-rule"),
        pytest.param({"ingress": [None]}, [], id="null-rule"),
        pytest.param({"ingress": [{"from": [], "ports": []}]}, [], id="empty-lists"),
        pytest.param(
            {"egress": [{"to": None, "ports": [{"port": 53, "protocol": "UDP"}]}]},
            [],
            id="to-null-with-ports",
        ),
        pytest.param(peers({"podSelector": {}}), [], id="empty-pod-selector-is-a-peer"),
        pytest.param(
            peers({"namespaceSelector": {}, "podSelector": {"matchLabels": {"a": "b"}}}),
            [],
            id="both-selectors",
        ),
        pytest.param(peers({"ipBlock": IP_BLOCK}), [], id="ip-block-alone"),
        pytest.param(peers({}), [("spec.ingress[0].from[0]", REQUIRED)], id="R1-empty-peer"),
        pytest.param(peers(None), [("spec.ingress[0].from[0]", REQUIRED)], id="R1-null-peer"),
        pytest.param(
            peers({"podSelector": None, "namespaceSelector": None}),
            [("spec.ingress[0].from[0]", REQUIRED)],
            id="R1-null-selectors",
        ),
        pytest.param(
            peers({"podSelector": {}}, {}, direction="egress"),
            [("spec.egress[0].to[1]", REQUIRED)],
            id="R1-egress-path",
        ),
        pytest.param(
            peers({"podSelector": {}, "ipBlock": IP_BLOCK}),
            [("spec.ingress[0].from[0]", FORBIDDEN)],
            id="R2-ip-block-and-pod-selector",
        ),
        pytest.param(
            peers({"namespaceSelector": {}, "ipBlock": IP_BLOCK}),
            [("spec.ingress[0].from[0]", FORBIDDEN)],
            id="R2-ip-block-and-namespace-selector",
        ),
        pytest.param(
            peers({"podSelector": {}, "ipBlock": {"cidr": "bad"}}),
            [
                (
                    "spec.ingress[0].from[0].ipBlock.cidr",
                    'Invalid value: "bad": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)',
                ),
                ("spec.ingress[0].from[0]", FORBIDDEN),
            ],
            id="R2-after-the-peers-own-errors",
        ),
        pytest.param(
            {"ingress": [{"ports": [{"port": "abc"}], "from": [{"ipBlock": IP_BLOCK}]}]},
            [],
            id="named-port-next-to-an-ip-block-is-accepted",
        ),
    ],
)
def test_peers_are_validated_like_the_api_server(spec: Any, expected: list[tuple[str, str]]) -> None:
    assert rendered(manifest(spec)) == expected


@pytest.mark.parametrize(
    ("policy_types", "expected"),
    [
        pytest.param(None, [], id="absent"),
        pytest.param([], [], id="empty-is-defaulted"),
        pytest.param(["Ingress"], [], id="ingress"),
        pytest.param(["Egress", "Ingress"], [], id="any-order"),
        pytest.param(["Ingress", "Ingress"], [], id="duplicates-are-allowed"),
        pytest.param(["Egress", "Egress"], [], id="duplicate-egress"),
        pytest.param(
            ["ingress"],
            [("spec.policyTypes[0]", 'Unsupported value: "ingress": supported values: "Ingress", "Egress"')],
            id="T2-case-sensitive",
        ),
        pytest.param(
            ["Ingress", "foo"],
            [("spec.policyTypes[1]", 'Unsupported value: "foo": supported values: "Ingress", "Egress"')],
            id="T2-unknown",
        ),
        pytest.param(
            ["Ingress", "Egress", "foo"],
            [
                (
                    "spec.policyTypes",
                    'Invalid value: []networking.PolicyType{"Ingress", "Egress", "foo"}: '
                    "may not specify more than two policyTypes",
                )
            ],
            id="T1-three-entries-skip-the-per-entry-check",
        ),
    ],
)
def test_policy_types_are_validated_like_the_api_server(
    policy_types: list[str] | None, expected: list[tuple[str, str]]
) -> None:
    assert rendered(manifest({"policyTypes": policy_types})) == expected


def test_errors_come_in_the_api_servers_order() -> None:
    spec = {
        "policyTypes": ["x"],
        "egress": [{"to": [{}]}],
        "ingress": [{"from": [{}], "ports": [{"port": 0}]}],
        "podSelector": {"matchLabels": {"a b": "c"}},
    }
    paths = [path for path, _ in rendered(manifest(spec, name="Bad"))]
    assert paths == [
        "metadata.name",
        "spec.podSelector.matchLabels",
        "spec.ingress[0].ports[0].port",
        "spec.ingress[0].from[0]",
        "spec.egress[0].to[0]",
        "spec.policyTypes[0]",
    ]
