"""`make bench-admission`: what each enforcement point adds to a NetworkPolicy write on a real API server.

On the test control plane (etcd, kube-apiserver, kube-controller-manager on 127.0.0.1), three namespaces
are judged three ways at once: ``bench-none`` by nothing, ``bench-webhook`` by netpol-guard's webhook
(the chart's webhook configuration, default rules, a local `netpol-guard serve`), ``bench-vap`` by the
default rules exported with `netpol-guard export vap` (bindings scoped to it). A separate client process
(`benchmarks.admission_client`) creates and deletes NetworkPolicies at concurrency 1 and 16, the modes
alternating within each round, so that machine noise spreads over all three. Reported per mode and
concurrency: client p50/p99 and throughput, the API server's own admission latency from /metrics, and
the latency added over no admission. Then a GitOps-like burst (server-side applies from 32 writers) on
the webhook and on the policies: no request may fail and no webhook call may fail open.

Bounded: ``--rounds`` x 2 concurrencies x 3 modes client runs of ``--count`` creates each, and one
burst of ``--burst`` applies per enforcement point. ``--smoke`` runs a tiny version (the test suite's).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "vap")]

from controlplane.cluster import ControlPlane, start_control_plane  # noqa: E402
from controlplane.processes import Supervisor  # noqa: E402
from controlplane.webhook import LocalWebhook  # noqa: E402
from dryrun import ApiServer, dry_run_create  # noqa: E402
from registration import chart_webhook_configuration, kubectl, scoped_to_namespaces, wait_until  # noqa: E402

from app.export.vap import export_vap  # noqa: E402
from app.ruleset import load_ruleset  # noqa: E402

MODES = ("none", "webhook", "vap")
CONCURRENCIES = (1, 16)
LABEL = "netpol-guard-bench"
WEBHOOK_METRIC = "apiserver_admission_webhook_admission_duration_seconds"
POLICY_METRIC = "apiserver_validating_admission_policy_check_duration_seconds"
STEP_METRIC = "apiserver_admission_step_admission_duration_seconds"
TARGET_P50_MS = 1.0
TARGET_P99_MS = 3.0


def namespace(mode: str) -> str:
    return f"bench-{mode}"


# ---- the API server's /metrics ---------------------------------------------------------------------


Histogram = dict[float, float]
"""Cumulative bucket counts by upper bound (``inf`` included), plus ``sum`` under key -1."""


def scrape(client: httpx.Client) -> dict[str, Any]:
    """The metrics this bench reads, as {metric: {label-key: histogram or value}}."""
    text = client.get("/metrics").text
    found: dict[str, Any] = {}
    for family in text_string_to_metric_families(text):
        if family.name not in (
            WEBHOOK_METRIC,
            POLICY_METRIC,
            STEP_METRIC,
            "apiserver_admission_webhook_fail_open_count",
            "apiserver_admission_webhook_rejection_count",
        ):
            continue
        histogram = family.type == "histogram"
        for sample in family.samples:
            labels = dict(sample.labels)
            bound = labels.pop("le", None)
            key = json.dumps(labels, sort_keys=True)
            entry = found.setdefault(family.name, {}).setdefault(key, {})
            if not histogram:
                entry[0.0] = sample.value  # a counter
            elif sample.name.endswith("_bucket") and bound is not None:
                entry[float(bound)] = sample.value
            elif sample.name.endswith("_sum"):
                entry[-1.0] = sample.value
            elif sample.name.endswith("_count"):
                entry[-2.0] = sample.value
    return found


def delta(before: dict[str, Any], after: dict[str, Any], metric: str, **match: str) -> Histogram:
    """The histogram of observations between two scrapes, summed over the series whose labels match."""
    total: Histogram = {}
    for key, series in after.get(metric, {}).items():
        labels = json.loads(key)
        if any(labels.get(name) != value for name, value in match.items()):
            continue
        old = before.get(metric, {}).get(key, {})
        for bound, value in series.items():
            total[bound] = total.get(bound, 0.0) + value - old.get(bound, 0.0)
    return total


def quantile(histogram: Histogram, q: float) -> float | None:
    """Prometheus' histogram_quantile (linear within a bucket), in milliseconds; None when empty."""
    bounds = sorted(b for b in histogram if b >= 0)
    count = histogram.get(float("inf"), 0.0)
    if count <= 0:
        return None
    rank = q * count
    previous_bound, previous_count = 0.0, 0.0
    for bound in bounds:
        cumulative = histogram[bound]
        if cumulative >= rank:
            if bound == float("inf"):
                return previous_bound * 1000
            width = cumulative - previous_count
            fraction = (rank - previous_count) / width if width else 1.0
            return (previous_bound + (bound - previous_bound) * fraction) * 1000
        previous_bound, previous_count = bound, cumulative
    return None


