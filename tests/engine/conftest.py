"""Rule sets and policies shared by the engine tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.ruleset import RuleSet, parse_ruleset


def build_ruleset(**top: Any) -> RuleSet:
    """A validated rule set from top-level keys (``rules={...}``, ``mode=...``, ``exemptions={...}``)."""
    return parse_ruleset({"apiVersion": "netpol-guard.io/v1alpha1", "kind": "RuleSet", **top}, "<test rules>")


def build_policy(
    spec: dict[str, Any] | None = None, namespace: str | None = "team-a", **metadata: Any
) -> dict[str, Any]:
    """A NetworkPolicy manifest; the default spec is clean under the default rules."""
    meta: dict[str, Any] = {"name": "web", **metadata}
    if namespace is not None:
        meta["namespace"] = namespace
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": meta,
        "spec": spec if spec is not None else CLEAN,
    }


WEB = {"matchLabels": {"app": "web"}}
CLEAN = {
    "podSelector": WEB,
    "policyTypes": ["Ingress"],
    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "lb"}}}], "ports": [{"port": 80}]}],
}
# forbid-allow-all (deny) at spec.ingress[0].
ALLOW_ALL = {"podSelector": WEB, "policyTypes": ["Ingress"], "ingress": [{}]}
# forbid-empty-pod-selector (warn) at spec.podSelector.
EVERY_POD = {**CLEAN, "podSelector": {}}


@pytest.fixture
def ruleset() -> Callable[..., RuleSet]:
    return build_ruleset


@pytest.fixture
def policy() -> Callable[..., dict[str, Any]]:
    return build_policy
