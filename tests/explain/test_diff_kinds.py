"""`diff` change kinds, one pair each, and rewrites that mean the same thing (no change)."""

from __future__ import annotations

from typing import Any

import pytest
from explain_cases import changes, explain, kinds

from app.explain.diff import NO_CHANGE, diff_explanations

WEB = {"podSelector": {"matchLabels": {"app": "web"}}}
OPS = {"namespaceSelector": {"matchLabels": {"team": "ops"}}}


def ingress(*rules: Any, **extra: Any) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": {"app": "api"}}, "ingress": list(rules), **extra}


def test_a_new_peer_opens() -> None:
    found = changes(ingress({"from": [WEB]}), ingress({"from": [WEB, OPS]}))
    assert [(c.kind, c.direction) for c in found] == [("opens", "ingress")]
    assert found[0].phrase == "opens ingress from every pod in namespaces team=ops on every port and protocol"
    assert found[0].new_path == "spec.ingress[0].from[1]"


def test_a_removed_peer_closes() -> None:
    found = changes(ingress({"from": [WEB, OPS]}), ingress({"from": [WEB]}))
    assert [(c.kind, c.old_path) for c in found] == [("closes", "spec.ingress[0].from[1]")]


def test_more_ports_for_the_same_peer_widens_old_to_new() -> None:
    old = ingress({"from": [WEB], "ports": [{"port": 80}]})
    new = ingress({"from": [WEB], "ports": [{"port": 80}, {"port": 443}]})
    [change] = changes(old, new)
    assert change.kind == "widens"
    assert change.ports == "TCP port 80 -> TCP ports 80, 443"


def test_fewer_ports_for_the_same_peer_narrows() -> None:
    old = ingress({"from": [WEB], "ports": [{"port": 80}, {"port": 443}]})
    new = ingress({"from": [WEB], "ports": [{"port": 80}]})
    assert kinds(old, new) == ["narrows"]


def test_other_ports_for_the_same_peer_widen_and_narrow() -> None:
    old = ingress({"from": [WEB], "ports": [{"port": 80}]})
    new = ingress({"from": [WEB], "ports": [{"port": 81}]})
    assert kinds(old, new) == ["widens", "narrows"]


def test_adding_egress_to_policy_types_isolates_it() -> None:
    old = ingress(
        {"from": [WEB]}, egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}], policyTypes=["Ingress"]
    )
    new = {**old, "policyTypes": ["Ingress", "Egress"]}
    assert kinds(old, new) == ["opens", "isolates"]
    assert changes(old, new)[1].new_path == "spec.policyTypes[1]"


def test_dropping_egress_from_policy_types_stops_isolating() -> None:
    new = ingress(
        {"from": [WEB]}, egress=[{"ports": [{"port": 53, "protocol": "UDP"}]}], policyTypes=["Ingress"]
    )
    old = {**new, "policyTypes": ["Ingress", "Egress"]}
    found = changes(old, new)
    assert [c.kind for c in found] == ["stops-isolating", "closes"]
    assert "if no other policy selects pods app=api in namespace shop for egress" in found[0].phrase


def test_a_created_policy_isolates_and_a_deleted_one_stops_isolating() -> None:
    spec = ingress({"from": [WEB]})
    assert kinds(None, spec) == ["opens", "isolates"]
    assert kinds(spec, None) == ["stops-isolating", "closes"]


def test_a_changed_pod_selector_selects() -> None:
    old = ingress({"from": [WEB]})
    new = {**old, "podSelector": {"matchLabels": {"app": "api2"}}}
    [change] = changes(old, new)
    assert change.kind == "selects"
    assert change.phrase == "now selects pods app=api2 in namespace shop (was pods app=api in namespace shop)"


def test_a_named_port_replacing_a_number_cannot_be_told() -> None:
    old = ingress({"from": [WEB], "ports": [{"port": 8080}]})
    new = ingress({"from": [WEB], "ports": [{"port": "http"}]})
    assert kinds(old, new) == ["unknown"]
    assert changes(old, new)[0].phrase.startswith("cannot tell if wider")


