"""Every wording rule of `explain`, each with a case where it applies and one where it must not."""

from __future__ import annotations

from typing import Any

from explain_cases import explain, phrases

from app.explain.model import DNS_NOTE, IGNORED, ISOLATED, NOT_AFFECTED, STANDING_NOTES


def ingress(*peers: Any, ports: Any = None) -> dict[str, Any]:
    rule: dict[str, Any] = {"from": list(peers)}
    if ports is not None:
        rule["ports"] = ports
    return {"podSelector": {}, "ingress": [rule]}


def test_empty_namespace_selector_is_every_pod_in_every_namespace_never_none() -> None:
    [phrase] = phrases(ingress({"namespaceSelector": {}}))
    assert "every pod in every namespace" in phrase
    assert "<none>" not in phrase


def test_labelled_namespace_selector_is_not_every_namespace() -> None:
    [phrase] = phrases(ingress({"namespaceSelector": {"matchLabels": {"team": "ops"}}}))
    assert "every pod in namespaces team=ops" in phrase
    assert "every namespace" not in phrase


def test_pod_selector_only_peer_names_this_policys_namespace() -> None:
    [phrase] = phrases(ingress({"podSelector": {"matchLabels": {"app": "web"}}}))
    assert "pods app=web in namespace shop (this policy's namespace)" in phrase


def test_pod_selector_only_peer_without_a_known_namespace_says_this_policys_namespace() -> None:
    [phrase] = phrases(ingress({"podSelector": {"matchLabels": {"app": "web"}}}), namespace=None)
    assert "pods app=web in this policy's namespace" in phrase


def test_peer_with_a_namespace_selector_is_not_in_this_policys_namespace() -> None:
    [phrase] = phrases(ingress({"namespaceSelector": {"matchLabels": {"team": "ops"}}, "podSelector": {}}))
    assert "this policy's namespace" not in phrase


def test_one_peer_with_both_selectors_is_one_grant() -> None:
    peer = {
        "podSelector": {"matchLabels": {"app": "mon"}},
        "namespaceSelector": {"matchLabels": {"team": "ops"}},
    }
    assert [p.split(" on ")[0] for p in phrases(ingress(peer))] == [
        "ingress from pods app=mon in namespaces team=ops"
    ]


def test_two_peers_are_two_grants() -> None:
    found = phrases(
        ingress(
            {"podSelector": {"matchLabels": {"app": "mon"}}},
            {"namespaceSelector": {"matchLabels": {"team": "ops"}}},
        )
    )
    assert [p.split(" on ")[0] for p in found] == [
        "ingress from pods app=mon in namespace shop (this policy's namespace)",
        "ingress from every pod in namespaces team=ops",
    ]


def test_protocol_only_port_is_every_port_of_that_protocol() -> None:
    [phrase] = phrases(ingress({"podSelector": {}}, ports=[{"protocol": "UDP"}]))
    assert phrase.endswith("on every UDP port")


def test_empty_port_is_every_tcp_port_not_every_port() -> None:
    [phrase] = phrases(ingress({"podSelector": {}}, ports=[{}]))
    assert phrase.endswith("on every TCP port")
    assert "every port and protocol" not in phrase


def test_no_ports_is_every_port_and_protocol() -> None:
    [phrase] = phrases(ingress({"podSelector": {}}))
    assert phrase.endswith("on every port and protocol")


def test_metadata_name_label_is_namespace_by_name() -> None:
    peer = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    [phrase] = phrases(ingress(peer))
    assert "every pod in namespace monitoring " in phrase
    assert "kubernetes.io/metadata.name" not in phrase


