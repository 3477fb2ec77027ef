"""The e2e suite's view of the control plane: kubectl as the admin, the local webhook's rules and
certificates, its outages, and the API server's audit log.

Built on tests/controlplane's `guarded_cluster` (the chart installed with its webhook at a local
`netpol-guard serve`). The webhook is given a rules file of its own, so a test can change the rules the
way an operator does (the server hot-reloads the file) without touching deploy/examples/rules.yaml.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Final, Protocol

import pytest
import yaml
from controlplane.cluster import ControlPlane, Result
from controlplane.webhook import LocalWebhook
from prometheus_client.parser import text_string_to_metric_families

ROOT: Final = Path(__file__).resolve().parents[2]
EXAMPLES: Final = ROOT / "deploy" / "examples" / "policies"
EXAMPLE_RULES: Final = ROOT / "deploy" / "examples" / "rules.yaml"
WEBHOOK: Final = "validate.netpol-guard.io"
DENIED: Final = f'admission webhook "{WEBHOOK}" denied the request'
RBAC: Final = "rbac.authorization.k8s.io"
# Who writes policies in the tests besides the admin: developers may write and delete them (so only the
# webhook stands in the way); platform-admins own the baselines in deploy/examples/rules.yaml.
WRITERS: Final = ("developers", "platform-admins")


def wait_for(
    condition: Callable[[], bool], what: str | Callable[[], str], timeout: float = 60, interval: float = 0.3
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` (text, or a callable for the latest state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what() if callable(what) else what}")


class Kubectl(Protocol):
    def __call__(self, *args: str, input: str | None = None, timeout: float = 120) -> Result: ...


class Backend(Protocol):
    """What the shared e2e tests need from a cluster with netpol-guard installed (`Guard` here, `KindGuard`
    in e2e_cluster.py). Where a backend cannot do something, the method skips the test and says why."""

    keeps_audit_log: bool

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 120) -> Result: ...
    def set_rules(self, text: str) -> None: ...
    def audit_events(self) -> list[dict[str, Any]]: ...
    def webhook_stopped(self) -> AbstractContextManager[None]: ...
    def rotate_serving_certificate(self) -> None: ...
    def create_namespace(self, name: str) -> None: ...
    def namespace_state(self, name: str) -> str: ...


def create_namespace(kubectl: Kubectl, name: str) -> None:
    """A namespace where developers and platform-admins may write NetworkPolicies (kept if present)."""
    role = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "Role",
        "metadata": {"name": "e2e-networkpolicy-writer", "namespace": name},
        "rules": [
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["networkpolicies"],
                "verbs": ["get", "list", "create", "update", "patch", "delete"],
            }
        ],
    }
    binding = {
        "apiVersion": f"{RBAC}/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "e2e-networkpolicy-writers", "namespace": name},
        "roleRef": {"apiGroup": RBAC, "kind": "Role", "name": "e2e-networkpolicy-writer"},
        "subjects": [{"apiGroup": RBAC, "kind": "Group", "name": group} for group in WRITERS],
    }
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    result = kubectl("apply", "-f", "-", input=yaml.safe_dump_all([namespace, role, binding]))
    assert result.rc == 0, result.output


def namespace_state(kubectl: Kubectl, name: str) -> str:
    """A namespace's phase and conditions, for a failure message."""
    result = kubectl("get", "namespace", name, "-o", "json")
    if result.rc != 0:
        return "gone"
    status = json.loads(result.stdout).get("status", {})
    conditions = [f"{c['type']}={c['status']}: {c.get('message', '')}" for c in status.get("conditions", [])]
    return f"{status.get('phase')}; " + "; ".join(conditions)


class Guard:
    """The guarded control plane as the e2e tests drive it."""

    keeps_audit_log = True

    def __init__(self, plane: ControlPlane, webhook: LocalWebhook, rules_file: Path) -> None:
        self.plane = plane
        self.webhook = webhook
        self.rules_file = rules_file

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 120) -> Result:
        """The real kubectl as the admin (add ``--as``/``--as-group`` to act as someone else)."""
        return self.plane.kubectl(*args, input=input, timeout=timeout)

    # -- the webhook ---------------------------------------------------------------------------------

    def metric(self, name: str, **labels: str) -> float:
        """One sample of the server's /metrics (0 when absent)."""
        url = f"http://127.0.0.1:{self.webhook.probe_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as answer:
            body = answer.read().decode()
        for family in text_string_to_metric_families(body):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return float(sample.value)
        return 0.0

    def set_rules(self, text: str) -> None:
        """Write the rules file the server watches and wait until it has reloaded it."""
        if self.rules_file.read_text(encoding="utf-8") == text:
            return
        reloads = self.metric("netpol_guard_config_reloads_total", result="success")
        tmp = self.rules_file.with_name(f".{self.rules_file.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.rules_file)  # atomically, as the kubelet swaps a ConfigMap volume
        wait_for(
            lambda: self.metric("netpol_guard_config_reloads_total", result="success") > reloads,
            f"the webhook to reload {self.rules_file} (log: {self.webhook.log_file})",
        )

    def rotate_serving_certificate(self) -> None:
        """A new serving pair from the same CA; returns once the server presents it."""
        pair = self.webhook.rotate_certificate()
        expiry = pair.certificate.not_valid_after_utc.timestamp()
        wait_for(
            lambda: abs(self.metric("netpol_guard_tls_certificate_expiry_timestamp_seconds") - expiry) < 1,
            "the webhook to serve the rotated certificate",
        )

    @contextmanager
    def webhook_stopped(self) -> Iterator[None]:
        """The server process stopped for the block, restarted (and answering again) after it."""
        self.webhook.stop()
        try:
            yield
        finally:
            self.webhook.start()

    # -- the cluster ---------------------------------------------------------------------------------

    def audit_events(self) -> list[dict[str, Any]]:
        """Every audit event so far (NetworkPolicy requests, at Metadata level), oldest first."""
        try:
            lines = self.plane.audit_log.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def create_namespace(self, name: str) -> None:
        create_namespace(self.kubectl, name)

    def namespace_state(self, name: str) -> str:
        return namespace_state(self.kubectl, name)


def guard_for(plane: ControlPlane, webhook: LocalWebhook, directory: Path) -> Guard:
    """Give ``webhook`` a rules file of its own (a copy of the example rules) and wrap both."""
    rules_file = directory / "rules.yaml"
    shutil.copyfile(EXAMPLE_RULES, rules_file)
    if webhook.config != rules_file:
        webhook.config = rules_file
        webhook.restart()
    guard = Guard(plane, webhook, rules_file)
    for namespace in ("shop", "gatekeeper-system"):
        guard.create_namespace(namespace)
    return guard
