"""Whether the ipBlock peers of one rule, taken together, cover a whole address family.

``0.0.0.0/1`` + ``128.0.0.0/1`` (or four /2s, or ``::/1`` + ``8000::/1``) admit every address as surely
as ``0.0.0.0/0`` does; `forbid-allow-all` and `forbid-broad-cidr` judge such a split allow-all like the
single CIDR. Address sets are exact integer intervals (`app.explain.addresses`), each block minus its
``except`` ranges, read by the API server's own CIDR parser.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from app.explain.addresses import EVERY_ADDRESS, address_set, merge
from app.netpol import NetworkPolicyPeer

FAMILY_NAMES: Final = {4: "IPv4", 6: "IPv6"}
WHOLE_FAMILY: Final = {4: "0.0.0.0/0", 6: "::/0"}


def covered_families(peers: Sequence[NetworkPolicyPeer]) -> tuple[int, ...]:
    """The IP versions (4, 6) whose every address some ipBlock of ``peers`` admits (excepts removed).

    One block covers a family only as a /0 without except, which the callers report on its own, so
    only two or more blocks are worth the interval arithmetic.
    """
    blocks = [block for peer in peers if (block := peer.get("ipBlock")) is not None]
    if len(blocks) < 2:
        return ()
    merged = merge(
        interval
        for block in blocks
        for interval in address_set(block.get("cidr", ""), block.get("except")).intervals
    )
    return tuple(whole[0] for whole in EVERY_ADDRESS if whole in merged)


def family_cidrs(peers: Sequence[NetworkPolicyPeer], version: int) -> list[str]:
    """The cidr texts of the ipBlock peers of one IP version (for messages)."""
    return [
        block.get("cidr", "")
        for peer in peers
        if (block := peer.get("ipBlock")) is not None and (":" in block.get("cidr", "")) == (version == 6)
    ]
