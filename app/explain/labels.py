"""Label selectors in normal form: exact implication, intersection and emptiness, and their wording.

Each key of a selector is one constraint on the label's value, over the domain "absent" plus every
string: either a finite set of allowed values (``matchLabels``, ``In``, ``DoesNotExist``) or everything
except a finite set (``NotIn``, ``Exists``). The requirements of one key intersect; keys are independent
and each key's domain is infinite, so "selector A selects only pods B selects" is decided exactly, key
by key. Namespaces always carry ``kubernetes.io/metadata.name``, so every namespace selector includes
"that label exists": ``namespaceSelector: {}`` and ``Exists`` on that key are the same selector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from app.netpol import LabelSelector

ABSENT: Final = None
"""The value of a label a pod does not carry."""
NAME_LABEL: Final = "kubernetes.io/metadata.name"
"""Set by the API server on every namespace to the namespace's name."""

Value = str | None


@dataclass(frozen=True, slots=True, order=True)
class Constraint:
    """The values one key may take: ``values`` when ``finite``, else anything but ``values``."""

    finite: bool
    values: tuple[Value, ...]  # sorted, ABSENT (None) first

    @staticmethod
    def of(finite: bool, values: frozenset[Value]) -> Constraint:
        return Constraint(finite, tuple(sorted(values, key=lambda v: (v is not None, v or ""))))

    @property
    def is_universal(self) -> bool:
        return not self.finite and not self.values

    @property
    def is_empty(self) -> bool:
        return self.finite and not self.values

    def allows(self, value: Value) -> bool:
        return (value in self.values) == self.finite

    def intersect(self, other: Constraint) -> Constraint:
        mine, theirs = frozenset(self.values), frozenset(other.values)
        if self.finite and other.finite:
            return Constraint.of(True, mine & theirs)
        if self.finite:
            return Constraint.of(True, mine - theirs)
        if other.finite:
            return Constraint.of(True, theirs - mine)
        return Constraint.of(False, mine | theirs)

    def within(self, other: Constraint) -> bool:
        """True when every value this allows, ``other`` allows too."""
        mine, theirs = frozenset(self.values), frozenset(other.values)
        if self.finite:
            return mine <= theirs if other.finite else not (mine & theirs)
        return False if other.finite else theirs <= mine

    def example(self) -> Value:
        """A value this allows, preferring absent (which most other selectors refuse)."""
        if self.finite:
            return self.values[0]
        if ABSENT not in self.values:
            return ABSENT
        taken = set(self.values)
        candidate, counter = "x", 0
        while candidate in taken:
            counter += 1
            candidate = f"x{counter}"
        return candidate


UNIVERSAL: Final = Constraint(False, ())
PRESENT: Final = Constraint(False, (ABSENT,))


@dataclass(frozen=True, slots=True, order=True)
class Selector:
    """A selector in normal form: the non-universal constraints, sorted by key.

    ``empty`` marks a selector no object can satisfy (``a In [x]`` with ``a DoesNotExist``).
    """

    constraints: tuple[tuple[str, Constraint], ...] = ()
    empty: bool = False

    def constraint(self, key: str) -> Constraint:
        for name, constraint in self.constraints:
            if name == key:
                return constraint
        return UNIVERSAL

    def within(self, other: Selector) -> bool:
        """True when everything this selects, ``other`` selects too (exact)."""
        if self.empty:
            return True
        if other.empty:
            return False
        return all(self.constraint(key).within(constraint) for key, constraint in other.constraints)

    def intersect(self, other: Selector) -> Selector:
        merged: dict[str, Constraint] = dict(self.constraints)
        for key, constraint in other.constraints:
            merged[key] = merged[key].intersect(constraint) if key in merged else constraint
        return _normal(merged, self.empty or other.empty)

    def disjoint(self, other: Selector) -> bool:
        """True when no object can match both."""
        return self.intersect(other).empty

    def matches(self, labels: Mapping[str, str]) -> bool:
        return not self.empty and all(c.allows(labels.get(key)) for key, c in self.constraints)

    def example(self) -> dict[str, str]:
        """Labels of an object this selects with as few labels as possible (nothing for an empty one)."""
        labels: dict[str, str] = {}
        for key, constraint in self.constraints:
            value = constraint.example()
            if value is not None:
                labels[key] = value
        return labels

    def to_json(self) -> list[dict[str, object]]:
        return [
            {"key": key, "allowed" if c.finite else "forbidden": list(c.values)}
            for key, c in self.constraints
        ]


