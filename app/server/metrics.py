"""Prometheus metrics (names fixed by the chart and dashboards), one registry per server instance.

A dedicated `CollectorRegistry` per `Metrics` keeps several servers in one process (tests) apart.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from app import __version__
from app.admission.handler import Decision

DURATION_BUCKETS: Final = (
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
)
SUCCESS: Final = "success"
FAILURE: Final = "error"


class Metrics:
    """Every netpol-guard metric, registered in its own registry."""

    def __init__(self) -> None:
        # The *_created series only add noise for a long-running server (process-wide switch).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "netpol_guard_admission_requests_total",
            "AdmissionReview requests answered, by operation, decision and dry run.",
            ["operation", "decision", "dry_run"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "netpol_guard_admission_duration_seconds",
            "Time to answer one review, from its headers to the answer handed to the server, in seconds.",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.violations = Counter(
            "netpol_guard_rule_violations_total",
            "Rule violations found at admission, by rule id and the action taken.",
            ["rule", "action"],
            registry=self.registry,
        )
        self.config_reloads = Counter(
            "netpol_guard_config_reloads_total",
            "Rules-file reloads after a change, by result (success or error).",
            ["result"],
            registry=self.registry,
        )
        self.tls_reloads = Counter(
            "netpol_guard_tls_reloads_total",
            "Serving certificate reloads after a change, by result (success or error).",
            ["result"],
            registry=self.registry,
        )
        self.tls_expiry = Gauge(
            "netpol_guard_tls_certificate_expiry_timestamp_seconds",
            "Expiry (notAfter) of the serving certificate in use, as a Unix timestamp.",
            registry=self.registry,
        )
        self.build_info = Gauge(
            "netpol_guard_build_info",
            "Always 1; the version label says which netpol-guard is running.",
            ["version"],
            registry=self.registry,
        )
        self.build_info.labels(version=__version__).set(1)
        for result in (SUCCESS, FAILURE):
            # Present from the start, so alerts on increase() see the first reload.
            self.config_reloads.labels(result=result)
            self.tls_reloads.labels(result=result)
        self._request_children: dict[tuple[str, str, bool], Counter] = {}
        self._violation_children: dict[tuple[str, str], Counter] = {}

    def record(self, decision: Decision, seconds: float) -> None:
        """Count one answered review and its violations."""
        key = (decision.operation or "unknown", decision.decision, decision.dry_run)
        child = self._request_children.get(key)
        if child is None:
            child = self.requests.labels(
                operation=key[0], decision=key[1], dry_run="true" if key[2] else "false"
            )
            self._request_children[key] = child
        child.inc()
        self.duration.observe(seconds)
        for violation in decision.violations:
            vkey = (violation.rule, violation.action.value)
            vchild = self._violation_children.get(vkey)
            if vchild is None:
                vchild = self.violations.labels(rule=vkey[0], action=vkey[1])
                self._violation_children[vkey] = vchild
            vchild.inc()

    def render(self) -> tuple[bytes, str]:
        """The Prometheus text exposition and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
