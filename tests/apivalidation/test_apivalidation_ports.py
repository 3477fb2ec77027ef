"""Section 5.3: ports P1-P7."""

from __future__ import annotations

from typing import Any

import pytest
from apivalidation_cases import api_errors, manifest, rendered

PATH = "spec.ingress[0].ports[0]"
CHARSET = "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"


def port(**fields: Any) -> dict[str, Any]:
    return {"ingress": [{"ports": [fields]}]}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(port(), [], id="empty-port-means-all-tcp"),
        pytest.param({"ingress": [{"ports": [None]}]}, [], id="null-port-entry"),
        pytest.param(port(port=None), [], id="port-null"),
        pytest.param(port(protocol="UDP"), [], id="udp-all-ports"),
        pytest.param(port(protocol="SCTP", port=5000), [], id="sctp"),
        pytest.param(port(protocol=None, port=80), [], id="protocol-null-defaults-to-tcp"),
        pytest.param(
            port(protocol="ICMP"),
            [(f"{PATH}.protocol", 'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"')],
            id="P1-icmp",
        ),
        pytest.param(
            port(protocol="tcp"),
            [(f"{PATH}.protocol", 'Unsupported value: "tcp": supported values: "TCP", "UDP", "SCTP"')],
            id="P1-lower-case",
        ),
        pytest.param(
            port(protocol=""),
            [(f"{PATH}.protocol", 'Unsupported value: "": supported values: "TCP", "UDP", "SCTP"')],
            id="P1-empty-string-is-not-defaulted",
        ),
        pytest.param(port(port=1), [], id="port-1"),
        pytest.param(port(port=65535), [], id="port-65535"),
        pytest.param(
            port(port=0),
            [(f"{PATH}.port", "Invalid value: 0: must be between 1 and 65535, inclusive")],
            id="P2-zero",
        ),
        pytest.param(
            port(port=-1),
            [(f"{PATH}.port", "Invalid value: -1: must be between 1 and 65535, inclusive")],
            id="P2-negative",
        ),
        pytest.param(
            port(port=65536),
            [(f"{PATH}.port", "Invalid value: 65536: must be between 1 and 65535, inclusive")],
            id="P2-too-big",
        ),
        pytest.param(port(port="abc"), [], id="named-port-abc"),
        pytest.param(port(port="http-alt"), [], id="named-port-with-dash"),
        pytest.param(port(port="a" * 15), [], id="named-port-15-characters"),
        pytest.param(
            port(port="a" * 16),
            [(f"{PATH}.port", f'Invalid value: "{"a" * 16}": must be no more than 15 characters')],
            id="P3-too-long",
        ),
        pytest.param(
            port(port="HTTP"),
            [
                (
                    f"{PATH}.port",
                    f'Invalid value: "HTTP": {CHARSET}',
                ),
                (f"{PATH}.port", 'Invalid value: "HTTP": must contain at least one letter (a-z)'),
            ],
            id="P3-upper-case",
        ),
        pytest.param(
            port(port="80"),
            [(f"{PATH}.port", 'Invalid value: "80": must contain at least one letter (a-z)')],
            id="P3-quoted-number",
        ),
        pytest.param(
            port(port="a--b"),
            [(f"{PATH}.port", 'Invalid value: "a--b": must not contain consecutive hyphens')],
            id="P3-double-hyphen",
        ),
        pytest.param(
            port(port="-http"),
            [(f"{PATH}.port", 'Invalid value: "-http": must not begin or end with a hyphen')],
            id="P3-leading-hyphen",
        ),
        pytest.param(
            port(port=""),
            [
                (
                    f"{PATH}.port",
                    f'Invalid value: "": {CHARSET}',
                ),
                (f"{PATH}.port", 'Invalid value: "": must contain at least one letter (a-z)'),
            ],
            id="P3-empty-name",
        ),
        pytest.param(
            port(port="-_-_-_-_-_-_-_-_"),
            [
                (f"{PATH}.port", 'Invalid value: "-_-_-_-_-_-_-_-_": must be no more than 15 characters'),
                (
                    f"{PATH}.port",
                    f'Invalid value: "-_-_-_-_-_-_-_-_": {CHARSET}',
                ),
                (f"{PATH}.port", 'Invalid value: "-_-_-_-_-_-_-_-_": must contain at least one letter (a-z)'),
                (f"{PATH}.port", 'Invalid value: "-_-_-_-_-_-_-_-_": must not begin or end with a hyphen'),
            ],
            id="P3-each-broken-rule-is-one-error",
        ),
        pytest.param(port(port=80, endPort=80), [], id="end-port-equal-to-port"),
        pytest.param(port(port=32000, endPort=32768), [], id="port-range"),
        pytest.param(
            port(port=100, endPort=99),
            [(f"{PATH}.endPort", "Invalid value: 99: must be greater than or equal to `port`")],
            id="P4-end-port-below-port",
        ),
        pytest.param(
            port(port=100, endPort=70000),
            [(f"{PATH}.endPort", "Invalid value: 70000: must be between 1 and 65535, inclusive")],
            id="P5-end-port-too-big",
        ),
        pytest.param(
            port(port=100, endPort=0),
            [
                (f"{PATH}.endPort", "Invalid value: 0: must be greater than or equal to `port`"),
                (f"{PATH}.endPort", "Invalid value: 0: must be between 1 and 65535, inclusive"),
            ],
            id="P4-and-P5-together",
        ),
        pytest.param(
            port(port=0, endPort=-5),
            [
                (f"{PATH}.port", "Invalid value: 0: must be between 1 and 65535, inclusive"),
                (f"{PATH}.endPort", "Invalid value: -5: must be greater than or equal to `port`"),
                (f"{PATH}.endPort", "Invalid value: -5: must be between 1 and 65535, inclusive"),
            ],
            id="bad-port-and-bad-end-port",
        ),
        pytest.param(
            port(port="http", endPort=90),
            [(f"{PATH}.endPort", "Invalid value: 90: may not be specified when `port` is non-numeric")],
            id="P6-end-port-with-named-port",
        ),
        pytest.param(
            port(endPort=90),
            [(f"{PATH}.endPort", "Invalid value: 90: may not be specified when `port` is not specified")],
            id="P7-end-port-without-port",
        ),
        pytest.param(
            port(protocol="icmp", port=0),
            [
                (f"{PATH}.protocol", 'Unsupported value: "icmp": supported values: "TCP", "UDP", "SCTP"'),
                (f"{PATH}.port", "Invalid value: 0: must be between 1 and 65535, inclusive"),
            ],
            id="errors-are-collected-not-first-only",
        ),
        pytest.param(
            {"egress": [{"ports": [{"port": 80}, {"port": 0}]}]},
            [("spec.egress[0].ports[1].port", "Invalid value: 0: must be between 1 and 65535, inclusive")],
            id="egress-path",
        ),
    ],
)
def test_ports_are_validated_like_the_api_server(spec: Any, expected: list[tuple[str, str]]) -> None:
    assert rendered(manifest(spec)) == expected


@pytest.mark.parametrize(
    ("fields", "fix_mentions"),
    [
        pytest.param({"protocol": "udp"}, "'UDP'", id="lower-case-protocol"),
        pytest.param({"port": "8080"}, "(8080)", id="quoted-number"),
        pytest.param({"port": 100, "endPort": 99}, "at least 100", id="reversed-range"),
    ],
)
def test_port_errors_say_what_to_write_instead(fields: dict[str, Any], fix_mentions: str) -> None:
    (error, *_) = api_errors(manifest(port(**fields)))
    assert fix_mentions in error.fix
