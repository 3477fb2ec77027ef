"""The renderings in docs/explain-and-diff.md are what the commands print for the policies shown there."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
DOC = ROOT / "docs" / "explain-and-diff.md"


def blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)\n```", DOC.read_text(), flags=re.S)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    old, new = blocks("yaml")[:2]
    root = tmp_path_factory.mktemp("example")
    (root / "old").mkdir()
    (root / "new").mkdir()
    (root / "old" / "api.yaml").write_text(old + "\n")
    (root / "new" / "api.yaml").write_text(new + "\n")
    return root


def run(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    return done.stdout.rstrip("\n")


def test_the_explain_text_example_is_real(example: Path) -> None:
    assert run(example, "explain", "old/api.yaml") == blocks("text")[0]


def test_the_explain_markdown_example_is_real(example: Path) -> None:
    assert run(example, "explain", "--format", "markdown", "old/api.yaml") == blocks("markdown")[0]


def test_the_diff_text_example_is_real(example: Path) -> None:
    assert run(example, "diff", "old", "new") == blocks("text")[1]


def test_the_pull_request_comment_example_is_real(example: Path) -> None:
    link = "https://github.com/acme/shop/blob/HEAD"
    assert (
        run(example, "diff", "--format", "markdown", "--link-base", link, "old", "new")
        == blocks("markdown")[1]
    )
