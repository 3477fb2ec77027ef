"""A smoke run of `make bench-admission`'s script on the real control plane (tiny counts; no timing goals)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_admission_smoke_measures_every_enforcement_point(kube_tools: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.admission", "--smoke", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(out.read_text())
    rows = results["rows"]
    assert set(rows) == {f"{mode}/{c}" for mode in ("none", "webhook", "vap") for c in (1, 16)}
    for row in rows.values():
        assert row["creates"] == (8 if row["concurrency"] == 1 else 32)
        assert row["failed"] == 0
    # The webhook was on the path of its namespace only, the policies of theirs.
    assert rows["webhook/16"]["webhook_p50_ms"] is not None
    assert rows["none/16"]["webhook_p50_ms"] is None
    assert rows["vap/16"]["webhook_p50_ms"] is None
    webhook, vap = results["bursts"]["webhook"], results["bursts"]["vap"]
    assert webhook["applies"] == vap["applies"] == 64
    assert webhook["failed"] == vap["failed"] == 0
    assert webhook["webhook_fail_open"] == 0
    assert webhook["webhook_calls"] >= 64
    assert vap["webhook_calls"] == 0
    assert vap["policy_checks"] >= 64  # every apply warned by require-ports
    assert "at concurrency 16: webhook adds <= 1.0 ms p50" in done.stdout
    assert "API server validating admission at concurrency 16, added over none" in done.stdout
