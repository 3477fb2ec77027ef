"""The explain model: what one NetworkPolicy allows, as data, after the API server's defaulting.

`explain_policy` turns the typed view into a `PolicyExplanation`: the subject (namespace plus pod
selector in normal form), per direction whether the policy isolates it, ignores its rules or leaves it
alone, and one `Grant` per peer x rule with its field path, position, breadth and phrase. Every
rendering (text, Markdown, JSON, admission warnings) and `diff` read only this model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from app.explain.addresses import AddressSet, address_set
from app.explain.labels import Selector, named_namespace, normalise, phrase_namespaces, phrase_pods
from app.explain.ports import PortSet, phrase_ports, port_set
from app.netpol import DIRECTIONS, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, effective_protocol

Locate = Callable[[str], tuple[int, int]]
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
    peer_phrase: str
    ports_phrase: str
    notes: tuple[str, ...] = ()

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


def _peer(peer: NetworkPolicyPeer, namespace: str | None) -> tuple[Peer, str, str]:
    """(peer, breadth, phrase) of one ``from[j]``/``to[j]`` entry."""
    block = peer.get("ipBlock")
    if block is not None:
        cidr, excepts = block.get("cidr", ""), block.get("except") or []
        addresses = address_set(cidr, excepts)
        if addresses.unparsable:
            shown = f"IP range {cidr!r} (not a valid CIDR)"
        elif cidr.endswith("/0"):
            shown = f"every IPv{'6' if ':' in cidr else '4'} address ({cidr})"
        else:
            shown = f"IP range {cidr}"
        if excepts:
            shown += f" except {', '.join(excepts)}"
        return Peer("addresses", addresses=addresses), INTERNET, shown
    pod_selector, namespace_selector = peer.get("podSelector"), peer.get("namespaceSelector")
    pods = normalise(pod_selector)
    if namespace_selector is None:
        namespaces = named_namespace(namespace or _UNKNOWN_NAMESPACE)
        where = (
            f"in namespace {namespace} (this policy's namespace)"
            if namespace
            else "in this policy's namespace"
        )
        breadth = THIS_NAMESPACE if not pods.constraints else PODS
        return Peer("pods", namespaces, pods), breadth, f"{phrase_pods(pods)} {where}"
    namespaces = normalise(namespace_selector, namespace=True)
    words = phrase_namespaces(namespaces)
    breadth = EVERY_NAMESPACE if words == "every namespace" else NAMESPACES_BY_LABEL
    return Peer("pods", namespaces, pods), breadth, f"{phrase_pods(pods)} in {words}"


def _port_notes(ports: list[NetworkPolicyPort] | None, peer: Peer, admitted: PortSet) -> tuple[str, ...]:
    notes: list[str] = []
    for port in ports or ():
        value, end = port.get("port"), port.get("endPort")
        # A range that another entry's "every port" swallows opens nothing more without endPort support.
        swallowed = admitted.get(effective_protocol(port)).full
        if isinstance(value, int) and end is not None and end > value and not swallowed:
            note = END_PORT_NOTE.format(port=value)
            if note not in notes:
                notes.append(note)
        if isinstance(value, str) and peer.kind == "addresses" and NAMED_IP_NOTE not in notes:
            notes.append(NAMED_IP_NOTE)
    return tuple(notes)


def _reaches_dns(grants: tuple[Grant, ...]) -> bool:
    for grant in grants:
        for protocol in ("UDP", "TCP"):
            entry = grant.ports.get(protocol)
            if any(low <= 53 <= high for low, high in entry.ranges) or any("dns" in n for n in entry.names):
                return True
    return False


def _locate(locate: Locate | None, path: str) -> tuple[int | None, int | None]:
    if locate is None:
        return None, None
    return locate(path)


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
    for entry_direction, rule_path, peer_field, rule in policy.rule_entries:
        if entry_direction != policy_type:
            continue
        ports = port_set(rule.ports)
        ports_phrase = phrase_ports(ports)
        if not rule.peers:
            peer = Peer(ANYWHERE)
            grants.append(
                Grant(
                    direction,
                    rule_path,
                    *_locate(locate, rule_path),
                    peer,
                    ports,
                    ANYWHERE,
                    ANYWHERE_WORDS,
                    ports_phrase,
                    _port_notes(rule.ports, peer, ports),
                )
            )
            continue
        for peer_index, raw_peer in enumerate(rule.peers):
            peer_path = f"{rule_path}.{peer_field}[{peer_index}]"
            peer, breadth, words = _peer(raw_peer, namespace)
            grants.append(
                Grant(
                    direction,
                    peer_path,
                    *_locate(locate, peer_path),
                    peer,
                    ports,
                    breadth,
                    words,
                    ports_phrase,
                    _port_notes(rule.ports, peer, ports),
                )
            )
    granted = tuple(grants)
    notes = (DNS_NOTE,) if direction == "egress" and not _reaches_dns(granted) else ()
    return DirectionState(direction, ISOLATED, path, *_locate(locate, path), granted, notes)


def explain_policy(
    policy: NetworkPolicy,
    *,
    file: str | None = None,
    namespace: str | None = None,
    locate: Locate | None = None,
) -> PolicyExplanation:
    """The model of one decoded policy; ``namespace`` stands in when the manifest names none."""
    meta = policy.metadata
    namespace = meta.get("namespace") or namespace or None
    name = meta.get("name") or meta.get("generateName") or "<unnamed>"
    subject = Subject(
        namespace, normalise(policy.pod_selector), "spec.podSelector", *_locate(locate, "spec.podSelector")
    )
    directions = tuple(
        _direction(policy, policy_type, field, namespace, locate) for policy_type, field, _ in DIRECTIONS
    )
    line, column = _locate(locate, "")
    return PolicyExplanation(name, namespace, file, line, column, subject, directions)
