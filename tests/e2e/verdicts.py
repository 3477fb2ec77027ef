"""What `netpol-guard check` says about a manifest, read from its JSON report: the other door's verdict.

The e2e tests compare what kubectl shows (the API server and the webhook answering) with this, so an
expectation is derived from the same rules file rather than written into the test by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class PolicyVerdict:
    """One policy document as `check` judged it: its name, rule ids by action, exemption, field paths."""

    file: str
    name: str
    denies: frozenset[str]
    warns: frozenset[str]
    exempt: str | None
    api_paths: tuple[str, ...]

    @property
    def api_rejects(self) -> bool:
        """`check` says the API server itself refuses this policy (before any webhook)."""
        return "api-validation" in self.denies


def check_report(paths: Sequence[Path | str], rules: Path | None, *, cwd: Path = ROOT) -> dict[str, Any]:
    """`netpol-guard check --format json` on ``paths``; exit codes 0 and 1 are both answers."""
    command = [sys.executable, "-m", "app", "check", "--format", "json"]
    if rules is not None:
        command += ["--config", str(rules)]
    result = subprocess.run(
        [*command, *map(str, paths)], capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )
    assert result.returncode in (0, 1), f"check failed ({result.returncode}):\n{result.stderr}"
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def policy_verdicts(paths: Sequence[Path | str], rules: Path | None) -> list[PolicyVerdict]:
    """Every policy `check` judged in ``paths``, in file and document order."""
    verdicts = []
    for file in check_report(paths, rules)["files"]:
        for policy in file["policies"]:
            findings = policy["findings"]
            verdicts.append(
                PolicyVerdict(
                    file=file["path"],
                    name=policy["name"],
                    denies=frozenset(f["rule"] for f in findings if f["action"] == "deny"),
                    warns=frozenset(f["rule"] for f in findings if f["action"] == "warn"),
                    exempt=policy["exempt"],
                    api_paths=tuple(f["path"] for f in findings if f["rule"] == "api-validation"),
                )
            )
    return verdicts
