"""Policies built from specs, explained and diffed the way the CLI does (typed view, API defaulting)."""

from __future__ import annotations

from typing import Any

from app.explain.diff import Change, diff_explanations
from app.explain.model import PolicyExplanation, explain_policy
from app.netpol import decode_policy


def manifest(spec: Any, name: str = "np", namespace: str | None = "shop") -> dict[str, Any]:
    """A NetworkPolicy manifest with ``spec``."""
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata, "spec": spec}


def explain(spec: Any, name: str = "np", namespace: str | None = "shop") -> PolicyExplanation:
    """The explanation of a policy with ``spec``."""
    return explain_policy(decode_policy(manifest(spec, name, namespace)))


def phrases(spec: Any, direction: str = "ingress", namespace: str | None = "shop") -> list[str]:
    """The grant phrases of one direction."""
    return [g.phrase for g in explain(spec, namespace=namespace).direction(direction).grants]


def changes(old: Any, new: Any) -> list[Change]:
    """The changes between two specs of the same policy (None: the policy does not exist)."""
    before = [explain(old)] if old is not None else []
    after = [explain(new)] if new is not None else []
    return list(diff_explanations(before, after).changes)


def kinds(old: Any, new: Any) -> list[str]:
    return [c.kind for c in changes(old, new)]
