"""The chart supports Helm 3 (3.8 or newer) and Helm 4: every Helm the tests can get lints it and renders
exactly what the primary Helm renders, for the default values and every ci/*-values.yaml."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_rendering import CHART, NAMESPACE, VALUES_CASES, VALUES_IDS, Render, available_helms, run_helm

HELMS = available_helms()
HELM_IDS = [version for _, version in HELMS]


def test_the_tests_have_helm_3_and_helm_4() -> None:
    majors = {version.split(".")[0] for _, version in HELMS}
    if majors >= {"v3", "v4"}:
        return
    packaged = platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")
    if os.environ.get("CI") == "true" and packaged:
        pytest.fail(f"`make tools` fetches Helm 3 and Helm 4 here, found only {HELM_IDS}")
    pytest.skip(f"only {HELM_IDS} available here; the chart is proven with those")


@pytest.mark.parametrize("values", VALUES_CASES, ids=VALUES_IDS)
@pytest.mark.parametrize("helm_path", [path for path, _ in HELMS], ids=HELM_IDS)
def test_every_helm_lints_and_renders_the_chart_the_same(
    helm_path: str, values: Path | None, render: Render
) -> None:
    extra = ["-f", str(values)] if values is not None else []
    lint = run_helm(helm_path, "lint", "--strict", str(CHART), "--namespace", NAMESPACE, *extra)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    result = run_helm(helm_path, "template", "netpol-guard", str(CHART), "--namespace", NAMESPACE, *extra)
    assert result.returncode == 0, result.stderr
    # Helm 3 and 4 order custom resources (e.g. ServiceMonitor) differently among the other kinds.
    assert sorted(_keyed(doc for doc in yaml.safe_load_all(result.stdout) if doc)) == sorted(
        _keyed(render(values))
    )


def _keyed(objects: Iterable[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (obj["kind"], obj["metadata"]["name"], json.dumps(obj, sort_keys=True, default=str))
        for obj in objects
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("image.tagg=v1", "tagg"),
        ("webhook.name=validate.io", "webhook"),
        ("rules.rules.bogus.action=deny", "bogus"),
    ],
    ids=["unknown-key", "bad-webhook-name", "unknown-rule"],
)
@pytest.mark.parametrize("helm_path", [path for path, _ in HELMS], ids=HELM_IDS)
def test_every_helm_enforces_the_values_schema(helm_path: str, value: str, message: str) -> None:
    result = run_helm(helm_path, "template", "netpol-guard", str(CHART), "--set", value)
    assert result.returncode != 0
    assert message in result.stderr
