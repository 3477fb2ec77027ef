"""`helm package` (what the release workflow pushes as an OCI artifact) with the real Helm."""

from __future__ import annotations

import tarfile
from pathlib import Path

import yaml
from chart_rendering import CHART, run_helm


def test_helm_package_makes_the_release_archive_with_schema_and_readme(helm: str, tmp_path: Path) -> None:
    result = run_helm(helm, "package", str(CHART), "--destination", str(tmp_path))
    assert result.returncode == 0, result.stderr
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    archive = tmp_path / f"netpol-guard-{chart['version']}.tgz"
    assert archive.is_file(), sorted(path.name for path in tmp_path.iterdir())
    with tarfile.open(archive) as tgz:
        names = set(tgz.getnames())
        packaged = yaml.safe_load(tgz.extractfile("netpol-guard/Chart.yaml").read())  # type: ignore[union-attr]
    assert {"netpol-guard/values.schema.json", "netpol-guard/README.md", "netpol-guard/values.yaml"} <= names
    assert not any(name.startswith("netpol-guard/ci/") for name in names)  # test values stay out
    assert packaged["annotations"]["artifacthub.io/license"] == "Apache-2.0"
    lint = run_helm(helm, "lint", str(archive))
    assert lint.returncode == 0, lint.stdout + lint.stderr
