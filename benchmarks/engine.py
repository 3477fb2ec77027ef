"""`make bench-engine`: median microseconds per policy to decode (typed model) and evaluate (default rules).

Measures a typical policy, a ~1 MiB policy with thousands of peers, and the same shape at 1k/2k/4k/8k
peers to show that the cost grows linearly with the number of peers. Targets: typical <= 30 us,
1 MiB <= 30 ms. Input is already parsed (as the server has it after orjson); YAML reading is not timed.
The cyclic garbage collector is paused, as `check` and `serve` pause it.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

import orjson

from app.engine import evaluate
from app.netpol import decode_policy
from app.rules.base import Context
from app.ruleset import RuleSet, load_ruleset

TYPICAL_TARGET_US = 30.0
LARGE_TARGET_US = 30_000.0
CONTEXT = Context(source="manifest")


def typical_policy() -> dict[str, Any]:
    """A policy like most real ones: labels, one ingress and one egress rule, a few peers and ports."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "api", "namespace": "shop", "labels": {"team": "checkout"}},
        "spec": {
            "podSelector": {"matchLabels": {"app": "api"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": {"matchLabels": {"app": "web"}}},
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                            },
                            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
                        },
                    ],
                    "ports": [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": "metrics"}],
                }
            ],
            "egress": [
                {
                    "to": [{"podSelector": {"matchLabels": {"app": "postgres"}}}],
                    "ports": [{"protocol": "TCP", "port": 5432}],
                },
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                            },
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                },
            ],
        },
    }


def _peer(index: int) -> dict[str, Any]:
    # Alternate the three peer shapes so every rule has work to do on every peer.
    kind = index % 3
    if kind == 0:
        return {
            "ipBlock": {
                "cidr": f"10.{index // 256 % 256}.{index % 256}.0/24",
                "except": [f"10.{index // 256 % 256}.{index % 256}.128/25"],
            }
        }
    if kind == 1:
        return {"podSelector": {"matchLabels": {"app": f"client-{index}", "tier": "backend"}}}
    return {
        "namespaceSelector": {
            "matchExpressions": [{"key": "team", "operator": "In", "values": [f"team-{index}"]}]
        },
        "podSelector": {"matchLabels": {"app": f"svc-{index}"}},
    }


def large_policy(peers: int) -> dict[str, Any]:
    """A policy with ``peers`` peers spread over ingress and egress rules of 100 peers each."""
    policy = typical_policy()
    per_rule = 100
    ingress, egress = [], []
    for start in range(0, peers, per_rule):
        chunk = [_peer(i) for i in range(start, min(start + per_rule, peers))]
        ports = [{"protocol": "TCP", "port": 8000 + start // per_rule % 1000}]
        if (start // per_rule) % 2 == 0:
            ingress.append({"from": chunk, "ports": ports})
        else:
            egress.append({"to": chunk, "ports": ports})
    policy["spec"]["ingress"] = ingress
    policy["spec"]["egress"] = egress
    return policy


def peers_for_size(target_bytes: int) -> int:
    """How many peers make `large_policy` about ``target_bytes`` of JSON."""
    per_peer = len(orjson.dumps(large_policy(1000))) / 1000
    return int(target_bytes / per_peer)


def median_us(work: Callable[[], object], *, repeat: int, number: int) -> float:
    """Median over ``repeat`` runs of the mean microseconds of ``number`` calls."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            work()
        samples.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(samples)


def _judge(obj: dict[str, Any], ruleset: RuleSet) -> Callable[[], object]:
    return lambda: evaluate(decode_policy(obj), ruleset, CONTEXT)


def _breakdown(obj: dict[str, Any], ruleset: RuleSet, number: int) -> str:
    """Where the time goes: decoding, then each active rule (microseconds, median)."""
    policy = decode_policy(obj)
    parts = [f"decode {median_us(lambda: decode_policy(obj), repeat=5, number=number):.1f}"]
    for rule, settings in ruleset.active_rules:

        def check(rule: Any = rule, settings: Any = settings) -> object:
            return list(rule.check(policy, settings, CONTEXT))

        parts.append(f"{rule.id} {median_us(check, repeat=5, number=number):.1f}")
    return ", ".join(parts)


def _with_gc(work: Callable[[], float]) -> float:
    gc.enable()
    try:
        return work()
    finally:
        gc.disable()


def main() -> None:
    """Print the measurements and whether each target is met.

    Measured as `check` and `serve` run the engine: with the cyclic garbage collector paused.
    """
    gc.disable()
    ruleset = load_ruleset(None)
    rules = ", ".join(rule.id for rule, _ in ruleset.active_rules)
    print(f"default rules ({len(ruleset.active_rules)} active): {rules}")

    typical = typical_policy()
    typical_us = median_us(_judge(typical, ruleset), repeat=15, number=2000)
    print(
        f"typical policy ({len(orjson.dumps(typical))} bytes): {typical_us:.1f} us/policy "
        f"(target <= {TYPICAL_TARGET_US:.0f} us: {'ok' if typical_us <= TYPICAL_TARGET_US else 'MISSED'})"
    )

    print(f"  breakdown (us): {_breakdown(typical, ruleset, 2000)}")

    peers = peers_for_size(1 << 20)
    large = large_policy(peers)
    size = len(orjson.dumps(large))
    large_us = median_us(_judge(large, ruleset), repeat=9, number=3)
    print(
        f"1 MiB policy ({size / 1048576:.2f} MiB, {peers} peers): {large_us / 1000:.2f} ms/policy "
        f"(target <= {LARGE_TARGET_US / 1000:.0f} ms: {'ok' if large_us <= LARGE_TARGET_US else 'MISSED'})"
    )
    running_us = _with_gc(lambda: median_us(_judge(large, ruleset), repeat=9, number=3))
    print(f"  with the cyclic collector running (a library caller's default): {running_us / 1000:.2f} ms")
    print(f"  breakdown (us): {_breakdown(large, ruleset, 3)}")
    verdict = evaluate(decode_policy(large), ruleset, CONTEXT)
    print(
        f"  its verdict: {len(verdict.violations)} violations from {', '.join(verdict.rule_ids) or 'no rule'}"
    )

    # The reference column is a plain orjson round trip of the same object: no netpol-guard code at all.
    # Its cost per peer grows the same way once the object outgrows the CPU caches, which separates the
    # machine's memory hierarchy from any super-linear work of ours.
    print("cost per peer (ours vs an orjson round trip of the same object, the memory-bound reference):")
    base: float | None = None
    reference_base: float | None = None
    for count in (1000, 2000, 4000, 8000):
        policy = large_policy(count)
        us = median_us(_judge(policy, ruleset), repeat=7, number=3)
        reference = median_us(lambda policy=policy: orjson.loads(orjson.dumps(policy)), repeat=7, number=3)
        per_peer, reference_per_peer = us / count, reference / count
        base = base or per_peer
        reference_base = reference_base or reference_per_peer
        print(
            f"  {count:>5} peers: {us / 1000:7.2f} ms  {per_peer:6.2f} us/peer  x{per_peer / base:.2f}"
            f"   reference {reference_per_peer:5.2f} us/peer  x{reference_per_peer / reference_base:.2f}"
        )


if __name__ == "__main__":
    main()
