"""The explain model: what one NetworkPolicy allows, as data, after the API server's defaulting.

`explain_policy` turns the typed view into a `PolicyExplanation`: the subject (namespace plus pod
selector in normal form), per direction whether the policy isolates it, ignores its rules or leaves it
alone, and one `Grant` per peer x rule with its field path, position, breadth and phrase. Every
rendering (text, Markdown, JSON, admission warnings) and `diff` read only this model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from app.explain.addresses import AddressSet, address_set
from app.explain.labels import (
    NAME_LABEL,
    PRESENT,
    Selector,
    named_namespace,
    normalise,
    phrase_namespaces,
    phrase_pods,
)
from app.explain.ports import PortSet, phrase_ports, port_set
from app.netpol import (
    DIRECTIONS,
    NetworkPolicy,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    PolicyRule,
    effective_protocol,
)

Locate = Callable[[str], tuple[int, int]]
IPText = tuple[str, tuple[str, ...]]
"""An ipBlock as written: (cidr, except ranges)."""
"""Field path -> (line, column) in the file the policy was read from."""

ANYWHERE: Final = "anywhere"
INTERNET: Final = "internet"
EVERY_NAMESPACE: Final = "every-namespace"
NAMESPACES_BY_LABEL: Final = "namespaces-by-label"
THIS_NAMESPACE: Final = "this-namespace"
PODS: Final = "pods"
BREADTHS: Final = (ANYWHERE, INTERNET, EVERY_NAMESPACE, NAMESPACES_BY_LABEL, THIS_NAMESPACE, PODS)
"""Breadth classes, widest first."""

ISOLATED: Final = "isolated"
IGNORED: Final = "ignored"
NOT_AFFECTED: Final = "not-affected"

# Every namespace of one policy is the same unknown one when the manifest names none: a value no real
# namespace name can take, so it never matches a named namespace.
_UNKNOWN_NAMESPACE: Final = "<this policy's namespace>"
_EVERY_NAMESPACE: Final = ((NAME_LABEL, PRESENT),)

STANDING_NOTES: Final = (
    "other policies can only add to what this policy allows, never take it away",
    "the pods' own node can always reach them, whatever the policies say",
    "ports are the pods' own ports, not Service ports",
)
DNS_NOTE: Final = "no grant reaches port 53: name lookups (DNS) fail unless another policy allows them"
END_PORT_NOTE: Final = "network plugins without endPort support open only port {port}"
ANYWHERE_WORDS: Final = "anywhere (every pod in every namespace and every IP address)"
NAMED_IP_NOTE: Final = "a named port with an ipBlock peer probably matches nothing"


@dataclass(frozen=True, slots=True, order=True)
class Peer:
    """Who a grant lets talk: everyone, pods (in namespaces), or IP ranges; comparable as a key."""

    kind: str  # "anywhere" | "pods" | "addresses"
    namespaces: Selector | None = None
    pods: Selector | None = None
    addresses: AddressSet | None = None
    # Only how it is said: `podSelector` alone and the namespace by name are the same peer.
    this_namespace: bool = field(default=False, compare=False)


_ANYWHERE_PEER: Final = Peer(ANYWHERE)


@dataclass(frozen=True, slots=True)
class Grant:
    """One peer of one rule (or the whole rule when it has no peers) and the ports it admits."""

    direction: str  # "ingress" | "egress"
    path: str
    line: int | None
    column: int | None
    peer: Peer
    ports: PortSet
    breadth: str
    namespace: str | None = None
    block: IPText | None = None
    notes: tuple[str, ...] = ()

    # Phrases are made when rendered: admission needs few of them, and the diff compares the model.
    @property
    def peer_phrase(self) -> str:
        return peer_words(self.peer, self.namespace, self.block)

    @property
    def ports_phrase(self) -> str:
        return phrase_ports(self.ports)

    @property
    def phrase(self) -> str:
        """``ingress from pods app=web in namespace shop (this policy's namespace) on TCP port 80``."""
        preposition = "from" if self.direction == "ingress" else "to"
        notes = "".join(f" ({note})" for note in self.notes)
        return f"{self.direction} {preposition} {self.peer_phrase} on {self.ports_phrase}{notes}"


@dataclass(frozen=True, slots=True)
class DirectionState:
    """What the policy does to one direction of the selected pods."""

    direction: str
    state: str  # ISOLATED | IGNORED | NOT_AFFECTED
    path: str
    line: int | None
    column: int | None
    grants: tuple[Grant, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def phrase(self) -> str:
        if self.state == IGNORED:
            kind = self.direction.capitalize()
            return f"{self.direction} rules are ignored: {kind} is not in policyTypes"
        if self.state == NOT_AFFECTED:
            return f"{self.direction} is not affected by this policy"
        if not self.grants:
            return f"{self.direction} is isolated and this policy allows none"
        count = len(self.grants)
        return (
            f"{self.direction} is isolated: only what a policy allows gets through; "
            f"this one allows {count} {'grant' if count == 1 else 'grants'}"
        )


@dataclass(frozen=True, slots=True)
class Subject:
    """The pods a policy selects."""

    namespace: str | None
    selector: Selector
    path: str
    line: int | None
    column: int | None

    @property
    def phrase(self) -> str:
        return f"{phrase_pods(self.selector)} in {_namespace_words(self.namespace)}"


@dataclass(frozen=True, slots=True)
class PolicyExplanation:
    """Everything one policy allows, per direction."""

    name: str
    namespace: str | None
    file: str | None
    line: int | None
    column: int | None
    subject: Subject
    directions: tuple[DirectionState, ...]
    notes: tuple[str, ...] = STANDING_NOTES

    @property
    def display_name(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def key(self) -> tuple[str, str]:
        """How a policy is paired between the two sides of a diff."""
        return self.namespace or "", self.name

    def direction(self, name: str) -> DirectionState:
        return next(d for d in self.directions if d.direction == name)


def _namespace_words(namespace: str | None) -> str:
    return f"namespace {namespace}" if namespace else "this policy's namespace"


def breadth_of(peer: NetworkPolicyPeer) -> str:
    """The breadth class of one ``from[j]``/``to[j]`` entry."""
    if peer.get("ipBlock") is not None:
        return INTERNET
    namespace_selector = peer.get("namespaceSelector")
    if namespace_selector is None:
        pod_selector = peer.get("podSelector")
        return THIS_NAMESPACE if pod_selector is None or not normalise(pod_selector).constraints else PODS
    every = normalise(namespace_selector, namespace=True).constraints == _EVERY_NAMESPACE
    return EVERY_NAMESPACE if every else NAMESPACES_BY_LABEL


def peer_of(peer: NetworkPolicyPeer, namespace: str | None) -> tuple[Peer, str, IPText | None]:
    """(peer, breadth, the ipBlock as written) of one ``from[j]``/``to[j]`` entry."""
    block = peer.get("ipBlock")
    if block is not None:
        cidr, excepts = block.get("cidr", ""), block.get("except") or []
        return Peer("addresses", addresses=address_set(cidr, excepts)), INTERNET, (cidr, tuple(excepts))
    pod_selector, namespace_selector = peer.get("podSelector"), peer.get("namespaceSelector")
    pods = normalise(pod_selector)
    if namespace_selector is None:
        namespaces = named_namespace(namespace or _UNKNOWN_NAMESPACE)
        return Peer("pods", namespaces, pods, this_namespace=True), breadth_of(peer), None
    namespaces = normalise(namespace_selector, namespace=True)
    return Peer("pods", namespaces, pods), breadth_of(peer), None


def peer_words(peer: Peer, namespace: str | None, block: IPText | None) -> str:
    """How a peer is said: ``pods app=web in namespace shop (this policy's namespace)``."""
    if peer.kind == ANYWHERE:
        return ANYWHERE_WORDS
    if block is not None:
        cidr, excepts = block
        if peer.addresses is not None and peer.addresses.unparsable:
            shown = f"IP range {cidr!r} (not a valid CIDR)"
        elif cidr.endswith("/0"):
            shown = f"every IPv{'6' if ':' in cidr else '4'} address ({cidr})"
        else:
            shown = f"IP range {cidr}"
        return shown + (f" except {', '.join(excepts)}" if excepts else "")
    assert peer.pods is not None and peer.namespaces is not None
    if peer.this_namespace:
        where = (
            f"in namespace {namespace} (this policy's namespace)"
            if namespace
            else "in this policy's namespace"
        )
        return f"{phrase_pods(peer.pods)} {where}"
    return f"{phrase_pods(peer.pods)} in {phrase_namespaces(peer.namespaces)}"


def _rule_notes(ports: list[NetworkPolicyPort] | None, admitted: PortSet) -> tuple[tuple[str, ...], bool]:
    """(the endPort caveats of a rule's ports, whether it names a port) — once per rule, not per peer."""
    notes: list[str] = []
    named = False
    for port in ports or ():
        value, end = port.get("port"), port.get("endPort")
        if isinstance(value, str):
            named = True
        # A range that another entry's "every port" swallows opens nothing more without endPort support.
        elif isinstance(value, int) and end is not None and end > value:
            note = END_PORT_NOTE.format(port=value)
            if note not in notes and not admitted.get(effective_protocol(port)).full:
                notes.append(note)
    return tuple(notes), named


def reaches_dns(ports: PortSet) -> bool:
    """True when ``ports`` admits port 53 (UDP or TCP) or a port named like DNS."""
    for protocol in ("UDP", "TCP"):
        entry = ports.get(protocol)
        if any(low <= 53 <= high for low, high in entry.ranges) or any("dns" in n for n in entry.names):
            return True
    return False


def _locate(locate: Locate | None, path: str) -> tuple[int | None, int | None]:
    if locate is None:
        return None, None
    return locate(path)


def _grant(
    direction: str,
    path: str,
    raw_peer: NetworkPolicyPeer,
    ports: PortSet,
    notes: tuple[str, ...],
    named: bool,
    namespace: str | None,
    locate: Locate | None,
) -> Grant:
    peer, breadth, block = peer_of(raw_peer, namespace)
    line, column = _locate(locate, path)
    grant_notes = (*notes, NAMED_IP_NOTE) if named and block is not None else notes
    return Grant(direction, path, line, column, peer, ports, breadth, namespace, block, grant_notes)


@dataclass(frozen=True, slots=True)
class DirectionSummary:
    """What admission says about one isolated direction of a new policy: how many grants, the widest."""

    direction: str
    subject: str
    count: int
    widest: Grant | None
    notes: tuple[str, ...]


def summarise(policy: NetworkPolicy) -> list[DirectionSummary]:
    """Per isolated direction, the number of grants and the widest (first of the widest class) as a
    `Grant`, without building the others: the cheap part of `explain_policy` that CREATE needs."""
    namespace = policy.metadata.get("namespace") or None
    subject = f"{phrase_pods(normalise(policy.pod_selector))} in {_namespace_words(namespace)}"
    found: list[DirectionSummary] = []
    for policy_type, direction, _ in DIRECTIONS:
        if policy_type not in policy.effective_policy_types:
            continue
        count, dns = 0, False
        best: tuple[int, str, PolicyRule, NetworkPolicyPeer | None] | None = None
        for entry_direction, rule_path, peer_field, rule in policy.rule_entries:
            if entry_direction != policy_type:
                continue
            dns = dns or (direction == "egress" and reaches_dns(port_set(rule.ports)))
            if not rule.peers:
                count += 1
                if best is None or best[0] > 0:
                    best = (0, rule_path, rule, None)
                continue
            count += len(rule.peers)
            for index, raw_peer in enumerate(rule.peers):
                rank = BREADTHS.index(breadth_of(raw_peer))
                if best is None or rank < best[0]:
                    best = (rank, f"{rule_path}.{peer_field}[{index}]", rule, raw_peer)
        widest = None
        if best is not None:
            _, path, rule, chosen = best
            ports = port_set(rule.ports)
            notes, named = _rule_notes(rule.ports, ports)
            if chosen is None:
                widest = Grant(
                    direction, path, None, None, _ANYWHERE_PEER, ports, ANYWHERE, namespace, None, notes
                )
            else:
                widest = _grant(direction, path, chosen, ports, notes, named, namespace, None)
        notes = (DNS_NOTE,) if direction == "egress" and not dns else ()
        found.append(DirectionSummary(direction, subject, count, widest, notes))
    return found


def _direction(
    policy: NetworkPolicy,
    policy_type: str,
    field: str,
    namespace: str | None,
    locate: Locate | None,
) -> DirectionState:
    direction = field  # "ingress" | "egress"
    declared = policy.spec.get("policyTypes")
    rules = policy.rules(policy_type)
    if policy_type not in policy.effective_policy_types:
        state = IGNORED if rules else NOT_AFFECTED
        path = "spec.policyTypes" if declared else "spec"
        return DirectionState(direction, state, path, *_locate(locate, path))
    if declared:
        path = f"spec.policyTypes[{declared.index(policy_type)}]"
    else:
        path = f"spec.{field}" if rules else "spec"
    grants: list[Grant] = []
    dns = False
    for entry_direction, rule_path, peer_field, rule in policy.rule_entries:
        if entry_direction != policy_type:
            continue
        ports = port_set(rule.ports)
        dns = dns or (direction == "egress" and reaches_dns(ports))
        notes, named = _rule_notes(rule.ports, ports)
        if not rule.peers:
            line, column = _locate(locate, rule_path)
            grants.append(
                Grant(
                    direction,
                    rule_path,
                    line,
                    column,
                    _ANYWHERE_PEER,
                    ports,
                    ANYWHERE,
                    namespace,
                    None,
                    notes,
                )
            )
            continue
        for peer_index, raw_peer in enumerate(rule.peers):
            peer_path = f"{rule_path}.{peer_field}[{peer_index}]"
            grants.append(_grant(direction, peer_path, raw_peer, ports, notes, named, namespace, locate))
    granted = tuple(grants)
    notes = (DNS_NOTE,) if direction == "egress" and not dns else ()
    return DirectionState(direction, ISOLATED, path, *_locate(locate, path), granted, notes)


def explain_policy(
    policy: NetworkPolicy,
    *,
    file: str | None = None,
    namespace: str | None = None,
    locate: Locate | None = None,
    directions: tuple[str, ...] = ("ingress", "egress"),
) -> PolicyExplanation:
    """The model of one decoded policy; ``namespace`` stands in when the manifest names none.

    ``directions`` limits the model to some directions (admission compares only those an update touched).
    """
    meta = policy.metadata
    namespace = meta.get("namespace") or namespace or None
    name = meta.get("name") or meta.get("generateName") or "<unnamed>"
    subject = Subject(
        namespace, normalise(policy.pod_selector), "spec.podSelector", *_locate(locate, "spec.podSelector")
    )
    states = tuple(
        _direction(policy, policy_type, field, namespace, locate)
        for policy_type, field, _ in DIRECTIONS
        if field in directions
    )
    line, column = _locate(locate, "")
    return PolicyExplanation(name, namespace, file, line, column, subject, states)
