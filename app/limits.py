"""The size of a policy netpol-guard judges, checked on the parsed JSON before the typed view is built.

A schema-valid NetworkPolicy can list hundreds of thousands of empty rules, peers, ports, labels or except
entries in the 3 MiB the API server accepts. Building the typed view and running every rule over that
costs seconds and hundreds of megabytes while the API server (and everyone writing NetworkPolicies) waits.
`measure` counts each dimension below with ``len`` on the containers, level by level, and stops at the
first count over its limit, so its own work is bounded by the limits, never by the object. Limits are
totals per object (not per rule) because the cost is the total; each is over 100 times the largest count
in the shared corpus of real policies (docs/limits.md has the numbers).

A value of the wrong JSON type is not counted here: the decoder reports it as the API server would.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from app.errors import NetpolGuardError


@dataclass(frozen=True, slots=True)
class Limit:
    """One bounded dimension: what is counted, where (for messages) and the most allowed."""

    name: str
    where: str
    path: str
    maximum: int


RULES: Final = Limit("rules", "spec.ingress and spec.egress", "spec", 2_000)
PEERS: Final = Limit("peers", "from/to entries of all rules", "spec", 64_000)
PORTS: Final = Limit("ports", "ports entries of all rules", "spec", 5_000)
EXCEPTS: Final = Limit("except entries", "ipBlock.except lists", "spec", 5_000)
SELECTOR_LABELS: Final = Limit("selector labels", "matchLabels of all selectors", "spec", 20_000)
EXPRESSIONS: Final = Limit("match expressions", "matchExpressions of all selectors", "spec", 5_000)
EXPRESSION_VALUES: Final = Limit(
    "expression values", "matchExpressions[].values of all selectors", "spec", 10_000
)
POLICY_TYPES: Final = Limit("policy types", "spec.policyTypes", "spec.policyTypes", 200)
METADATA_LABELS: Final = Limit("labels", "metadata.labels", "metadata.labels", 1_000)
ANNOTATIONS: Final = Limit("annotations", "metadata.annotations", "metadata.annotations", 1_000)
MANAGED_FIELDS: Final = Limit(
    "managedFields entries", "metadata.managedFields", "metadata.managedFields", 1_000
)

LIMITS: Final = (
    RULES,
    PEERS,
    PORTS,
    EXCEPTS,
    SELECTOR_LABELS,
    EXPRESSIONS,
    EXPRESSION_VALUES,
    POLICY_TYPES,
    METADATA_LABELS,
    ANNOTATIONS,
    MANAGED_FIELDS,
)
"""Every limit, in the order `measure` checks them (and docs/limits.md lists them)."""


class PolicyTooLargeError(NetpolGuardError):
    """The object is over one of the `LIMITS`; netpol-guard refuses it without judging it."""

    def __init__(self, limit: Limit, count: int) -> None:
        self.limit = limit
        self.count = count
        super().__init__(
            f"{count} {limit.name} ({limit.where}) exceed netpol-guard's limit of {limit.maximum}"
        )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _check(totals: dict[str, int], limit: Limit, count: int) -> None:
    totals[limit.name] = count
    if count > limit.maximum:
        raise PolicyTooLargeError(limit, count)


def measure(obj: Any) -> dict[str, int]:
    """Count every dimension of the parsed object; raise `PolicyTooLargeError` at the first one over its
    limit. Returns the totals by `Limit.name` (what the benchmark and the corpus measurement read).

    Level by level: a list is only walked after its length was checked, so a policy of a thousand rules
    with a thousand peers each stops after a thousand ``len`` calls.
    """
    totals: dict[str, int] = {}
    root = _dict(obj)
    meta = _dict(root.get("metadata"))
    _check(totals, METADATA_LABELS, len(_dict(meta.get("labels"))))
    _check(totals, ANNOTATIONS, len(_dict(meta.get("annotations"))))
    _check(totals, MANAGED_FIELDS, len(_list(meta.get("managedFields"))))
    spec = _dict(root.get("spec"))
    _check(totals, POLICY_TYPES, len(_list(spec.get("policyTypes"))))
    ingress, egress = _list(spec.get("ingress")), _list(spec.get("egress"))
    _check(totals, RULES, len(ingress) + len(egress))

    ports = 0
    peer_lists: list[list[Any]] = []
    for rules, peer_field in ((ingress, "from"), (egress, "to")):
        for rule in rules:
            if isinstance(rule, dict):
                ports += len(_list(rule.get("ports")))
                peer_lists.append(_list(rule.get(peer_field)))
    _check(totals, PORTS, ports)
    _check(totals, PEERS, sum(map(len, peer_lists)))

    excepts = 0
    selectors: list[dict[str, Any]] = [_dict(spec.get("podSelector"))]
    for peers in peer_lists:
        for peer in peers:
            if isinstance(peer, dict):
                block, pods, namespaces = (
                    peer.get("ipBlock"),
                    peer.get("podSelector"),
                    peer.get("namespaceSelector"),
                )
                if isinstance(block, dict):
                    excepts += len(_list(block.get("except")))
                if isinstance(pods, dict):
                    selectors.append(pods)
                if isinstance(namespaces, dict):
                    selectors.append(namespaces)
    _check(totals, EXCEPTS, excepts)

    labels = 0
    expression_lists: list[list[Any]] = []
    for selector in selectors:
        labels += len(_dict(selector.get("matchLabels")))
        expression_lists.append(_list(selector.get("matchExpressions")))
    _check(totals, SELECTOR_LABELS, labels)
    _check(totals, EXPRESSIONS, sum(map(len, expression_lists)))
    values = 0
    for expressions in expression_lists:
        for expression in expressions:
            if isinstance(expression, dict):
                values += len(_list(expression.get("values")))
    _check(totals, EXPRESSION_VALUES, values)
    return totals
