"""The registry: catalog order, fixed ids and defaults, documented parameters, the embedded default file."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest
import yaml

from app.rules import REGISTRY
from app.ruleset import load_ruleset, parse_ruleset

CATALOG = {
    "require-policy-types": ("deny", {"mustInclude": []}),
    "forbid-allow-all": ("deny", {"allowPortScoped": True}),
    "require-labels": ("deny", {"labels": []}),
    "require-annotations": ("warn", {"annotations": []}),
    "forbid-broad-cidr": ("warn", {"ipv4MinPrefix": 16, "ipv6MinPrefix": 48, "allow": []}),
    "forbid-empty-pod-selector": ("warn", {}),
    "require-ports": ("warn", {}),
    "limit-port-range": ("warn", {"maxPorts": 100}),
    "require-dns-egress": ("off", {"dnsNamespaces": ["kube-system"]}),
    "limit-complexity": (
        "warn",
        {
            "maxRules": 50,
            "maxPeersPerRule": 50,
            "maxCidrs": 100,
            "maxExceptPerBlock": 50,
            "maxMatchExpressions": 10,
        },
    ),
    "protect-baseline": ("deny", {"allowedUsers": [], "allowedGroups": []}),
}
COMMON = {"action", "namespaces", "excludeNamespaces"}


def test_rules_are_registered_in_catalog_order() -> None:
    ids = list(REGISTRY)
    assert ids[: len(CATALOG)] == list(CATALOG)
    # api-validation is the only rule that may follow, and it comes last.
    assert ids[len(CATALOG) :] in ([], ["api-validation"])


@pytest.mark.parametrize(("rule_id", "defaults"), list(CATALOG.items()), ids=list(CATALOG))
def test_each_rule_has_the_documented_default_action_and_parameters(
    rule_id: str, defaults: tuple[str, dict[str, Any]]
) -> None:
    action, params = defaults
    dumped = REGISTRY[rule_id].settings_model().model_dump(by_alias=True, mode="json")
    assert dumped.pop("action") == action
    assert (dumped.pop("namespaces"), dumped.pop("excludeNamespaces")) == (["*"], [])
    assert dumped == params


@pytest.mark.parametrize("rule_id", list(CATALOG), ids=list(CATALOG))
def test_each_rule_explains_itself_and_its_parameters(rule_id: str) -> None:
    rule = REGISTRY[rule_id]
    assert rule.id == rule_id
    assert len(rule.rationale) > 20 and rule.rationale.endswith(".")
    for name, field in rule.settings_model.model_fields.items():
        assert field.description, f"{rule_id}.{field.alias or name} has no description"


def _default_file() -> dict[str, Any]:
    text = resources.files("app.data").joinpath("default-rules.yaml").read_text(encoding="utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def test_embedded_default_rules_equal_the_built_in_defaults() -> None:
    built_in = parse_ruleset({"apiVersion": "netpol-guard.io/v1alpha1", "kind": "RuleSet"}, "<built-in>")
    assert load_ruleset(None).model_dump() == built_in.model_dump()


@pytest.mark.parametrize("rule_id", list(REGISTRY), ids=list(REGISTRY))
def test_embedded_default_rules_spell_out_every_rule_and_parameter(rule_id: str) -> None:
    listed = _default_file()["rules"]
    assert rule_id in listed, f"{rule_id} is missing from app/data/default-rules.yaml"
    params = {
        field.alias or name for name, field in REGISTRY[rule_id].settings_model.model_fields.items()
    } - {"namespaces", "excludeNamespaces"}
    assert set(listed[rule_id]) == params
