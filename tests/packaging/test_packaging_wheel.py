"""`pip install netpol-guard` is the CLI for CI; `netpol-guard[server]` adds the webhook stack.

The wheel built by `python -m build` is installed into a clean venv (dependencies from the registry or
pip's cache), outside the source tree, and used the way a CI job and an operator would use it.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest
from release_artifacts import ROOT, Dist, clean_environment, skip_if_registry_unreachable

from app.cli.extras import SERVER_MODULES

BAD = ROOT / "deploy" / "examples" / "policies" / "bad" / "forbid-allow-all.yaml"
GOOD = ROOT / "deploy" / "examples" / "policies" / "good"
# Never installed with the CLI alone: the server stack and the Kubernetes client.
SERVER_STACK = ("fastapi", "uvicorn", "starlette", "kubernetes", "cryptography", "prometheus_client")


def _pip_install(env: Path, *requirements: str) -> None:
    result = subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", *requirements],
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=900,
    )
    skip_if_registry_unreachable(result)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def _run(env: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(env / "bin" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": f"{env / 'bin'}:/usr/bin:/bin"},
        cwd=cwd,
    )


def _site_packages(env: Path) -> Path:
    return next((env / "lib").glob("python3*/site-packages"))


@pytest.fixture(scope="module")
def cli_venv(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("cli") / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    _pip_install(env, str(dist.wheel))
    return env


@pytest.fixture(scope="module")
def server_venv(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Path:
    env = tmp_path_factory.mktemp("server") / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    _pip_install(env, f"{dist.wheel}[server]")
    return env


def test_the_cli_only_install_checks_manifests_like_ci_does(cli_venv: Path, tmp_path: Path) -> None:
    denied = _run(cli_venv, "netpol-guard", "check", str(BAD), cwd=tmp_path)
    assert denied.returncode == 1, denied.stderr
    assert "deny [forbid-allow-all]" in denied.stdout
    clean = _run(cli_venv, "netpol-guard", "check", "--format", "sarif", str(GOOD), cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert '"version": "2.1.0"' in clean.stdout or '"version":"2.1.0"' in clean.stdout
    for command in (["rules"], ["version"]):
        result = _run(cli_venv, "netpol-guard", *command, cwd=tmp_path)
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr


def test_the_cli_only_install_explains_and_diffs(cli_venv: Path, tmp_path: Path) -> None:
    explained = _run(cli_venv, "netpol-guard", "explain", "--format", "json", str(GOOD), cwd=tmp_path)
    assert explained.returncode == 0, explained.stdout + explained.stderr
    assert '"explainVersion": 1' in explained.stdout
    diffed = _run(cli_venv, "netpol-guard", "diff", "--fail-on", "opens", str(GOOD), str(BAD), cwd=tmp_path)
    assert diffed.returncode == 1, diffed.stdout + diffed.stderr
    assert "opens" in diffed.stdout and "Traceback" not in diffed.stderr


def test_the_cli_only_install_has_no_server_stack(cli_venv: Path) -> None:
    installed = {path.name.split(".")[0].split("-")[0] for path in _site_packages(cli_venv).iterdir()}
    assert not installed & set(SERVER_STACK), installed & set(SERVER_STACK)


@pytest.mark.parametrize(
    "command",
    [["serve", "--help"], ["serve", "--port", "8443"], ["certs", "dev", "--out", "x"], ["selftest"]],
    ids=["serve-help", "serve", "certs", "selftest"],
)
def test_a_server_command_without_the_extra_says_in_one_line_what_to_install(
    cli_venv: Path, tmp_path: Path, command: list[str]
) -> None:
    result = _run(cli_venv, "netpol-guard", *command, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"netpol-guard {command[0]} needs the server extra")
    assert "pip install 'netpol-guard[server]'" in lines[0]


def test_the_command_list_marks_the_server_commands(cli_venv: Path, tmp_path: Path) -> None:
    listing = " ".join(_run(cli_venv, "netpol-guard", "--help", cwd=tmp_path).stdout.split())
    for command in ("serve", "certs", "selftest"):
        assert f" {command} " in listing
    assert listing.count("[needs netpol-guard[server]]") == 3
    assert "(for CI). [needs" not in listing  # check runs without the extra


def test_the_server_extra_adds_serve_certs_and_selftest(server_venv: Path, tmp_path: Path) -> None:
    for command in (["serve", "--help"], ["certs", "ensure", "--help"], ["selftest", "--help"]):
        result = _run(server_venv, "netpol-guard", *command, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("usage: netpol-guard")
    certs = _run(server_venv, "netpol-guard", "certs", "dev", "--out", str(tmp_path / "certs"), cwd=tmp_path)
    assert certs.returncode == 0, certs.stderr
    assert (tmp_path / "certs" / "tls.crt").is_file()


def test_the_extras_module_names_the_server_extra_of_pyproject() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = {
        requirement.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip().lower()
        for requirement in pyproject["project"]["optional-dependencies"]["server"]
        if "sys_platform" not in requirement  # platform-only (uvloop): not required to run
    }
    assert declared == set(SERVER_MODULES)
    core = " ".join(pyproject["project"]["dependencies"]).lower()
    assert not any(name in core for name in SERVER_MODULES)


def test_the_wheel_carries_the_embedded_rules_the_licence_and_the_typing_marker(dist: Dist) -> None:
    names = zipfile.ZipFile(dist.wheel).namelist()
    assert "app/data/default-rules.yaml" in names
    assert "app/py.typed" in names
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert not any(name.startswith("tests/") for name in names)


def test_the_release_artifacts_pass_twine_check(dist: Dist) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(dist.wheel), str(dist.sdist)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2
