"""Install netpol-guard into a virtual environment the way the image's build stage does.

The Dockerfile runs this twice (dependencies first, for layer caching, then the project) and the deploy
tests run it into a temporary directory, so the image's install steps are exercised without an engine.

    python scripts/install_runtime.py VENV deps      # create VENV, install the dependencies and [server]
    python scripts/install_runtime.py VENV project   # install the project itself, precompile, strip pip

Only the standard library: it runs before anything is installed.
"""

from __future__ import annotations

import compileall
import shutil
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pip(env: Path, *args: str) -> None:
    subprocess.run(
        [str(env / "bin" / "python"), "-m", "pip", "--disable-pip-version-check", *args], check=True
    )


def install_dependencies(env: Path) -> None:
    """A fresh venv with the dependencies and the server extra from pyproject.toml (never the test extra).

    The Dockerfile sets PIP_NO_CACHE_DIR=1 (no cache in the image); the tests reuse pip's cache."""
    venv.EnvBuilder(with_pip=True, clear=True).create(env)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    # --only-binary: the runtime must never need a compiler, now or when a dependency changes.
    # The build requirements build the project in the next step (no build isolation: no download there).
    _pip(
        env,
        "install",
        "--only-binary=:all:",
        *pyproject["project"]["dependencies"],
        *pyproject["project"]["optional-dependencies"]["server"],
        *pyproject["build-system"]["requires"],
    )


def install_project(env: Path) -> None:
    """The project as a regular (non-editable) install; bytecode compiled now, since the root filesystem
    is read-only at run time; pip, setuptools and wheel removed (nothing installs at run time)."""
    _pip(env, "install", "--no-deps", "--no-build-isolation", str(ROOT))
    site_packages = next((env / "lib").glob("python3*/site-packages"))
    compileall.compile_dir(str(site_packages), quiet=1, workers=0)
    _pip(env, "uninstall", "--yes", "pip", "setuptools", "wheel")
    for leftover in (env / "bin").glob("pip*"):
        leftover.unlink()
    shutil.rmtree(ROOT / "build", ignore_errors=True)


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[2] not in ("deps", "project"):
        print("usage: install_runtime.py VENV deps|project", file=sys.stderr)
        return 2
    env = Path(argv[1])
    (install_dependencies if argv[2] == "deps" else install_project)(env)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
