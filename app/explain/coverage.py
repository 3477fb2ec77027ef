"""Whether traffic a grant admits is already admitted by a set of other grants: covered, opens, unknown.

Decided soundly. "covered" only when proven (selector implication, exact interval arithmetic for IPs and
ports, names equal by name); "opens" only with a witness (a pod's labels, an IP, a port the others do
not admit); anything else is "unknown", never "covered".

IP grants are cut at every boundary of the other grants' ranges, so each piece is decided exactly.
Pod grants are covered when the ports are covered by the union over the grants whose peers include the
grant's peer; otherwise the pod with the fewest labels the peer selects is the witness. ipBlock peers
and pod peers are different kinds of traffic here: whether pod IPs match an ipBlock is up to the network
plugin.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from app.explain.addresses import EVERY_ADDRESS, contains, pieces
from app.explain.labels import NAME_LABEL, PRESENT, Selector
from app.explain.model import ANYWHERE, Peer
from app.explain.ports import PortSet

NOTHING: Final = PortSet()
COVERED: Final = "covered"
OPENS: Final = "opens"
UNKNOWN: Final = "unknown"

_EVERY_NAMESPACE: Final = Selector(((NAME_LABEL, PRESENT),))
_EVERY_POD: Final = Selector()


@dataclass(frozen=True, slots=True)
class Coverage:
    """The outcome, and when it opens, the ports surely not admitted by the others (for a witness)."""

    outcome: str
    rest: PortSet = NOTHING


def _union(sets: Iterable[PortSet]) -> PortSet:
    total = PortSet()
    for ports in sets:
        total = total.union(ports)
    return total


def _addresses_of(peer: Peer) -> tuple[tuple[int, int, int], ...] | None:
    if peer.kind == ANYWHERE:
        return EVERY_ADDRESS
    if peer.kind == "addresses" and peer.addresses is not None and not peer.addresses.unparsable:
        return peer.addresses.intervals
    return None


def _cover_addresses(
    block: tuple[tuple[int, int, int], ...], ports: PortSet, others: Sequence[tuple[Peer, PortSet]]
) -> Coverage:
    ranges = [(found, p) for peer, p in others if (found := _addresses_of(peer)) is not None]
    undecided = False
    for piece in pieces(block, (found for found, _ in ranges)):
        admitted = _union(p for found, p in ranges if contains(found, piece))
        rest, unsure = ports.subtract(admitted)
        if not rest.empty:
            return Coverage(OPENS, rest)
        undecided = undecided or unsure
    return Coverage(UNKNOWN if undecided else COVERED)


def _pod_peers_include(outer: Peer, namespaces: Selector, pods: Selector) -> bool:
    if outer.kind == ANYWHERE:
        return True
    if outer.kind != "pods" or outer.namespaces is None or outer.pods is None:
        return False
    return namespaces.within(outer.namespaces) and pods.within(outer.pods)


def _peer_matches(outer: Peer, namespace_labels: dict[str, str], pod_labels: dict[str, str]) -> bool:
    if outer.kind == ANYWHERE:
        return True
    if outer.kind != "pods" or outer.namespaces is None or outer.pods is None:
        return False
    return outer.namespaces.matches(namespace_labels) and outer.pods.matches(pod_labels)


def _cover_pods(
    namespaces: Selector, pods: Selector, ports: PortSet, others: Sequence[tuple[Peer, PortSet]]
) -> Coverage:
    if namespaces.empty or pods.empty:
        return Coverage(COVERED)  # selects nothing
    admitted = _union(p for peer, p in others if _pod_peers_include(peer, namespaces, pods))
    rest, unsure = ports.subtract(admitted)
    if rest.empty and not unsure:
        return Coverage(COVERED)
    namespace_labels, pod_labels = namespaces.example(), pods.example()
    admitted = _union(p for peer, p in others if _peer_matches(peer, namespace_labels, pod_labels))
    witness, _ = ports.subtract(admitted)
    return Coverage(OPENS, witness) if not witness.empty else Coverage(UNKNOWN)


def cover(peer: Peer, ports: PortSet, others: Sequence[tuple[Peer, PortSet]]) -> Coverage:
    """Is (``peer``, ``ports``) admitted by the union of ``others``?"""
    if ports.empty:
        return Coverage(COVERED)
    if peer.kind == "addresses":
        block = _addresses_of(peer)
        if block is None:
            # An unparsable cidr: the same text on the other side is the same peer, nothing else is known.
            same = any(other == peer for other, _ in others)
            return Coverage(COVERED if same else UNKNOWN)
        return _cover_addresses(block, ports, others)
    if peer.kind == ANYWHERE:
        outside = _cover_addresses(EVERY_ADDRESS, ports, others)
        if outside.outcome == OPENS:
            return outside
        inside = _cover_pods(_EVERY_NAMESPACE, _EVERY_POD, ports, others)
        if inside.outcome == OPENS:
            return inside
        return Coverage(UNKNOWN) if UNKNOWN in (outside.outcome, inside.outcome) else Coverage(COVERED)
    assert peer.namespaces is not None and peer.pods is not None
    return _cover_pods(peer.namespaces, peer.pods, ports, others)
