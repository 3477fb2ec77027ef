"""The by-subject view of many policies: per namespace and pod selector, the union of their grants.

Policies add up: pods selected by several policies get the union of their grants. Policies with the
same namespace and the same selector (in normal form) are one subject; two different selectors in one
namespace that are not provably disjoint "may select the same pods".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.explain.labels import Selector
from app.explain.model import ISOLATED, Grant, PolicyExplanation


@dataclass(frozen=True, slots=True)
class SubjectGroup:
    """Every policy selecting the same pods, with each grant credited to its policy."""

    namespace: str | None
    selector: Selector
    phrase: str
    policies: tuple[PolicyExplanation, ...]
    grants: tuple[tuple[PolicyExplanation, Grant], ...]
    isolated: tuple[str, ...]
    may_overlap: tuple[str, ...]


def group_by_subject(policies: Sequence[PolicyExplanation]) -> list[SubjectGroup]:
    """Subjects sorted by namespace and phrase."""
    members: dict[tuple[str, Selector], list[PolicyExplanation]] = {}
    for policy in policies:
        members.setdefault((policy.namespace or "", policy.subject.selector), []).append(policy)
    groups: list[SubjectGroup] = []
    keys = sorted(members, key=lambda key: (key[0], members[key][0].subject.phrase))
    for key in keys:
        found = members[key]
        namespace, selector = key
        overlaps = tuple(
            members[other][0].subject.phrase
            for other in keys
            if other != key and other[0] == namespace and not selector.disjoint(other[1])
        )
        grants = tuple(
            (policy, grant)
            for direction in ("ingress", "egress")
            for policy in found
            if (state := policy.direction(direction)).state == ISOLATED
            for grant in state.grants
        )
        isolated = tuple(
            direction
            for direction in ("ingress", "egress")
            if any(p.direction(direction).state == ISOLATED for p in found)
        )
        groups.append(
            SubjectGroup(
                found[0].namespace,
                selector,
                found[0].subject.phrase,
                tuple(found),
                grants,
                isolated,
                overlaps,
            )
        )
    return groups
