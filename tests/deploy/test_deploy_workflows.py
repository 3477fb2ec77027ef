"""The GitHub Actions workflows (where the kind e2e suite runs) are valid workflow files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

WORKFLOWS = sorted((Path(__file__).resolve().parents[2] / ".github" / "workflows").glob("*.y*ml"))


def test_there_is_a_workflow_that_runs_the_e2e_suite() -> None:
    assert any("make e2e" in workflow.read_text() for workflow in WORKFLOWS)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[workflow.name for workflow in WORKFLOWS])
def test_the_workflow_validates_against_the_github_workflow_schema(workflow: Path) -> None:
    # check-jsonschema's vendored copy of SchemaStore's schema: no network needed.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            str(workflow),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
