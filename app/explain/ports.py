"""Port sets: per protocol, disjoint inclusive ranges of port numbers plus port names.

A named port resolves on the pods (a container port's name), so a name equals only the same name: a
name against numbers cannot be decided, and `subtract` says so instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from app.netpol import DEFAULT_PROTOCOL, PROTOCOLS, NetworkPolicyPort

MIN_PORT: Final = 1
MAX_PORT: Final = 65535
FULL: Final = ((MIN_PORT, MAX_PORT),)

Ranges = tuple[tuple[int, int], ...]


def merge(ranges: Iterable[tuple[int, int]]) -> Ranges:
    """Sorted, disjoint, non-adjacent ranges covering the same numbers."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(r for r in ranges if r[0] <= r[1]):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return tuple(merged)


def minus(ranges: Ranges, taken: Ranges) -> Ranges:
    """The numbers of ``ranges`` not in ``taken`` (both merged)."""
    rest: list[tuple[int, int]] = []
    for low, high in ranges:
        for cut_low, cut_high in taken:
            if cut_high < low or cut_low > high:
                continue
            if cut_low > low:
                rest.append((low, cut_low - 1))
            low = cut_high + 1
            if low > high:
                break
        if low <= high:
            rest.append((low, high))
    return tuple(rest)


def count(ranges: Ranges) -> int:
    return sum(high - low + 1 for low, high in ranges)


@dataclass(frozen=True, slots=True, order=True)
class ProtocolPorts:
    """What one protocol admits."""

    ranges: Ranges = ()
    names: tuple[str, ...] = ()

    @property
    def full(self) -> bool:
        return self.ranges == FULL

    @property
    def none(self) -> bool:
        return not self.ranges and not self.names


@dataclass(frozen=True, slots=True, order=True)
class PortSet:
    """Per protocol (sorted) what is admitted; protocols admitting nothing are left out."""

    protocols: tuple[tuple[str, ProtocolPorts], ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.protocols

    def get(self, protocol: str) -> ProtocolPorts:
        for name, ports in self.protocols:
            if name == protocol:
                return ports
        return ProtocolPorts()

    @property
    def everything(self) -> bool:
        return all(self.get(p).full for p in PROTOCOLS)

    def union(self, other: PortSet) -> PortSet:
        return _build(
            (p, ports)
            for p in sorted({name for name, _ in self.protocols} | {name for name, _ in other.protocols})
            for ports in (self.get(p), other.get(p))
        )

    def subtract(self, taken: PortSet) -> tuple[PortSet, bool]:
        """(what is surely not in ``taken``, whether more may be missing but cannot be decided).

        Numbers against names: a name in ``taken`` may stand for any one number, so uncovered numbers
        are sure only when there are more of them than names; a name is surely missing only when
        ``taken`` has neither that name nor any number for the protocol (nor every port).
        """
        rest: list[tuple[str, ProtocolPorts]] = []
        undecided = False
        for protocol, ports in self.protocols:
            against = taken.get(protocol)
            if against.full:
                continue
            numbers = minus(ports.ranges, against.ranges)
            if numbers and against.names and count(numbers) <= len(against.names):
                undecided, numbers = True, ()
            names: list[str] = []
            for name in ports.names:
                if name in against.names:
                    continue
                if against.ranges:
                    undecided = True
                else:
                    names.append(name)
            if numbers or names:
                rest.append((protocol, ProtocolPorts(numbers, tuple(names))))
        return PortSet(tuple(rest)), undecided

    def to_json(self) -> list[dict[str, object]]:
        return [
            {"protocol": p, "ranges": [list(r) for r in ports.ranges], "names": list(ports.names)}
            for p, ports in self.protocols
        ]


def _build(parts: Iterable[tuple[str, ProtocolPorts]]) -> PortSet:
    ranges: dict[str, list[tuple[int, int]]] = {}
    names: dict[str, set[str]] = {}
    for protocol, ports in parts:
        ranges.setdefault(protocol, []).extend(ports.ranges)
        names.setdefault(protocol, set()).update(ports.names)
    built = []
    for protocol in sorted(ranges):
        merged = merge(ranges[protocol])
        # Every number covered: the names add nothing.
        entry = ProtocolPorts(merged, () if merged == FULL else tuple(sorted(names[protocol])))
        if not entry.none:
            built.append((protocol, entry))
    return PortSet(tuple(built))


EVERY_PORT: Final = _build((p, ProtocolPorts(FULL)) for p in PROTOCOLS)


def port_entry(port: NetworkPolicyPort) -> PortSet:
    """What one ``ports[j]`` entry admits (after the protocol default)."""
    return _cached_port_set(((port.get("protocol"), port.get("port"), port.get("endPort")),))


def port_set(ports: list[NetworkPolicyPort] | None) -> PortSet:
    """What a rule's ``ports`` list admits: absent or empty is every port of every protocol."""
    if not ports:
        return EVERY_PORT
    return _cached_port_set(tuple((p.get("protocol"), p.get("port"), p.get("endPort")) for p in ports))


PortKey = tuple[tuple[str | None, int | str | None, int | None], ...]


# Pure, and the same few port lists recur across policies and requests: memoised, bounded so that
# hostile input cannot grow it.
@lru_cache(maxsize=8192)
def _cached_port_set(entries: PortKey) -> PortSet:
    ranges: dict[str, list[tuple[int, int]]] = {}
    names: dict[str, set[str]] = {}
    for protocol, value, end in entries:
        protocol = DEFAULT_PROTOCOL if protocol is None else protocol
        if value is None:
            ranges.setdefault(protocol, []).append(FULL[0])
        elif isinstance(value, str):
            names.setdefault(protocol, set()).add(value)
        else:
            high = value if end is None else end
            ranges.setdefault(protocol, []).append((max(value, MIN_PORT), min(high, MAX_PORT)))
    return _build(
        [
            (p, ProtocolPorts(tuple(ranges.get(p, ())), tuple(names.get(p, ()))))
            for p in ranges.keys() | names.keys()
        ]
    )


def _ranges_phrase(protocol: str, ranges: Ranges) -> list[str]:
    shown = []
    for low, high in ranges:
        shown.append(f"{low}" if low == high else f"{low}-{high}")
    if not shown:
        return []
    noun = "port" if len(ranges) == 1 and ranges[0][0] == ranges[0][1] else "ports"
    return [f"{protocol} {noun} {', '.join(shown)}"]


@lru_cache(maxsize=4096)  # pure; the same few port sets recur
def phrase_ports(ports: PortSet) -> str:
    """``every port and protocol``, ``every UDP port``, ``TCP port 80``, ``TCP port named http``."""
    if ports.everything:
        return "every port and protocol"
    if ports.empty:
        return "no port"
    parts: list[str] = []
    for protocol, entry in ports.protocols:
        if entry.full:
            parts.append(f"every {protocol} port")
            continue
        parts.extend(_ranges_phrase(protocol, entry.ranges))
        parts.extend(f"{protocol} port named {name}" for name in entry.names)
    return ", ".join(parts)
