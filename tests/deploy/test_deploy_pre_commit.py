"""The pre-commit hook (.pre-commit-hooks.yaml): its entry, run the way pre-commit runs it (the entry,
the user's args, then the staged files), passes clean commits, blocks bad policies with file:line, and
does not trip over staged files that are not NetworkPolicies."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "deploy" / "examples"
UNREACHABLE = ("Could not find a version", "No matching distribution", "Failed to establish a new connection")


def clean_environment() -> dict[str, str]:
    """The environment without our venv or pip overrides, as on a user's machine."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "VIRTUAL_ENV"))}


def _hook() -> dict[str, object]:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [hook["id"] for hook in hooks] == ["netpol-guard-check"]
    hook: dict[str, object] = hooks[0]
    return hook


def _run_hook(*args_and_files: str | Path) -> subprocess.CompletedProcess[str]:
    entry = shlex.split(str(_hook()["entry"]))
    executable = Path(sys.executable).parent / entry[0]
    if not executable.exists():
        pytest.skip(f"{entry[0]} is not installed next to {sys.executable}")
    return subprocess.run(
        [str(executable), *entry[1:], *map(str, args_and_files)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_the_hook_installs_the_cli_and_takes_yaml_and_json_files() -> None:
    hook = _hook()
    assert hook["language"] == "python"  # pre-commit pip-installs this repository: the CLI-only package
    assert set(hook["types_or"]) == {"yaml", "json"}  # type: ignore[call-overload]
    assert str(hook["entry"]).startswith("netpol-guard check")


def test_a_commit_of_good_policies_and_other_manifests_passes() -> None:
    result = _run_hook(
        *sorted((EXAMPLES / "policies" / "good").glob("*.yaml")),
        ROOT / ".github" / "workflows" / "ci.yaml",  # staged YAML that is no NetworkPolicy
        EXAMPLES / "admissionreview-good.json",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_commit_with_a_bad_policy_fails_with_its_file_and_line(tmp_path: Path) -> None:
    bad = EXAMPLES / "policies" / "bad" / "forbid-allow-all.yaml"
    result = _run_hook(bad, ROOT / ".github" / "workflows" / "ci.yaml")
    assert result.returncode == 1
    assert f"{bad.relative_to(ROOT)}:" in result.stdout and "deny [forbid-allow-all]" in result.stdout


def test_the_users_rules_file_is_passed_through_args() -> None:
    bad = EXAMPLES / "policies" / "bad" / "require-labels.yaml"
    default = _run_hook(bad)
    custom = _run_hook("--config", EXAMPLES / "rules.yaml", bad)
    assert default.returncode == 0, default.stdout  # the embedded rules do not require labels
    assert custom.returncode == 1 and "[require-labels]" in custom.stdout


def test_a_broken_staged_file_fails_the_commit(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: NetworkPolicy\nspec: [\n", encoding="utf-8")
    result = _run_hook(broken)
    assert result.returncode == 2 and "broken.yaml:" in result.stdout + result.stderr


def test_the_hook_manifest_has_only_keys_pre_commit_knows() -> None:
    hook = _hook()
    required = {"id", "name", "entry", "language"}
    assert required <= set(hook)
    assert not set(hook) - {
        *required,
        "description",
        "types_or",
        "require_serial",
        "minimum_pre_commit_version",
    }


def test_a_commit_without_any_networkpolicy_passes_where_plain_check_would_not() -> None:
    other = ROOT / ".github" / "workflows" / "ci.yaml"
    assert _run_hook(other).returncode == 0
    plain = subprocess.run(
        [str(Path(sys.executable).parent / "netpol-guard"), "check", str(other)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert plain.returncode == 2 and "no NetworkPolicy here" in plain.stdout + plain.stderr


def test_pre_commit_itself_installs_and_runs_the_hook_from_this_repository(tmp_path: Path) -> None:
    """`pre-commit try-repo`: the hook installed as users get it (a fresh env with the CLI-only package)."""
    pre_commit = Path(sys.executable).parent / "pre-commit"
    if not pre_commit.exists() or not (ROOT / ".git").exists():
        pytest.skip("pre-commit (test extra) or a git checkout is missing")
    files = [
        "deploy/examples/policies/bad/forbid-allow-all.yaml",
        "deploy/examples/policies/good/default-deny.yaml",
        ".github/workflows/ci.yaml",
    ]
    result = subprocess.run(
        [str(pre_commit), "try-repo", str(ROOT), "netpol-guard-check", "--files", *files],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
        env={**clean_environment(), "PRE_COMMIT_HOME": str(tmp_path / "cache")},
    )
    output = result.stdout + result.stderr
    if result.returncode != 0 and any(marker in output for marker in UNREACHABLE):
        pytest.skip(f"the package registry is unreachable: {output.strip()[-300:]}")
    assert result.returncode == 1, output
    assert "netpol-guard check" in output and "Failed" in output
    assert "forbid-allow-all.yaml:19:7: deny [forbid-allow-all]" in output
    assert "1 denied" in output
