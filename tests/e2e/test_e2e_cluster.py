"""netpol-guard in a real cluster (kind): what only pods can show (hot reload in every pod, the certs
CronJob's rotation, scaling to zero, `helm test`'s pod, uninstall). The examples, every way of writing a
policy, dry runs and protect-baseline run on kind too, from tests/e2e/test_e2e_admission.py.

The tests run in file order and share one installation; the last one uninstalls.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from e2e_cluster import (
    ALLOW_ALL,
    DENIED,
    NAMESPACE,
    PLATFORM_ADMIN,
    RELEASE,
    WEBHOOK,
    config_reloads,
    helm,
    install_args,
    kubectl,
    pod_metric,
    wait_for,
    wait_until_every_pod_reloaded_rules,
    wait_until_webhook_answers,
    webhook_pod_names,
    webhook_pods,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("cluster")]

SHORT_VALIDITY = "10m"
SHORT_RENEW_BEFORE_SECONDS = 8 * 60


def apply(path: Path, *extra: str) -> tuple[int, str]:
    result = kubectl("apply", "-f", str(path), *extra, check=False)
    return result.returncode, result.stdout + result.stderr


def delete(path: Path) -> None:
    # As a platform admin: default-deny.yaml is a baseline that protect-baseline keeps others from deleting.
    kubectl("delete", "-f", str(path), "--ignore-not-found", "--wait=false", *PLATFORM_ADMIN, check=False)


def policy_text(name: str, namespace: str, *, labels: dict[str, str] | None = None) -> str:
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"team": "platform"}},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    return yaml.safe_dump(policy)


@pytest.mark.parametrize(
    "namespace",
    ["gatekeeper-system", NAMESPACE, "kube-system"],
    ids=["exempt-by-rules-file", "release-namespace", "kube-system"],
)
def test_exempt_namespaces_are_not_judged(namespace: str) -> None:
    doc = yaml.safe_load(ALLOW_ALL.read_text(encoding="utf-8"))
    doc["metadata"]["namespace"] = namespace
    result = kubectl("apply", "--dry-run=server", "-f", "-", input_text=yaml.safe_dump(doc), check=False)
    assert result.returncode == 0, result.stderr
    assert "Warning: [" not in result.stderr, result.stderr


def test_warn_mode_via_helm_upgrade_is_hot_reloaded_without_restarting_pods(cluster: Path) -> None:
    def restarts() -> set[tuple[str, int]]:
        return {
            (str(pod["metadata"]["name"]), int(pod["status"]["containerStatuses"][0]["restartCount"]))
            for pod in webhook_pods()
        }

    def dry_run() -> tuple[int, str]:
        result = kubectl("apply", "--dry-run=server", "-f", str(ALLOW_ALL), check=False)
        return result.returncode, result.stderr

    before = restarts()
    reloads = {pod: config_reloads(pod) for pod, _ in before}
    helm(*install_args(cluster), "--set", "rules.mode=warn")
    # Every pod, not just the one the API server's connection happens to reach, must serve warn mode.
    wait_until_every_pod_reloaded_rules(reloads, "warn mode")
    code, stderr = dry_run()
    assert code == 0, stderr
    assert "Warning: [forbid-allow-all]" in stderr, stderr
    reloads = {pod: config_reloads(pod) for pod, _ in before}
    helm(*install_args(cluster))
    wait_until_every_pod_reloaded_rules(reloads, "enforce mode again")
    code, stderr = dry_run()
    assert code != 0 and DENIED in stderr and "[forbid-allow-all]" in stderr, stderr
    assert restarts() == before, "a rules change restarted or replaced webhook pods"


class Prober:
    """Dry-runs a good policy once a second in the background and records every failure."""

    def __init__(self) -> None:
        self.failures: list[str] = []
        self.answers = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        text = policy_text("rotation-probe", "shop")
        while not self._stop.is_set():
            result = kubectl("apply", "--dry-run=server", "-f", "-", input_text=text, check=False)
            self.answers += 1
            if result.returncode != 0:
                self.failures.append(result.stderr.strip())
            self._stop.wait(1)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def secret_data() -> dict[str, bytes]:
    out = kubectl("get", "secret", f"{RELEASE}-tls", "-n", NAMESPACE, "-o", "json").stdout
    return {key: base64.b64decode(value) for key, value in json.loads(out)["data"].items()}


def not_after(pem: bytes) -> float:
    return x509.load_pem_x509_certificate(pem).not_valid_after_utc.timestamp()


def run_certs_job(name: str) -> str:
    """Run the CronJob's job now (as `kubectl create job --from` does for an operator); its log."""
    kubectl("delete", "job", name, "-n", NAMESPACE, "--ignore-not-found")  # a kept cluster's earlier run
    kubectl("create", "job", name, "-n", NAMESPACE, f"--from=cronjob/{RELEASE}-certs")
    status: dict[str, Any] = {}

    def finished() -> bool:
        out = kubectl("get", "job", name, "-n", NAMESPACE, "-o", "json").stdout
        status.update(json.loads(out).get("status", {}))
        return bool(status.get("succeeded")) or any(
            c.get("type") == "Failed" and c.get("status") == "True" for c in status.get("conditions", [])
        )

    wait_for(finished, f"job {name} to finish", timeout=240)
    log = kubectl("logs", f"job/{name}", "-n", NAMESPACE, check=False)
    assert status.get("succeeded"), f"job {name} failed:\n{log.stdout}{log.stderr}"
    return log.stdout


