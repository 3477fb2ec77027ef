"""require-ports: rules with peers must list ports."""

from __future__ import annotations

from typing import Any

import pytest

RULE = "require-ports"
WEB = {"podSelector": {"matchLabels": {"app": "web"}}}


@pytest.mark.parametrize(
    ("spec", "paths"),
    [
        pytest.param({"ingress": [{"from": [WEB], "ports": [{"port": 80}]}]}, [], id="peer-with-port"),
        pytest.param(
            {"ingress": [{"from": [WEB], "ports": [{"port": 53, "protocol": "UDP"}, {"protocol": "TCP"}]}]},
            ["spec.ingress[0].ports[1]"],
            id="protocol-only-port-opens-the-whole-protocol",
        ),
        pytest.param(
            {"ingress": [{"from": [WEB], "ports": [{}]}]}, ["spec.ingress[0].ports[0]"], id="empty-port"
        ),
        pytest.param(
            {"ingress": [{"from": [WEB], "ports": [{"port": 1, "endPort": 65535}]}]},
            ["spec.ingress[0].ports[0]"],
            id="same-as-the-full-range",
        ),
        pytest.param(
            {"ingress": [{"from": [WEB], "ports": [{"port": 2, "endPort": 65535}]}]},
            [],
            id="not-quite-every-port",
        ),
        pytest.param({"ingress": [{"ports": [{"protocol": "TCP"}]}]}, [], id="no-peers-is-forbid-allow-alls"),
        pytest.param({"ingress": [{"from": [WEB]}]}, ["spec.ingress[0]"], id="peer-without-ports"),
        pytest.param({"ingress": [{"from": [WEB], "ports": []}]}, ["spec.ingress[0]"], id="empty-ports"),
        pytest.param({"ingress": [{"from": [WEB], "ports": None}]}, ["spec.ingress[0]"], id="null-ports"),
        pytest.param(
            {"policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}]}]},
            ["spec.egress[0]"],
            id="egress-without-ports",
        ),
        pytest.param(
            {
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [WEB], "ports": [{"port": 80}]}, {"from": [WEB]}],
                "egress": [{"to": [WEB]}],
            },
            ["spec.ingress[1]", "spec.egress[0]"],
            id="several-rules",
        ),
        pytest.param({"ingress": [{}]}, [], id="no-peers-no-ports-is-forbid-allow-all's"),
        pytest.param({"ingress": [{"ports": [{"port": 80}]}]}, [], id="ports-without-peers"),
        pytest.param({"ingress": [{"from": []}]}, [], id="empty-peers"),
        pytest.param(
            {"policyTypes": ["Ingress"], "egress": [{"to": [WEB]}]}, [], id="dead-egress-rule-allows-nothing"
        ),
    ],
)
def test_rules_with_peers_but_no_ports_are_reported_at_the_rule(
    judge: Any, spec: dict[str, Any], paths: list[str]
) -> None:
    violations = judge(RULE, spec)
    assert [v.path for v in violations] == paths
    for violation in violations:
        assert "no ports" in violation.problem
        assert "ports the peers need" in violation.fix
