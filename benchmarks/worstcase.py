"""The worst-case table of `make bench`: hostile AdmissionReviews of 3 MiB, time and peak RSS per shape.

Each shape fills the API server's 3 MiB request limit with one repeated element (empty rules, peers,
ports, labels, except entries...), so it is far over one of netpol-guard's size limits (`app.limits`) and
must be denied at once. The "at the limits" rows are judged in full: every dimension just under its
limit. Each row runs in a fresh subprocess; its peak RSS is the peak above the RSS it had once the
server code, the rules and the body were loaded (the body stays in memory, as in the server; Linux
only, from /proc/self). Times are medians of 3 answers: CPU time of the single-threaded process (what
"on one core" means, and steady on a shared machine) and wall time; the cyclic collector is paused as
`serve` pauses it.

``python -m benchmarks.worstcase`` prints the table; tests build the same shapes with `review_body`.
"""

from __future__ import annotations

import gc
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from app import limits

REVIEW_LIMIT = 3 * 1024 * 1024
"""The API server's request body limit: no review it sends is larger."""
TIME_TARGET_S = 1.0
RSS_TARGET_MB = 150.0

Element = Callable[[int], Any]


def _policy(spec: dict[str, Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "hostile", "namespace": "team-a", **(metadata or {})},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], **spec},
    }


def _cidr(index: int) -> str:
    return f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}/32"