def wait_until_every_pod_serves(tls_crt: bytes) -> None:
    """Wait until every webhook pod has hot-reloaded ``tls_crt`` (its notAfter is in the pod's metrics)."""
    expected = not_after(tls_crt)
    pods = webhook_pod_names()

    def serving() -> bool:
        for pod in pods:
            value = pod_metric(pod, "netpol_guard_tls_certificate_expiry_timestamp_seconds")
            if value is None or abs(value - expected) > 1:
                return False
        return True

    # The kubelet's Secret sync (about a minute) plus the server's reload poll.
    wait_for(serving, "every webhook pod to load the new serving certificate", timeout=240)


@pytest.fixture
def short_validity(cluster: Path) -> Iterator[None]:
    helm(
        *install_args(cluster),
        "--set",
        f"tls.selfManaged.validity={SHORT_VALIDITY}",
        "--set",
        f"tls.selfManaged.renewBefore={SHORT_RENEW_BEFORE_SECONDS // 60}m",
    )
    yield
    helm(*install_args(cluster))  # the pre-upgrade hook renews the 10-minute certificate for a year
    wait_until_every_pod_serves(secret_data()["tls.crt"])


@pytest.mark.usefixtures("short_validity")
def test_certificate_rotation_by_the_cronjobs_job_keeps_the_webhook_answering() -> None:
    with Prober() as prober:
        # A CA rotation: without ca.key the job must replace the CA; the bundle then trusts old and new.
        kubectl("patch", "secret", f"{RELEASE}-tls", "-n", NAMESPACE, "--type=json",
                "-p", '[{"op": "remove", "path": "/data/ca.key"}]')  # fmt: skip
        old = secret_data()
        log = run_certs_job("rotate-ca")
        assert "new CA and serving certificate" in log, log
        rotated = secret_data()
        assert rotated["ca.crt"] != old["ca.crt"] and rotated["tls.crt"] != old["tls.crt"]
        assert bundle_certificates() == 2
        wait_until_every_pod_serves(rotated["tls.crt"])
        # Once the 10-minute certificate is inside its 8-minute window the job renews only the serving pair.
        time.sleep(max(0.0, not_after(rotated["tls.crt"]) - SHORT_RENEW_BEFORE_SECONDS - time.time()) + 5)
        log = run_certs_job("renew-serving")
        assert "new serving certificate" in log, log
        renewed = secret_data()
        assert renewed["ca.crt"] == rotated["ca.crt"] and renewed["tls.crt"] != rotated["tls.crt"]
        wait_until_every_pod_serves(renewed["tls.crt"])
        answered = prober.answers
        wait_for(
            lambda: prober.answers >= answered + 5, "the prober to be answered with the renewed certificate"
        )
    assert prober.failures == [], prober.failures[:3]


def bundle_certificates() -> int:
    out = kubectl(
        "get",
        "validatingwebhookconfiguration",
        WEBHOOK,
        "-o",
        "jsonpath={.webhooks[0].clientConfig.caBundle}",
    )
    return base64.b64decode(out.stdout).count(b"BEGIN CERTIFICATE")


def test_with_no_webhook_pods_networkpolicy_writes_fail_closed_and_deployments_still_roll_out() -> None:
    kubectl("scale", "deployment", RELEASE, "-n", NAMESPACE, "--replicas=0")
    try:
        wait_for(lambda: not webhook_pods(), "the webhook pods to go away")
        refused = kubectl("apply", "-f", "-", input_text=policy_text("while-down", "shop"), check=False)
        assert refused.returncode != 0, refused.stdout
        assert f'failed calling webhook "{WEBHOOK}"' in refused.stderr, refused.stderr
        kubectl("delete", "deployment", "still-works", "-n", "shop", "--ignore-not-found")
        kubectl("create", "deployment", "still-works", "-n", "shop", "--image=netpol-guard:e2e",
                "--replicas=1", "--", "python", "-c", "import time; time.sleep(3600)")  # fmt: skip
        kubectl("rollout", "status", "deployment/still-works", "-n", "shop", "--timeout=180s")
    finally:
        kubectl("delete", "deployment", "still-works", "-n", "shop", "--ignore-not-found", check=False)
        kubectl("scale", "deployment", RELEASE, "-n", NAMESPACE, "--replicas=2")
        kubectl("rollout", "status", f"deployment/{RELEASE}", "-n", NAMESPACE, "--timeout=180s")
        wait_until_webhook_answers()


def test_helm_test_passes() -> None:
    result = helm("test", RELEASE, "-n", NAMESPACE, "--logs", "--timeout", "3m", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    allow-all NetworkPolicy in default is denied" in result.stdout, result.stdout
    assert "ok    well-formed NetworkPolicy in default is admitted" in result.stdout, result.stdout


def test_uninstall_leaves_nothing_that_blocks_networkpolicy_writes() -> None:
    helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "3m")
    assert kubectl("get", "validatingwebhookconfiguration", WEBHOOK, check=False).returncode != 0
    leftovers = kubectl("get", "validatingwebhookconfigurations", "-o", "name").stdout
    assert "netpol-guard" not in leftovers
    outputs: list[str] = []

    def admitted() -> bool:
        code, output = apply(ALLOW_ALL)
        outputs.append(output)
        return code == 0

    try:
        # The API server drops the deleted configuration from its cache within moments, not at once.
        wait_for(admitted, lambda: f"the allow-all policy to be admitted (last: {outputs[-1:]})", timeout=60)
    finally:
        delete(ALLOW_ALL)
