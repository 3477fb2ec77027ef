"""Render the chart with the real Helm binary (`make tools` puts it in .tools/helm)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "netpol-guard"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
VALUES_CASES = [None, *CI_VALUES]
VALUES_IDS = ["default", *(path.name.removesuffix("-values.yaml") for path in CI_VALUES)]
NAMESPACE = "guard-system"
# Custom resources: no core Kubernetes schema exists for them.
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "Certificate", "Issuer"}


def _load_manifests_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "render_manifests", ROOT / "scripts" / "render_manifests.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("render_manifests", module)
    spec.loader.exec_module(module)
    return module


# scripts/render_manifests.py (`make manifests`): the tests find Helm and render exactly as it does.
manifests_script = _load_manifests_script()


def available_helms() -> list[tuple[str, str]]:
    """(path, version) of every supported Helm the tests can get, one per version, the primary first:
    what `make tools` fetched (.tools/helm is Helm 4, .tools/helm3 Helm 3) and what is on PATH."""
    candidates = [manifests_script.find_helm(), str(ROOT / ".tools" / "helm3"), shutil.which("helm")]
    found: dict[str, str] = {}
    for candidate in candidates:
        if candidate is None or not os.access(candidate, os.X_OK):
            continue
        try:
            result = run_helm(candidate, "version", "--short")
        except (OSError, subprocess.TimeoutExpired):
            continue
        version = result.stdout.strip()
        if result.returncode == 0 and version.startswith(("v3.", "v4.")):
            found.setdefault(version, candidate)
    return [(path, version) for version, path in found.items()]


def _helm_problem(found: str | None) -> str | None:
    if found is None:
        return "no helm binary: run `make tools` (Helm 4 and 3 into .tools/), or put a Helm 3.8+ or 4 on PATH"
    try:
        version = run_helm(found, "version", "--short")
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{found} does not run here ({exc}): run `make tools` (it replaces a .tools/helm that fails)"
    if version.returncode != 0:
        return f"{found} does not run here: {version.stderr.strip()}"
    return None


@pytest.fixture(scope="session")
def helm() -> str:
    found = manifests_script.find_helm()
    problem = _helm_problem(found)
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    assert found is not None
    return str(found)


def run_helm(helm: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([helm, *args], capture_output=True, text=True, check=False, timeout=120)


Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def render(helm: str) -> Render:
    """render(values_file=None, set_values=(), kube_version=None, show_tests=True) -> objects."""
    cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}

    def _render(
        values_file: Path | None = None,
        set_values: Sequence[str] = (),
        kube_version: str | None = None,
    ) -> list[dict[str, Any]]:
        key = (values_file, tuple(set_values), kube_version)
        if key not in cache:
            args = ["template", "netpol-guard", str(CHART), "--namespace", NAMESPACE]
            if values_file is not None:
                args += ["-f", str(values_file)]
            for item in set_values:
                args += ["--set", item]
            if kube_version is not None:
                args += ["--kube-version", kube_version]
            result = run_helm(helm, *args)
            assert result.returncode == 0, result.stderr
            cache[key] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        return cache[key]

    return _render


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [obj for obj in objects if obj["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [obj for obj in of_kind(objects, kind) if name is None or obj["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload."""
    specs = []
    for obj in objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Pod":
            specs.append((name, obj["spec"]))
        elif obj["kind"] in ("Deployment", "Job"):
            specs.append((name, obj["spec"]["template"]["spec"]))
        elif obj["kind"] == "CronJob":
            specs.append((name, obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
    return specs