def _normal(constraints: dict[str, Constraint], empty: bool = False) -> Selector:
    if empty or any(c.is_empty for c in constraints.values()):
        return Selector((), True)
    return Selector(tuple(sorted((k, c) for k, c in constraints.items() if not c.is_universal)))


SelectorKey = tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, tuple[str, ...]], ...], bool]


def normalise(selector: LabelSelector | None, *, namespace: bool = False) -> Selector:
    """The normal form of a decoded selector; ``namespace`` adds the name label every namespace has."""
    if not selector:
        return _EMPTY_NAMESPACE if namespace else _EMPTY
    labels = selector.get("matchLabels")
    expressions = selector.get("matchExpressions")
    key: SelectorKey = (
        tuple(labels.items()) if labels else (),
        tuple((e.get("key", ""), e.get("operator", ""), tuple(e.get("values") or ())) for e in expressions)
        if expressions
        else (),
        namespace,
    )
    return _normalise(key)


# Pure, and the same selectors recur across policies and requests: memoised, bounded so that hostile
# input cannot grow it.
@lru_cache(maxsize=8192)
def _normalise(selector: SelectorKey) -> Selector:
    labels, expressions, namespace = selector
    constraints: dict[str, Constraint] = {NAME_LABEL: PRESENT} if namespace else {}

    def add(key: str, constraint: Constraint) -> None:
        constraints[key] = constraints[key].intersect(constraint) if key in constraints else constraint

    for key, value in labels:
        add(key, Constraint(True, (value,)))
    for key, operator, listed in expressions:
        values = frozenset(listed)
        if operator == "In":
            add(key, Constraint.of(True, values))
        elif operator == "NotIn":
            add(key, Constraint.of(False, values))
        elif operator == "Exists":
            add(key, PRESENT)
        elif operator == "DoesNotExist":
            add(key, Constraint.of(True, frozenset({ABSENT})))
        else:
            # The API server rejects any other operator; such a selector matches nothing.
            return Selector((), True)
    return _normal(constraints)


_EMPTY: Final = Selector()
_EMPTY_NAMESPACE: Final = Selector(((NAME_LABEL, PRESENT),))


@lru_cache(maxsize=8192)
def named_namespace(name: str) -> Selector:
    """The namespace selector that selects exactly the namespace ``name``."""
    return Selector(((NAME_LABEL, Constraint.of(True, frozenset({name}))),))


def _values(values: tuple[Value, ...]) -> str:
    return ", ".join(v for v in values if v is not None)


def _requirement_phrase(key: str, constraint: Constraint, noun: str) -> str:
    values = [v for v in constraint.values if v is not None]
    has_absent = ABSENT in constraint.values
    if constraint.finite:
        if not values:
            return f"without label {key}"
        shown = f"{key}={values[0]}" if len(values) == 1 else f"{key} in ({_values(constraint.values)})"
        return f"{shown} or without label {key}" if has_absent else shown
    if not values:
        return f"with label {key}"
    shown = f"{key} not in ({_values(constraint.values)})"
    return shown if has_absent else f"{shown} (also {noun} without the label)"


@lru_cache(maxsize=4096)  # pure; the same selectors recur
def phrase_pods(selector: Selector) -> str:
    """``every pod``, ``pods app=web``, ``no pods (the selector can never match)``."""
    if selector.empty:
        return "no pods (the selector can never match)"
    if not selector.constraints:
        return "every pod"
    return "pods " + ", ".join(_requirement_phrase(k, c, "pods") for k, c in selector.constraints)


@lru_cache(maxsize=4096)  # pure; the same selectors recur
def phrase_namespaces(selector: Selector) -> str:
    """``every namespace``, ``namespace x``, ``namespaces team=ops``."""
    if selector.empty:
        return "no namespace (the selector can never match)"
    parts: list[str] = []
    names = ""
    for key, constraint in selector.constraints:
        if key == NAME_LABEL:
            if constraint == PRESENT:
                continue
            if constraint.finite and ABSENT not in constraint.values:
                listed = [v for v in constraint.values if v is not None]
                names = ("namespace " if len(listed) == 1 else "namespaces ") + ", ".join(listed)
                continue
        parts.append(_requirement_phrase(key, constraint, "namespaces"))
    if names:
        return names + (f" if labelled {', '.join(parts)}" if parts else "")
    if not parts:
        return "every namespace"
    return "namespaces " + ", ".join(parts)
