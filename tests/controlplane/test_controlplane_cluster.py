"""The loopback control plane and the fixture helpers the e2e suites build on, through real kubectl."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from controlplane.cluster import ControlPlane, wait_for
from controlplane.fixtures import GuardedCluster
from controlplane.kubetools import ROOT
from controlplane.webhook import (
    NonLoopbackWebhook,
    install_chart,
    loopback_problems,
    register_webhook_configuration,
    wait_until_answering,
)

BAD = ROOT / "deploy" / "examples" / "policies" / "bad" / "forbid-allow-all.yaml"
DENIED = 'admission webhook "validate.netpol-guard.io" denied the request'


def _vwc(client_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "w"},
        "webhooks": [{"name": "w.example.com", "clientConfig": client_config}],
    }


def _service(spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Service", "metadata": {"name": "svc", "namespace": "ns"}, "spec": spec}


@pytest.mark.parametrize(
    ("objects", "problem"),
    [
        ([_vwc({"url": "https://127.0.0.1:8443/validate"})], None),
        ([_vwc({"url": "https://localhost:8443/validate"})], None),
        ([_vwc({"url": "https://[::1]:8443/validate"})], None),
        (
            [_vwc({"url": "https://10.0.0.7:8443/validate"})],
            "url https://10.0.0.7:8443/validate is not on loopback",
        ),
        ([_vwc({"url": "https://webhook.example.com/validate"})], "is not on loopback"),
        (
            [_vwc({"service": {"name": "svc", "namespace": "ns"}}), _service({"type": "ClusterIP"})],
            "service ns/svc is not an ExternalName Service to localhost",
        ),
        (
            [_vwc({"service": {"name": "svc", "namespace": "ns"}})],
            "service ns/svc is not an ExternalName Service to localhost",
        ),
        (
            [
                _vwc({"service": {"name": "svc", "namespace": "ns"}}),
                _service({"type": "ExternalName", "externalName": "webhook.example.com"}),
            ],
            "not an ExternalName Service to localhost",
        ),
        (
            [
                _vwc({"service": {"name": "svc", "namespace": "ns"}}),
                _service({"type": "ExternalName", "externalName": "localhost"}),
            ],
            None,
        ),
    ],
    ids=[
        "url-127.0.0.1",
        "url-localhost",
        "url-ipv6-loopback",
        "url-cluster-address",
        "url-remote-host",
        "service-clusterip",
        "service-unknown",
        "externalname-remote",
        "externalname-localhost",
    ],
)
def test_only_webhooks_that_resolve_to_loopback_pass_the_guard(
    objects: list[dict[str, Any]], problem: str | None
) -> None:
    problems = loopback_problems(objects)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]


def test_the_admin_kubeconfig_is_a_client_certificate_in_system_masters(control_plane: ControlPlane) -> None:
    whoami = control_plane.kubectl_json("auth", "whoami")
    assert "system:masters" in whoami["status"]["userInfo"]["groups"]
    assert control_plane.server.startswith("https://127.0.0.1:")


def test_a_bad_example_is_refused_by_kubectl_apply_with_its_rule_id(guarded_cluster: GuardedCluster) -> None:
    plane = guarded_cluster.plane
    plane.kubectl("create", "namespace", "shop")
    result = plane.kubectl("apply", "-f", str(BAD))
    assert result.rc == 1
    assert DENIED in result.stderr and "[forbid-allow-all]" in result.stderr
    assert plane.kubectl("get", "networkpolicy", "web-allow-everything", "-n", "shop").rc == 1


def test_a_chart_whose_webhook_leaves_loopback_is_never_registered(guarded_cluster: GuardedCluster) -> None:
    plane, webhook = guarded_cluster.plane, guarded_cluster.webhook
    with pytest.raises(
        NonLoopbackWebhook, match=re.escape("https://10.0.0.9:443/validate is not on loopback")
    ):
        install_chart(
            plane,
            webhook,
            release="remote",
            namespace="remote",
            set_values=["webhook.url=https://10.0.0.9:443/validate", "fullnameOverride=remote"],
        )
    assert plane.kubectl("get", "namespace", "remote").rc == 1
    hooks = plane.kubectl_json("get", "validatingwebhookconfigurations")["items"]
    assert [hook["webhooks"][0]["clientConfig"]["url"] for hook in hooks] == [webhook.url]


def test_a_webhook_configuration_naming_a_clusterip_service_is_never_applied(
    control_plane: ControlPlane,
) -> None:
    plane = control_plane
    assert plane.kubectl("create", "service", "clusterip", "plain", "--tcp=443:8443", "-n", "default").rc == 0
    config = _vwc({"service": {"name": "plain", "namespace": "default", "port": 443}})
    config["apiVersion"] = "admissionregistration.k8s.io/v1"
    with pytest.raises(NonLoopbackWebhook, match="service default/plain is not an ExternalName Service"):
        register_webhook_configuration(plane, [config])
    assert "NotFound" in plane.kubectl("get", "validatingwebhookconfiguration", "w").stderr


def test_a_token_from_the_token_request_api_is_held_to_its_service_accounts_rbac(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    plane = control_plane
    plane.kubectl("create", "namespace", "token-test")
    assert plane.kubectl("create", "serviceaccount", "reader", "-n", "token-test").rc == 0
    kubeconfig = plane.service_account_kubeconfig("token-test", "reader", tmp_path / "reader.kubeconfig")
    whoami = json.loads(plane.kubectl("auth", "whoami", "-o", "json", kubeconfig=kubeconfig).stdout)
    assert whoami["status"]["userInfo"]["username"] == "system:serviceaccount:token-test:reader"
    denied = plane.kubectl("get", "networkpolicies", "-n", "token-test", kubeconfig=kubeconfig)
    assert denied.rc == 1 and "forbidden" in denied.stderr
    plane.kubectl(
        "create", "role", "np-reader", "-n", "token-test", "--verb=list", "--resource=networkpolicies"
    )
    plane.kubectl(
        "create",
        "rolebinding",
        "np-reader",
        "-n",
        "token-test",
        "--role=np-reader",
        "--serviceaccount=token-test:reader",
    )
    wait_for(
        lambda: plane.kubectl("get", "networkpolicies", "-n", "token-test", kubeconfig=kubeconfig).rc == 0,
        30,
        "the RoleBinding to take effect",
    )


def test_with_the_webhook_stopped_only_networkpolicy_writes_fail_until_it_restarts(
    guarded_cluster: GuardedCluster,
) -> None:
    plane, webhook = guarded_cluster.plane, guarded_cluster.webhook
    webhook.stop()
    try:
        refused = plane.kubectl("apply", "--dry-run=server", "-f", str(BAD))
        assert refused.rc == 1
        assert 'failed calling webhook "validate.netpol-guard.io"' in refused.stderr
        assert plane.kubectl("create", "configmap", "unaffected", "-n", "default").rc == 0
    finally:
        webhook.restart()
    wait_until_answering(plane, webhook)
    assert DENIED in plane.kubectl("apply", "--dry-run=server", "-f", str(BAD)).stderr


def test_the_audit_log_records_networkpolicy_requests_at_metadata_level(
    guarded_cluster: GuardedCluster,
) -> None:
    plane = guarded_cluster.plane
    plane.kubectl("create", "namespace", "shop")
    plane.kubectl("apply", "-f", str(BAD))

    def denied_events() -> list[dict[str, Any]]:
        events = [json.loads(line) for line in plane.audit_log.read_text().splitlines() if line]
        return [
            event
            for event in events
            if event["objectRef"].get("resource") == "networkpolicies"
            and event["objectRef"].get("name") == "web-allow-everything"
            and event["responseStatus"].get("code") == 403
        ]

    wait_for(lambda: bool(denied_events()), 30, "the denied write in the audit log")
    event = denied_events()[-1]
    assert event["level"] == "Metadata" and "requestObject" not in event
    assert all(
        event["objectRef"]["resource"] == "networkpolicies"
        for event in map(json.loads, plane.audit_log.read_text().splitlines())
    )
