"""End-to-end fixtures: a kind cluster with the image built from this tree and the chart installed.

Needs docker with a running engine, kind, kubectl and helm (`make tools`). Every test here skips with
the missing piece named when one is absent, so `make test` stays green on machines without them.
E2E_KEEP_CLUSTER=1 keeps the cluster afterwards for debugging.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "netpol-guard"
KIND_CONFIG = ROOT / "deploy" / "kind" / "kind-config.yaml"
RULES_FILE = ROOT / "deploy" / "examples" / "rules.yaml"
CLUSTER = "netpol-guard-e2e"
IMAGE = "netpol-guard:e2e"
RELEASE = "netpol-guard"
NAMESPACE = "netpol-guard"


def _helm() -> str | None:
    local = ROOT / ".tools" / "helm"
    return str(local) if local.is_file() else shutil.which("helm")


def missing_tools() -> str | None:
    """Why the e2e suite cannot run here, or None."""
    for tool in ("docker", "kind", "kubectl"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if _helm() is None:
        return "helm is missing: run `make tools`"
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if info.returncode != 0:
        return "no running Docker engine (`docker info` failed)"
    return None


def run(
    *args: str, check: bool = True, input_text: str | None = None, timeout: int = 600
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        list(args), capture_output=True, text=True, input=input_text, timeout=timeout, check=False
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def helm(*args: str, check: bool = True, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    helm_binary = _helm()
    assert helm_binary is not None
    return run(helm_binary, "--kube-context", f"kind-{CLUSTER}", *args, check=check, timeout=timeout)


def kubectl(
    *args: str, check: bool = True, input_text: str | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    return run(
        "kubectl", "--context", f"kind-{CLUSTER}", *args, check=check, input_text=input_text, timeout=timeout
    )


def rules_values_file(directory: Path) -> Path:
    """The example rules file as the chart's `rules` value (the chart adds apiVersion and kind)."""
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    data.pop("apiVersion", None)
    data.pop("kind", None)
    path = directory / "rules-values.yaml"
    path.write_text(yaml.safe_dump({"rules": data}), encoding="utf-8")
    return path


def install_args(values: Path) -> list[str]:
    return [
        "upgrade", "--install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--create-namespace",
        "-f", str(values), "--set", "image.tag=e2e", "--set", "image.pullPolicy=Never",
        "--wait", "--timeout", "5m",
    ]  # fmt: skip


@pytest.fixture(scope="session")
def cluster() -> Iterator[Path]:
    """Yields the chart values file used for the install."""
    reason = missing_tools()
    if reason is not None:
        pytest.skip(f"e2e needs docker, kind, kubectl and helm: {reason}")
    existing = run("kind", "get", "clusters", check=False).stdout.split()
    if CLUSTER not in existing:
        run(
            "kind",
            "create",
            "cluster",
            "--name",
            CLUSTER,
            "--config",
            str(KIND_CONFIG),
            "--wait",
            "180s",
            timeout=900,
        )
    workdir = Path(tempfile.mkdtemp(prefix="netpol-guard-e2e-"))
    try:
        run("docker", "build", "-t", IMAGE, str(ROOT), timeout=1800)
        run("kind", "load", "docker-image", IMAGE, "--name", CLUSTER, timeout=600)
        values = rules_values_file(workdir)
        helm(*install_args(values))
        namespaces = {
            doc["metadata"]["namespace"]
            for path in sorted((ROOT / "deploy/examples/policies").glob("*/*.yaml"))
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
            if doc and doc.get("metadata", {}).get("namespace")
        } | {"gatekeeper-system"}
        for namespace in sorted(namespaces):
            kubectl("create", "namespace", namespace, check=False)
        yield values
    finally:
        if os.environ.get("E2E_KEEP_CLUSTER") != "1":
            run("kind", "delete", "cluster", "--name", CLUSTER, check=False, timeout=300)
        shutil.rmtree(workdir, ignore_errors=True)
