"""`make bench-limits`: what the connection and review bounds cost, on a real `netpol-guard serve` process.

1. Memory per idle TLS keep-alive connection: RSS of the server before and after opening N connections
   that each sent one review (the state a pooled API-server connection is in), so the chart's memory
   limit can be sized for ``--max-connections``.
2. Probe latency while the largest reviews the server still parses (3 MiB, just under its JSON-value
   limit) are judged: /healthz is polled every 5 ms during the reviews; max and p99 are reported.

Target: probes within 200 ms. Run: ``python -m benchmarks.limits [--connections N] [--reviews R]``.
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from app.server.webhook import MAX_JSON_VALUES, count_json_values

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "deploy" / "examples" / "admissionreview-good.json"
VALIDATE = "/validate/networkpolicies"
PROBE_TARGET_MS = 200.0
THREE_MIB = 3 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Server:
    """A `netpol-guard serve` process with dev certificates in a temporary directory."""

    def __init__(self, directory: Path, *flags: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "app", "certs", "dev", "--out", str(directory)],
            check=True,
            capture_output=True,
        )
        self.ca = directory / "ca.crt"
        self.port, self.probe_port = _free_port(), _free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "serve",
                "--tls-cert-file",
                str(directory / "tls.crt"),
                "--tls-private-key-file",
                str(directory / "tls.key"),
                "--host",
                "127.0.0.1",
                "--probe-host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--probe-port",
                str(self.probe_port),
                "--log-level",
                "error",
                "--shutdown-delay",
                "0",
                *flags,
            ]
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.probe_port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError("the server did not become ready")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _review(mutate: Any) -> bytes:
    review = json.loads(EXAMPLE.read_text())
    mutate(review["request"]["object"])
    return json.dumps(review, separators=(",", ":")).encode()


def worst_reviews() -> dict[str, bytes]:
    """3 MiB reviews just under the JSON-value limit, in the shapes that cost most to parse."""
    count = MAX_JSON_VALUES - 1_000

    def labels(obj: dict[str, Any]) -> None:
        width = max(1, (THREE_MIB - 4096) // count - 8)
        obj["metadata"]["labels"] = {f"k{i}": "v" * width for i in range(count)}

    def rules(obj: dict[str, Any]) -> None:
        obj["spec"]["ingress"] = [{}] * (count // 2)
        obj["metadata"]["annotations"]["padding"] = "x" * (THREE_MIB - 4096 - count * 3 // 2)

    def peers(obj: dict[str, Any]) -> None:
        obj["spec"]["ingress"] = [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}] * (count // 3)}]
        obj["metadata"]["annotations"]["padding"] = "x" * max(0, THREE_MIB - 4096 - count * 12)

    reviews = {}
    for name, mutate in (("labels", labels), ("empty rules", rules), ("ipBlock peers", peers)):
        body = _review(mutate)
        assert count_json_values(body) <= MAX_JSON_VALUES, name
        reviews[name] = body[:THREE_MIB] if len(body) <= THREE_MIB else body
    return reviews


def connection_memory(server: Server, connections: int) -> tuple[float, int, int]:
    """KiB of RSS per idle keep-alive TLS connection, and RSS before and after (KiB)."""
    context = ssl.create_default_context(cafile=str(server.ca))
    body = EXAMPLE.read_bytes()
    request = (
        f"POST {VALIDATE} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    # Warm up allocator arenas and caches with one connection first.
    held: list[ssl.SSLSocket] = []
    for _ in range(2):
        sock = context.wrap_socket(
            socket.create_connection(("127.0.0.1", server.port)), server_hostname="localhost"
        )
        sock.sendall(request)
        sock.recv(65536)
        sock.close()
    time.sleep(3)  # the server collects garbage every 2 s
    before = _rss_kib(server.process.pid)
    for _ in range(connections):
        sock = context.wrap_socket(
            socket.create_connection(("127.0.0.1", server.port)), server_hostname="localhost"
        )
        sock.sendall(request)
        answer = b""
        while b"}}" not in answer:
            answer += sock.recv(65536)
        held.append(sock)
    time.sleep(3)
    after = _rss_kib(server.process.pid)
    for sock in held:
        sock.close()
    return (after - before) / connections, before, after


def probe_latency(server: Server, body: bytes, reviews: int) -> tuple[float, float, float, int]:
    """(max, p99 probe ms, mean review ms, probes) while ``reviews`` copies of ``body`` are judged."""
    latencies: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                started = time.perf_counter()
                client.get(f"http://127.0.0.1:{server.probe_port}/healthz", timeout=10)
                latencies.append((time.perf_counter() - started) * 1000)
                time.sleep(0.005)

    poller = threading.Thread(target=poll)
    poller.start()
    durations = []
    context = ssl.create_default_context(cafile=str(server.ca))
    with httpx.Client(verify=context, timeout=60) as client:
        for _ in range(reviews):
            started = time.perf_counter()
            client.post(
                f"https://127.0.0.1:{server.port}{VALIDATE}",
                content=body,
                headers={"content-type": "application/json"},
            ).raise_for_status()
            durations.append((time.perf_counter() - started) * 1000)
    stop.set()
    poller.join()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return latencies[-1], p99, sum(durations) / len(durations), len(latencies)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--reviews", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netpol-guard-bench-") as directory:
        server = Server(Path(directory), "--max-connections", str(args.connections + 10))
        try:
            per, before, after = connection_memory(server, args.connections)
            print(f"idle keep-alive TLS connections: {args.connections}")
            rss = f"{before / 1024:.1f} MiB -> {after / 1024:.1f} MiB"
            print(f"  server RSS {rss}: {per:.1f} KiB per connection")
            print()
            columns = ("bytes", "review ms", "probe max", "probe p99")
            print(f"{'shape (3 MiB, < limit)':<24} " + " ".join(f"{c:>10}" for c in columns))
            worst = 0.0
            for name, body in worst_reviews().items():
                top, p99, mean, _ = probe_latency(server, body, args.reviews)
                worst = max(worst, top)
                print(f"{name:<24} {len(body):>10} {mean:>10.0f} {top:>10.1f} {p99:>10.1f}")
        finally:
            server.stop()
    verdict = "OK" if worst <= PROBE_TARGET_MS else "OVER"
    print(f"\nprobe latency target {PROBE_TARGET_MS:.0f} ms: worst {worst:.1f} ms, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
