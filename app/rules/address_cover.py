"""Whether the ipBlock peers of one rule, taken together, cover a whole address family.

``0.0.0.0/1`` + ``128.0.0.0/1`` (or four /2s, or ``::/1`` + ``8000::/1``) admit every address as surely
as ``0.0.0.0/0`` does; `forbid-allow-all` and `forbid-broad-cidr` judge such a split allow-all like the
single CIDR. Address sets are exact integer intervals (`app.explain.addresses`), each block minus its
``except`` ranges, read by the API server's own CIDR parser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from app.apivalidation import parse_cidr_sloppy
from app.explain.addresses import EVERY_ADDRESS, Interval, address_set, merge
from app.netpol import IPBlock, NetworkPolicyPeer

FAMILY_NAMES: Final = {4: "IPv4", 6: "IPv6"}
WHOLE_FAMILY: Final = {4: "0.0.0.0/0", 6: "::/0"}


def covered_families(peers: Sequence[NetworkPolicyPeer]) -> tuple[int, ...]:
    """The IP versions (4, 6) whose every address some ipBlock of ``peers`` admits (excepts removed).

    One block covers a family only as a /0 without except, which the callers report on its own, so
    only two or more blocks are worth the interval arithmetic.
    """
    blocks = [block for peer in peers if (block := peer.get("ipBlock")) is not None]
    if len(blocks) < 2 or not _could_cover(blocks):
        return ()
    merged = merge(interval for block in blocks for interval in _intervals(block))
    return tuple(whole[0] for whole in EVERY_ADDRESS if whole in merged)


def _intervals(block: IPBlock) -> tuple[Interval, ...]:
    """`address_set`'s intervals; a block without except (nearly all) is read straight from the parsed
    CIDR, without the network objects, because a rule may list tens of thousands of them."""
    cidr, excepts = block.get("cidr", ""), block.get("except")
    if excepts:
        return address_set(cidr, excepts).intervals
    parsed = parse_cidr_sloppy(cidr)
    if parsed is None:
        return ()
    low = parsed.address & parsed.mask
    return ((4 if parsed.bits == 32 else 6, low, low | (((1 << parsed.bits) - 1) ^ parsed.mask)),)


def _could_cover(blocks: Sequence[Mapping[str, Any]]) -> bool:
    """Whether the blocks' sizes (read from the prefix lengths alone) add up to a whole family.

    A necessary condition, cheap enough for the hostile case: thousands of narrow blocks in one rule would
    otherwise all be parsed and merged on every review. A prefix that is not a plain number is left to
    the exact arithmetic.
    """
    total = {4: 0, 6: 0}
    for block in blocks:
        cidr = str(block.get("cidr", ""))
        _, slash, prefix = cidr.rpartition("/")
        if not slash or not prefix.isdecimal() or len(prefix) > 3 or (":" in cidr and "." in cidr):
            return True  # IPv4-mapped IPv6 and odd prefixes: only the exact arithmetic knows
        version, bits = (6, 128) if ":" in cidr else (4, 32)
        if int(prefix) <= bits:
            total[version] += 1 << (bits - int(prefix))
    return total[4] >= 1 << 32 or total[6] >= 1 << 128


def family_cidrs(peers: Sequence[NetworkPolicyPeer], version: int) -> list[str]:
    """The cidr texts of the ipBlock peers of one IP version (for messages)."""
    return [
        block.get("cidr", "")
        for peer in peers
        if (block := peer.get("ipBlock")) is not None and (":" in block.get("cidr", "")) == (version == 6)
    ]