# Each shape: the policy holding ``count`` copies of its element. Elements are the cheapest valid JSON
# for that field (an empty object is a valid rule, port or peer for the webhook's decoder).
SHAPES: dict[str, Callable[[int], dict[str, Any]]] = {
    "empty rules": lambda n: _policy({"ingress": [{}] * n}),
    "empty peers": lambda n: _policy({"ingress": [{"from": [{"podSelector": {}}] * n}]}),
    "empty ports": lambda n: _policy({"egress": [{"ports": [{}] * n}]}),
    "rules x peers": lambda n: _policy({"ingress": [{"from": [{"podSelector": {}}] * 100}] * (n // 100)}),
    "except entries": lambda n: _policy(
        {"egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": [_cidr(i) for i in range(n)]}}]}]}
    ),
    "selector labels": lambda n: _policy({"podSelector": {"matchLabels": {f"k{i}": "" for i in range(n)}}}),
    "match expressions": lambda n: _policy(
        {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Exists"}] * n}}
    ),
    "expression values": lambda n: _policy(
        {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": ["a"] * n}]}}
    ),
    "policy types": lambda n: _policy({"policyTypes": ["Ingress"] * n}),
    "metadata labels": lambda n: _policy({}, {"labels": {f"k{i}": "" for i in range(n)}}),
    "annotations": lambda n: _policy({}, {"annotations": {f"k{i}": "" for i in range(n)}}),
    "managedFields": lambda n: _policy({}, {"managedFields": [{}] * n}),
}


def at_limits(limit_share: float = 1.0) -> dict[str, Any]:
    """One policy with every dimension at ``limit_share`` of its limit, each element distinct (ipBlock
    peers with distinct /32s, numbered ports and labels), so every rule has real work on each."""
    share = {limit.name: int(limit.maximum * limit_share) for limit in limits.LIMITS}
    rules = share["rules"]
    peers = [{"ipBlock": {"cidr": _cidr(i)}} for i in range(share["peers"] - 1)]
    per_rule = -(-len(peers) // rules)
    ingress: list[dict[str, Any]] = [
        {"from": peers[start : start + per_rule], "ports": [{"port": 1 + start // per_rule % 65535}]}
        for start in range(0, len(peers), per_rule)
    ]
    ingress[0]["ports"] = [{"port": 1 + i % 65535} for i in range(share["ports"] - len(ingress) + 1)]
    expressions = share["match expressions"]
    values = share["expression values"]
    ingress[0]["from"].append(
        {
            "ipBlock": {"cidr": "10.0.0.0/8", "except": [_cidr(i) for i in range(share["except entries"])]},
        }
    )
    return _policy(
        {
            "podSelector": {
                "matchLabels": {f"k{i}": "v" for i in range(share["selector labels"])},
                "matchExpressions": [
                    {
                        "key": f"k{i}",
                        "operator": "In",
                        "values": [f"v{j}" for j in range(values // expressions)],
                    }
                    for i in range(expressions)
                ],
            },
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
        {
            "labels": {f"l{i}": "v" for i in range(share["labels"])},
            "annotations": {f"a{i}": "v" for i in range(share["annotations"])},
        },
    )


def split_allow_all() -> dict[str, Any]:
    """One egress rule at the peer limit whose ipBlocks together cover every IPv4 address, so the
    split-allow-all arithmetic runs on every block (all distinct /16s and a /1)."""
    peers: list[dict[str, Any]] = [
        {"ipBlock": {"cidr": f"{i // 256}.{i % 256}.0.0/16"}} for i in range(limits.PEERS.maximum - 1)
    ]
    peers.append({"ipBlock": {"cidr": "128.0.0.0/1"}})
    return _policy({"policyTypes": ["Egress"], "egress": [{"to": peers, "ports": [{"port": 443}]}]})


def review_body(policy: dict[str, Any], operation: str = "CREATE") -> bytes:
    """An AdmissionReview of ``policy`` as the API server sends it."""
    request: dict[str, Any] = {
        "uid": "0b3e2f8a-worst-case",
        "kind": {"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"},
        "resource": {"group": "networking.k8s.io", "version": "v1", "resource": "networkpolicies"},
        "namespace": "team-a",
        "name": "hostile",
        "operation": operation,
        "userInfo": {"username": "mallory", "groups": ["system:authenticated"]},
        "object": policy if operation != "DELETE" else None,
        "oldObject": policy if operation != "CREATE" else None,
    }
    return orjson.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})


def fill(shape: str, size: int = REVIEW_LIMIT) -> bytes:
    """The review of ``shape`` with as many elements as fit in ``size`` bytes."""
    build = SHAPES[shape]
    per_element = (len(review_body(build(2000))) - len(review_body(build(1000)))) / 1000
    count = int((size - len(review_body(build(0)))) / per_element)
    body = review_body(build(count))
    while len(body) > size:
        count = int(count * 0.99)
        body = review_body(build(count))
    return body


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def _reset_peak() -> int:
    """Reset the peak-RSS mark to the current RSS (Linux ``clear_refs``) and return the current RSS in
    KiB. ``ru_maxrss`` cannot serve: Linux carries the parent's peak across fork and exec."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kib("VmRSS")


def measure_one(path: str) -> None:
    """Child process: answer the review in ``path`` 3 times; print seconds, peak MB above idle, decision."""
    from app.admission.handler import AdmissionHandler
    from app.ruleset import load_ruleset

    handler = AdmissionHandler(load_ruleset(None))
    handler.handle(review_body(_policy({})), "application/json")  # warm every code path once
    body = Path(path).read_bytes()
    gc.collect()
    gc.freeze()
    gc.disable()
    idle = _reset_peak()
    wall, cpu = [], []
    decision = None
    for _ in range(3):
        started, started_cpu = time.perf_counter(), time.process_time()
        decision = handler.handle(body, "application/json")
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    assert decision is not None
    peak_mb = (_status_kib("VmHWM") - idle) / 1024
    print(
        orjson.dumps([statistics.median(wall), statistics.median(cpu), peak_mb, decision.decision]).decode()
    )


def _run(body: bytes) -> tuple[float, float, float, str]:
    with tempfile.NamedTemporaryFile(suffix=".json") as file:
        file.write(body)
        file.flush()
        # taskset-free "one core": the child is single-threaded (the handler is synchronous).
        result = subprocess.run(
            [sys.executable, "-m", "benchmarks.worstcase", "--one", file.name],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
    wall, cpu, peak_mb, decision = orjson.loads(result.stdout.strip().splitlines()[-1])
    return float(wall), float(cpu), float(peak_mb), str(decision)


def main() -> None:
    """Print the worst-case table (and whether each row meets the 1 s / 150 MB targets)."""
    print(
        f"worst case: one AdmissionReview per row, fresh process each; targets <= {TIME_TARGET_S:.0f} s, "
        f"peak RSS <= {RSS_TARGET_MB:.0f} MB above idle"
    )
    print(f"  {'shape':<34} {'size':>9} {'CPU time':>9} {'wall':>9} {'peak RSS':>9}  decision")
    rows: list[tuple[str, bytes]] = [(shape, fill(shape)) for shape in SHAPES]
    rows.append(("at the limits (judged in full)", review_body(at_limits())))
    rows.append(("at the limits, UPDATE (old + new)", review_body(at_limits(0.5), "UPDATE")))
    rows.append(("split allow-all at the peer limit", review_body(split_allow_all())))
    for name, body in rows:
        wall, cpu, peak_mb, decision = _run(body)
        met = cpu <= TIME_TARGET_S and peak_mb <= RSS_TARGET_MB
        print(
            f"  {name:<34} {len(body) / 1048576:>5.2f} MiB {cpu * 1000:>6.0f} ms {wall * 1000:>6.0f} ms"
            f" {peak_mb:>6.1f} MB  {decision}{'' if met else '  (target MISSED)'}"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        measure_one(sys.argv[2])
    else:
        main()
