"""`make bench`: the admission server under keep-alive TLS load, against a bare uvicorn ceiling.

Both servers run as separate processes with one worker, the same uvicorn settings (uvloop, httptools) and
the same TLS context; wrk (a separate C process) loads them with NetworkPolicy AdmissionReviews built
from the shared real-policy corpus. The bare app reads and parses the body and returns a constant answer:
what the stack costs before netpol-guard does anything. Reported: req/s, p50, p99 for both at 16
connections and the ratio; the time to answer a 1.4 MB review; the server's RSS after the load; the
server's CPU use during the load (near 100 % of one core means the server, not wrk, is the bottleneck).

Targets: >= 70 % of the ceiling's throughput, p99 <= 5 ms at 16 connections, 1.4 MB review <= 30 ms,
RSS <= 120 MB. Run: ``python -m benchmarks.server [--duration S] [--connections N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from app.manifests import read_manifests
from benchmarks.engine import large_policy, peers_for_size

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "real"
VALIDATE = "/validate/networkpolicies"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
BIG_TARGET_BYTES = 1_400_000
TARGETS = {"ratio": 0.70, "p99_ms": 5.0, "big_ms": 30.0, "rss_mb": 120.0}
_BARE_ANSWER = (
    b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"","allowed":true}}'
)


# --- the bare ceiling app (runs in its own process: `python -m benchmarks.server --bare ...`) -----------


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Read the whole body, parse it with orjson, answer a constant AdmissionReview."""
    if scope["type"] != "http":
        return
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    orjson.loads(b"".join(chunks))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(_BARE_ANSWER)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": _BARE_ANSWER})


def serve_bare(port: int, cert: Path, key: Path) -> None:
    """Serve `bare_app` with exactly the webhook's uvicorn and TLS settings."""
    import uvicorn

    from app.server.runner import run_loop, uvicorn_config
    from app.server.tls import build_context, check_pair

    config = uvicorn_config(bare_app)
    config.ssl = build_context(check_pair(cert, key), None)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    run_loop(uvicorn.Server(config).serve(sockets=[sock]))


# --- the floor: `netpol-guard serve` with judging replaced by a constant answer (`--floor SERVE-ARGS...`) --


def serve_floor(serve_args: list[str]) -> int:
    """Run `netpol-guard serve` whose handler parses the body and allows it unjudged.

    Everything else is the real server (TLS, routing, body limits, the uid echoed, one decision log line,
    metrics): its throughput is the most any rule set can reach, so the cost of judging shows apart from
    the cost of the rest.
    """
    from app.__main__ import main as netpol_guard
    from app.admission import handler as admission
    from app.admission import responses
    from app.admission.review import Envelope
    from app.server import runner

    class ConstantAnswer(admission.AdmissionHandler):
        def handle(self, body: bytes, content_type: str | None) -> admission.Decision:
            request = orjson.loads(body)["request"]
            return admission.Decision(
                Envelope(uid=request["uid"]),
                responses.allowed(),
                admission.ALLOWED,
                request["operation"],
                request["namespace"],
                request["name"],
                request["userInfo"]["username"],
            )

    runner.AdmissionHandler = ConstantAnswer  # type: ignore[misc]
    return netpol_guard(["serve", *serve_args])


# --- request bodies ----------------------------------------------------------------------------------------


def review(obj: dict[str, Any], uid: str, *, last_applied: bool = True) -> bytes:
    """A CREATE review of ``obj``, as `kubectl apply` sends it (with the last-applied annotation) or not."""
    obj = json.loads(json.dumps(obj))
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    obj["metadata"] = meta
    namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else "default"
    meta["namespace"] = namespace
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    if last_applied:
        meta["annotations"] = {**annotations, LAST_APPLIED: json.dumps(obj)}
    return orjson.dumps(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": uid,
                "kind": {"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"},
                "resource": {"group": "networking.k8s.io", "version": "v1", "resource": "networkpolicies"},
                "name": meta.get("name", ""),
                "namespace": namespace,
                "operation": "CREATE",
                "userInfo": {"username": "alice@example.com", "groups": ["system:authenticated"]},
                "object": obj,
                "oldObject": None,
                "dryRun": False,
            },
        }
    )


