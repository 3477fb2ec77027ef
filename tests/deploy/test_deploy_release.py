"""The release: one version everywhere, one image repository, notes from the changelog, and a workflow
that pushes what the README promises (multi-arch image with SBOM and provenance, OCI chart, trusted
publishing, GitHub release). Checked offline; the workflow's schema is checked in test_deploy_workflows."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "netpol-guard"
WORKFLOW = ROOT / ".github" / "workflows" / "release.yaml"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("release_notes", ROOT / "scripts" / "release_notes.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


release_notes = _script()


def _make(target: str) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    result = subprocess.run(["make", "-s", "-C", str(ROOT), target], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def _values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    return values


def _chart() -> dict[str, Any]:
    chart: dict[str, Any] = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))
    return chart


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def _workflow() -> dict[str, Any]:
    # PyYAML reads the `on:` key as True (YAML 1.1).
    workflow: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return workflow


def test_every_version_in_the_tree_is_the_same() -> None:
    versions = release_notes.tree_versions(ROOT)
    assert len(set(versions.values())) == 1, versions


def _tree_copy(tmp_path: Path, version: str, changelog: str) -> Path:
    for name in ("pyproject.toml", "app/__init__.py", "charts/netpol-guard/Chart.yaml"):
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text((ROOT / name).read_text(encoding="utf-8").replace("0.1.0", version))
    (tmp_path / "CHANGELOG.md").write_text(changelog, encoding="utf-8")
    return tmp_path


CHANGELOG = """# Changelog

## [Unreleased]

## [1.2.3] - 2027-01-05

### Fixed

- A denial message names the rule.

## [1.2.2] - 2026-12-20

- Older.

[Unreleased]: https://example.com/compare/v1.2.3...HEAD
[1.2.3]: https://example.com/releases/tag/v1.2.3
"""


def test_the_notes_of_a_release_are_its_changelog_section(tmp_path: Path) -> None:
    notes, problems = release_notes.release_notes(_tree_copy(tmp_path, "1.2.3", CHANGELOG), "v1.2.3")
    assert problems == []
    assert notes == "### Fixed\n\n- A denial message names the rule.\n"


def test_a_tag_that_disagrees_with_the_tree_stops_the_release_naming_each_file(tmp_path: Path) -> None:
    notes, problems = release_notes.release_notes(_tree_copy(tmp_path, "1.2.2", CHANGELOG), "v1.2.3")
    assert notes is None
    assert any(problem.startswith("pyproject.toml project.version is 1.2.2") for problem in problems)
    assert any(problem.startswith("Chart.yaml appVersion is 1.2.2") for problem in problems)
    assert len(problems) == 4


@pytest.mark.parametrize(
    ("tag", "message"),
    [("v9.9.9", "no non-empty '## [9.9.9]"), ("1.2.3", "not a version tag"), ("v1.2", "not a version tag")],
    ids=["no-section", "no-v", "two-parts"],
)
def test_a_release_without_notes_or_with_a_bad_tag_is_refused(tmp_path: Path, tag: str, message: str) -> None:
    notes, problems = release_notes.release_notes(_tree_copy(tmp_path, "9.9.9", CHANGELOG), tag)
    assert notes is None and any(message in problem for problem in problems), problems


def test_the_changelog_keeps_an_unreleased_section_first() -> None:
    headings = [
        line
        for line in (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("## ")
    ]
    assert headings[0] == "## [Unreleased]"


def test_the_image_repository_is_named_once_and_everything_reads_it() -> None:
    repository = _values()["image"]["repository"]
    version = _chart()["appVersion"]
    assert _make("image-repository") == repository
    assert _make("chart-repository") == f"oci://{repository.rsplit('/', 1)[0]}/charts"
    images = yaml.safe_load(_chart()["annotations"]["artifacthub.io/images"])
    assert [image["image"] for image in images] == [f"{repository}:{version}"]
    static = (ROOT / "deploy" / "manifests" / "netpol-guard.yaml").read_text(encoding="utf-8")
    used = {line.split("image:", 1)[1].strip() for line in static.splitlines() if "image:" in line}
    assert used == {f"{repository}:{version}"}


def test_the_image_repository_appears_nowhere_else_in_the_code() -> None:
    """Only generated files and documentation quote it; code and templates read values.yaml."""
    repository = _values()["image"]["repository"]
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True, check=False
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    allowed_prefixes = ("docs/", "charts/netpol-guard/README.md", "README.md", "CHANGELOG.md")
    allowed = {"charts/netpol-guard/values.yaml", "charts/netpol-guard/Chart.yaml"}
    allowed |= {"deploy/manifests/netpol-guard.yaml", "tests/deploy/test_deploy_release.py"}
    quoting = {
        name
        for name in tracked
        if (ROOT / name).is_file() and repository in (ROOT / name).read_text(errors="ignore")
    }
    elsewhere = {name for name in quoting if name not in allowed and not name.startswith(allowed_prefixes)}
    assert elsewhere == set()


def test_the_release_runs_on_version_tags_only_after_the_tests() -> None:
    workflow = _workflow()
    assert workflow[True] == {"push": {"tags": ["v*.*.*"]}}
    jobs = workflow["jobs"]
    assert "release_notes.py" in str(_steps(jobs["prepare"]))
    assert any(step.get("run", "").strip() == "make test" for step in _steps(jobs["test"]))
    for publishing in ("image", "python"):
        assert "test" in jobs[publishing]["needs"]


def test_the_image_is_multi_arch_with_sbom_and_provenance() -> None:
    job = _workflow()["jobs"]["image"]
    build = next(step for step in _steps(job) if step.get("uses", "").startswith("docker/build-push-action"))
    assert set(build["with"]["platforms"].split(",")) == {"linux/amd64", "linux/arm64"}
    assert build["with"]["sbom"] is True and build["with"]["provenance"].startswith("mode=")
    assert build["with"]["push"] is True
    assert job["permissions"]["packages"] == "write"
    assert any(step.get("uses", "").startswith("docker/setup-qemu-action") for step in _steps(job))


def test_the_chart_is_pushed_as_an_oci_artifact_to_the_chart_repository() -> None:
    job = _workflow()["jobs"]["chart"]
    script = "\n".join(step.get("run", "") for step in _steps(job))
    assert "helm package charts/netpol-guard" in script
    assert "helm push" in script and "needs.prepare.outputs.chart-repository" in script


def test_the_python_package_uses_trusted_publishing_without_a_token() -> None:
    jobs = _workflow()["jobs"]
    assert "twine check --strict" in str(_steps(jobs["python"]))
    publish = jobs["pypi"]
    assert publish["permissions"] == {"id-token": "write"}
    action = next(step for step in _steps(publish) if "gh-action-pypi-publish" in step.get("uses", ""))
    assert "password" not in action.get("with", {})


def test_the_github_release_carries_the_changelog_notes_and_the_artifacts() -> None:
    job = _workflow()["jobs"]["github-release"]
    script = "\n".join(step.get("run", "") for step in _steps(job))
    assert "gh release create" in script and "--notes-file artifacts/release-notes/release-notes.md" in script
    assert "python-dist/*" in script and "chart/*.tgz" in script
    assert "deploy/manifests/netpol-guard.yaml" in script  # `kubectl apply -f` of the release's file
    assert job["permissions"] == {"contents": "write"}