def test_other_namespace_label_is_not_a_namespace_name() -> None:
    [phrase] = phrases(ingress({"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}))
    assert "namespaces name=monitoring" in phrase


def test_not_in_says_pods_without_the_label_match_too() -> None:
    expression = {"key": "tier", "operator": "NotIn", "values": ["db"]}
    [phrase] = phrases(ingress({"podSelector": {"matchExpressions": [expression]}}))
    assert "pods tier not in (db) (also pods without the label)" in phrase


def test_in_does_not_claim_pods_without_the_label() -> None:
    expression = {"key": "tier", "operator": "In", "values": ["db", "web"]}
    [phrase] = phrases(ingress({"podSelector": {"matchExpressions": [expression]}}))
    assert "pods tier in (db, web) in" in phrase
    assert "without the label" not in phrase


def test_not_in_with_exists_does_not_claim_pods_without_the_label() -> None:
    expressions = [
        {"key": "tier", "operator": "NotIn", "values": ["db"]},
        {"key": "tier", "operator": "Exists"},
    ]
    [phrase] = phrases(ingress({"podSelector": {"matchExpressions": expressions}}))
    assert "pods tier not in (db) in" in phrase
    assert "without the label" not in phrase


def test_except_ranges_are_written_out() -> None:
    peer = {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.0.0/16"]}}
    [phrase] = phrases(ingress(peer))
    assert "IP range 10.0.0.0/8 except 10.1.0.0/16, 10.2.0.0/16" in phrase


def test_ip_block_without_except_mentions_no_except() -> None:
    [phrase] = phrases(ingress({"ipBlock": {"cidr": "0.0.0.0/0"}}))
    assert "every IPv4 address (0.0.0.0/0) on" in phrase
    assert "except" not in phrase


def test_end_port_is_a_range_with_the_plugin_caveat() -> None:
    [phrase] = phrases(ingress({"podSelector": {}}, ports=[{"port": 8000, "endPort": 8100}]))
    assert "TCP ports 8000-8100" in phrase
    assert "without endPort support open only port 8000" in phrase


def test_single_port_has_no_end_port_caveat() -> None:
    [phrase] = phrases(ingress({"podSelector": {}}, ports=[{"port": 8000, "endPort": 8000}]))
    assert "TCP port 8000" in phrase
    assert "endPort" not in phrase


def test_named_port_with_ip_block_probably_matches_nothing() -> None:
    [phrase] = phrases(ingress({"ipBlock": {"cidr": "10.0.0.0/8"}}, ports=[{"port": "http"}]))
    assert "TCP port named http" in phrase
    assert "probably matches nothing" in phrase


def test_named_port_with_pod_peer_is_fine() -> None:
    [phrase] = phrases(ingress({"podSelector": {}}, ports=[{"port": "http"}]))
    assert "TCP port named http" in phrase
    assert "probably matches nothing" not in phrase


def test_isolated_egress_without_dns_grant_warns_that_name_lookups_fail() -> None:
    spec = {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"ports": [{"port": 443}]}]}
    assert explain(spec).direction("egress").notes == (DNS_NOTE,)


def test_isolated_egress_with_dns_grant_has_no_dns_note() -> None:
    spec = {
        "podSelector": {},
        "policyTypes": ["Egress"],
        "egress": [{"ports": [{"port": 53, "protocol": "UDP"}]}],
    }
    assert explain(spec).direction("egress").notes == ()


def test_ingress_never_gets_the_dns_note() -> None:
    assert explain({"podSelector": {}}).direction("ingress").notes == ()


def test_standing_notes_say_policies_add_nodes_reach_and_pod_ports() -> None:
    notes = " ".join(explain({"podSelector": {}}).notes)
    assert notes == " ".join(STANDING_NOTES)
    assert "only add" in notes and "node can always reach" in notes and "not Service ports" in notes


def test_no_peers_is_anywhere() -> None:
    spec = {"podSelector": {}, "ingress": [{"ports": [{"port": 80}]}]}
    [grant] = explain(spec).direction("ingress").grants
    assert grant.breadth == "anywhere"
    assert grant.phrase.startswith("ingress from anywhere")


def test_directions_follow_defaulted_policy_types() -> None:
    defaulted = explain({"podSelector": {}, "egress": [{}]})
    assert [d.state for d in defaulted.directions] == [ISOLATED, ISOLATED]
    ingress_only = explain({"podSelector": {}, "policyTypes": ["Ingress"], "egress": [{}]})
    assert [d.state for d in ingress_only.directions] == [ISOLATED, IGNORED]
    assert "Egress is not in policyTypes" in ingress_only.direction("egress").phrase
    assert [d.state for d in explain({"podSelector": {}}).directions] == [ISOLATED, NOT_AFFECTED]


def test_isolated_with_no_rules_allows_none() -> None:
    assert (
        explain({"podSelector": {}}).direction("ingress").phrase
        == "ingress is isolated and this policy allows none"
    )


def test_subject_is_namespace_plus_selector() -> None:
    assert (
        explain({"podSelector": {"matchLabels": {"app": "api"}}}).subject.phrase
        == "pods app=api in namespace shop"
    )
    assert explain({"podSelector": {}}).subject.phrase == "every pod in namespace shop"


def test_breadth_classes() -> None:
    spec = ingress(
        {"ipBlock": {"cidr": "1.2.3.0/24"}},
        {"namespaceSelector": {}},
        {"namespaceSelector": {"matchLabels": {"a": "b"}}},
        {"podSelector": {}},
        {"podSelector": {"matchLabels": {"app": "x"}}},
    )
    assert [g.breadth for g in explain(spec).direction("ingress").grants] == [
        "internet",
        "every-namespace",
        "namespaces-by-label",
        "this-namespace",
        "pods",
    ]
