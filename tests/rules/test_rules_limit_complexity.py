"""limit-complexity: rules, peers per rule, CIDRs with excepts, excepts per block, expressions."""

from __future__ import annotations

from typing import Any

import pytest

RULE = "limit-complexity"
SMALL = {
    "maxRules": 2,
    "maxPeersPerRule": 2,
    "maxCidrs": 3,
    "maxExceptPerBlock": 1,
    "maxMatchExpressions": 1,
}


def pod(n: int) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": {"app": f"a{n}"}}}


def block(cidr: str, *excepts: str) -> dict[str, Any]:
    return {"ipBlock": {"cidr": cidr, **({"except": list(excepts)} if excepts else {})}}


def exprs(count: int) -> dict[str, Any]:
    return {"matchExpressions": [{"key": f"k{n}", "operator": "Exists"} for n in range(count)]}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param({"ingress": [{"from": [pod(1), pod(2)]}, {}]}, [], id="at-every-limit"),
        pytest.param(
            {"ingress": [{}, {}, {}], "egress": [{}, {}, {}]},
            [("spec.ingress", "3 ingress rules"), ("spec.egress", "3 egress rules")],
            id="too-many-rules-per-direction",
        ),
        pytest.param({"ingress": [{}, {}], "egress": [{}, {}]}, [], id="limit-is-per-direction"),
        pytest.param(
            {"ingress": [{"from": [pod(1), pod(2), pod(3)]}]},
            [("spec.ingress[0].from", "3 peers")],
            id="too-many-peers",
        ),
        pytest.param(
            {"egress": [{"to": [pod(1)]}, {"to": [pod(1), pod(2), pod(3)]}]},
            [("spec.egress[1].to", "3 peers")],
            id="too-many-egress-peers",
        ),
        pytest.param(
            {"ingress": [{"from": [block("10.0.0.0/8", "10.1.0.0/16", "10.2.0.0/16")]}]},
            [("spec.ingress[0].from[0].ipBlock.except", "2 except entries")],
            id="too-many-excepts",
        ),
        pytest.param(
            {"ingress": [{"from": [block("10.0.0.0/8", "10.1.0.0/16")]}, {"from": [block("11.0.0.0/8")]}]},
            [],
            id="three-cidrs-counting-excepts",
        ),
        pytest.param(
            {
                "ingress": [{"from": [block("10.0.0.0/8", "10.1.0.0/16")]}],
                "egress": [{"to": [block("11.0.0.0/8", "11.1.0.0/16")]}],
            },
            [("spec", "4 CIDRs")],
            id="cidrs-and-excepts-count-across-the-policy",
        ),
        pytest.param(
            {"podSelector": exprs(2), "ingress": []},
            [("spec.podSelector.matchExpressions", "2 matchExpressions")],
            id="pod-selector-expressions",
        ),
        pytest.param(
            {"ingress": [{"from": [{"namespaceSelector": exprs(2), "podSelector": exprs(1)}]}]},
            [("spec.ingress[0].from[0].namespaceSelector.matchExpressions", "2 matchExpressions")],
            id="peer-selector-expressions",
        ),
    ],
)
def test_policies_over_the_size_limits_are_reported(
    judge: Any, spec: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    violations = judge(RULE, spec, SMALL)
    assert sorted(v.path for v in violations) == sorted(path for path, _ in expected)
    problems = {v.path: v.problem for v in violations}
    for path, words in expected:
        assert words in problems[path]
        assert "exceed the limit" in problems[path]


def test_default_limits_allow_fifty_rules_but_not_fifty_one(judge: Any) -> None:
    assert judge(RULE, {"ingress": [{}] * 50}) == ()
    (violation,) = judge(RULE, {"ingress": [{}] * 51})
    assert violation.problem == "51 ingress rules exceed the limit of 50"


def test_default_cidr_limit_counts_excepts(judge: Any) -> None:
    excepts = [f"10.{n}.0.0/16" for n in range(50)]
    peers = [block("10.0.0.0/8", *excepts), block("11.0.0.0/8", *[f"11.{n}.0.0/16" for n in range(50)])]
    (violation,) = judge(RULE, {"ingress": [{"from": peers}]})
    assert (violation.path, violation.problem.split()[0]) == ("spec", "102")
