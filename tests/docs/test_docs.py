"""The README and docs/: the README's first screen answers a newcomer's questions, every relative link
and anchor resolves, the wording is a user's, and the README's kubectl error is what kubectl prints."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from controlplane.fixtures import GuardedCluster

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, ROOT / "CONTRIBUTING.md", ROOT / "charts" / "netpol-guard" / "README.md", *DOCS]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
BAD = "deploy/examples/policies/bad/forbid-allow-all.yaml"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    return {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}


def _first_screen() -> str:
    return README.read_text(encoding="utf-8").split("## Try it from a clone", 1)[0]


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    broken = []
    for target in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or (
            anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved)
        ):
            broken.append(target)
    assert broken == []


def test_the_readme_first_screen_says_what_it_is_what_users_see_how_to_install_and_why() -> None:
    screen = _first_screen()
    assert "validating admission webhook" in screen
    assert "$ kubectl apply -f" in screen and "denied the request" in screen
    assert "$ netpol-guard check" in screen
    for install in (
        "helm install netpol-guard oci://",
        "kubectl apply -f https://github.com/",
    ):
        assert install in screen
    assert "pip install netpol-guard" in screen and "netpol-guard-check" in screen  # CI and pre-commit
    for alternative in ("ValidatingAdmissionPolicy", "Kyverno", "Gatekeeper"):
        assert screen.count(alternative) >= 2, alternative  # in the table and in where it is better
    assert "Where the others are better" in screen


def test_the_readme_stays_short_and_the_reference_lives_in_docs() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 150
    assert "<!-- catalog:begin" not in text  # the generated catalog is in docs/rules.md
    for page in ("installation", "rules", "ci", "server", "operations", "performance"):
        assert f"docs/{page}.md" in text, page


def test_the_readme_shows_how_to_put_the_cli_on_path_after_make_run() -> None:
    text = README.read_text(encoding="utf-8")
    assert 'export PATH="$PWD/.venv/bin:$PATH"' in text
    assert text.index("make run") < text.index('export PATH="$PWD/.venv/bin:$PATH"')


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_the_docs_speak_to_users_not_about_the_project_s_internals(page: Path) -> None:
    text = page.read_text(encoding="utf-8").lower()
    for phrase in ("targets not met", "not met", "the issue requires", "the issue", "development vm"):
        assert phrase not in text, phrase


def test_the_readme_kubectl_error_is_what_kubectl_prints(guarded_cluster: GuardedCluster) -> None:
    plane = guarded_cluster.plane
    plane.kubectl("create", "namespace", "shop")  # may exist already
    result = subprocess.run(
        [
            str(plane.kubectl_binary),
            f"--kubeconfig={plane.kubeconfig}",
            "apply",
            "--dry-run=server",
            "-f",
            BAD,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 1
    shown = _first_screen().split(f"$ kubectl apply -f {BAD}\n", 1)[1].split("```", 1)[0]
    assert shown == result.stderr


def test_the_readme_and_the_install_guide_name_the_release_s_image_chart_and_version() -> None:
    values = yaml.safe_load((ROOT / "charts/netpol-guard/values.yaml").read_text(encoding="utf-8"))
    chart = yaml.safe_load((ROOT / "charts/netpol-guard/Chart.yaml").read_text(encoding="utf-8"))
    image = f"{values['image']['repository']}:{chart['appVersion']}"
    registry = values["image"]["repository"].rsplit("/", 1)[0]
    oci = f"oci://{registry}/charts/netpol-guard --version {chart['version']}"
    for page in (README, ROOT / "docs" / "installation.md"):
        text = page.read_text(encoding="utf-8")
        assert image in text and oci in text, page.name
        assert f"releases/download/v{chart['version']}/netpol-guard.yaml" in text, page.name
        assert "make image IMAGE=" in text, page.name
