"""The chart's connection limits and drain timing: values reach the server's flags, the grace period
covers the whole drain, and the memory limit fits the connection limit."""

from __future__ import annotations

import re
from typing import Any

import pytest
from chart_rendering import CHART, NAMESPACE, Render, one, run_helm

from app.settings import DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES, DEFAULT_REQUEST_TIMEOUT

KIB_PER_IDLE_CONNECTION = 64  # measured ~60 KiB by `make bench-limits`
BASE_MIB = 128  # the idle server, with margin
REVIEW_MIB = 160  # one 3 MiB review being judged (peak RSS under 150 MB above idle)


def _container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    return container


def _flag(container: dict[str, Any], name: str) -> str:
    [value] = [arg.split("=", 1)[1] for arg in container["args"] if arg.startswith(f"--{name}=")]
    return value


def _mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * (1024 if unit == "Gi" else 1)


def test_the_default_limits_are_the_servers_defaults(render: Render) -> None:
    container = _container(render())

    assert int(_flag(container, "max-header-bytes")) == DEFAULT_MAX_HEADER_BYTES
    assert float(_flag(container, "request-timeout")) == DEFAULT_REQUEST_TIMEOUT
    assert int(_flag(container, "max-connections")) == DEFAULT_MAX_CONNECTIONS


def test_limit_values_reach_the_server_flags(render: Render) -> None:
    container = _container(
        render(
            set_values=(
                "server.maxHeaderBytes=8192",
                "server.requestTimeoutSeconds=4",
                "server.maxConnections=200",
                "server.shutdownDelaySeconds=3",
                "server.gracefulTimeoutSeconds=9",
            )
        )
    )

    assert _flag(container, "max-header-bytes") == "8192"
    assert _flag(container, "request-timeout") == "4"
    assert _flag(container, "max-connections") == "200"
    assert _flag(container, "shutdown-delay") == "3"
    assert _flag(container, "graceful-timeout") == "9"


def test_the_memory_limit_fits_max_connections_idle_tls_connections_and_a_review(render: Render) -> None:
    container = _container(render())
    connections = int(_flag(container, "max-connections"))

    needed = BASE_MIB + connections * KIB_PER_IDLE_CONNECTION / 1024 + REVIEW_MIB

    assert _mebibytes(container["resources"]["limits"]["memory"]) >= needed


def test_the_grace_period_is_derived_from_the_prestop_sleep_the_shutdown_delay_and_the_graceful_timeout(
    render: Render,
) -> None:
    default = one(render(), "Deployment")["spec"]["template"]["spec"]
    longer = one(
        render(set_values=("preStopSleepSeconds=10", "server.gracefulTimeoutSeconds=40")), "Deployment"
    )["spec"]["template"]["spec"]

    assert default["terminationGracePeriodSeconds"] == 5 + 2 + 15 + 5
    assert longer["terminationGracePeriodSeconds"] == 10 + 2 + 40 + 5


def test_an_explicit_grace_period_that_covers_the_drain_is_kept(render: Render) -> None:
    pod = one(render(set_values=("terminationGracePeriodSeconds=60",)), "Deployment")["spec"]["template"]
    assert pod["spec"]["terminationGracePeriodSeconds"] == 60


def test_a_grace_period_shorter_than_the_drain_fails_the_render_naming_the_values(helm: str) -> None:
    result = run_helm(
        helm,
        "template",
        "netpol-guard",
        str(CHART),
        "-n",
        NAMESPACE,
        "--set",
        "terminationGracePeriodSeconds=20",
    )

    assert result.returncode != 0
    assert "terminationGracePeriodSeconds: 20 is too short" in result.stderr
    assert "server.gracefulTimeoutSeconds" in result.stderr and "need 27" in result.stderr


@pytest.mark.parametrize(
    "value",
    [
        "server.maxConnections=0",
        "server.maxHeaderBytes=100",
        "server.requestTimeoutSeconds=0",
        "server.gracefulTimeoutSeconds=0",
        "server.shutdownDelaySeconds=-1",
    ],
)
def test_the_schema_refuses_limits_the_server_would_refuse(helm: str, value: str) -> None:
    result = run_helm(helm, "template", "netpol-guard", str(CHART), "-n", NAMESPACE, "--set", value)

    assert result.returncode != 0
    assert value.split("=")[0].split(".")[-1] in result.stderr
