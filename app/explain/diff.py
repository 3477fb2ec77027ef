"""What a change to NetworkPolicies opens or closes, grant by grant, from two sets of explanations.

Policies are paired by namespace/name. Within a direction, grants with the same peer (in normal form)
are merged and their ports unioned, so reordered rules, split peers and reformatting compare equal. A
peer only on the new side opens what the old grants do not already admit (and the reverse closes); a
peer on both sides with other ports widens or narrows. A direction that becomes isolated (policyTypes,
or a created policy) "isolates" and its grants open; the reverse "stops-isolating" and closes, so
``diff A B`` opens exactly what ``diff B A`` closes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from app.explain.coverage import COVERED, OPENS, UNKNOWN, cover
from app.explain.model import BREADTHS, ISOLATED, Grant, Peer, PolicyExplanation
from app.explain.ports import PortSet, phrase_ports

OPENS_KIND: Final = "opens"
WIDENS: Final = "widens"
STOPS_ISOLATING: Final = "stops-isolating"
SELECTS: Final = "selects"
UNKNOWN_KIND: Final = "unknown"
ISOLATES: Final = "isolates"
NARROWS: Final = "narrows"
CLOSES: Final = "closes"
KINDS: Final = (OPENS_KIND, WIDENS, STOPS_ISOLATING, SELECTS, UNKNOWN_KIND, ISOLATES, NARROWS, CLOSES)
"""Change kinds in report order: what lets more traffic through first."""
NO_CHANGE: Final = "no change in what is allowed"


@dataclass(frozen=True, slots=True)
class Change:
    """One difference in what is allowed."""

    kind: str
    policy: str
    direction: str  # "ingress" | "egress" | "" (the subject)
    subject: str
    breadth: str
    phrase: str
    peer: str = ""
    ports: str = ""
    old_path: str | None = None
    new_path: str | None = None
    old_file: str | None = None
    new_file: str | None = None
    old_line: int | None = None
    new_line: int | None = None

    @property
    def file(self) -> str | None:
        return self.new_file if self.new_file is not None else self.old_file

    @property
    def line(self) -> int | None:
        return self.new_line if self.new_file is not None else self.old_line

    @property
    def path(self) -> str:
        return self.new_path or self.old_path or ""

    def sort_key(self) -> tuple[int, int, str, str, str, str]:
        return (
            KINDS.index(self.kind),
            BREADTHS.index(self.breadth) if self.breadth in BREADTHS else len(BREADTHS),
            self.policy,
            self.direction,
            self.path,
            self.phrase,
        )


@dataclass(frozen=True, slots=True)
class PolicyPair:
    """The two sides of one policy (None where it does not exist) and what changed."""

    old: PolicyExplanation | None
    new: PolicyExplanation | None
    changes: tuple[Change, ...] = field(default=())

    @property
    def name(self) -> str:
        side = self.new or self.old
        assert side is not None
        return side.display_name


@dataclass(frozen=True, slots=True)
class DiffResult:
    """Every paired policy and every change, in report order."""

    pairs: tuple[PolicyPair, ...]

    @property
    def changes(self) -> tuple[Change, ...]:
        return tuple(sorted((c for p in self.pairs for c in p.changes), key=Change.sort_key))

    def counts(self) -> dict[str, int]:
        found = {kind: 0 for kind in KINDS}
        for change in self.changes:
            found[change.kind] += 1
        return found

    @property
    def summary(self) -> str:
        """``2 opens, 1 closes in 3 policies`` or ``no change in what is allowed``."""
        counts = {k: n for k, n in self.counts().items() if n}
        if not counts:
            return NO_CHANGE
        changed = sum(1 for p in self.pairs if p.changes)
        parts = ", ".join(f"{n} {k}" for k, n in counts.items())
        return f"{parts} in {changed} {'policy' if changed == 1 else 'policies'}"


@dataclass(slots=True)
class _Merged:
    peer: Peer
    first: Grant
    ports: PortSet


def _merge(grants: Iterable[Grant]) -> dict[Peer, _Merged]:
    merged: dict[Peer, _Merged] = {}
    for grant in grants:
        found = merged.get(grant.peer)
        if found is None:
            merged[grant.peer] = _Merged(grant.peer, grant, grant.ports)
        else:
            found.ports = found.ports.union(grant.ports)
    return merged


class _Builder:
    def __init__(self, old: PolicyExplanation | None, new: PolicyExplanation | None) -> None:
        side = new or old
        assert side is not None
        self.old, self.new = old, new
        self.policy = side.display_name
        self.subject = side.subject.phrase
        self.changes: list[Change] = []

    def add(
        self,
        kind: str,
        direction: str,
        breadth: str,
        phrase: str,
        *,
        old: Grant | None = None,
        new: Grant | None = None,
        old_path: str | None = None,
        new_path: str | None = None,
        old_line: int | None = None,
        new_line: int | None = None,
        peer: str = "",
        ports: str = "",
    ) -> None:
        old_side, new_side = self.old, self.new
        self.changes.append(
            Change(
                kind,
                self.policy,
                direction,
                self.subject,
                breadth,
                phrase,
                peer or (grant.peer_phrase if (grant := new or old) is not None else ""),
                ports,
                old.path if old else old_path,
                new.path if new else new_path,
                old_side.file if old_side and (old or old_path) else None,
                new_side.file if new_side and (new or new_path) else None,
                old.line if old else old_line,
                new.line if new else new_line,
            )
        )


def _only_one_side(
    builder: _Builder, kind: str, direction: str, grant: _Merged, against: Sequence[tuple[Peer, PortSet]]
) -> None:
    """A peer on one side only: what of it the other side does not admit opens (or closes)."""
    found = cover(grant.peer, grant.ports, against)
    if found.outcome == COVERED:
        return
    preposition = "from" if direction == "ingress" else "to"
    new, old = (grant.first, None) if kind == OPENS_KIND else (None, grant.first)
    if found.outcome == OPENS:
        ports = phrase_ports(found.rest)
        phrase = f"{kind} {direction} {preposition} {grant.first.peer_phrase} on {ports}"
        builder.add(kind, direction, grant.first.breadth, phrase, ports=ports, old=old, new=new)
        return
    ports = phrase_ports(grant.ports)
    gone = "" if kind == OPENS_KIND else "no longer "
    phrase = f"cannot tell if wider: {gone}{direction} {preposition} {grant.first.peer_phrase} on {ports}"
    builder.add(UNKNOWN_KIND, direction, grant.first.breadth, phrase, ports=ports, old=old, new=new)


def _other_ports(builder: _Builder, direction: str, old: _Merged, new: _Merged, context: _Context) -> None:
    """The same peer on both sides with other ports: widens and/or narrows (old -> new)."""
    preposition = "from" if direction == "ingress" else "to"
    shown = f"{phrase_ports(old.ports)} -> {phrase_ports(new.ports)}"
    found: list[str] = []
    for kind, larger, smaller, against in (
        (WIDENS, new, old, context.old),
        (NARROWS, old, new, context.new),
    ):
        extra, unsure = larger.ports.subtract(smaller.ports)
        if extra.empty and not unsure:
            continue
        outcome = cover(new.peer, extra, against).outcome if not extra.empty else UNKNOWN
        if outcome == OPENS:
            found.append(kind)
        elif outcome == UNKNOWN and UNKNOWN_KIND not in found:
            found.append(UNKNOWN_KIND)  # one "cannot tell" for the pair, whichever side could not be told
    for kind in found:
        label = kind if kind != UNKNOWN_KIND else "cannot tell if wider:"
        builder.add(
            kind,
            direction,
            new.first.breadth,
            f"{label} {direction} {preposition} {new.first.peer_phrase}: {shown}",
            old=old.first,
            new=new.first,
            ports=shown,
        )


@dataclass(frozen=True, slots=True)
class _Context:
    old: list[tuple[Peer, PortSet]]
    new: list[tuple[Peer, PortSet]]


def _grant_changes(builder: _Builder, direction: str, old: Sequence[Grant], new: Sequence[Grant]) -> None:
    old_merged, new_merged = _merge(old), _merge(new)
    context = _Context(
        [(m.peer, m.ports) for m in old_merged.values()], [(m.peer, m.ports) for m in new_merged.values()]
    )
    for key, grant in new_merged.items():
        before = old_merged.get(key)
        if before is None:
            _only_one_side(builder, OPENS_KIND, direction, grant, context.old)
        elif before.ports != grant.ports:
            _other_ports(builder, direction, before, grant, context)
    for key, grant in old_merged.items():
        if key not in new_merged:
            _only_one_side(builder, CLOSES, direction, grant, context.new)


def released(direction: str, subject: str) -> str:
    """What a direction no longer isolated means: conditional, other policies may still isolate it."""
    where = "accept traffic from anywhere" if direction == "ingress" else "may send traffic anywhere"
    return f"if no other policy selects {subject} for {direction}, they {where} again"


def diff_policy(
    old: PolicyExplanation | None,
    new: PolicyExplanation | None,
    directions: tuple[str, ...] = ("ingress", "egress"),
) -> PolicyPair:
    """The changes from ``old`` to ``new`` (None: the policy is created or deleted), in ``directions``
    (both sides must have been explained for them)."""
    builder = _Builder(old, new)
    if old is not None and new is not None and old.subject.selector != new.subject.selector:
        builder.add(
            SELECTS,
            "",
            "pods",
            f"now selects {new.subject.phrase} (was {old.subject.phrase})",
            old_path=old.subject.path,
            new_path=new.subject.path,
            old_line=old.subject.line,
            new_line=new.subject.line,
        )
    for name in directions:
        before = old.direction(name) if old is not None else None
        after = new.direction(name) if new is not None else None
        was = before is not None and before.state == ISOLATED
        now = after is not None and after.state == ISOLATED
        if now and not was:
            assert after is not None
            builder.add(
                ISOLATES,
                name,
                "pods",
                f"isolates {name}: {name} of {builder.subject} is allowed only as policies allow",
                new_path=after.path,
                new_line=after.line,
            )
        elif was and not now:
            assert before is not None
            builder.add(
                STOPS_ISOLATING,
                name,
                "pods",
                f"stops isolating {name}: {released(name, builder.subject)}",
                old_path=before.path,
                old_line=before.line,
            )
        _grant_changes(
            builder, name, before.grants if was and before else (), after.grants if now and after else ()
        )
    changes = tuple(sorted(builder.changes, key=Change.sort_key))
    return PolicyPair(old, new, changes)


def diff_explanations(old: Sequence[PolicyExplanation], new: Sequence[PolicyExplanation]) -> DiffResult:
    """Pair the policies by namespace/name and compare each pair."""
    old_by_key = {p.key: p for p in old}
    new_by_key = {p.key: p for p in new}
    keys = sorted(old_by_key.keys() | new_by_key.keys())
    return DiffResult(tuple(diff_policy(old_by_key.get(k), new_by_key.get(k)) for k in keys))


FAIL_KINDS: Final = {
    "opens": frozenset({OPENS_KIND, WIDENS, STOPS_ISOLATING, SELECTS, UNKNOWN_KIND}),
    "closes": frozenset({CLOSES, NARROWS, ISOLATES, SELECTS, UNKNOWN_KIND}),
    "any": frozenset(KINDS),
}
"""What ``--fail-on`` counts: a change that may let more (or less) through, "unknown" in both."""


def failing_kinds(kinds: Iterable[str], fail_on: str) -> list[str]:
    """The kinds among ``kinds`` that ``--fail-on fail_on`` fails on."""
    wanted = FAIL_KINDS[fail_on]
    return [kind for kind in kinds if kind in wanted]