def mean_ms(histogram: Histogram) -> float | None:
    count = histogram.get(-2.0, 0.0)
    return histogram.get(-1.0, 0.0) / count * 1000 if count > 0 else None


# ---- setting up the three enforcement points ----------------------------------------------------------


@dataclass
class Bench:
    plane: ControlPlane
    server: ApiServer
    webhook: LocalWebhook
    helm: str
    work: Path

    @property
    def kubectl_args(self) -> list[str]:
        return [str(self.plane.kubectl_binary), f"--kubeconfig={self.plane.kubeconfig}"]

    def setup(self) -> None:
        # The label says which enforcement point judges the namespace; the bursts get namespaces of their own.
        judged = {namespace(m): m for m in MODES} | {namespace(f"burst-{m}"): m for m in ("webhook", "vap")}
        namespaces = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {LABEL: mode}}}
            for name, mode in judged.items()
        ]
        kubectl(self.kubectl_args, ["apply"], namespaces)
        config = chart_webhook_configuration(
            self.helm, self.webhook.url, self.webhook.ca_bundle, {LABEL: "webhook"}
        )
        kubectl(self.kubectl_args, ["apply"], [config])
        documents = scoped_to_namespaces(export_vap(load_ruleset(None)).documents, {LABEL: "vap"})
        kubectl(self.kubectl_args, ["apply"], documents)
        probe = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "probe"},
            "spec": {"podSelector": {"matchLabels": {"a": "b"}}, "policyTypes": ["Ingress"], "ingress": [{}]},
        }
        with self.server.client() as client:

            def answers(mode: str, marker: str) -> bool:
                probe["metadata"]["namespace"] = namespace(mode)
                answer = dry_run_create(client, probe)
                return answer.status == 403 and marker in answer.message

            wait_until(lambda: answers("webhook", "admission webhook"), "the webhook to judge bench-webhook")
            wait_until(lambda: answers("vap", "ValidatingAdmissionPolicy"), "the policies to judge bench-vap")
            probe["metadata"]["namespace"] = namespace("none")
            assert dry_run_create(client, probe).status == 201, "bench-none must not be judged"

    def client_run(
        self, mode: str, operation: str, count: int, concurrency: int, prefix: str
    ) -> dict[str, Any]:
        pki = self.plane.pki
        command = [sys.executable, "-m", "benchmarks.admission_client", operation]
        command += ["--server", self.plane.server, "--ca", str(pki.ca_file)]
        command += ["--cert", str(pki.admin_cert), "--key", str(pki.admin_key)]
        command += ["--namespace", namespace(mode), "--prefix", prefix]
        command += ["--count", str(count), "--concurrency", str(concurrency)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"the client failed: {done.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result


@contextmanager
def started(work: Path, helm: str) -> Iterator[Bench]:
    supervisor = Supervisor()
    try:
        plane = start_control_plane(work / "plane", ROOT / ".tools" / "kube" / "bin", supervisor)
        webhook = LocalWebhook(work / "webhook", supervisor)
        webhook.start()
        pki = plane.pki
        server = ApiServer(plane.server, pki.ca_file, pki.admin_cert, pki.admin_key)
        yield Bench(plane, server, webhook, helm, work)
    finally:
        supervisor.stop_all()


# ---- measuring -------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure(bench: Bench, rounds: int, count: int, burst: int) -> dict[str, Any]:
    latencies: dict[tuple[str, int], list[float]] = {(m, c): [] for m in MODES for c in CONCURRENCIES}
    seconds: dict[tuple[str, int], float] = {key: 0.0 for key in latencies}
    failed: dict[tuple[str, int], int] = {key: 0 for key in latencies}
    server_side: dict[tuple[str, int], dict[str, Histogram]] = {key: {} for key in latencies}
    with bench.server.client() as client:
        for round_number in range(rounds):
            for concurrency in CONCURRENCIES:
                for mode in MODES:
                    before = scrape(client)
                    prefix = f"r{round_number}-c{concurrency}"
                    creates = count if concurrency == 1 else count * 4
                    result = bench.client_run(mode, "create-delete", creates, concurrency, prefix)
                    after = scrape(client)
                    key = (mode, concurrency)
                    latencies[key] += result["latencies_ms"]
                    seconds[key] += result["seconds"]
                    failed[key] += result["failed"]
                    if result["failed"]:
                        print(f"{mode} c={concurrency}: {result['failures'][:3]}", file=sys.stderr)
                    for name, histogram in (
                        ("webhook", delta(before, after, WEBHOOK_METRIC, operation="CREATE")),
                        ("policies", delta(before, after, POLICY_METRIC)),
                        (
                            "validating step",
                            delta(before, after, STEP_METRIC, operation="CREATE", type="validate"),
                        ),
                    ):
                        merged = server_side[key].setdefault(name, {})
                        for bound, value in histogram.items():
                            merged[bound] = merged.get(bound, 0.0) + value
        bursts = {}
        for mode in ("webhook", "vap"):
            before = scrape(client)
            result = bench.client_run(f"burst-{mode}", "apply", burst, 32, "gitops")
            after = scrape(client)
            fail_open = delta(before, after, "apiserver_admission_webhook_fail_open_count").get(0.0, 0.0)
            rejections = delta(before, after, "apiserver_admission_webhook_rejection_count")
            checks = delta(before, after, POLICY_METRIC)
            bursts[mode] = {
                "applies": len(result["latencies_ms"]),
                "failed": result["failed"],
                "failures": result["failures"][:5],
                "seconds": result["seconds"],
                "p50_ms": percentile(result["latencies_ms"], 0.5),
                "p99_ms": percentile(result["latencies_ms"], 0.99),
                "webhook_fail_open": fail_open,
                "webhook_rejections": rejections.get(0.0, 0.0),
                "webhook_calls": delta(before, after, WEBHOOK_METRIC).get(float("inf"), 0.0),
                "webhook_p50_ms": quantile(delta(before, after, WEBHOOK_METRIC), 0.5),
                "webhook_p99_ms": quantile(delta(before, after, WEBHOOK_METRIC), 0.99),
                "policy_checks": checks.get(float("inf"), 0.0),
                "policy_check_p50_ms": quantile(checks, 0.5),
                "policy_check_p99_ms": quantile(checks, 0.99),
            }
    rows = {}
    for (mode, concurrency), values in latencies.items():
        side = server_side[(mode, concurrency)]
        rows[f"{mode}/{concurrency}"] = {
            "mode": mode,
            "concurrency": concurrency,
            "creates": len(values),
            "failed": failed[(mode, concurrency)],
            "p50_ms": percentile(values, 0.5),
            "p99_ms": percentile(values, 0.99),
            "throughput_per_s": len(values) * 2 / seconds[(mode, concurrency)]
            if seconds[(mode, concurrency)]
            else 0.0,
            "webhook_p50_ms": quantile(side.get("webhook", {}), 0.5),
            "webhook_p99_ms": quantile(side.get("webhook", {}), 0.99),
            "policy_check_p50_ms": quantile(side.get("policies", {}), 0.5),
            "policy_check_p99_ms": quantile(side.get("policies", {}), 0.99),
            "policy_checks": side.get("policies", {}).get(float("inf"), 0.0),
            "validating_p50_ms": quantile(side.get("validating step", {}), 0.5),
            "validating_p99_ms": quantile(side.get("validating step", {}), 0.99),
            "validating_mean_ms": mean_ms(side.get("validating step", {})),
        }
    for row in rows.values():
        base = rows[f"none/{row['concurrency']}"]
        row["added_p50_ms"] = row["p50_ms"] - base["p50_ms"]
        row["added_p99_ms"] = row["p99_ms"] - base["p99_ms"]
        # The API server's own view: exact means (sum/count); its quantiles come from coarse buckets
        # (the first one is 5 ms), so a p50 under 5 ms is an interpolation, not a measurement.
        row["added_validating_mean_ms"] = (row["validating_mean_ms"] or 0.0) - (
            base["validating_mean_ms"] or 0.0
        )
        row["added_validating_p99_ms"] = (row["validating_p99_ms"] or 0.0) - (
            base["validating_p99_ms"] or 0.0
        )
    return {"rows": rows, "bursts": bursts}


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report(results: dict[str, Any]) -> str:
    rows = results["rows"]
    lines = [
        "client-observed create latency (ms) and throughput (creates+deletes/s); "
        "API server admission latency (ms)",
        f"{'mode':<8} {'conc':>4} {'creates':>7} {'p50':>7} {'p99':>7} {'+p50':>7} {'+p99':>7} {'ops/s':>7} "
        f"{'validating mean/+mean':>22} {'validating p50/p99':>19} {'webhook p50/p99':>16}",
    ]
    for concurrency in CONCURRENCIES:
        for mode in MODES:
            r = rows[f"{mode}/{concurrency}"]
            lines.append(
                f"{mode:<8} {concurrency:>4} {r['creates']:>7} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
                f"{r['added_p50_ms']:>7.2f} {r['added_p99_ms']:>7.2f} {r['throughput_per_s']:>7.0f} "
                f"{_fmt(r['validating_mean_ms']) + '/' + _fmt(r['added_validating_mean_ms']):>22} "
                f"{_fmt(r['validating_p50_ms']) + '/' + _fmt(r['validating_p99_ms']):>19} "
                f"{_fmt(r['webhook_p50_ms']) + '/' + _fmt(r['webhook_p99_ms']):>16}"
            )
    webhook, vap = rows["webhook/16"], rows["vap/16"]
    ok_p50 = webhook["added_p50_ms"] <= TARGET_P50_MS
    ok_p99 = webhook["added_p99_ms"] <= TARGET_P99_MS
    lines.append(
        f"target (client-observed) at concurrency 16: webhook adds <= {TARGET_P50_MS} ms p50 "
        f"({webhook['added_p50_ms']:.2f}: {'met' if ok_p50 else 'MISSED'}) and <= {TARGET_P99_MS} ms p99 "
        f"({webhook['added_p99_ms']:.2f}: {'met' if ok_p99 else 'MISSED'})"
    )
    load = results.get("load_average")
    if load:
        lines.append(
            f"load average (1 min) at start and end: {load[0]:.1f}, {load[1]:.1f} on {os.cpu_count()} cores"
        )
    lines.append(
        "API server validating admission at concurrency 16, added over none: webhook "
        f"mean {webhook['added_validating_mean_ms']:.2f} ms, "
        f"p99 {webhook['added_validating_p99_ms']:.2f} ms; "
        f"policies mean {vap['added_validating_mean_ms']:.2f} ms, "
        f"p99 {vap['added_validating_p99_ms']:.2f} ms"
    )
    if vap["added_validating_p99_ms"] > 0:
        lines.append(
            "webhook added p99 / policies added p99 (API server validating step) at concurrency 16: "
            f"{webhook['added_validating_p99_ms'] / vap['added_validating_p99_ms']:.2f}"
        )
    if vap["added_p99_ms"] > 0:
        lines.append(
            "client: webhook added p99 / policies added p99 at concurrency 16: "
            f"{webhook['added_p99_ms'] / vap['added_p99_ms']:.2f}"
        )
    else:
        lines.append(f"client: policies added p99 at concurrency 16: {vap['added_p99_ms']:.2f} ms (no ratio)")
    for mode, burst in results["bursts"].items():
        webhook_ms = f"{_fmt(burst['webhook_p50_ms'])}/{_fmt(burst['webhook_p99_ms'])}"
        checks_ms = f"{_fmt(burst['policy_check_p50_ms'])}/{_fmt(burst['policy_check_p99_ms'])}"
        lines.append(
            f"burst on {mode}: {burst['applies']} server-side applies from 32 writers "
            f"in {burst['seconds']:.1f} s "
            f"(p50 {burst['p50_ms']:.1f} ms, p99 {burst['p99_ms']:.1f} ms): {burst['failed']} failed, "
            f"{burst['webhook_calls']:.0f} webhook calls, {burst['webhook_fail_open']:.0f} failed open, "
            f"{burst['webhook_rejections']:.0f} webhook errors; "
            f"server side: webhook p50/p99 {webhook_ms} ms, "
            f"{burst['policy_checks']:.0f} policy checks p50/p99 {checks_ms} ms"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=200, help="creates per client run at concurrency 1")
    parser.add_argument("--burst", type=int, default=2000, help="server-side applies in each burst")
    parser.add_argument("--smoke", action="store_true", help="a tiny run (1 round, 8 creates, 64 applies)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--helm", default=str(ROOT / ".tools" / "helm"))
    parser.add_argument(
        "--report", metavar="FILE", help="only print the report of a JSON file written before"
    )
    args = parser.parse_args()
    if args.report:
        saved = json.loads(Path(args.report).read_text())
        for row in saved["rows"].values():
            base = saved["rows"][f"none/{row['concurrency']}"]
            row["added_validating_mean_ms"] = (row["validating_mean_ms"] or 0.0) - (
                base["validating_mean_ms"] or 0.0
            )
            row["added_validating_p99_ms"] = (row["validating_p99_ms"] or 0.0) - (
                base["validating_p99_ms"] or 0.0
            )
        sys.stdout.write(report(saved))
        return 0
    if args.smoke:
        args.rounds, args.count, args.burst = 1, 8, 64
    with (
        tempfile.TemporaryDirectory(prefix="bench-admission-") as work,
        started(Path(work), args.helm) as bench,
    ):
        bench.setup()
        start_load = os.getloadavg()[0]
        results = measure(bench, args.rounds, args.count, args.burst)
        results["load_average"] = [start_load, os.getloadavg()[0]]
    results["settings"] = {"rounds": args.rounds, "count": args.count, "burst": args.burst}
    sys.stdout.write(report(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    bad = [mode for mode, burst in results["bursts"].items() if burst["failed"] or burst["webhook_fail_open"]]
    failed = sum(row["failed"] for row in results["rows"].values())
    if bad or failed:
        print(
            f"FAILED: {failed} failed writes; bursts with failures or fail-open calls: {bad}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
