"""pytest fixtures for the control plane (registered for every test directory by tests/conftest.py).

- ``kube_tools``: the binaries' folder, built when missing; skips when they cannot be built here
  (CONTROLPLANE_REQUIRED=1, set by CI, makes that a failure).
- ``control_plane``: etcd, kube-apiserver and kube-controller-manager, started once per session.
- ``start_webhook(config=None)``: a started `netpol-guard serve` from this checkout (stopped at the end).
- ``guarded_cluster``: the control plane with the chart installed and its webhook answering from a local
  server serving deploy/examples/rules.yaml.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from controlplane.cluster import ControlPlane, start_control_plane
from controlplane.kubetools import BIN_DIR, REQUIRED, ROOT, KubeToolsError, build
from controlplane.processes import Supervisor
from controlplane.webhook import LocalWebhook, Release, install_chart, wait_until_answering

EXAMPLE_RULES = ROOT / "deploy" / "examples" / "rules.yaml"


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail where the control plane is required (CI)."""
    if os.environ.get(REQUIRED) == "1":
        pytest.fail(f"{reason} ({REQUIRED}=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def kube_tools() -> Path:
    try:
        build()
    except KubeToolsError as exc:
        unavailable(f"kube-apiserver, kube-controller-manager, kubectl and etcd cannot be built: {exc}")
    return BIN_DIR


@pytest.fixture(scope="session")
def control_plane(kube_tools: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    directory = tmp_path_factory.mktemp("control-plane")
    plane = start_control_plane(directory, kube_tools, Supervisor())
    try:
        yield plane
    finally:
        plane.stop()
        shutil.rmtree(directory / "etcd", ignore_errors=True)


@pytest.fixture(scope="session")
def start_webhook(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., LocalWebhook]]:
    """start_webhook(config: Path | None = None, reload_interval=0.5) -> a started LocalWebhook."""
    supervisor = Supervisor()

    def start(config: Path | None = None, reload_interval: float = 0.5) -> LocalWebhook:
        webhook = LocalWebhook(
            tmp_path_factory.mktemp("webhook"), supervisor, config=config, reload_interval=reload_interval
        )
        webhook.start()
        return webhook

    try:
        yield start
    finally:
        supervisor.stop_all()


@dataclass(frozen=True)
class GuardedCluster:
    """The control plane, the local webhook it calls, and the chart release that registered it."""

    plane: ControlPlane
    webhook: LocalWebhook
    release: Release


@pytest.fixture(scope="session")
def guarded_cluster(
    control_plane: ControlPlane, start_webhook: Callable[..., LocalWebhook]
) -> GuardedCluster:
    webhook = start_webhook(config=EXAMPLE_RULES)
    release = install_chart(control_plane, webhook)
    wait_until_answering(control_plane, webhook)
    return GuardedCluster(control_plane, webhook, release)