def corpus_reviews() -> list[bytes]:
    """Reviews of every NetworkPolicy in the shared corpus (the examples when it is absent)."""
    if not CORPUS.is_dir():
        print(f"note: {CORPUS} is absent; using deploy/examples only", file=sys.stderr)
        return [
            (REPO / "deploy" / "examples" / f"admissionreview-{n}.json").read_bytes() for n in ("good", "bad")
        ]
    index = json.loads((CORPUS / "index.json").read_text())
    bodies = []
    for manifest in read_manifests([str(CORPUS / entry["file"]) for entry in index["files"]]):
        for document in manifest.policies:
            bodies.append(review(document.obj, f"bench-{len(bodies)}"))
    return bodies


def big_review() -> bytes:
    """A ~1.4 MB review: the engine benchmark's many-peer policy, sized so the whole review is 1.4 MB.

    No last-applied annotation: the API server caps annotations at 256 KiB, so objects this large arrive
    from `kubectl create` or server-side apply.
    """
    peers = peers_for_size(BIG_TARGET_BYTES)
    body = review(large_policy(peers), "big", last_applied=False)
    while len(body) > BIG_TARGET_BYTES:
        peers -= 10
        body = review(large_policy(peers), "big", last_applied=False)
    return body


def breakdown(body: bytes) -> str:
    """Where the server's time goes for ``body``, measured in this process with the server's GC tuning."""
    from app.admission.handler import AdmissionHandler
    from app.engine import evaluate
    from app.netpol import decode_policy
    from app.rules.base import Context
    from app.ruleset import load_ruleset
    from app.server.runner import pause_automatic_gc

    ruleset = load_ruleset(None)
    handler = AdmissionHandler(ruleset)
    pause_automatic_gc()
    from app.limits import PolicyTooLargeError

    obj = orjson.loads(body)["request"]["object"]
    try:
        policy = decode_policy(obj)
    except PolicyTooLargeError as exc:
        policy = None  # over the size limits: refused before the model is built (docs/limits.md)
        refused = str(exc)
    context = Context(source="admission", namespace="prod")

    def median_ms(work: Any) -> float:
        samples = []
        for _ in range(7):
            started = time.perf_counter()
            work()
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    parts = {"parse (orjson)": median_ms(lambda: orjson.loads(body))}
    if policy is not None:
        judged = policy
        parts["decode (typed view)"] = median_ms(lambda: decode_policy(obj))
        parts["rules (engine)"] = median_ms(lambda: evaluate(judged, ruleset, context))
    parts["whole handler"] = median_ms(lambda: handler.handle(body, "application/json"))
    shown = ", ".join(f"{name} {ms:.1f} ms" for name, ms in parts.items())
    return shown if policy is not None else f"{shown} (refused unjudged: {refused})"


# --- load and measurement ----------------------------------------------------------------------------------

_LUA = """
-- Requests are formatted once, at start: request() only picks the next one, so wrk stays cheap.
local requests = {}
for path in io.lines("%(list)s") do
  local f = io.open(path, "rb")
  local body = f:read("*a")
  f:close()
  requests[#requests + 1] = wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, body)
end
local i = 0
request = function()
  i = i %% #requests + 1
  return requests[i]
end
"""


@dataclass
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu: float
    client_cpu: float


def median_load(runs: list[Load]) -> Load:
    """Each figure's median over ``runs``; errors are summed."""
    return Load(
        statistics.median(run.requests_per_second for run in runs),
        statistics.median(run.p50_ms for run in runs),
        statistics.median(run.p99_ms for run in runs),
        sum(run.errors for run in runs),
        statistics.median(run.server_cpu for run in runs),
        statistics.median(run.client_cpu for run in runs),
    )


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pinned(cpu: int) -> list[str]:
    # Two cores: the server gets one, wrk the other, so neither steals the other's time.
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else []


