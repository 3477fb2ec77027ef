"""The Kubernetes tools: built from go.mod's pins, stamped with the release, rebuilt only when stale."""

from __future__ import annotations

from pathlib import Path

from controlplane.fixtures import unavailable
from controlplane.kubetools import (
    GO_MOD,
    PROGRAMS,
    KubeToolsError,
    build,
    read_pins,
    replace_problems,
    reported_version,
    stale,
)


def test_go_mod_replaces_exactly_the_staging_modules_the_served_kubernetes_go_mod_lists() -> None:
    try:
        problems = replace_problems()
    except KubeToolsError as exc:  # no Go, or the module proxy unreachable and nothing cached
        unavailable(f"the served k8s.io/kubernetes go.mod cannot be read: {exc}")
    assert problems == []


def test_a_missing_or_mispinned_staging_replace_is_named(tmp_path: Path) -> None:
    text = GO_MOD.read_text()
    text = text.replace("\tk8s.io/kubectl => k8s.io/kubectl v0.36.3\n", "")
    text = text.replace("k8s.io/kms => k8s.io/kms v0.36.3", "k8s.io/kms => k8s.io/kms v0.35.0")
    (tmp_path / "go.mod").write_text(text)
    try:
        problems = replace_problems(tmp_path / "go.mod")
    except KubeToolsError as exc:
        unavailable(f"the served k8s.io/kubernetes go.mod cannot be read: {exc}")
    assert problems == ["k8s.io/kubectl is not replaced", "k8s.io/kms => v0.35.0, want v0.36.3"]


def test_every_tool_reports_the_pinned_release(kube_tools: Path) -> None:
    pins = read_pins()
    assert pins.kubernetes.startswith("v1.36.")
    for name in PROGRAMS:
        expected = pins.etcd.removeprefix("v") if name == "etcd" else pins.kubernetes
        assert reported_version(name, kube_tools) == expected, name


def test_building_again_changes_nothing_when_the_tools_are_current(kube_tools: Path) -> None:
    before = {name: (kube_tools / name).stat().st_mtime_ns for name in PROGRAMS}
    assert build(kube_tools, log=False) == []
    assert {name: (kube_tools / name).stat().st_mtime_ns for name in PROGRAMS} == before


def test_a_tool_reporting_another_version_counts_as_stale(tmp_path: Path, kube_tools: Path) -> None:
    for name in PROGRAMS:
        (tmp_path / name).symlink_to(kube_tools / name)
    (tmp_path / "etcd").unlink()
    (tmp_path / "etcd").write_text("#!/bin/sh\necho 'etcd Version: 3.4.23'\n")
    (tmp_path / "etcd").chmod(0o755)
    assert stale(read_pins(), tmp_path) == ["etcd"]
