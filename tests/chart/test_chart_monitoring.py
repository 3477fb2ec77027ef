"""Optional monitoring: a PrometheusRule with the alerts operators need and a Grafana dashboard, both on
the server's real metric names (app/server/metrics.py), scoped to the release, off by default."""

from __future__ import annotations

import json
import re
from typing import Any

from chart_rendering import CHART, NAMESPACE, ROOT, Render, of_kind, one

MONITORING = CHART / "ci" / "monitoring-values.yaml"
FULLNAME = "netpol-guard"
# Every series the server exports; a histogram adds _bucket, _sum and _count.
EXPORTED = set(re.findall(r'"(netpol_guard_\w+)"', (ROOT / "app/server/metrics.py").read_text()))
# From kube-state-metrics and Prometheus itself.
EXTERNAL = {"kube_deployment_status_replicas_available", "kube_deployment_spec_replicas"}


def _metric_names(expr: str) -> set[str]:
    names = set(re.findall(r"\b(netpol_guard_\w+|kube_\w+)\s*\{", expr))
    return {
        re.sub(r"_(bucket|sum|count)$", "", name) if name.startswith("netpol_guard_") else name
        for name in names
    }


def _balanced(expr: str) -> bool:
    depth = {"(": 0, "{": 0, "[": 0}
    closing = {")": "(", "}": "{", "]": "["}
    for char in expr:
        if char in depth:
            depth[char] += 1
        elif char in closing:
            depth[closing[char]] -= 1
            if depth[closing[char]] < 0:
                return False
    return all(count == 0 for count in depth.values())


def _alerts(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    rule = one(objects, "PrometheusRule")
    return {alert["alert"]: alert for group in rule["spec"]["groups"] for alert in group["rules"]}


def test_monitoring_is_off_by_default(render: Render) -> None:
    objects = render()
    assert of_kind(objects, "PrometheusRule") == [] and of_kind(objects, "ServiceMonitor") == []
    assert not [cm for cm in of_kind(objects, "ConfigMap") if cm["metadata"]["name"].endswith("-dashboard")]


def test_the_alerts_cover_readiness_certificates_reloads_and_denial_spikes(render: Render) -> None:
    alerts = _alerts(render(MONITORING))
    assert set(alerts) == {
        "NetpolGuardWebhookNotReady",
        "NetpolGuardWebhookDegraded",
        "NetpolGuardCertificateExpiring",
        "NetpolGuardReloadErrors",
        "NetpolGuardDenialsSpiking",
    }
    assert alerts["NetpolGuardWebhookNotReady"]["labels"]["severity"] == "critical"
    assert alerts["NetpolGuardCertificateExpiring"]["labels"]["severity"] == "critical"
    assert alerts["NetpolGuardDenialsSpiking"]["labels"]["severity"] == "warning"
    # ci/monitoring-values.yaml: certificateExpiryDays 10
    assert alerts["NetpolGuardCertificateExpiring"]["expr"].rstrip().endswith("< 864000")
    assert 'result="error"' in alerts["NetpolGuardReloadErrors"]["expr"]
    assert 'decision="denied"' in alerts["NetpolGuardDenialsSpiking"]["expr"]


def test_every_alert_uses_real_metric_names_scoped_to_this_release(render: Render) -> None:
    for name, alert in _alerts(render(MONITORING)).items():
        expr = alert["expr"]
        used = _metric_names(expr)
        assert used, name
        assert used <= EXPORTED | EXTERNAL, (name, used - EXPORTED - EXTERNAL)
        assert _balanced(expr), (name, expr)
        assert f'namespace="{NAMESPACE}"' in expr, name
        assert f'service="{FULLNAME}"' in expr or f'deployment="{FULLNAME}"' in expr, name
        assert "{{" not in expr


def test_the_not_ready_alert_says_what_the_failure_policy_means(render: Render) -> None:
    fail = _alerts(render(MONITORING))["NetpolGuardWebhookNotReady"]["annotations"]["description"]
    ignore = _alerts(render(MONITORING, set_values=["failurePolicy=Ignore"]))
    assert "every NetworkPolicy write is refused" in fail
    assert "admitted unreviewed" in ignore["NetpolGuardWebhookNotReady"]["annotations"]["description"]


def test_alert_descriptions_keep_prometheus_templates_for_prometheus(render: Render) -> None:
    description = _alerts(render(MONITORING))["NetpolGuardCertificateExpiring"]["annotations"]["description"]
    assert "{{ $labels.pod }}" in description and "humanizeDuration" in description


def test_the_dashboard_configmap_holds_a_grafana_dashboard_on_real_metrics(render: Render) -> None:
    configmap = one(render(MONITORING), "ConfigMap", f"{FULLNAME}-dashboard")
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["metadata"]["annotations"] == {"grafana_folder": "Platform"}
    dashboard = json.loads(configmap["data"]["netpol-guard.json"])
    assert dashboard["uid"] == "netpol-guard"
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = set().union(*(_metric_names(expr) for expr in exprs))
    assert used == EXPORTED, EXPORTED - used  # every exported metric has a panel
    assert all(_balanced(expr) for expr in exprs)
