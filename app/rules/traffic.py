"""What a policy's rules admit, in the API's own terms; shared so that every rule reads traffic alike.

Peers that match everything, ports that cover every port, the rules that are live under the effective
(defaulted) policyTypes, and CIDRs as networks, read by api-validation's port of the API server's parser.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from functools import lru_cache
from typing import Final

from app.apivalidation import parse_cidr_sloppy
from app.netpol import (
    PROTOCOLS,
    NetworkPolicy,
    NetworkPolicyPeer,
    NetworkPolicyPort,
    PolicyRule,
    effective_protocol,
    is_empty,
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_MAX_PORT: Final = 65535


# Pure, and the same CIDRs recur across policies and requests: memoised, with a bound so that hostile
# input cannot grow it.
@lru_cache(maxsize=16384)
def parse_network(text: str) -> Network | None:
    """The network a CIDR string denotes, or None when the API server could not parse it either.

    Read by `app.apivalidation.parse_cidr_sloppy`, the API server's legacy parser, so that every rule
    and api-validation agree on what a CIDR means: host bits are masked (``10.0.0.1/8`` is
    ``10.0.0.0/8``), leading zeros are decimal (``0.0.0.0/00`` is every address), a bare address or a
    netmask (``/255.0.0.0``) is not a CIDR. Unparsable values are `api-validation`'s business, never an
    error here.
    """
    parsed = parse_cidr_sloppy(text)
    if parsed is None:
        return None
    if parsed.bits == 32:
        return ipaddress.IPv4Network((parsed.network, parsed.prefix))
    return ipaddress.IPv6Network((parsed.network, parsed.prefix))


def live_rules(policy: NetworkPolicy) -> Iterator[tuple[str, str, str, PolicyRule]]:
    """`iter_rules`, restricted to the directions in the effective policyTypes.

    A rule whose direction is not in policyTypes is ignored by every network plugin (it admits
    nothing); `require-policy-types` reports such dead rules.
    """
    return iter(policy.live_rule_entries)


def everything_matcher(peer: NetworkPolicyPeer) -> tuple[str, str] | None:
    """``(sub-path, what it matches)`` when the peer alone matches every source/destination, else None.

    Everything means an ipBlock of a whole address family (``0.0.0.0/0`` or ``::/0``) without ``except``,
    or ``namespaceSelector: {}`` with no or an empty ``podSelector`` (every pod in every namespace).
    """
    block = peer.get("ipBlock")
    if block is not None:
        cidr = block.get("cidr", "")
        # Only a prefix of zeros can be a whole family: a policy listing thousands of /32s is not parsed.
        prefix = cidr.rpartition("/")[2]
        if block.get("except") or not prefix or prefix.strip("0"):
            return None
        network = parse_network(cidr)
        if network is not None and network.prefixlen == 0:
            return ".ipBlock.cidr", f"{cidr} with no except is every address"
        return None
    namespaces = peer.get("namespaceSelector")
    pods = peer.get("podSelector")
    everyone = pods is None or is_empty(pods)
    if namespaces is not None and is_empty(namespaces) and everyone:
        return ".namespaceSelector", "{} matches every pod in the cluster"
    return None


def port_span(port: NetworkPolicyPort) -> tuple[int, int] | None:
    """The numbers ``(first, last)`` one port entry admits over its protocol, None for a named port.

    An entry without ``port`` (``{protocol: TCP}``, or ``{}``) admits every port of its protocol, so it
    is the range 1-65535, exactly as if written ``port: 1, endPort: 65535``. An ``endPort`` without
    ``port`` is refused by the API server (api-validation's business): None too.
    """
    number = port.get("port")
    if number is None:
        return (1, _MAX_PORT) if port.get("endPort") is None else None
    if not isinstance(number, int):
        return None
    end_port = port.get("endPort")
    return (number, number) if end_port is None else (number, end_port)


def opens_whole_protocol(port: NetworkPolicyPort) -> bool:
    """True when the entry admits every port of its protocol (no ``port``, or a range 1-65535)."""
    span = port_span(port)
    return span is not None and span[0] <= 1 and span[1] >= _MAX_PORT


def _covers_protocol(ports: list[NetworkPolicyPort], protocol: str) -> bool:
    return any(effective_protocol(port) == protocol and opens_whole_protocol(port) for port in ports)


def covers_all_ports(ports: list[NetworkPolicyPort] | None) -> bool:
    """True when the ``ports`` list admits every port of every protocol (absent or empty does)."""
    if not ports:
        return True
    if len(ports) < len(PROTOCOLS):
        return False  # each protocol needs an entry of its own
    return all(_covers_protocol(ports, protocol) for protocol in PROTOCOLS)


def admits_port(
    ports: list[NetworkPolicyPort] | None, number: int, protocol: str, names: frozenset[str]
) -> bool:
    """True when ``ports`` admits ``number`` over ``protocol``.

    Absent or empty ``ports`` admits everything; an entry without ``port`` admits every port of its
    protocol (TCP when omitted); a range admits what it covers; a named port counts when its name is
    in ``names`` (named ports resolve on the pods, so only the caller knows which names mean what).
    """
    if not ports:
        return True
    for port in ports:
        if effective_protocol(port) != protocol:
            continue
        value = port.get("port")
        if value is None or value in names:
            return True
        end_port = port.get("endPort")
        if isinstance(value, int) and (
            value == number or (end_port is not None and value <= number <= end_port)
        ):
            return True
    return False
