"""netpol-guard in a real cluster (kind): the chart with the example rules, judged by the API server.

The tests run in file order and share one installation; the last one uninstalls.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from e2e_cluster import NAMESPACE, RELEASE, ROOT, RULES_FILE, helm, install_args, kubectl

from app.rules.base import Action
from app.ruleset import load_ruleset

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("cluster")]

EXAMPLES = ROOT / "deploy" / "examples" / "policies"
# api-validation examples never reach the webhook: the API server rejects them first.
BAD = [path for path in sorted((EXAMPLES / "bad").glob("*.yaml")) if path.stem != "api-validation"]
GOOD = sorted((EXAMPLES / "good").glob("*.yaml"))
WEBHOOK = "validate.netpol-guard.io"
ALLOW_ALL = EXAMPLES / "bad" / "forbid-allow-all.yaml"


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 180, interval: float = 2) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def create(path: Path, *extra: str) -> tuple[int, str]:
    result = kubectl("create", "-f", str(path), *extra, check=False)
    return result.returncode, result.stdout + result.stderr


def delete(path: Path) -> None:
    kubectl("delete", "-f", str(path), "--ignore-not-found", "--wait=false", check=False)


def policy_text(name: str, namespace: str, *, labels: dict[str, str] | None = None) -> str:
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"team": "platform"}},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }
    return yaml.safe_dump(policy)


def webhook_pods() -> list[dict[str, object]]:
    out = kubectl(
        "get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=webhook", "-o", "json"
    ).stdout
    return json.loads(out)["items"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("path", BAD, ids=[path.stem for path in BAD])
def test_every_bad_example_is_refused_or_warned_naming_its_rule(path: Path) -> None:
    rule = path.stem
    action = load_ruleset(RULES_FILE).settings_for(rule).action
    code, output = create(path)
    try:
        if action is Action.DENY:
            assert code != 0, f"{path.name} was admitted"
            assert f'admission webhook "{WEBHOOK}" denied the request' in output
            assert f"[{rule}]" in output
        else:
            assert code == 0, output
            assert "Warning:" in output and rule in output
    finally:
        delete(path)


@pytest.mark.parametrize("path", GOOD, ids=[path.stem for path in GOOD])
def test_every_good_example_is_admitted(path: Path) -> None:
    code, output = create(path)
    try:
        assert code == 0, output
    finally:
        delete(path)


def test_a_server_side_dry_run_is_judged_like_a_write_and_stores_nothing() -> None:
    result = kubectl("apply", "--dry-run=server", "-f", str(ALLOW_ALL), check=False)
    assert result.returncode != 0 and "[forbid-allow-all]" in result.stderr
    name = yaml.safe_load(ALLOW_ALL.read_text())["metadata"]["name"]
    assert kubectl("get", "networkpolicy", name, "-n", "shop", check=False).returncode != 0


@pytest.mark.parametrize(
    "namespace",
    ["gatekeeper-system", NAMESPACE, "kube-system"],
    ids=["exempt-by-rules-file", "release-namespace", "kube-system"],
)
def test_exempt_namespaces_are_not_judged(namespace: str) -> None:
    doc = yaml.safe_load(ALLOW_ALL.read_text())
    doc["metadata"]["namespace"] = namespace
    result = kubectl("apply", "--dry-run=server", "-f", "-", input_text=yaml.safe_dump(doc), check=False)
    assert result.returncode == 0, result.stderr


def test_a_baseline_policy_cannot_be_deleted_except_by_its_owners() -> None:
    text = policy_text(
        "baseline-deny-all", "shop", labels={"team": "platform", "netpol-guard.io/baseline": "true"}
    )
    kubectl("apply", "-f", "-", input_text=text)
    refused = kubectl("delete", "networkpolicy", "baseline-deny-all", "-n", "shop", check=False)
    assert refused.returncode != 0 and "[protect-baseline]" in refused.stderr
    kubectl(
        "create",
        "rolebinding",
        "platform-admins",
        "-n",
        "shop",
        "--clusterrole=admin",
        "--group=platform-admins",
    )
    allowed = kubectl(
        "delete", "networkpolicy", "baseline-deny-all", "-n", "shop",
        "--as=alice", "--as-group=platform-admins", check=False,
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr


def test_warn_mode_via_helm_upgrade_is_hot_reloaded_without_restarting_pods(cluster: Path) -> None:
    before = {
        (pod["metadata"]["name"], pod["status"]["containerStatuses"][0]["restartCount"])
        for pod in webhook_pods()
    }  # type: ignore[index]

    def dry_run() -> tuple[int, str]:
        result = kubectl("apply", "--dry-run=server", "-f", str(ALLOW_ALL), check=False)
        return result.returncode, result.stderr

    helm(*install_args(cluster), "--set", "rules.mode=warn")
    wait_for(lambda: dry_run()[0] == 0, "warn mode to reach every webhook pod (ConfigMap hot reload)")
    code, stderr = dry_run()
    assert code == 0 and "Warning:" in stderr and "forbid-allow-all" in stderr
    helm(*install_args(cluster))
    wait_for(lambda: dry_run()[0] != 0, "enforce mode to come back")
    after = {
        (pod["metadata"]["name"], pod["status"]["containerStatuses"][0]["restartCount"])
        for pod in webhook_pods()
    }  # type: ignore[index]
    assert after == before, "a rules change restarted or replaced webhook pods"


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
        self._thread.join(timeout=30)


def secret_data() -> dict[str, bytes]:
    out = kubectl("get", "secret", f"{RELEASE}-tls", "-n", NAMESPACE, "-o", "json").stdout
    return {key: base64.b64decode(value) for key, value in json.loads(out)["data"].items()}


def run_certs_job(name: str) -> str:
    kubectl("create", "job", name, "-n", NAMESPACE, f"--from=cronjob/{RELEASE}-certs")
    kubectl("wait", "--for=condition=complete", f"job/{name}", "-n", NAMESPACE, "--timeout=180s")
    return kubectl("logs", f"job/{name}", "-n", NAMESPACE).stdout


def bundle_certificates() -> int:
    out = kubectl(
        "get",
        "validatingwebhookconfiguration",
        WEBHOOK,
        "-o",
        "jsonpath={.webhooks[0].clientConfig.caBundle}",
    )
    return base64.b64decode(out.stdout).count(b"BEGIN CERTIFICATE")


@pytest.fixture
def short_validity(cluster: Path) -> Iterator[None]:
    helm(
        *install_args(cluster),
        "--set",
        "tls.selfManaged.validity=10m",
        "--set",
        "tls.selfManaged.renewBefore=8m",
    )
    yield
    helm(*install_args(cluster))  # the pre-upgrade hook renews the 10-minute certificate for a year


@pytest.mark.usefixtures("short_validity")
def test_certificate_rotation_by_the_cronjobs_job_keeps_the_webhook_answering() -> None:
    with Prober() as prober:
        # A CA rotation: without ca.key the job must replace the CA; the bundle then trusts old and new.
        kubectl("patch", "secret", f"{RELEASE}-tls", "-n", NAMESPACE, "--type=json",
                "-p", '[{"op": "remove", "path": "/data/ca.key"}]')  # fmt: skip
        old = secret_data()
        log = run_certs_job("rotate-ca")
        assert "new CA and serving certificate" in log
        rotated = secret_data()
        assert rotated["ca.crt"] != old["ca.crt"] and rotated["tls.crt"] != old["tls.crt"]
        assert bundle_certificates() == 2
        # Two minutes later the 10-minute certificate is inside its 8-minute window: a serving renewal.
        time.sleep(130)
        log = run_certs_job("renew-serving")
        assert "new serving certificate" in log
        renewed = secret_data()
        assert renewed["ca.crt"] == rotated["ca.crt"] and renewed["tls.crt"] != rotated["tls.crt"]
        time.sleep(90)  # the kubelet's secret sync plus the server's reload poll
    assert prober.answers > 100
    assert prober.failures == [], prober.failures[:3]


def test_with_no_webhook_pods_networkpolicy_writes_fail_closed_and_deployments_still_roll_out() -> None:
    kubectl("scale", "deployment", RELEASE, "-n", NAMESPACE, "--replicas=0")
    try:
        wait_for(lambda: not webhook_pods(), "the webhook pods to go away")
        refused = kubectl("apply", "-f", "-", input_text=policy_text("while-down", "shop"), check=False)
        assert refused.returncode != 0 and "failed calling webhook" in refused.stderr
        kubectl("create", "deployment", "still-works", "-n", "shop", "--image=netpol-guard:e2e",
                "--replicas=1", "--", "python", "-c", "import time; time.sleep(3600)")  # fmt: skip
        kubectl("rollout", "status", "deployment/still-works", "-n", "shop", "--timeout=180s")
    finally:
        kubectl("delete", "deployment", "still-works", "-n", "shop", "--ignore-not-found", check=False)
        kubectl("scale", "deployment", RELEASE, "-n", NAMESPACE, "--replicas=2")
        kubectl("rollout", "status", f"deployment/{RELEASE}", "-n", NAMESPACE, "--timeout=180s")


def test_helm_test_passes() -> None:
    result = helm("test", RELEASE, "-n", NAMESPACE, "--logs", "--timeout", "3m", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok    allow-all NetworkPolicy in default is denied" in result.stdout


def test_uninstall_leaves_nothing_that_blocks_networkpolicy_writes() -> None:
    helm("uninstall", RELEASE, "-n", NAMESPACE, "--wait", "--timeout", "3m")
    assert kubectl("get", "validatingwebhookconfiguration", WEBHOOK, check=False).returncode != 0
    leftovers = kubectl("get", "validatingwebhookconfigurations", "-o", "name").stdout
    assert "netpol-guard" not in leftovers
    code, output = create(ALLOW_ALL)
    try:
        assert code == 0, output
    finally:
        delete(ALLOW_ALL)
