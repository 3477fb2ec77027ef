"""The release artifacts, built once per session as the release workflow builds them (`python -m build`).

The build runs in pip's isolated build environment (it fetches setuptools from the package registry, or
pip's cache); without a registry the tests skip with pip's reason instead of failing on the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = ("Could not find a version", "No matching distribution", "Failed to establish a new connection")


@dataclass(frozen=True)
class Dist:
    wheel: Path
    sdist: Path


def clean_environment() -> dict[str, str]:
    """The environment without our venv or pip overrides, as on a user's machine."""
    return {key: value for key, value in os.environ.items() if not key.startswith(("PIP_", "VIRTUAL_ENV"))}


def skip_if_registry_unreachable(result: subprocess.CompletedProcess[str]) -> None:
    output = result.stdout + result.stderr
    if result.returncode != 0 and any(marker in output for marker in UNREACHABLE):
        pytest.skip(f"the package registry is unreachable: {output.strip()[-300:]}")


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=600,
    )
    skip_if_registry_unreachable(result)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(path.name for path in out.iterdir())
    return Dist(wheel=wheels[0], sdist=sdists[0])
