"""How large a NetworkPolicy the exported policies judge, and the policy that denies larger ones.

The API server's CEL reads a typed object slowly: measured on kube-apiserver 1.36 on this project's
2-core machine, the default export spends about 0.7 ms per peer (640 peers: 0.6 s, 3,000: 2.5 s), and
one comprehension over 20,000 peers alone takes 1-2 s, growing faster than the size. A policy at the
webhook's own limits (100,000 peers, 2,000 rules) would run into the request timeout long before the
CEL cost budget. The exported rules therefore judge only policies within the bounds below (above the
largest counts in the shared corpus of 434 real policies: 10 rules, 638 peers, 10 ports, 4 except
entries), and `netpol-guard-size` denies anything larger with the count and the bound, so padding a
policy can never slip it past the rules. Only what the rules iterate is bounded (rules, peers, ports):
except lists and selectors are only ever measured with ``size()``, which costs the same at any length.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from app.export import cel
from app.netpol import EGRESS, INGRESS


@dataclass(frozen=True, slots=True)
class Bound:
    """One counted dimension: its name in messages, the CEL that counts it in a root, the most judged."""

    name: str
    count: Callable[[str], str]
    maximum: int


def _total(per_rule: str) -> Callable[[str], str]:
    """The sum over every rule of both directions of ``per_rule`` (CEL over ``r``, using ``{peers}``)."""

    def count(root: str) -> str:
        parts = []
        for direction in (INGRESS, EGRESS):
            rules = cel.rules(root, direction)
            parts.append(f"{rules}.map(r, {per_rule.format(peers=cel.peers('r', direction))}).sum()")
        return "(" + " + ".join(parts) + ")"

    return count


def _rules(root: str) -> str:
    return f"(size({cel.rules(root, INGRESS)}) + size({cel.rules(root, EGRESS)}))"


# In the order they are checked: each count is only taken once the ones before it are within bounds,
# so that no count iterates a list larger than a bound already checked.
BOUNDS: Final = (
    Bound("rules", _rules, 200),
    Bound("peers", _total("size({peers})"), 2_000),
    Bound("ports", _total(f"size({cel.ports('r')})"), 1_000),
)

SIZE_POLICY: Final = "netpol-guard-size"


def within_bounds(root: str = "object") -> str:
    """CEL: the object is small enough for the exported rules (a matchCondition of every rule policy)."""
    return "(" + " && ".join(f"{bound.count(root)} <= {bound.maximum}" for bound in BOUNDS) + ")"


def size_validations() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """(variables, validations) of the size policy: one validation per bound, each counted only when
    the bounds before it hold."""
    variables: list[dict[str, str]] = []
    validations: list[dict[str, str]] = []
    earlier: list[str] = []
    for index, bound in enumerate(BOUNDS):
        name = f"count_{index}"
        count = bound.count("object")
        guard = " && ".join(earlier)
        variables.append({"name": name, "expression": f"{guard} ? {count} : 0" if guard else count})
        limit = f"than the exported policies judge (at most {bound.maximum})"
        fix = "split the policy, or enforce it with the netpol-guard webhook, which judges larger ones"
        problem = f"[netpol-guard] spec: more {bound.name} {limit}"
        validations.append(
            {
                "expression": f"variables.{name} <= {bound.maximum}",
                "message": f"{problem}. Fix: {fix}",
                "messageExpression": (
                    f'"[netpol-guard] spec: " + string(variables.{name}) + '
                    + cel.string(f" {bound.name} are more {limit}. Fix: {fix}")
                ),
                "reason": "Forbidden",
            }
        )
        earlier.append(f"variables.{name} <= {bound.maximum}")
    return variables, validations
