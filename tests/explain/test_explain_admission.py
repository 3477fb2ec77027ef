"""What `explain` adds to admission warnings: changes on UPDATE, a summary on CREATE, one line on DELETE,
each one clean line, within the budget shared with the rule warnings."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
from explain_cases import manifest

from app.admission.handler import AdmissionHandler
from app.admission.warnings import HARD_LIMIT, TOTAL_LIMIT, fit_warnings
from app.engine import Violation
from app.explain.admission import MAX_COMPARED_GRANTS, admission_lines
from app.netpol import decode_policy
from app.rules.base import Action
from app.ruleset import parse_ruleset_text

API = {
    "podSelector": {"matchLabels": {"app": "api"}},
    "policyTypes": ["Ingress"],
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 8080}]}],
}
OTHER = {
    **API,
    "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"team": "ops"}}}], "ports": [{"port": 8080}]}
    ],
}


def rules(explain: str | None = None, extra: str = "") -> Any:
    text = (
        "apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\nexemptions: {namespaces: []}\n"
        "rules:\n  api-validation: {action: deny}\n" + extra
    )
    if explain is not None:
        text += f"explain: {{admission: {explain}}}\n"
    return parse_ruleset_text(text, "<test rules>")


def review(operation: str, new: Any = None, old: Any = None) -> bytes:
    request: dict[str, Any] = {
        "uid": "u-1",
        "kind": {"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"},
        "resource": {"group": "networking.k8s.io", "version": "v1", "resource": "networkpolicies"},
        "namespace": "shop",
        "name": "api",
        "operation": operation,
        "userInfo": {"username": "alice"},
        "object": manifest(new, "api") if new is not None else None,
        "oldObject": manifest(old, "api") if old is not None else None,
    }
    return orjson.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})


def warnings(body: bytes, explain: str | None = None, extra: str = "") -> list[str]:
    answer = orjson.loads(AdmissionHandler(rules(explain, extra)).handle(body, "application/json").body)
    found: list[str] = answer["response"].get("warnings", [])
    return found


def test_update_warns_what_it_opens_and_closes_by_default() -> None:
    assert warnings(review("UPDATE", OTHER, API)) == [
        "explain: opens ingress from every pod in namespaces team=ops on TCP port 8080 "
        "(spec.ingress[0].from[0])",
        "explain: closes ingress from pods app=web in namespace shop (this policy's namespace) on TCP port "
        "8080 "
        "(spec.ingress[0].from[0])",
    ]


def test_update_that_changes_nothing_allowed_says_nothing() -> None:
    relabelled = copy.deepcopy(API)
    relabelled["ingress"][0]["ports"] = [{"port": 8080, "protocol": "TCP"}]
    assert warnings(review("UPDATE", relabelled, API)) == []


def test_update_isolation_change_is_reported() -> None:
    both = {**API, "policyTypes": ["Ingress", "Egress"]}
    assert warnings(review("UPDATE", both, API)) == [
        "explain: isolates egress: egress of pods app=api in namespace shop is allowed only as policies "
        "allow "
        "(spec.policyTypes[1])"
    ]


def test_summary_mode_counts_the_changes_of_an_update() -> None:
    assert warnings(review("UPDATE", OTHER, API), "summary") == [
        "explain: this update: 1 opens, 1 closes; run netpol-guard diff for details"
    ]


def test_create_says_one_line_per_isolated_direction() -> None:
    both = {**API, "policyTypes": ["Ingress", "Egress"]}
    found = warnings(review("CREATE", both))
    assert found == [
        "explain: isolates ingress of pods app=api in namespace shop: allows from pods app=web in namespace "
        "shop "
        "(this policy's namespace) on TCP port 8080",
        "explain: isolates egress of pods app=api in namespace shop: allows none; no grant reaches port 53: "
        "name "
        "lookups (DNS) fail unless another policy allows them",
    ]


def test_delete_says_one_conditional_line() -> None:
    assert warnings(review("DELETE", old=API)) == [
        "explain: if no other policy selects pods app=api in namespace shop for ingress, they accept traffic "
        "from anywhere again"
    ]


def test_off_says_nothing() -> None:
    assert warnings(review("UPDATE", OTHER, API), "off") == []
    assert warnings(review("CREATE", API), "off") == []
    assert warnings(review("DELETE", old=API), "off") == []


def test_a_denied_write_gets_no_explain_lines() -> None:
    bad = {**API, "policyTypes": ["Sideways"]}
    assert not any(w.startswith("explain:") for w in warnings(review("CREATE", bad)))


def test_an_unknown_explain_mode_is_a_rules_file_error() -> None:
    from app.errors import RulesFileError

    with pytest.raises(RulesFileError, match=r"explain\.admission"):
        rules("sometimes")


def test_warnings_carry_no_control_characters_and_stay_under_256() -> None:
    label = "a" * 63
    spec = {
        "podSelector": {"matchLabels": {f"k{i}": label for i in range(6)}},
        "ingress": [{"from": [{"podSelector": {"matchLabels": {"x\u0085y": "v\x07"}}}]}],
    }
    for line in admission_lines("CREATE", None, decode_policy(manifest(spec, "api"))):
        assert len(line) <= HARD_LIMIT
        assert all(ord(c) >= 32 and not 0x7F <= ord(c) <= 0x9F for c in line)


def test_explain_lines_come_after_rule_warnings_and_share_the_budget() -> None:
    violations = [
        Violation("require-labels", Action.WARN, "metadata.labels", f"label {i} missing", "add it")
        for i in range(3)
    ]
    explain = [
        f"explain: opens ingress from pods app=x{i} in namespace shop on TCP port {i}" for i in range(200)
    ]
    lines = fit_warnings(violations, explain)
    assert [line.startswith("[require-labels]") for line in lines[:3]] == [True, True, True]
    assert sum(len(line.encode()) + 1 for line in lines) < TOTAL_LIMIT
    kept = len([line for line in lines if line.startswith("explain:")])
    assert lines[-1] == f"... {200 - kept} more: run netpol-guard diff"


def test_admission_lines_are_deterministic() -> None:
    old, new = decode_policy(manifest(API, "api")), decode_policy(manifest(OTHER, "api"))
    assert admission_lines("UPDATE", old, new) == admission_lines("UPDATE", old, new)


def test_an_update_too_large_to_compare_says_so_in_one_line_instead_of_comparing() -> None:
    peers = [{"ipBlock": {"cidr": f"10.0.{i // 256}.{i % 256}/32"}} for i in range(MAX_COMPARED_GRANTS + 1)]
    huge = {**API, "ingress": [{"from": peers, "ports": [{"port": 8080}]}]}
    assert [line for line in warnings(review("UPDATE", huge, API)) if line.startswith("explain:")] == [
        f"explain: not compared at admission ({MAX_COMPARED_GRANTS + 1} grants, over {MAX_COMPARED_GRANTS}); "
        "run netpol-guard diff for what this update opens or closes"
    ]


def test_an_update_at_the_comparison_budget_is_still_compared() -> None:
    peers = [{"ipBlock": {"cidr": f"10.0.{i // 256}.{i % 256}/32"}} for i in range(MAX_COMPARED_GRANTS)]
    huge = {**API, "ingress": [{"from": peers, "ports": [{"port": 8080}]}]}
    found = warnings(review("UPDATE", huge, API))
    assert found and not any("not compared" in line for line in found)
    assert any(line.startswith("explain: opens ingress from") for line in found)
