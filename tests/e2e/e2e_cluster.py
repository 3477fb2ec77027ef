"""End-to-end fixtures: a kind cluster with the image built from this tree and the chart installed.

Needs docker with a running engine, kind, kubectl and Helm 4 (`make tools` on Linux x86-64, else a `helm`
4 on PATH). Every test here skips with the missing piece named when one is absent, so `make test` stays
green on machines without them; E2E_REQUIRED=1 (set in CI) turns that skip into a failure, so a broken
runner cannot pass by skipping. E2E_KEEP_CLUSTER=1 keeps the cluster afterwards for debugging.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
import yaml
from controlplane.cluster import Result
from guard import create_namespace, namespace_state
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "netpol-guard"
KIND_CONFIG = ROOT / "deploy" / "kind" / "kind-config.yaml"
RULES_FILE = ROOT / "deploy" / "examples" / "rules.yaml"
EXAMPLES = ROOT / "deploy" / "examples" / "policies"
ALLOW_ALL = EXAMPLES / "bad" / "forbid-allow-all.yaml"
CLUSTER = "netpol-guard-e2e"
IMAGE = "netpol-guard:e2e"
RELEASE = "netpol-guard"
NAMESPACE = "netpol-guard"
WEBHOOK = "validate.netpol-guard.io"
DENIED = f'admission webhook "{WEBHOOK}" denied the request'
# The group deploy/examples/rules.yaml exempts and lets delete baselines; bound to `admin` in the
# examples' namespace by the fixture, so cleanup can delete what protect-baseline guards.
PLATFORM_ADMIN = ("--as=e2e-platform-admin", "--as-group=platform-admins")


def _helm_version(binary: str) -> str | None:
    try:
        result = subprocess.run(
            [binary, "version", "--template", "{{.Version}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:  # e.g. the Linux x86-64 binary from `make tools` on macOS: exec format error
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def find_helm() -> tuple[str | None, str]:
    """A runnable Helm 4 (`.tools/helm` first, then every `helm` on PATH), or None and why not."""
    candidates = [ROOT / ".tools" / "helm"] + [
        Path(directory) / "helm" for directory in os.environ.get("PATH", "").split(os.pathsep) if directory
    ]
    found: list[str] = []
    for candidate in dict.fromkeys(candidates):
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        version = _helm_version(str(candidate))
        if version is None:
            found.append(f"{candidate} does not run here")
        elif version.startswith("v4."):
            return str(candidate), version
        else:
            found.append(f"{candidate} is {version}")
    detail = f" ({'; '.join(found)})" if found else ""
    return None, f"no Helm 4 found{detail}: run `make tools` (Linux x86-64) or install Helm 4"


def missing_tools() -> str | None:
    """Why the e2e suite cannot run here, or None."""
    for tool in ("docker", "kind", "kubectl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    helm_binary, why = find_helm()
    if helm_binary is None:
        return why
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        first = (info.stderr.strip().splitlines() or ["no output"])[0]
        return f"no running Docker engine (`docker info` failed: {first})"
    return None


def run(
    *args: str, check: bool = True, input_text: str | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    """Run a command; with ``check``, a non-zero exit fails with its output."""
    result = subprocess.run(
        list(args), capture_output=True, text=True, input=input_text, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def helm(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    """Helm 4 against the kind cluster's context."""
    helm_binary, why = find_helm()
    assert helm_binary is not None, why
    return run(helm_binary, "--kube-context", f"kind-{CLUSTER}", *args, check=check, timeout=timeout)


