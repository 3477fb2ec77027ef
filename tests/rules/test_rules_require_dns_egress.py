"""require-dns-egress: restricted egress must admit port 53 over UDP and TCP."""

from __future__ import annotations

from typing import Any

import pytest

RULE = "require-dns-egress"
ON = {"action": "warn"}
KUBE_DNS = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
HTTPS = {"to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}], "ports": [{"port": 443}]}


def egress(*rules: Any, types: list[str] | None = None) -> dict[str, Any]:
    return {"policyTypes": ["Egress"] if types is None else types, "egress": list(rules)}


def dns(*ports: dict[str, Any]) -> dict[str, Any]:
    return {"to": [KUBE_DNS], "ports": list(ports)}


@pytest.mark.parametrize(
    ("spec", "missing"),
    [
        pytest.param(
            egress(HTTPS, dns({"port": 53, "protocol": "UDP"}, {"port": 53})), None, id="udp-and-tcp"
        ),
        pytest.param(
            egress(dns({"port": 53, "protocol": "UDP"}), HTTPS, dns({"port": 53, "protocol": "TCP"})),
            None,
            id="split-across-rules",
        ),
        pytest.param(egress(HTTPS), "UDP and TCP", id="no-dns"),
        pytest.param(egress(HTTPS, dns({"port": 53, "protocol": "UDP"})), "TCP", id="udp-only"),
        pytest.param(egress(HTTPS, dns({"port": 53})), "UDP", id="protocol-defaults-to-tcp"),
        pytest.param(egress(HTTPS, {"to": [KUBE_DNS]}), None, id="rule-without-ports-allows-all"),
        pytest.param(egress({}), None, id="allow-all-egress"),
        pytest.param(egress(dns({"protocol": "UDP"}, {"protocol": "TCP"})), None, id="port-less-entries"),
        pytest.param(
            egress(dns({"port": 1, "endPort": 100, "protocol": "UDP"}, {"port": 53, "endPort": 54})),
            None,
            id="ranges-covering-53",
        ),
        pytest.param(
            egress(dns({"port": 54, "endPort": 100, "protocol": "UDP"}, {"port": 53})),
            "UDP",
            id="range-above-53",
        ),
        pytest.param(
            egress(dns({"port": "dns", "protocol": "UDP"}, {"port": "dns-tcp", "protocol": "TCP"})),
            None,
            id="coredns-named-ports",
        ),
        pytest.param(
            egress(dns({"port": "domain", "protocol": "UDP"}, {"port": 53})), "UDP", id="other-name"
        ),
        pytest.param(egress(dns({"port": 53, "protocol": "SCTP"})), "UDP and TCP", id="sctp-is-not-dns"),
        pytest.param(egress(), None, id="deny-all-egress-is-deliberate"),
        pytest.param({"policyTypes": ["Ingress"], "ingress": [{}]}, None, id="egress-not-restricted"),
        pytest.param(egress(HTTPS, types=["Ingress"]), None, id="egress-rules-but-not-restricted"),
        pytest.param({"egress": [HTTPS]}, "UDP and TCP", id="defaulted-policy-types-restrict-egress"),
    ],
)
def test_restricted_egress_without_dns_names_the_missing_protocol(
    judge: Any, spec: dict[str, Any], missing: str | None
) -> None:
    violations = judge(RULE, spec, ON)
    assert [v.path for v in violations] == ([] if missing is None else ["spec.egress"])
    if missing is not None:
        assert f"port 53 over {missing})" in violations[0].problem
        assert f"port 53 over {missing}" in violations[0].fix


def test_rule_is_off_by_default(judge: Any) -> None:
    assert judge(RULE, egress(HTTPS)) == ()
