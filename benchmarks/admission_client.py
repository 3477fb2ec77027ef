"""The client side of `make bench-admission`: a separate process writing NetworkPolicies to the API server.

``create-delete``: ``--count`` NetworkPolicy creates, each followed by the delete of the same object, from
``--concurrency`` workers; the latency of every create is recorded (the write admission judges).
``apply``: ``--count`` server-side applies (what GitOps controllers send) of distinct policies from
``--concurrency`` writers (each answered with a require-ports warning). Prints one JSON object:
latencies in milliseconds, failures with their first messages, elapsed seconds. Run as
``python -m benchmarks.admission_client`` (the bench starts it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import ssl
import sys
import time
from typing import Any

import httpx

GROUP = "/apis/networking.k8s.io/v1"


def policy(name: str, namespace: str, warned: bool = False) -> dict[str, Any]:
    """A typical policy every default rule accepts: web pods reached from the frontend on 8080; ``warned``
    leaves the ports out, which the default rules answer with a require-ports warning."""
    manifest: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace, "labels": {"team": "bench"}},
        "spec": {
            "podSelector": {"matchLabels": {"app": "web"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}],
                    "ports": [{"protocol": "TCP", "port": 8080}],
                }
            ],
        },
    }
    if warned:
        del manifest["spec"]["ingress"][0]["ports"]
    return manifest


class Run:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.failures: list[str] = []

    def fail(self, what: str, response: httpx.Response) -> None:
        self.failures.append(f"{what}: {response.status_code} {response.text[:200]}")


async def _create_delete(
    client: httpx.AsyncClient, run: Run, namespace: str, names: asyncio.Queue[str]
) -> None:
    base = f"{GROUP}/namespaces/{namespace}/networkpolicies"
    while not names.empty():
        name = names.get_nowait()
        start = time.perf_counter()
        created = await client.post(base, json=policy(name, namespace))
        run.latencies.append((time.perf_counter() - start) * 1000)
        if created.status_code != 201:
            run.fail(f"create {name}", created)
            continue
        deleted = await client.delete(f"{base}/{name}")
        if deleted.status_code != 200:
            run.fail(f"delete {name}", deleted)


async def _apply(client: httpx.AsyncClient, run: Run, namespace: str, names: asyncio.Queue[str]) -> None:
    base = f"{GROUP}/namespaces/{namespace}/networkpolicies"
    headers = {"Content-Type": "application/apply-patch+yaml"}
    while not names.empty():
        name = names.get_nowait()
        # A sync writes what the repository holds, warnings included (the policies' check metric records
        # only checks that warn or deny).
        body = json.dumps(policy(name, namespace, warned=True))
        start = time.perf_counter()
        applied = await client.patch(
            f"{base}/{name}",
            params={"fieldManager": "bench-gitops", "force": "true"},
            content=body,
            headers=headers,
        )
        run.latencies.append((time.perf_counter() - start) * 1000)
        if applied.status_code not in (200, 201):
            run.fail(f"apply {name}", applied)


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    context = ssl.create_default_context(cafile=args.ca)
    context.load_cert_chain(args.cert, args.key)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    run = Run()
    names: asyncio.Queue[str] = asyncio.Queue()
    for index in range(args.count):
        names.put_nowait(f"{args.prefix}-{index}")
    worker = _create_delete if args.mode == "create-delete" else _apply
    async with httpx.AsyncClient(base_url=args.server, verify=context, limits=limits, timeout=30.0) as client:
        await client.get("/readyz")  # connections and TLS sessions are not part of the measurement
        start = time.perf_counter()
        await asyncio.gather(*(worker(client, run, args.namespace, names) for _ in range(args.concurrency)))
        elapsed = time.perf_counter() - start
    return {
        "latencies_ms": run.latencies,
        "failures": run.failures[:20],
        "failed": len(run.failures),
        "seconds": elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["create-delete", "apply"])
    for name in ("server", "ca", "cert", "key", "namespace", "prefix"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    args = parser.parse_args()
    json.dump(asyncio.run(_main(args)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