def kubectl(
    *args: str, check: bool = True, input_text: str | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """kubectl against the kind cluster's context."""
    return run(
        "kubectl", "--context", f"kind-{CLUSTER}", *args, check=check, input_text=input_text, timeout=timeout
    )


def wait_for(
    condition: Callable[[], bool], what: str | Callable[[], str], timeout: float = 180, interval: float = 2
) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` (text, or a callable for the latest state)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    described = what() if callable(what) else what
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {described}")


def wait_until_webhook_answers(timeout: float = 180) -> None:
    """Retry a server-side dry run of the allow-all example until the webhook itself denies it.

    After an install the post-install hook has only just set the caBundle, and after a scale-up the
    Service's endpoints are only just back: until then the API server answers `failed calling webhook`
    (x509 or connection refused), which is not what the tests are about.
    """
    last = ["none yet"]

    def denied_by_webhook() -> bool:
        result = kubectl("apply", "--dry-run=server", "-f", str(ALLOW_ALL), check=False)
        last[0] = (result.stderr or result.stdout).strip()
        return result.returncode != 0 and DENIED in result.stderr

    wait_for(denied_by_webhook, lambda: f"the webhook to answer (last answer: {last[0]})", timeout)


def rules_values_file(directory: Path) -> Path:
    """The example rules file as the chart's `rules` value (the chart adds apiVersion and kind)."""
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    data.pop("apiVersion", None)
    data.pop("kind", None)
    path = directory / "rules-values.yaml"
    path.write_text(yaml.safe_dump({"rules": data}), encoding="utf-8")
    return path


def install_args(values: Path) -> list[str]:
    """`helm upgrade --install` of the chart with the e2e image and the example rules."""
    return [
        "upgrade", "--install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--create-namespace",
        "-f", str(values), "--set", f"image.repository={IMAGE.split(':')[0]}",
        "--set", "image.tag=e2e", "--set", "image.pullPolicy=Never",
        # The example rules require a team label: without it `helm test`'s good policy is denied.
        "--set", "tests.labels.team=platform",
        "--wait", "--timeout", "5m",
    ]  # fmt: skip


def example_policies() -> Iterator[tuple[Path, dict[str, Any]]]:
    """Every NetworkPolicy in deploy/examples/policies with its file (`kind: List` items unpacked)."""
    for path in sorted(EXAMPLES.glob("*/*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                yield from ((path, item) for item in (doc["items"] if doc.get("kind") == "List" else [doc]))


def example_namespaces() -> list[str]:
    """Namespaces the example policies live in, plus one the example rules exempt by glob."""
    namespaces = {policy["metadata"]["namespace"] for _, policy in example_policies()}
    return sorted(namespaces | {"gatekeeper-system"})


def prepare_namespaces() -> None:
    """The examples' namespaces, each with the platform-admins group bound to the `admin` ClusterRole."""
    rbac = "rbac.authorization.k8s.io"
    for namespace in example_namespaces():
        binding = {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "platform-admins", "namespace": namespace},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "admin"},
            "subjects": [{"apiGroup": rbac, "kind": "Group", "name": "platform-admins"}],
        }
        namespace_doc = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        kubectl("apply", "-f", "-", input_text=yaml.safe_dump_all([namespace_doc, binding]))


def load_image(workdir: Path) -> None:
    """`kind load docker-image`, or the single-platform archive route where that cannot work.

    With Docker's containerd image store (default in Docker 29 and Docker Desktop) `docker save` keeps
    the base image's multi-platform index, and the node's `ctr import --all-platforms` then fails with
    `content digest ... not found` (kubernetes-sigs/kind#3795).
    """
    result = run("kind", "load", "docker-image", IMAGE, "--name", CLUSTER, check=False, timeout=600)
    if result.returncode == 0:
        return
    if "content digest" not in result.stdout + result.stderr:
        raise AssertionError(f"kind load docker-image {IMAGE} failed:\n{result.stdout}\n{result.stderr}")
    platform = run("docker", "image", "inspect", "--format", "{{.Os}}/{{.Architecture}}", IMAGE)
    archive = workdir / "image.tar"
    run("docker", "image", "save", "--platform", platform.stdout.strip(), "--output", str(archive), IMAGE)
    run("kind", "load", "image-archive", str(archive), "--name", CLUSTER, timeout=600)


def webhook_pods() -> list[dict[str, Any]]:
    out = kubectl(
        "get", "pods", "-n", NAMESPACE, "-l", "app.kubernetes.io/component=webhook", "-o", "json"
    ).stdout
    items: list[dict[str, Any]] = json.loads(out)["items"]
    return items


def webhook_pod_names() -> list[str]:
    return sorted(str(pod["metadata"]["name"]) for pod in webhook_pods())


def pod_metric(pod: str, name: str, **labels: str) -> float | None:
    """One sample from a webhook pod's /metrics (probe port, through the API server's pod proxy)."""
    result = kubectl(
        "get", "--raw", f"/api/v1/namespaces/{NAMESPACE}/pods/{pod}:9090/proxy/metrics", check=False
    )
    if result.returncode != 0:
        return None
    for family in text_string_to_metric_families(result.stdout):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return None


def config_reloads(pod: str) -> float:
    return pod_metric(pod, "netpol_guard_config_reloads_total", result="success") or 0.0


def wait_until_every_pod_reloaded_rules(pods: dict[str, float], what: str) -> None:
    """Wait until each pod counted a successful rules reload since ``pods`` (name -> count) was taken."""
    wait_for(
        lambda: all(config_reloads(pod) > count for pod, count in pods.items()),
        f"every webhook pod to reload the rules ({what}); a replaced pod would also end here",
        timeout=240,
    )


class KindGuard:
    """The kind cluster as the shared tests in test_e2e_admission.py drive it (see guard.Backend): rules
    change by `helm upgrade` and reach every pod through its ConfigMap volume. The kind cluster keeps no
    audit log, and its webhook is pods, not a local process: those tests skip here, and
    test_e2e_cluster.py covers outages and rotation with pods."""

    keeps_audit_log = False

    def __init__(self, values: Path) -> None:
        self.values = values
        self.rules_text = RULES_FILE.read_text(encoding="utf-8")

    def kubectl(self, *args: str, input: str | None = None, timeout: float = 120) -> Result:
        done = kubectl(*args, check=False, input_text=input, timeout=int(timeout))
        return Result(done.returncode, done.stdout, done.stderr)

    def set_rules(self, text: str) -> None:
        if text == self.rules_text:
            return
        data = yaml.safe_load(text)
        data.pop("apiVersion", None)
        data.pop("kind", None)
        values = self.values.with_name("e2e-rules-values.yaml")
        values.write_text(yaml.safe_dump({"rules": data}), encoding="utf-8")
        reloads = {pod: config_reloads(pod) for pod in webhook_pod_names()}
        helm(*install_args(values))
        wait_until_every_pod_reloaded_rules(reloads, "a rules change")
        self.rules_text = text

    def audit_events(self) -> list[dict[str, Any]]:
        pytest.skip("the kind cluster is created without an audit policy")

    def webhook_stopped(self) -> AbstractContextManager[None]:
        pytest.skip("on kind the webhook is pods: test_e2e_cluster.py scales them to zero")

    def rotate_serving_certificate(self) -> None:
        pytest.skip("on kind the certs CronJob rotates: see test_e2e_cluster.py")

    def create_namespace(self, name: str) -> None:
        create_namespace(self.kubectl, name)

    def namespace_state(self, name: str) -> str:
        return namespace_state(self.kubectl, name)


@pytest.fixture(scope="session")
def cluster() -> Iterator[Path]:
    """Yields the chart values file used for the install."""
    reason = missing_tools()
    if reason is not None:
        message = f"e2e needs docker, kind, kubectl and helm: {reason}"
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    workdir = Path(tempfile.mkdtemp(prefix="netpol-guard-e2e-"))
    try:
        # Inside the try: a timed-out or interrupted create still gets the cluster deleted.
        if CLUSTER not in run("kind", "get", "clusters", check=False).stdout.split():
            run(
                "kind", "create", "cluster", "--name", CLUSTER, "--config", str(KIND_CONFIG),
                "--wait", "180s", timeout=900,
            )  # fmt: skip
        run("docker", "build", "-t", IMAGE, str(ROOT), timeout=1800)
        load_image(workdir)
        prepare_namespaces()
        values = rules_values_file(workdir)
        helm(*install_args(values))
        wait_until_webhook_answers()
        yield values
    finally:
        if os.environ.get("E2E_KEEP_CLUSTER") != "1":
            run("kind", "delete", "cluster", "--name", CLUSTER, check=False, timeout=300)
        shutil.rmtree(workdir, ignore_errors=True)
