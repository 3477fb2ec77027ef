"""The Kubernetes tools: built from go.mod's pins, stamped with the release, rebuilt only when stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from controlplane.kubetools import PROGRAMS, NoGo, build, read_pins, replace_problems, reported_version, stale


def test_go_mod_replaces_exactly_the_staging_modules_the_served_kubernetes_go_mod_lists() -> None:
    try:
        problems = replace_problems()
    except NoGo as exc:
        pytest.skip(str(exc))
    assert problems == []


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
