"""forbid-broad-cidr: prefix limits per address family, the allow list, and errors in the allow list."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import RulesFileError
from app.explain.addresses import address_set
from app.patterns import compile_pattern
from app.rules.address_cover import _intervals
from app.rules.forbid_broad_cidr import CIDR_SYNTAX
from app.rules.traffic import parse_network

RULE = "forbid-broad-cidr"


def egress_to(*cidrs: str, excepts: list[str] | None = None) -> dict[str, Any]:
    peers = [{"ipBlock": {"cidr": cidr, **({"except": excepts} if excepts else {})}} for cidr in cidrs]
    return {"policyTypes": ["Egress"], "egress": [{"to": peers, "ports": [{"port": 443}]}]}


@pytest.mark.parametrize(
    ("spec", "params", "expected"),
    [
        pytest.param(egress_to("10.1.0.0/16"), {}, [], id="ipv4-at-limit"),
        pytest.param(egress_to("10.1.2.0/24"), {}, [], id="ipv4-narrow"),
        pytest.param(
            egress_to("10.0.0.0/8"), {}, [("spec.egress[0].to[0].ipBlock.cidr", "16,777,216")], id="ipv4-/8"
        ),
        pytest.param(
            egress_to("10.0.0.0/15"), {}, [("spec.egress[0].to[0].ipBlock.cidr", "/16")], id="ipv4-/15"
        ),
        pytest.param(
            egress_to("0.0.0.0/0"), {}, [("spec.egress[0].to[0].ipBlock.cidr", "0.0.0.0/0")], id="ipv4-all"
        ),
        pytest.param(
            egress_to("0.0.0.0/0", excepts=["10.0.0.0/8"]),
            {},
            [("spec.egress[0].to[0].ipBlock.cidr", "0.0.0.0/0")],
            id="except-does-not-narrow",
        ),
        pytest.param(egress_to("fd00::/48"), {}, [], id="ipv6-at-limit"),
        pytest.param(
            egress_to("fd00::/32"), {}, [("spec.egress[0].to[0].ipBlock.cidr", "/48")], id="ipv6-/32"
        ),
        pytest.param(egress_to("::/0"), {}, [("spec.egress[0].to[0].ipBlock.cidr", "2^128")], id="ipv6-all"),
        pytest.param(
            egress_to("10.1.0.0/16", "10.0.0.0/8", "fd00::/64"),
            {},
            [("spec.egress[0].to[1].ipBlock.cidr", "10.0.0.0/8")],
            id="only-the-broad-peer",
        ),
        pytest.param(egress_to("10.0.0.0/8"), {"ipv4MinPrefix": 8}, [], id="custom-ipv4-limit"),
        pytest.param(egress_to("fd00::/32"), {"ipv6MinPrefix": 32}, [], id="custom-ipv6-limit"),
        pytest.param(egress_to("10.0.0.0/8"), {"allow": ["10.0.0.0/8"]}, [], id="allowed-cidr"),
        pytest.param(egress_to("0.0.0.0/0"), {"allow": ["0.0.0.0/0"]}, [], id="allowed-everything"),
        pytest.param(egress_to("10.9.9.9/8"), {"allow": ["10.0.0.0/8"]}, [], id="allow-compares-networks"),
        pytest.param(egress_to("::/0"), {"allow": ["0:0::/0"]}, [], id="allow-compares-ipv6-networks"),
        pytest.param(
            egress_to("172.16.0.0/12"),
            {"allow": ["10.0.0.0/8"]},
            [("spec.egress[0].to[0].ipBlock.cidr", "172.16.0.0/12")],
            id="other-broad-cidr-not-allowed",
        ),
        pytest.param(
            egress_to("010.0.0.0/8"),
            {},
            [("spec.egress[0].to[0].ipBlock.cidr", "010.0.0.0/8")],
            id="leading-zeros-read-as-decimal",
        ),
        pytest.param(
            egress_to("10.0.0.0/0008"),
            {},
            [("spec.egress[0].to[0].ipBlock.cidr", "10.0.0.0/0008")],
            id="long-prefix-with-leading-zeros-read-as-decimal",
        ),
        pytest.param(egress_to("garbage"), {}, [], id="unparsable-left-to-api-validation"),
        pytest.param(egress_to("fe80::%eth0/10"), {}, [], id="zone-index-left-to-api-validation"),
        pytest.param(egress_to("10.0.0.0/255.0.0.0"), {}, [], id="netmask-is-not-a-cidr"),
        pytest.param(
            {"policyTypes": ["Ingress"], "egress": egress_to("10.0.0.0/8")["egress"]},
            {},
            [("spec.egress[0].to[0].ipBlock.cidr", "10.0.0.0/8")],
            id="dead-rules-judged-too",
        ),
        pytest.param(
            {
                "ingress": [
                    {"from": [{"ipBlock": {"cidr": "192.168.0.0/16"}}, {"ipBlock": {"cidr": "10.0.0.0/9"}}]}
                ]
            },
            {},
            [("spec.ingress[0].from[1].ipBlock.cidr", "10.0.0.0/9")],
            id="ingress-peers",
        ),
    ],
)
def test_cidrs_broader_than_the_limit_are_reported(
    judge: Any, reported: Any, spec: dict[str, Any], params: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    violations = judge(RULE, spec, params)
    reported(violations, expected)
    for violation in violations:
        assert "add it to allow" in violation.fix


@pytest.mark.parametrize(
    ("params", "where"),
    [
        pytest.param({"allow": ["10.0.0.0/8", "ten"]}, "rules.forbid-broad-cidr.allow[1]", id="not-a-cidr"),
        pytest.param({"allow": ["10.0.0.1"]}, "rules.forbid-broad-cidr.allow[0]", id="bare-address"),
        pytest.param({"allow": [8]}, "rules.forbid-broad-cidr.allow[0]", id="not-a-string"),
        pytest.param(
            {"ipv4MinPrefix": 33}, "rules.forbid-broad-cidr.ipv4MinPrefix", id="ipv4-prefix-too-long"
        ),
        pytest.param({"ipv6MinPrefix": -1}, "rules.forbid-broad-cidr.ipv6MinPrefix", id="negative-prefix"),
    ],
)
def test_bad_settings_are_rules_file_errors_naming_the_key_path(
    only_rule: Any, params: dict[str, Any], where: str
) -> None:
    with pytest.raises(RulesFileError) as raised:
        only_rule(RULE, params)
    assert f"{where}: " in str(raised.value)


@pytest.mark.parametrize(
    ("cidrs", "params", "expected"),
    [
        pytest.param(
            ("0.0.0.0/1", "128.0.0.0/1"), {}, ["every IPv4 address, broader than /16"], id="ipv4-halves"
        ),
        pytest.param(("::/1", "8000::/1"), {}, ["every IPv6 address, broader than /48"], id="ipv6-halves"),
        pytest.param(("0.0.0.0/1", "128.0.0.0/1"), {"allow": ["0.0.0.0/0"]}, [], id="slash-zero-allowed"),
        pytest.param(("0.0.0.0/1", "128.0.0.0/1"), {"ipv4MinPrefix": 0}, [], id="no-minimum"),
        pytest.param(("0.0.0.0/1", "64.0.0.0/2"), {}, [], id="not-everything"),
    ],
)
def test_ip_blocks_that_together_cover_a_family_are_a_broad_cidr(
    judge: Any, cidrs: tuple[str, ...], params: dict[str, Any], expected: list[str]
) -> None:
    # The halves themselves are allowed, so only the split is left to report.
    halves = ["0.0.0.0/1", "128.0.0.0/1", "::/1", "8000::/1", "64.0.0.0/2"]
    params = {**params, "allow": halves + params.get("allow", [])}
    violations = judge(RULE, egress_to(*cidrs), params)
    assert [v.problem.split("together cover ")[1] for v in violations] == expected
    assert all(v.path == "spec.egress[0].to" for v in violations)


_GROUPS = st.sampled_from(["0", "1", "ffff", "FFFF", "00001", "12345", "abc", "g", ""])
_OCTETS = st.sampled_from(["0", "1", "010", "255", "256", "0000255", "99", ""])
_IPV4 = st.lists(_OCTETS, min_size=3, max_size=5).map(".".join)
_IPV6 = st.lists(st.one_of(_GROUPS, st.just(""), _IPV4), min_size=1, max_size=10).map(":".join)
_PREFIX = st.sampled_from(["0", "00", "8", "32", "033", "33", "64", "128", "129", "", "x"])
_CIDRS = st.tuples(st.one_of(_IPV4, _IPV6), st.sampled_from(["/", ""]), _PREFIX).map("".join)


@given(_CIDRS)
@settings(max_examples=3000, deadline=None)
def test_the_chart_s_cidr_pattern_accepts_exactly_what_the_server_parses(text: str) -> None:
    # The pattern goes into the chart's schema (Helm runs it with Go's regexp, RE2's syntax).
    pattern = compile_pattern(CIDR_SYNTAX)
    assert pattern.matches(text) == (parse_network(text) is not None)


@given(_CIDRS)
@settings(max_examples=2000, deadline=None)
def test_the_split_allow_all_fast_path_reads_a_block_as_address_set_does(text: str) -> None:
    assert _intervals({"cidr": text}) == address_set(text, None).intervals
