"""forbid-allow-all: rules that admit every peer on every port (and, optionally, on some ports)."""

from __future__ import annotations

from typing import Any

import pytest

RULE = "forbid-allow-all"
WEB = {"podSelector": {"matchLabels": {"app": "web"}}}
HTTP = [{"port": 80}]


def ingress(*rules: Any) -> dict[str, Any]:
    return {"policyTypes": ["Ingress"], "ingress": list(rules)}


def egress(*rules: Any) -> dict[str, Any]:
    return {"policyTypes": ["Egress"], "egress": list(rules)}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(ingress({"from": [WEB], "ports": HTTP}), [], id="peer-and-port"),
        pytest.param(ingress({"from": [WEB]}), [], id="named-peer-all-ports"),
        pytest.param(ingress(), [], id="deny-all-ingress"),
        pytest.param({"policyTypes": ["Ingress", "Egress"]}, [], id="deny-all-both"),
        pytest.param(
            ingress({}), [("spec.ingress[0]", "admits all sources on every port")], id="ingress-[{}]"
        ),
        pytest.param(ingress(None), [("spec.ingress[0]", "admits all sources")], id="ingress-[null]"),
        pytest.param(
            ingress({"from": [], "ports": []}), [("spec.ingress[0]", "no from")], id="empty-from-and-ports"
        ),
        pytest.param(
            ingress({"from": None, "ports": None}), [("spec.ingress[0]", "no from")], id="null-from-and-ports"
        ),
        pytest.param(egress({}), [("spec.egress[0]", "admits all destinations")], id="egress-[{}]"),
        pytest.param(egress(None), [("spec.egress[0]", "no to")], id="egress-[null]"),
        pytest.param(
            ingress({"from": [WEB], "ports": HTTP}, {}),
            [("spec.ingress[1]", "no from")],
            id="second-rule-allows-all",
        ),
        pytest.param(
            ingress({"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}),
            [("spec.ingress[0].from[0].ipBlock.cidr", "0.0.0.0/0 with no except is every address")],
            id="ipv4-everything",
        ),
        pytest.param(
            egress({"to": [WEB, {"ipBlock": {"cidr": "::/0"}}]}),
            [("spec.egress[0].to[1].ipBlock.cidr", "::/0")],
            id="ipv6-everything",
        ),
        pytest.param(
            egress({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": []}}]}),
            [("spec.egress[0].to[0].ipBlock.cidr", "every address")],
            id="empty-except-is-no-except",
        ),
        pytest.param(
            egress({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}),
            [],
            id="ipv4-everything-with-except",
        ),
        pytest.param(
            egress({"to": [{"ipBlock": {"cidr": "10.0.0.1/0"}}]}),
            [("spec.egress[0].to[0].ipBlock.cidr", "every address")],
            id="host-bits-masked-like-the-api-server",
        ),
        pytest.param(
            egress({"to": [{"ipBlock": {"cidr": "0.0.0.0/0000"}}]}),
            [("spec.egress[0].to[0].ipBlock.cidr", "every address")],
            id="prefix-with-leading-zeros-read-like-the-api-server",
        ),
        pytest.param(egress({"to": [{"ipBlock": {"cidr": "0.0.0.0/1"}}]}), [], id="half-the-internet"),
        pytest.param(egress({"to": [{"ipBlock": {"cidr": "not-a-cidr"}}]}), [], id="unparsable-cidr"),
        pytest.param(egress({"to": [{"ipBlock": {"cidr": ""}}]}), [], id="empty-cidr"),
        pytest.param(egress({"to": [{"ipBlock": {"cidr": "0.0.0.0"}}]}), [], id="bare-address-is-not-a-cidr"),
        pytest.param(
            ingress({"from": [{"namespaceSelector": {}}]}),
            [("spec.ingress[0].from[0].namespaceSelector", "every pod in the cluster")],
            id="namespace-selector-empty",
        ),
        pytest.param(
            ingress({"from": [{"namespaceSelector": {}, "podSelector": {}}]}),
            [("spec.ingress[0].from[0].namespaceSelector", "every pod in the cluster")],
            id="namespace-selector-empty-with-empty-pod-selector",
        ),
        pytest.param(
            ingress({"from": [{"namespaceSelector": {"matchLabels": None, "matchExpressions": []}}]}),
            [("spec.ingress[0].from[0].namespaceSelector", "every pod")],
            id="namespace-selector-with-null-and-empty-members",
        ),
        pytest.param(
            ingress({"from": [{"namespaceSelector": {}, **WEB}]}),
            [],
            id="namespace-selector-empty-with-pod-selector-labels",
        ),
        pytest.param(
            ingress({"from": [{"namespaceSelector": {"matchLabels": {"team": "a"}}}]}),
            [],
            id="namespaces-by-label",
        ),
        pytest.param(ingress({"from": [{"podSelector": {}}]}), [], id="every-pod-in-own-namespace"),
        pytest.param(ingress({"from": [{}]}), [], id="peer-without-selector-is-api-validations-business"),
        pytest.param(
            ingress({"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}]}),
            [
                ("spec.ingress[0].from[0].ipBlock.cidr", "0.0.0.0/0"),
                ("spec.ingress[0].from[1].ipBlock.cidr", "::/0"),
            ],
            id="each-everything-peer-reported",
        ),
        pytest.param(
            ingress({"ports": [{"protocol": "TCP"}, {"protocol": "UDP"}, {"protocol": "SCTP"}]}),
            [("spec.ingress[0]", "on every port")],
            id="ports-covering-every-protocol",
        ),
        pytest.param(
            ingress({"ports": [{"port": 1, "endPort": 65535}, {"protocol": "UDP"}, {"protocol": "SCTP"}]}),
            [("spec.ingress[0]", "on every port")],
            id="full-range-counts-as-every-port",
        ),
    ],
)
def test_rules_admitting_everyone_everywhere_are_reported(
    judge: Any, reported: Any, spec: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    violations = judge(RULE, spec)
    reported(violations, expected)
    for violation in violations:
        assert violation.fix.startswith(("list the allowed", "narrow the peer"))


@pytest.mark.parametrize(
    ("spec", "paths"),
    [
        pytest.param(ingress({"ports": HTTP}), ["spec.ingress[0]"], id="no-from-some-ports"),
        pytest.param(
            ingress({"ports": [{"protocol": "TCP"}, {"protocol": "UDP"}]}), ["spec.ingress[0]"], id="no-sctp"
        ),
        pytest.param(
            egress({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443}]}),
            ["spec.egress[0].to[0].ipBlock.cidr"],
            id="internet-on-443",
        ),
        pytest.param(
            ingress({"from": [{"namespaceSelector": {}}], "ports": HTTP}),
            ["spec.ingress[0].from[0].namespaceSelector"],
            id="cluster-on-80",
        ),
        pytest.param(ingress({"from": [WEB], "ports": HTTP}), [], id="scoped-peer-and-port"),
    ],
)
def test_port_scoped_allow_all_is_allowed_by_default_and_reported_when_disallowed(
    judge: Any, spec: dict[str, Any], paths: list[str]
) -> None:
    assert judge(RULE, spec) == ()
    violations = judge(RULE, spec, {"allowPortScoped": False})
    assert [v.path for v in violations] == paths
    assert all("on its ports" in v.problem for v in violations)


@pytest.mark.parametrize(
    "spec",
    [
        pytest.param({"policyTypes": ["Ingress"], "egress": [{}]}, id="explicit-types-make-egress-dead"),
        pytest.param({"policyTypes": ["Egress"], "ingress": [{}]}, id="explicit-types-make-ingress-dead"),
        pytest.param(
            {"policyTypes": ["Ingress"], "egress": [{"to": [{"ipBlock": {"cidr": "::/0"}}]}]},
            id="dead-egress-to-everything",
        ),
    ],
)
def test_rules_of_a_direction_outside_policy_types_are_dead_not_allow_all(
    judge: Any, spec: dict[str, Any]
) -> None:
    assert judge(RULE, spec) == ()


def test_defaulted_policy_types_make_egress_rules_live(judge: Any) -> None:
    violations = judge(RULE, {"egress": [{}]})
    assert [v.path for v in violations] == ["spec.egress[0]"]


def blocks(*cidrs: str | tuple[str, list[str]]) -> list[dict[str, Any]]:
    peers = []
    for cidr in cidrs:
        text, excepts = (cidr, None) if isinstance(cidr, str) else cidr
        peers.append({"ipBlock": {"cidr": text} if excepts is None else {"cidr": text, "except": excepts}})
    return peers


@pytest.mark.parametrize(
    ("peers", "expected"),
    [
        pytest.param(blocks("0.0.0.0/1", "128.0.0.0/1"), ["every IPv4 address"], id="two-halves"),
        pytest.param(
            blocks("0.0.0.0/2", "64.0.0.0/2", "128.0.0.0/2", "192.0.0.0/2"),
            ["every IPv4 address"],
            id="four-quarters",
        ),
        pytest.param(blocks("::/1", "8000::/1"), ["every IPv6 address"], id="ipv6-halves"),
        pytest.param(
            blocks("0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1"),
            ["every IPv4 address", "every IPv6 address"],
            id="both-families",
        ),
        pytest.param(
            blocks(("0.0.0.0/0", ["10.0.0.0/8"]), "10.0.0.0/8"), ["every IPv4 address"], id="except-refilled"
        ),
        pytest.param(blocks("0.0.0.0/1", "128.0.0.0/2"), [], id="a-quarter-missing"),
        pytest.param(blocks("0.0.0.0/1", ("128.0.0.0/1", ["192.168.0.0/16"])), [], id="except-leaves-a-hole"),
        pytest.param(blocks("0.0.0.0/1", "::/1"), [], id="halves-of-different-families"),
    ],
)
def test_ip_blocks_that_together_cover_a_family_are_an_allow_all(
    judge: Any, peers: list[dict[str, Any]], expected: list[str]
) -> None:
    violations = judge(RULE, egress({"to": peers}))
    assert [v.path for v in violations] == ["spec.egress[0].to"] * len(expected)
    for violation, family in zip(violations, expected, strict=True):
        assert family in violation.problem and "together cover" in violation.problem


def test_a_single_slash_zero_is_reported_once_not_again_as_a_split(judge: Any) -> None:
    violations = judge(RULE, egress({"to": blocks("0.0.0.0/0", "10.0.0.0/8")}))
    assert [v.path for v in violations] == ["spec.egress[0].to[0].ipBlock.cidr"]


def test_a_port_scoped_split_allow_all_follows_allow_port_scoped(judge: Any) -> None:
    rule = {"to": blocks("0.0.0.0/1", "128.0.0.0/1"), "ports": HTTP}
    assert judge(RULE, egress(rule)) == ()
    (violation,) = judge(RULE, egress(rule), {"allowPortScoped": False})
    assert "on its ports" in violation.problem
