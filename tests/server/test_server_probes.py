"""Probes, metrics and the decision log line, on a running server."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import httpx
import pytest
from cryptography import x509
from server_harness import Running, metric_value, review_bytes, wait_for

from app import __version__
from app.logs import JsonFormatter, TextFormatter
from app.server.metrics import DURATION_BUCKETS

Start = Callable[..., Running]


def test_healthz_and_readyz_answer_on_the_plain_http_port(start_server: Start) -> None:
    running = start_server()

    assert httpx.get(f"{running.probe_url}/healthz").status_code == 200
    ready = httpx.get(f"{running.probe_url}/readyz")
    assert (ready.status_code, ready.text) == (200, "ready\n")
    assert httpx.get(f"{running.probe_url}/nothing").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("HEAD", "/healthz", 200),
        ("HEAD", "/readyz", 200),
        ("HEAD", "/metrics", 200),
        ("POST", "/healthz", 405),
        ("DELETE", "/metrics", 405),
        ("GET", "/docs", 404),
        ("GET", "/openapi.json", 404),
        ("POST", "/validate/networkpolicies", 404),
    ],
    ids=["head-healthz", "head-readyz", "head-metrics", "post", "delete", "docs", "openapi", "no-reviews"],
)
def test_the_probe_port_answers_get_and_head_on_its_three_paths_only(
    start_server: Start, method: str, path: str, status: int
) -> None:
    running = start_server()

    reply = httpx.request(method, f"{running.probe_url}{path}")

    assert reply.status_code == status
    if method == "HEAD":
        assert reply.content == b""


def test_metrics_are_served_in_the_prometheus_text_format(start_server: Start) -> None:
    running = start_server()

    reply = httpx.get(f"{running.probe_url}/metrics")

    assert reply.headers["content-type"].startswith("text/plain; version=")
    assert "# TYPE netpol_guard_admission_requests_total counter" in reply.text


def test_readyz_turns_unready_on_stop_while_reviews_are_still_answered(start_server: Start) -> None:
    running = start_server(shutdown_delay=30)

    running.server.request_stop()

    wait_for(lambda: httpx.get(f"{running.probe_url}/readyz").status_code == 503, what="unready")
    assert "shutting down" in httpx.get(f"{running.probe_url}/readyz").text
    assert running.post(review_bytes(uid="draining")).json()["response"]["uid"] == "draining"


def test_metrics_count_requests_violations_and_durations(start_server: Start) -> None:
    running = start_server()
    running.post(review_bytes("good", uid="m1"))
    dry = json.loads(review_bytes("good", uid="m2"))
    dry["request"]["dryRun"] = True
    running.post(json.dumps(dry).encode())
    running.post(b"not json")

    text = running.metrics()

    requests = "netpol_guard_admission_requests_total"
    assert metric_value(text, f'{requests}{{decision="denied",dry_run="false",operation="CREATE"}}') == 1
    assert metric_value(text, f'{requests}{{decision="denied",dry_run="true",operation="CREATE"}}') == 1
    assert metric_value(text, f'{requests}{{decision="invalid",dry_run="false",operation="unknown"}}') == 1
    violations = "netpol_guard_rule_violations_total"
    assert metric_value(text, f'{violations}{{action="deny",rule="require-labels"}}') == 2
    assert metric_value(text, f'{violations}{{action="warn",rule="require-annotations"}}') == 2
    assert metric_value(text, "netpol_guard_admission_duration_seconds_count") == 3
    assert metric_value(text, 'netpol_guard_admission_duration_seconds_bucket{le="0.00025"}') is not None
    assert metric_value(text, 'netpol_guard_admission_duration_seconds_bucket{le="2.5"}') is not None
    assert (DURATION_BUCKETS[0], DURATION_BUCKETS[-1]) == (0.00025, 2.5)
    assert metric_value(text, f'netpol_guard_build_info{{version="{__version__}"}}') == 1
    for name in ("netpol_guard_config_reloads_total", "netpol_guard_tls_reloads_total"):
        assert metric_value(text, f'{name}{{result="success"}}') == 0
        assert metric_value(text, f'{name}{{result="error"}}') == 0


def test_the_certificate_expiry_metric_is_the_served_certificates_not_after(start_server: Start) -> None:
    running = start_server()
    cert = x509.load_pem_x509_certificate((running.tls_dir / "tls.crt").read_bytes())

    value = metric_value(running.metrics(), "netpol_guard_tls_certificate_expiry_timestamp_seconds")

    assert value == pytest.approx(cert.not_valid_after_utc.timestamp())


def test_exempt_and_misconfigured_requests_are_counted(start_server: Start) -> None:
    running = start_server()
    exempt = json.loads(review_bytes(uid="e"))
    exempt["request"]["namespace"] = "kube-system"
    pod = json.loads(review_bytes(uid="p"))
    pod["request"]["kind"]["kind"] = "Pod"
    running.post(json.dumps(exempt).encode())
    running.post(json.dumps(pod).encode())

    text = running.metrics()

    requests = "netpol_guard_admission_requests_total"
    assert metric_value(text, f'{requests}{{decision="exempt",dry_run="false",operation="CREATE"}}') == 1
    assert (
        metric_value(text, f'{requests}{{decision="misconfigured",dry_run="false",operation="CREATE"}}') == 1
    )


DECISION_FIELDS = {
    "uid",
    "operation",
    "namespace",
    "name",
    "user",
    "dry_run",
    "decision",
    "rules",
    "duration_ms",
}


def _decision_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "app.server.webhook" and r.getMessage() == "decision"]


def test_every_decision_is_one_log_line_with_the_decision_fields_and_no_object(
    start_server: Start, caplog: pytest.LogCaptureFixture
) -> None:
    running = start_server()
    caplog.set_level(logging.INFO, logger="app.server.webhook")

    running.post(review_bytes(uid="log-1"))

    wait_for(lambda: len(_decision_records(caplog)) == 1, what="the decision log line")
    record = _decision_records(caplog)[0]
    fields = record.fields  # type: ignore[attr-defined]
    assert set(fields) >= DECISION_FIELDS
    assert "body" not in fields
    assert (fields["uid"], fields["operation"], fields["namespace"], fields["name"]) == (
        "log-1",
        "CREATE",
        "prod",
        "web",
    )
    assert (fields["user"], fields["dry_run"], fields["decision"]) == ("alice@example.com", False, "denied")
    assert fields["rules"] == ["require-labels", "require-annotations"]
    assert fields["duration_ms"] >= 0

    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert DECISION_FIELDS | {"time", "level", "message"} <= set(parsed)
    text = TextFormatter().format(record)
    assert "\n" not in text and "uid=log-1" in text and "decision=denied" in text


def test_at_debug_level_the_review_body_is_logged_too(
    start_server: Start, caplog: pytest.LogCaptureFixture
) -> None:
    running = start_server()
    caplog.set_level(logging.DEBUG, logger="app.server.webhook")

    running.post(review_bytes(uid="debug-1"))

    wait_for(lambda: len(_decision_records(caplog)) == 1, what="the decision log line")
    assert "debug-1" in _decision_records(caplog)[0].fields["body"]  # type: ignore[attr-defined]
