"""IP ranges as exact integer intervals: an ipBlock's cidr minus its except ranges, per address family.

CIDRs are read by `app.rules.traffic.parse_network` (the API server's own parser), so host bits and
leading zeros mean what they mean to the API server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from app.rules.traffic import Network

Interval = tuple[int, int, int]
"""(IP version, first address, last address) as integers."""

EVERY_ADDRESS: Final[tuple[Interval, ...]] = ((4, 0, 2**32 - 1), (6, 0, 2**128 - 1))


def _interval(network: Network) -> Interval:
    return network.version, int(network.network_address), int(network.broadcast_address)


def merge(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    merged: list[Interval] = []
    for version, low, high in sorted(intervals):
        if merged and merged[-1][0] == version and low <= merged[-1][2] + 1:
            last = merged[-1]
            merged[-1] = (version, last[1], max(last[2], high))
        else:
            merged.append((version, low, high))
    return tuple(merged)


def subtract(intervals: tuple[Interval, ...], taken: tuple[Interval, ...]) -> tuple[Interval, ...]:
    rest: list[Interval] = []
    for version, low, high in intervals:
        for cut_version, cut_low, cut_high in taken:
            if cut_version != version or cut_high < low or cut_low > high:
                continue
            if cut_low > low:
                rest.append((version, low, cut_low - 1))
            low = cut_high + 1
            if low > high:
                break
        if low <= high:
            rest.append((version, low, high))
    return tuple(rest)


@dataclass(frozen=True, slots=True, order=True)
class AddressSet:
    """The addresses an ipBlock admits; ``unparsable`` holds a cidr that cannot be read (the API server
    rejects it, so nothing is decided about it)."""

    intervals: tuple[Interval, ...] = ()
    unparsable: str = ""

    def to_json(self) -> list[str]:
        return [_show(interval) for interval in self.intervals]


def _show(interval: Interval) -> str:
    version, low, high = interval
    make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    if low == high:
        return str(make(low))
    return f"{make(low)}-{make(high)}"


def address_set(cidr: str, excepts: list[str] | None) -> AddressSet:
    """The addresses of ``cidr`` minus every parsable except range."""
    return _address_set(cidr, tuple(excepts or ()))


# Pure, and the same blocks recur: memoised, bounded so that hostile input cannot grow it.
@lru_cache(maxsize=8192)
def _address_set(cidr: str, excepts: tuple[str, ...]) -> AddressSet:
    # Imported here: app.rules (through its registry) uses this module, so a module-level import of
    # app.rules.traffic would be circular whichever of the two is imported first.
    from app.rules.traffic import parse_network

    network = parse_network(cidr)
    if network is None:
        return AddressSet((), cidr or '""')
    taken = merge(_interval(n) for n in (parse_network(e) for e in excepts or ()) if n is not None)
    return AddressSet(subtract((_interval(network),), taken))


def pieces(block: tuple[Interval, ...], others: Iterable[tuple[Interval, ...]]) -> list[Interval]:
    """``block`` cut at every boundary of ``others``: each piece lies wholly inside or outside each."""
    cuts: set[tuple[int, int]] = set()
    for intervals in others:
        for version, low, high in intervals:
            cuts.add((version, low))
            cuts.add((version, high + 1))
    result: list[Interval] = []
    for version, low, high in block:
        inner = sorted(point for v, point in cuts if v == version and low < point <= high)
        start = low
        for point in inner:
            result.append((version, start, point - 1))
            start = point
        result.append((version, start, high))
    return result


def contains(intervals: tuple[Interval, ...], piece: Interval) -> bool:
    version, low, high = piece
    return any(v == version and a <= low and high <= b for v, a, b in intervals)
