"""webhook.name names the cluster-wide webhook configuration; two installations cannot share one silently.

The collision check needs a live API server (Helm's lookup): it runs against the real control plane
(tests/controlplane), skipping where the Kubernetes binaries cannot be built."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chart_rendering import CHART, Render, one, pod_specs, run_helm
from controlplane.cluster import ControlPlane

CUSTOM = "validate.team-a.netpol-guard.io"
TAKEN = "validate.collision-test.netpol-guard.io"


def test_the_webhook_name_names_the_configuration_its_webhook_rbac_and_the_jobs(render: Render) -> None:
    objects = render(set_values=[f"webhook.name={CUSTOM}"])
    configuration = one(objects, "ValidatingWebhookConfiguration")
    assert configuration["metadata"]["name"] == CUSTOM
    assert [hook["name"] for hook in configuration["webhooks"]] == [CUSTOM]
    webhook_rules = [
        rule
        for role in objects
        if role["kind"] == "ClusterRole"
        for rule in role["rules"]
        if "validatingwebhookconfigurations" in rule["resources"]
    ]
    assert webhook_rules and all(rule["resourceNames"] == [CUSTOM] for rule in webhook_rules)
    args = [
        arg for _, spec in pod_specs(objects) for container in spec["containers"] for arg in container["args"]
    ]
    webhook_args = [arg for arg in args if arg.startswith("--webhook=")]
    assert webhook_args and set(webhook_args) == {f"--webhook={CUSTOM}"}  # certs Job, CronJob, helm test


@pytest.mark.parametrize(
    "name", ["validate.io", "Validate.Team.io", "validate..netpol-guard.io", "-x.netpol-guard.io"]
)
def test_a_webhook_name_the_api_server_would_refuse_fails_the_render(helm: str, name: str) -> None:
    result = run_helm(helm, "template", "x", str(CHART), "--set", f"webhook.name={name}")
    assert result.returncode != 0
    assert "/webhook/name" in result.stderr


@pytest.fixture
def taken_configuration(control_plane: ControlPlane) -> Iterator[ControlPlane]:
    """A webhook configuration named TAKEN, owned by release `first` in namespace `team-a` (no webhooks:
    the API server calls nothing)."""
    manifest = f"""
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: {TAKEN}
  labels:
    app.kubernetes.io/managed-by: Helm
  annotations:
    meta.helm.sh/release-name: first
    meta.helm.sh/release-namespace: team-a
webhooks: []
"""
    created = control_plane.kubectl("apply", "-f", "-", input=manifest)
    assert created.rc == 0, created.stderr
    try:
        yield control_plane
    finally:
        control_plane.kubectl("delete", "validatingwebhookconfiguration", TAKEN, "--ignore-not-found")


def _server_render(helm: str, plane: ControlPlane, release: str, namespace: str) -> tuple[int, str]:
    result = run_helm(
        helm,
        "template",
        release,
        str(CHART),
        "--namespace",
        namespace,
        "--dry-run=server",
        "--kubeconfig",
        str(plane.kubeconfig),
        "--set",
        f"webhook.name={TAKEN}",
    )
    return result.returncode, result.stderr


def test_a_second_release_cannot_take_over_the_webhook_configuration(
    helm: str, taken_configuration: ControlPlane
) -> None:
    code, stderr = _server_render(helm, taken_configuration, "second", "team-b")
    assert code != 0
    assert f"webhook.name {TAKEN} is already used by release first in namespace team-a" in stderr
    assert "set webhook.name to a name of its own (e.g. validate.second.netpol-guard.io)" in stderr


def test_the_owning_release_renders_against_its_own_configuration(
    helm: str, taken_configuration: ControlPlane
) -> None:
    code, stderr = _server_render(helm, taken_configuration, "first", "team-a")
    assert code == 0, stderr