def test_a_selector_only_partly_covered_by_not_in_is_unknown() -> None:
    # The narrowest pod for `app=web` has no `tier`, which NotIn admits; with tier=db it would not be.
    not_db = {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]}]}}
    assert kinds(ingress({"from": [not_db]}), ingress({"from": [not_db, WEB]})) == ["unknown"]


def test_a_peer_covered_by_a_wider_one_changes_nothing() -> None:
    every = {"namespaceSelector": {}}
    assert kinds(ingress({"from": [every]}), ingress({"from": [every, WEB]})) == []


def test_a_narrower_ip_range_inside_an_existing_one_changes_nothing() -> None:
    wide = {"ipBlock": {"cidr": "10.0.0.0/8"}}
    assert (
        kinds(ingress({"from": [wide]}), ingress({"from": [wide, {"ipBlock": {"cidr": "10.1.0.0/16"}}]}))
        == []
    )


def test_removing_an_except_opens_exactly_that_range() -> None:
    old = ingress({"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]})
    new = ingress({"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]})
    [change] = changes(old, new)
    assert change.kind == "opens"
    assert change.ports == "every port and protocol"


EQUAL_MEANING = [
    (
        ingress({"from": [WEB], "ports": [{"port": 80}]}, {"from": [OPS]}),
        ingress({"from": [OPS]}, {"from": [WEB], "ports": [{"port": 80}]}),
    ),
    (
        ingress({"from": [WEB, OPS], "ports": [{"port": 80}]}),
        ingress(
            {"from": [WEB], "ports": [{"port": 80}]},
            {"from": [OPS], "ports": [{"port": 80, "protocol": "TCP"}]},
        ),
    ),
    (
        ingress({"from": [WEB], "ports": [{"port": 80}, {"port": 81}]}),
        ingress({"from": [WEB], "ports": [{"port": 80, "endPort": 81}]}),
    ),
    (
        ingress({"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}),
        ingress({"from": [{"ipBlock": {"cidr": "10.0.0.0/9"}}, {"ipBlock": {"cidr": "10.128.0.0/9"}}]}),
    ),
    (
        ingress({"from": [{"namespaceSelector": {}}]}),
        ingress(
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "Exists"}]
                        }
                    }
                ]
            }
        ),
    ),
    (
        ingress({"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}),
        ingress(
            {
                "from": [
                    {
                        "podSelector": {
                            "matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]
                        }
                    }
                ]
            }
        ),
    ),
    (
        ingress({"from": [WEB]}),
        ingress(
            {"from": [{**WEB, "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "shop"}}}]}
        ),
    ),
    (ingress({"from": [WEB]}), {**ingress({"from": [WEB]}), "policyTypes": ["Ingress"]}),
    (ingress({}), ingress({"from": [], "ports": []})),
]


@pytest.mark.parametrize(
    ("old", "new"),
    EQUAL_MEANING,
    ids=[
        "reordered-rules",
        "split-peers",
        "range-for-two-ports",
        "split-cidr",
        "empty-namespace-selector-is-name-exists",
        "match-labels-is-in",
        "this-namespace-by-name",
        "defaulted-policy-types",
        "empty-lists-are-absent",
    ],
)
def test_a_rewrite_with_the_same_meaning_is_no_change(old: dict[str, Any], new: dict[str, Any]) -> None:
    result = diff_explanations([explain(old)], [explain(new)])
    assert result.changes == ()
    assert result.summary == NO_CHANGE


def test_changes_are_ordered_by_kind_then_breadth() -> None:
    old = ingress({"from": [WEB], "ports": [{"port": 80}]})
    new = ingress(
        {"from": [WEB], "ports": [{"port": 80}, {"port": 81}]},
        {"from": [{"podSelector": {"matchLabels": {"app": "x"}}}, {"namespaceSelector": {}}]},
        {"from": [{"ipBlock": {"cidr": "1.0.0.0/8"}}]},
    )
    assert [(c.kind, c.breadth) for c in changes(old, new)] == [
        ("opens", "internet"),
        ("opens", "every-namespace"),
        ("opens", "pods"),
        ("widens", "pods"),
    ]


def test_summary_counts_kinds() -> None:
    result = diff_explanations([explain(ingress({"from": [WEB]}))], [explain(ingress({"from": [OPS]}))])
    assert result.summary == "1 opens, 1 closes in 1 policy"
