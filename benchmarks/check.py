"""`make bench-check`: `check` CPU time over the number of documents in one file (linear, not quadratic).

Writes one YAML stream of N small NetworkPolicies (10k, 20k, 100k) to a temporary directory and times
`check_files` on it in this process (CPU seconds, so other load on the machine does not count), with the
cyclic garbage collector paused as `check` pauses it. The per-document cost should stay flat; before
documents were parsed one by one it grew with N (20k documents 8.3 s, 100k did not finish in 120 s).
"""

from __future__ import annotations

import gc
import resource
import sys
import tempfile
import time
from pathlib import Path

from app.report.results import check_files
from app.ruleset import load_ruleset

COUNTS = (10_000, 20_000, 100_000)
DOCUMENT = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: p{index}
  namespace: shop
spec:
  podSelector: {{matchLabels: {{app: a}}}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {{matchLabels: {{app: b}}}}
    ports:
    - port: 80
"""


def main() -> int:
    ruleset = load_ruleset(None)
    print(f"{'documents':>10} {'MiB':>6} {'CPU s':>7} {'us/doc':>7}")
    with tempfile.TemporaryDirectory() as directory:
        for count in COUNTS:
            path = Path(directory) / f"stream-{count}.yaml"
            path.write_text("---\n".join(DOCUMENT.format(index=i) for i in range(count)), encoding="utf-8")
            size = path.stat().st_size
            gc.disable()
            start = time.process_time()
            report = check_files([str(path)], ruleset, max_file_bytes=size)
            elapsed = time.process_time() - start
            gc.enable()
            assert report.summary.policies == count, report.summary
            print(f"{count:>10} {size / 2**20:>6.1f} {elapsed:>7.2f} {elapsed / count * 1e6:>7.0f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
