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


BOTH = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]


@pytest.mark.parametrize(
    ("peer", "namespace", "counts"),
    [
        pytest.param(
            {"podSelector": {"matchLabels": {"app": "db"}}}, "team-a", False, id="own-namespace-pods"
        ),
        pytest.param({"podSelector": {}}, "team-a", False, id="all-own-pods"),
        pytest.param(
            {"podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}},
            "kube-system",
            True,
            id="policy-in-kube-system",
        ),
        pytest.param({"namespaceSelector": {}}, "team-a", True, id="every-namespace"),
        pytest.param(KUBE_DNS, "team-a", True, id="kube-system-by-name"),
        pytest.param(
            {"namespaceSelector": {"matchLabels": {"team": "x"}}},
            "team-a",
            True,
            id="unknown-label-could-match",
        ),
        pytest.param(
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
            "team-a",
            False,
            id="another-namespace-by-name",
        ),
        pytest.param(
            {
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}
                    ]
                }
            },
            "team-a",
            False,
            id="kube-system-excluded",
        ),
        pytest.param({"ipBlock": {"cidr": "10.96.0.10/32"}}, "team-a", True, id="ip-block"),
    ],
)
def test_only_a_peer_that_could_be_cluster_dns_counts(
    judge: Any, peer: dict[str, Any], namespace: str, counts: bool
) -> None:
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "np", "namespace": namespace},
        "spec": egress({"to": [peer], "ports": BOTH}),
    }
    violations = judge(RULE, policy, ON)
    assert (violations == ()) is counts, violations


def test_dns_namespaces_is_a_parameter(judge: Any) -> None:
    on_dns_ns = {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "dns"}}}],
        "ports": BOTH,
    }
    assert judge(RULE, egress(on_dns_ns), ON) != ()
    assert judge(RULE, egress(on_dns_ns), {**ON, "dnsNamespaces": ["dns"]}) == ()


@pytest.mark.parametrize(
    ("ports", "missing"),
    [
        pytest.param(
            [{"port": "dns", "protocol": "UDP"}, {"port": "dns-tcp", "protocol": "TCP"}], None, id="coredns"
        ),
        pytest.param(
            [{"port": "dns"}, {"port": "dns-tcp", "protocol": "UDP"}],
            "UDP and TCP",
            id="names-on-the-wrong-protocol",
        ),
        pytest.param([{"port": "dns", "protocol": "UDP"}, {"port": 53}], None, id="name-and-number"),
    ],
)
def test_named_ports_count_by_name_and_protocol(judge: Any, ports: list[Any], missing: str | None) -> None:
    violations = judge(RULE, egress({"to": [KUBE_DNS], "ports": ports}), ON)
    assert [v.problem.split("(")[1].split(")")[0] for v in violations] == (
        [] if missing is None else [f"port 53 over {missing}"]
    )


def test_named_ports_never_resolve_against_an_ip_block(judge: Any) -> None:
    ports = [{"port": "dns", "protocol": "UDP"}, {"port": "dns-tcp", "protocol": "TCP"}]
    assert judge(RULE, egress({"to": [{"ipBlock": {"cidr": "10.96.0.10/32"}}], "ports": ports}), ON) != ()
    assert judge(RULE, egress({"to": [{"ipBlock": {"cidr": "10.96.0.10/32"}}], "ports": BOTH}), ON) == ()
