"""Section 6: ipBlock C1-C7, CIDRs read like the API server's sloppy (pre-Go-1.17) parser."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from apivalidation_cases import api_errors, manifest
from hypothesis import given
from hypothesis import strategies as st

from app.apivalidation import ValidationOptions, parse_cidr_sloppy

PATH = "spec.ingress[0].from[0].ipBlock"
NOT_CIDR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"
LEADING_ZEROS = "must not have leading 0s in IP or prefix length"
MAPPED = "must not have an IPv4-mapped IPv6 address"
HOST_BITS = "must not have bits set beyond the prefix length"
NOT_SUBSET = "must be a strict subset of `cidr`"


def block(cidr: str, *excepts: str) -> dict[str, Any]:
    ip_block: dict[str, Any] = {"cidr": cidr}
    if excepts:
        ip_block["except"] = list(excepts)
    return {"ingress": [{"from": [{"ipBlock": ip_block}]}]}


def summary(spec: dict[str, Any], options: ValidationOptions | None = None) -> list[tuple[str, str, bool]]:
    """(path relative to the ipBlock, message body, strict-only) of every error."""
    errors = api_errors(manifest(spec), options or ValidationOptions())
    return [(error.path.removeprefix(PATH), error.body, error.strict_only) for error in errors]


def invalid(value: str, detail: str) -> str:
    return f'Invalid value: "{value}": {detail}'


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(block("10.0.0.0/8"), [], id="ipv4"),
        pytest.param(block("0.0.0.0/0"), [], id="all-ipv4"),
        pytest.param(block("::/0"), [], id="all-ipv6"),
        pytest.param(block("2001:db8::/64"), [], id="ipv6"),
        pytest.param(block("FD00:0:0::/48"), [], id="non-canonical-ipv6-is-valid-in-both-modes"),
        pytest.param(block("fd00:0000:0000:0000:0000:0000:0000:0000/48"), [], id="uncompressed-ipv6"),
        pytest.param(block("192.168.1.1/32"), [], id="single-address"),
        pytest.param(
            block("10.0.0.0/8", "10.1.0.0/16", "10.1.0.0/16", "10.1.2.0/24"),
            [],
            id="duplicate-and-overlapping-excepts",
        ),
        pytest.param(block("10.0.0.0/8", "10.255.255.255/32"), [], id="except-at-the-edge"),
        pytest.param(block("2001:db8::/32", "2001:db8:1::/48"), [], id="ipv6-except"),
        pytest.param(
            {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": None}}]}]},
            [],
            id="except-null",
        ),
        pytest.param(block(""), [(".cidr", "Required value", False)], id="C1-empty-cidr-is-required"),
        pytest.param(
            {"ingress": [{"from": [{"ipBlock": {"except": ["bogus"]}}]}]},
            [(".cidr", "Required value", False)],
            id="C1-missing-cidr-skips-except",
        ),
        pytest.param(block("10.0.0.1"), [(".cidr", invalid("10.0.0.1", NOT_CIDR), False)], id="C2-bare-ip"),
        pytest.param(block(" "), [(".cidr", invalid(" ", NOT_CIDR), False)], id="C2-space"),
        pytest.param(block("A"), [(".cidr", invalid("A", NOT_CIDR), False)], id="C2-garbage"),
        pytest.param(
            block("256.0.0.0/8"),
            [(".cidr", invalid("256.0.0.0/8", NOT_CIDR), False)],
            id="C2-octet-out-of-range",
        ),
        pytest.param(
            block("10.0.0.0/33"),
            [(".cidr", invalid("10.0.0.0/33", NOT_CIDR), False)],
            id="C2-prefix-out-of-range",
        ),
        pytest.param(
            block("2001:db8::/129"),
            [(".cidr", invalid("2001:db8::/129", NOT_CIDR), False)],
            id="C2-ipv6-prefix",
        ),
        pytest.param(
            block("10.0.0/8"), [(".cidr", invalid("10.0.0/8", NOT_CIDR), False)], id="C2-three-octets"
        ),
        pytest.param(
            block("10.0.0.0/"), [(".cidr", invalid("10.0.0.0/", NOT_CIDR), False)], id="C2-no-prefix"
        ),
        pytest.param(
            block("10.0.0.0/+8"), [(".cidr", invalid("10.0.0.0/+8", NOT_CIDR), False)], id="C2-signed-prefix"
        ),
        pytest.param(
            block(" 10.0.0.0/8"), [(".cidr", invalid(" 10.0.0.0/8", NOT_CIDR), False)], id="C2-whitespace"
        ),
        pytest.param(
            block("fe80::1%eth0/64"), [(".cidr", invalid("fe80::1%eth0/64", NOT_CIDR), False)], id="C2-zone"
        ),
        pytest.param(
            block("1::2::3/64"), [(".cidr", invalid("1::2::3/64", NOT_CIDR), False)], id="C2-two-ellipses"
        ),
        pytest.param(
            block("A", "also-bad"),
            [(".cidr", invalid("A", NOT_CIDR), False)],
            id="C2-unparsable-cidr-skips-except",
        ),
        pytest.param(
            block("010.0.0.0/8"),
            [(".cidr", invalid("010.0.0.0/8", LEADING_ZEROS), True)],
            id="C3-leading-zero-octet",
        ),
        pytest.param(
            block("10.0.0.0/08"),
            [(".cidr", invalid("10.0.0.0/08", LEADING_ZEROS), True)],
            id="C3-leading-zero-prefix",
        ),
        pytest.param(
            block("::ffff:010.0.0.0/104"),
            [(".cidr", invalid("::ffff:010.0.0.0/104", LEADING_ZEROS), True)],
            id="C3-leading-zero-inside-ipv6",
        ),
        pytest.param(
            block("00001::/64"),
            [(".cidr", invalid("00001::/64", LEADING_ZEROS), True)],
            id="C3-five-digit-ipv6-group",
        ),
        pytest.param(
            block("::ffff:10.0.0.0/104"),
            [(".cidr", invalid("::ffff:10.0.0.0/104", MAPPED), True)],
            id="C4-mapped",
        ),
        pytest.param(
            block("10.0.0.1/8"), [(".cidr", invalid("10.0.0.1/8", HOST_BITS), True)], id="C5-host-bits"
        ),
        pytest.param(
            block("2001:db8::1/64"),
            [(".cidr", invalid("2001:db8::1/64", HOST_BITS), True)],
            id="C5-ipv6-host-bits",
        ),
        pytest.param(
            block("010.0.0.1/8"),
            [(".cidr", invalid("010.0.0.1/8", LEADING_ZEROS), True)],
            id="C3-C5-only-one-strict-error",
        ),
        pytest.param(
            block("10.0.0.0/8", ""),
            [(".except[0]", invalid("", NOT_CIDR), False)],
            id="C6-empty-except-is-invalid",
        ),
        pytest.param(
            block("10.0.0.0/8", "10.1.0.0"),
            [(".except[0]", invalid("10.1.0.0", NOT_CIDR), False)],
            id="C6-bare-ip",
        ),
        pytest.param(
            block("10.0.0.0/8", "010.1.0.0/16"),
            [(".except[0]", invalid("010.1.0.0/16", LEADING_ZEROS), True)],
            id="C6-leading-zero-except-is-still-contained",
        ),
        pytest.param(
            block("10.0.0.0/8", "10.1.0.1/16"),
            [(".except[0]", invalid("10.1.0.1/16", HOST_BITS), True)],
            id="C6-host-bits-in-except",
        ),
        pytest.param(
            block("10.0.0.0/8", "11.0.0.0/16"),
            [(".except[0]", invalid("11.0.0.0/16", NOT_SUBSET), False)],
            id="C7-outside",
        ),
        pytest.param(
            block("10.0.0.0/8", "10.0.0.0/8"),
            [(".except[0]", invalid("10.0.0.0/8", NOT_SUBSET), False)],
            id="C7-same-prefix",
        ),
        pytest.param(
            block("2001:db8::/32", "2001:db8::/32"),
            [(".except[0]", invalid("2001:db8::/32", NOT_SUBSET), False)],
            id="C7-same-prefix-ipv6",
        ),
        pytest.param(
            block("10.0.0.0/16", "10.0.0.0/8"),
            [(".except[0]", invalid("10.0.0.0/8", NOT_SUBSET), False)],
            id="C7-wider",
        ),
        pytest.param(
            block("10.0.0.0/8", "fd00::/64"),
            [(".except[0]", invalid("fd00::/64", NOT_SUBSET), False)],
            id="C7-other-family",
        ),
        pytest.param(
            block("::/0", "10.0.0.0/8"),
            [(".except[0]", invalid("10.0.0.0/8", NOT_SUBSET), False)],
            id="C7-ipv4-in-ipv6",
        ),
        pytest.param(
            block("10.0.0.1/8", "10.1.0.0/16"),
            [(".cidr", invalid("10.0.0.1/8", HOST_BITS), True)],
            id="C7-uses-the-masked-network",
        ),
        pytest.param(
            block("10.0.0.1/8", "10.0.0.1/8"),
            [
                (".cidr", invalid("10.0.0.1/8", HOST_BITS), True),
                (".except[0]", invalid("10.0.0.1/8", HOST_BITS), True),
                (".except[0]", invalid("10.0.0.1/8", NOT_SUBSET), False),
            ],
            id="C7-after-the-excepts-format-error",
        ),
        pytest.param(
            block("10.0.0.0/8", "bad", "11.0.0.0/24", "10.2.0.0/16"),
            [
                (".except[0]", invalid("bad", NOT_CIDR), False),
                (".except[1]", invalid("11.0.0.0/24", NOT_SUBSET), False),
            ],
            id="every-except-is-checked",
        ),
        pytest.param(
            block("::ffff:10.0.0.0/104", "10.1.0.0/16"),
            [
                (".cidr", invalid("::ffff:10.0.0.0/104", MAPPED), True),
                (".except[0]", invalid("10.1.0.0/16", NOT_SUBSET), False),
            ],
            id="C7-mapped-cidr-compares-prefix-lengths-as-written",
        ),
        pytest.param(
            block("::ffff:10.0.0.0/104", "::ffff:10.1.0.0/112"),
            [
                (".cidr", invalid("::ffff:10.0.0.0/104", MAPPED), True),
                (".except[0]", invalid("::ffff:10.1.0.0/112", MAPPED), True),
            ],
            id="C7-mapped-except-inside-mapped-cidr",
        ),
        pytest.param(
            block("10.0.0.0/8", "::ffff:10.1.0.0/112"),
            [(".except[0]", invalid("::ffff:10.1.0.0/112", MAPPED), True)],
            id="C7-mapped-except-is-compared-as-ipv4",
        ),
    ],
)
def test_ip_blocks_are_validated_like_the_api_server(
    spec: dict[str, Any], expected: list[tuple[str, str, bool]]
) -> None:
    assert summary(spec) == expected


def test_cidrs_the_old_object_had_skip_the_strict_checks_on_update() -> None:
    spec = block("192.168.0.0/16", "192.168.3.1/24", "192.168.1.1/24")
    ratchet = ValidationOptions(allowed_cidrs=frozenset({"192.168.3.1/24"}))
    assert summary(spec, ratchet) == [(".except[1]", invalid("192.168.1.1/24", HOST_BITS), True)]


@pytest.mark.parametrize(
    ("value", "fix_mentions"),
    [
        pytest.param("010.0.0.0/8", "10.0.0.0/8", id="leading-zeros"),
        pytest.param("10.0.0.1/8", "10.0.0.0/8", id="host-bits"),
        pytest.param("::ffff:10.0.0.0/104", "10.0.0.0/8", id="mapped"),
        pytest.param("10.0.0.1", "10.0.0.1/32", id="bare-ip"),
    ],
)
def test_cidr_errors_name_the_value_to_write(value: str, fix_mentions: str) -> None:
    (error,) = api_errors(manifest(block(value)))
    assert fix_mentions in error.fix


@pytest.mark.parametrize(
    ("value", "network", "prefix", "noncanonical"),
    [
        pytest.param("010.000.001.000/24", "10.0.1.0", 24, True, id="leading-zeros-are-decimal-not-octal"),
        pytest.param("10.0.0.0/0008", "10.0.0.0", 8, True, id="prefix-with-zeros"),
        pytest.param("::ffff:1.2.3.4/128", "::ffff:102:304", 128, False, id="mapped"),
        pytest.param("::1.2.3.4/128", "::102:304", 128, False, id="ipv4-compatible"),
        pytest.param("1:2:3:4:5:6:7::/112", "1:2:3:4:5:6:7:0", 112, False, id="ellipsis-at-the-end"),
        pytest.param("1:2:3:4:5:6:1.2.3.4/128", "1:2:3:4:5:6:102:304", 128, False, id="embedded-ipv4"),
    ],
)
def test_the_sloppy_parser_reads_what_go_reads(
    value: str, network: str, prefix: int, noncanonical: bool
) -> None:
    parsed = parse_cidr_sloppy(value)
    assert parsed is not None
    assert parsed.network == int(ipaddress.ip_address(network)) and parsed.prefix == prefix
    assert parsed.noncanonical_digits is noncanonical


@pytest.mark.parametrize(
    "value",
    [
        "1:2:3:4:5:6:7:1.2.3.4/128",
        "1:2:3:4:5:6:7:8::/64",
        "1:2:3:4:5:6:7:8:9/64",
        ":1::/64",
        "1::/",
        "1.2.3.4.5/8",
        "/8",
    ],
)
def test_the_sloppy_parser_rejects_what_go_rejects(value: str) -> None:
    assert parse_cidr_sloppy(value) is None


@given(st.ip_addresses(), st.data())
def test_every_canonical_network_parses_to_itself_with_no_strict_problem(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, data: st.DataObject
) -> None:
    prefix = data.draw(st.integers(0, address.max_prefixlen))
    network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    parsed = parse_cidr_sloppy(str(network))
    assert parsed is not None
    assert (parsed.network, parsed.prefix, parsed.bits) == (
        int(network.network_address),
        prefix,
        address.max_prefixlen,
    )
    if not (isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped):
        assert parsed.strict_problem() is None


@given(st.ip_addresses(v=4), st.integers(0, 32), st.ip_addresses(v=4), st.integers(0, 32))
def test_ipv4_except_containment_matches_ipaddress(
    cidr_address: ipaddress.IPv4Address,
    cidr_prefix: int,
    except_address: ipaddress.IPv4Address,
    except_prefix: int,
) -> None:
    outer = ipaddress.ip_network(f"{cidr_address}/{cidr_prefix}", strict=False)
    inner = ipaddress.ip_network(f"{except_address}/{except_prefix}", strict=False)
    parsed_outer, parsed_inner = parse_cidr_sloppy(str(outer)), parse_cidr_sloppy(str(inner))
    assert parsed_outer is not None and parsed_inner is not None
    assert parsed_outer.contains_strictly(parsed_inner) is (inner.subnet_of(outer) and inner != outer)


@given(
    st.ip_addresses(v=4),
    st.integers(0, 32),
    st.lists(st.tuples(st.ip_addresses(v=4), st.integers(0, 32)), max_size=3),
)
def test_an_ipv4_except_is_rejected_exactly_when_it_is_not_strictly_inside(
    address: ipaddress.IPv4Address, prefix: int, excepts: list[tuple[ipaddress.IPv4Address, int]]
) -> None:
    outer = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
    inner = [ipaddress.ip_network(f"{a}/{p}", strict=False) for a, p in excepts]
    spec = block(str(outer), *map(str, inner))
    expected = [
        (f".except[{index}]", invalid(str(network), NOT_SUBSET), False)
        for index, network in enumerate(inner)
        if not (network.subnet_of(outer) and network != outer)
    ]
    assert summary(spec) == expected