def run_wrk(url: str, script: Path, connections: int, seconds: float, pid: int) -> Load:
    """Keep-alive load from wrk (one thread) and the server's CPU use meanwhile."""
    command = [
        *_pinned(1),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    cpu_before, started = _cpu_seconds(pid), time.monotonic()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    cpu = (_cpu_seconds(pid) - cpu_before) / elapsed
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (
        children.ru_utime - children_before.ru_utime + children.ru_stime - children_before.ru_stime
    ) / elapsed
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(errors_match.group(1)) if errors_match else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return Load(rps, p50, p99, errors, cpu, client_cpu)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_https(port: int, context: ssl.SSLContext) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=1) as raw,
                context.wrap_socket(raw, server_hostname="localhost"),
            ):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the server on port {port} did not come up")


@contextmanager
def server(
    command: list[str], port: int, context: ssl.SSLContext, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as log_file:
        process = subprocess.Popen([*_pinned(0), *command], stdout=log_file, stderr=log_file)
        try:
            _wait_https(port, context)
            yield process
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def time_big(port: int, context: ssl.SSLContext, body: bytes, rounds: int) -> tuple[float, float, str]:
    """Median and max milliseconds to post ``body`` and read the answer on a warm keep-alive connection."""
    times = []
    decision = ""
    with httpx.Client(base_url=f"https://127.0.0.1:{port}", verify=context, timeout=30) as client:
        for _ in range(rounds + 2):
            started = time.perf_counter()
            reply = client.post(VALIDATE, content=body, headers={"content-type": "application/json"})
            times.append((time.perf_counter() - started) * 1000)
            response = reply.json()["response"]
            decision = "allowed" if response["allowed"] else f"denied ({response['status']['code']})"
    measured = times[2:]  # the first two warm the connection and the code paths
    return statistics.median(measured), max(measured), decision


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per server")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs per server (medians)")
    parser.add_argument("--bare", nargs=3, metavar=("PORT", "CERT", "KEY"), help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bare:
        serve_bare(int(args.bare[0]), Path(args.bare[1]), Path(args.bare[2]))
        return 0
    if args.floor:
        return serve_floor(args.floor)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    from app.certs.dev import write_dev_certificates

    with tempfile.TemporaryDirectory(prefix="netpol-guard-bench-") as tmp_name:
        tmp = Path(tmp_name)
        certs = write_dev_certificates(tmp / "certs")
        context = ssl.create_default_context(cafile=str(certs.ca_file))
        bodies = corpus_reviews()
        (tmp / "bodies").mkdir()
        for number, body in enumerate(bodies):
            (tmp / "bodies" / f"{number}.json").write_bytes(body)
        listing = tmp / "bodies.txt"
        listing.write_text("".join(f"{tmp / 'bodies' / f'{n}.json'}\n" for n in range(len(bodies))))
        script = tmp / "reviews.lua"
        script.write_text(_LUA % {"list": listing, "path": VALIDATE})
        big = big_review()
        sizes = [len(b) for b in bodies]
        print(
            f"{len(bodies)} corpus reviews ({min(sizes)}-{max(sizes)} bytes, "
            f"median {statistics.median(sizes):.0f})"
        )
        print(
            f"big review: {len(big) / 1e6:.2f} MB; {args.connections} keep-alive connections, "
            f"{args.rounds} alternating runs of {args.duration:.0f} s per server (medians shown)"
        )

        bare_port, floor_port, port = _free_port(), _free_port(), _free_port()
        bare_command = [
            sys.executable,
            "-m",
            "benchmarks.server",
            "--bare",
            str(bare_port),
            str(certs.cert_file),
            str(certs.key_file),
        ]

        def serve_args(port: int) -> list[str]:
            return [
                "--tls-cert-file", str(certs.cert_file), "--tls-private-key-file", str(certs.key_file),
                "--host", "127.0.0.1", "--probe-host", "127.0.0.1",
                "--port", str(port), "--probe-port", str(_free_port()),
                "--shutdown-delay", "0",
            ]  # fmt: skip

        floor_command = [sys.executable, "-m", "benchmarks.server", "--floor", *serve_args(floor_port)]
        guard_command = [str(Path(sys.executable).parent / "netpol-guard"), "serve", *serve_args(port)]
        bare_url = f"https://127.0.0.1:{bare_port}{VALIDATE}"
        floor_url = f"https://127.0.0.1:{floor_port}{VALIDATE}"
        url = f"https://127.0.0.1:{port}{VALIDATE}"
        bare_runs: list[Load] = []
        floor_runs: list[Load] = []
        guard_runs: list[Load] = []
        # Both servers stay up (the idle one costs nothing) and the runs alternate, so a slow spell of a
        # shared machine hits both sides instead of skewing the ratio; medians are reported.
        with (
            server(bare_command, bare_port, context, tmp / "bare.log") as bare_process,
            server(floor_command, floor_port, context, tmp / "floor.log") as floor_process,
            server(guard_command, port, context, tmp / "serve.log") as process,
        ):
            loads = [
                (bare_url, bare_process.pid, bare_runs),
                (floor_url, floor_process.pid, floor_runs),
                (url, process.pid, guard_runs),
            ]
            for target, pid, _ in loads:
                run_wrk(target, script, args.connections, 2, pid)  # warm-up
            for _ in range(args.rounds):
                for target, pid, runs in loads:
                    runs.append(run_wrk(target, script, args.connections, args.duration, pid))
            big_median, big_max, big_decision = time_big(port, context, big, rounds=20)
            rss = _rss_mb(process.pid)
            log_lines = sum(1 for _ in (tmp / "serve.log").open("rb"))
        bare, floor, guard = median_load(bare_runs), median_load(floor_runs), median_load(guard_runs)

    ratio = guard.requests_per_second / bare.requests_per_second
    rows = [
        ("bare uvicorn + TLS + orjson (ceiling)", bare),
        ("netpol-guard, constant answer (floor)", floor),
        ("netpol-guard serve (default rules)", guard),
    ]
    print()
    print(
        f"{'server':40} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
        f"{'server CPU':>11} {'wrk CPU':>8}"
    )
    for name, load in rows:
        print(
            f"{name:40} {load.requests_per_second:9.0f} {load.p50_ms:8.2f} {load.p99_ms:8.2f} "
            f"{load.errors:7d} {load.server_cpu:11.0%} {load.client_cpu:8.0%}"
        )
    spread = ", ".join(
        f"{b.requests_per_second:.0f}/{f.requests_per_second:.0f}/{g.requests_per_second:.0f}"
        for b, f, g in zip(bare_runs, floor_runs, guard_runs, strict=True)
    )
    print(f"  every round, ceiling/floor/netpol-guard req/s: {spread}")
    ceiling_us, floor_us, guard_us = (1e6 / load.requests_per_second for load in (bare, floor, guard))
    print(
        f"  the floor (no judging; TLS, routing, uid echo, decision log line, metrics) reaches "
        f"{floor.requests_per_second / bare.requests_per_second:.0%} of the ceiling. Per request: the "
        f"ceiling {ceiling_us:.0f} us, the rest of netpol-guard {floor_us - ceiling_us:.0f} us, "
        f"judging {guard_us - floor_us:.0f} us"
    )
    print()
    checks = [
        (f"throughput vs ceiling: {ratio:.0%}", ratio >= TARGETS["ratio"], f">= {TARGETS['ratio']:.0%}"),
        (
            f"p99 at {args.connections} connections: {guard.p99_ms:.2f} ms",
            guard.p99_ms <= TARGETS["p99_ms"],
            "<= 5 ms",
        ),
        (
            f"1.4 MB review ({len(big) / 1e6:.2f} MB, {big_decision}): "
            f"median {big_median:.1f} ms, max {big_max:.1f} ms",
            big_median <= TARGETS["big_ms"],
            "<= 30 ms",
        ),
        (f"RSS after the load: {rss:.0f} MB", rss <= TARGETS["rss_mb"], "<= 120 MB"),
    ]
    for text, ok, target in checks:
        print(f"  [{'ok' if ok else 'MISS'}] {text} (target {target})")
    print(f"  decision log lines written during the run: {log_lines}")
    print(f"  1.4 MB review, in process: {breakdown(big)}")
    if guard.errors or floor.errors or bare.errors:
        print("  errors seen under load: see the wrk counts above")
    return 0 if all(ok for _, ok, _ in checks) and not guard.errors else 1


if __name__ == "__main__":
    sys.exit(main())
