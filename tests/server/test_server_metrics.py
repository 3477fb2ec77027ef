"""The review metrics as Prometheus scrapes them: counters by label, the duration histogram's buckets."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from server_harness import review_bytes

from app.admission.handler import AdmissionHandler, Decision
from app.ruleset import load_ruleset
from app.server.metrics import DURATION_BUCKETS, Metrics


@pytest.fixture(scope="module")
def decisions() -> dict[str, Decision]:
    handler = AdmissionHandler(load_ruleset(None))
    return {
        "bad": handler.handle(review_bytes("bad"), "application/json"),
        "good": handler.handle(review_bytes("good"), "application/json"),
        "invalid": handler.handle(b"{}", "application/json"),
    }


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.render()[0].decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _bucket(samples: dict[Any, float], le: str) -> float:
    return samples["netpol_guard_admission_duration_seconds_bucket", (("le", le),)]


def test_requests_are_counted_by_operation_decision_and_dry_run(decisions: dict[str, Decision]) -> None:
    metrics = Metrics()
    for name in ("bad", "bad", "good", "invalid"):
        metrics.record(decisions[name], 0.001)

    samples = _samples(metrics)

    def requests(operation: str, decision: str) -> float:
        labels = (("decision", decision), ("dry_run", "false"), ("operation", operation))
        return samples["netpol_guard_admission_requests_total", labels]

    assert requests("CREATE", "denied") == 2
    assert requests("CREATE", "allowed") == 1
    assert requests("unknown", "invalid") == 1  # a review too broken to name its operation


def test_violations_are_counted_by_rule_and_action(decisions: dict[str, Decision]) -> None:
    metrics = Metrics()
    metrics.record(decisions["bad"], 0.001)
    metrics.record(decisions["bad"], 0.001)

    samples = _samples(metrics)
    counted = {
        dict(labels)["rule"]: (dict(labels)["action"], value)
        for (name, labels), value in samples.items()
        if name == "netpol_guard_rule_violations_total"
    }

    fired = {(v.rule, v.action.value) for v in decisions["bad"].violations}
    assert fired and {(rule, action) for rule, (action, _) in counted.items()} == fired
    assert all(value == 2 for _, value in counted.values())


def test_a_duration_on_a_bucket_bound_counts_in_that_bucket_and_buckets_are_cumulative(
    decisions: dict[str, Decision],
) -> None:
    metrics = Metrics()
    for seconds in (0.0001, 0.00025, 0.0003, 0.005, 2.5, 9.0):
        metrics.record(decisions["good"], seconds)

    samples = _samples(metrics)

    assert _bucket(samples, "0.00025") == 2  # 0.0001 and exactly 0.00025
    assert _bucket(samples, "0.0005") == 3
    assert _bucket(samples, "0.005") == 4  # exactly on the bound
    assert _bucket(samples, "1.0") == 4
    assert _bucket(samples, "2.5") == 5
    assert _bucket(samples, "+Inf") == 6  # 9 s is over the last bound
    assert samples["netpol_guard_admission_duration_seconds_count", ()] == 6
    assert samples["netpol_guard_admission_duration_seconds_sum", ()] == pytest.approx(11.50565)


def test_every_bucket_from_a_quarter_millisecond_to_two_and_a_half_seconds_is_exposed_before_any_review() -> (
    None
):
    samples = _samples(Metrics())

    bounds = [le for (name, labels), _ in samples.items() if name.endswith("_bucket") for _, le in labels]
    assert bounds == [*(str(bound) for bound in DURATION_BUCKETS), "+Inf"]
    assert all(_bucket(samples, le) == 0 for le in bounds)
