"""limit-port-range: endPort - port + 1 <= maxPorts, where both are integers."""

from __future__ import annotations

from typing import Any

import pytest

from app.errors import RulesFileError

RULE = "limit-port-range"


def ports(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"ingress": [{"ports": list(entries)}]}


@pytest.mark.parametrize(
    ("spec", "params", "expected"),
    [
        pytest.param(ports({"port": 8000, "endPort": 8099}), {}, [], id="exactly-100"),
        pytest.param(
            ports({"port": 8000, "endPort": 8100}),
            {},
            [("spec.ingress[0].ports[0].endPort", "8000-8100 is 101 ports")],
            id="101-ports",
        ),
        pytest.param(
            ports({"port": 80}, {"port": 1, "endPort": 65535}),
            {},
            [("spec.ingress[0].ports[1].endPort", "65535 ports")],
            id="everything",
        ),
        pytest.param(ports({"port": 80, "endPort": 80}), {}, [], id="single-port-range"),
        pytest.param(ports({"port": 80}), {}, [], id="no-end-port"),
        pytest.param(ports({"port": "http", "endPort": 9000}), {}, [], id="named-port-is-api-validations"),
        pytest.param(ports({"endPort": 9000}), {}, [], id="end-port-without-port"),
        pytest.param(
            ports({"port": 80}, {"protocol": "UDP"}),
            {},
            [("spec.ingress[0].ports[1]", "no port: every UDP port is open, 65535 ports (limit 100)")],
            id="protocol-only-is-the-whole-range",
        ),
        pytest.param(
            ports({}), {}, [("spec.ingress[0].ports[0]", "every TCP port is open")], id="empty-entry-is-tcp"
        ),
        pytest.param(ports({"protocol": "SCTP"}), {"maxPorts": 65535}, [], id="within-a-huge-limit"),
        pytest.param(ports({"port": 9000, "endPort": 80}), {}, [], id="reversed-range"),
        pytest.param(
            ports({"port": 8000, "endPort": 8010}),
            {"maxPorts": 10},
            [("spec.ingress[0].ports[0].endPort", "limit 10")],
            id="custom-limit",
        ),
        pytest.param(
            {"policyTypes": ["Ingress"], "egress": [{"ports": [{"port": 1000, "endPort": 2000}]}]},
            {},
            [("spec.egress[0].ports[0].endPort", "1001 ports")],
            id="dead-rules-judged-too",
        ),
    ],
)
def test_wide_port_ranges_are_reported_at_end_port(
    judge: Any, reported: Any, spec: dict[str, Any], params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    violations = judge(RULE, spec, params)
    reported(violations, expected)
    for violation in violations:
        assert "at most" in violation.fix


@pytest.mark.parametrize("value", [0, "100", 1.5], ids=["zero", "string", "float"])
def test_max_ports_must_be_a_positive_integer(only_rule: Any, value: Any) -> None:
    with pytest.raises(RulesFileError, match=r"rules\.limit-port-range\.maxPorts: "):
        only_rule(RULE, {"maxPorts": value})
