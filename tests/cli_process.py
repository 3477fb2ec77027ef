"""The real `netpol-guard` command line run in a fresh interpreter, for the CLI tests of every command."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def netpol_guard(
    *args: str,
    cwd: Path = ROOT,
    stdin: str | bytes | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m app ARGS`` from ``cwd`` with this checkout importable; ``env`` replaces the
    inherited environment (PYTHONPATH is always this checkout)."""
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=cwd,
        input=stdin.decode() if isinstance(stdin, bytes) else stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**(os.environ if env is None else env), "PYTHONPATH": str(ROOT)},
    )
