"""`forbid-broad-cidr`: ipBlock CIDRs are no broader than the organisation allows."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property
from typing import Annotated, Final

from pydantic import AfterValidator, Field

from app.netpol import NetworkPolicy, NetworkPolicyPeer, iter_rules
from app.rules.address_cover import FAMILY_NAMES, WHOLE_FAMILY, covered_families, family_cidrs
from app.rules.base import Action, Context, Finding, Rule, RuleSettings
from app.rules.traffic import Network, parse_network


def _cidr_syntax() -> str:
    """A regular expression (RE2 and Go syntax) matching exactly the strings `parse_network` accepts (Go
    1.16's net.ParseCIDR: leading zeros allowed, at most one ``::``, an IPv4 tail in IPv6), so that the
    chart's JSON schema refuses at render time the ``allow`` entries the server would refuse at start."""
    octet = "0*(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    ipv4 = rf"{octet}\.{octet}\.{octet}\.{octet}"
    group = "0*[0-9a-fA-F]{1,4}"
    forms = [":".join([group] * 8), ":".join([group] * 6 + [ipv4])]
    for left in range(8):
        for right in range(8 - left):
            forms.append(":".join([group] * left) + "::" + ":".join([group] * right))
            if left + right <= 5:
                forms.append(":".join([group] * left) + "::" + ":".join([group] * right + [ipv4]))
    ipv6 = "|".join(f"(?:{form})" for form in forms)
    return (
        rf"^(?:(?:{ipv4})/0*(?:3[0-2]|[12]?[0-9])"
        rf"|(?:{ipv6})/0*(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))$"
    )


CIDR_SYNTAX: Final = _cidr_syntax()


def _is_cidr(value: str) -> str:
    if parse_network(value) is None:
        raise ValueError(f"{value!r} is not a CIDR (expected e.g. 10.0.0.0/8 or fd00::/48)")
    return value


def _size(network: Network) -> str:
    host_bits = network.max_prefixlen - network.prefixlen
    return f"{network.num_addresses:,}" if host_bits <= 24 else f"2^{host_bits}"


def _prefix_at_least(cidr: str, ipv4_min: int, ipv6_min: int) -> bool:
    """True when ``cidr`` is certainly not too broad, read from its text alone (the common case).

    `parse_network` reads the digits after the slash as a decimal prefix length (leading zeros too),
    and an address parses as IPv6 only when it contains ':' (IPv4 text never does), so a prefix of 1-3
    digits at least the family's minimum is either that network's prefix length or a CIDR that does not
    parse: neither is reported. Anything else takes the full parse.
    """
    address, slash, prefix = cidr.partition("/")
    if not slash or not (0 < len(prefix) <= 3 and prefix.isdigit() and prefix.isascii()):
        return False
    return int(prefix) >= (ipv6_min if ":" in address else ipv4_min)


class ForbidBroadCidrSettings(RuleSettings):
    action: Action = Field(default=Action.WARN, description="deny | warn | audit | off")
    ipv4_min_prefix: int = Field(
        strict=True,
        default=16,
        ge=0,
        le=32,
        alias="ipv4MinPrefix",
        description="Shortest IPv4 prefix length allowed.",
    )
    ipv6_min_prefix: int = Field(
        strict=True,
        default=48,
        ge=0,
        le=128,
        alias="ipv6MinPrefix",
        description="Shortest IPv6 prefix length allowed.",
    )
    allow: list[
        Annotated[str, AfterValidator(_is_cidr), Field(json_schema_extra={"pattern": CIDR_SYNTAX})]
    ] = Field(
        default=[],
        description="CIDRs accepted however broad (compared as networks, so 10.0.0.1/8 matches 10.0.0.0/8).",
    )

    @cached_property
    def allowed_networks(self) -> frozenset[Network]:
        """The ``allow`` entries as networks (parsed once per loaded rules file)."""
        return frozenset(network for network in map(parse_network, self.allow) if network is not None)


class ForbidBroadCidr(Rule[ForbidBroadCidrSettings]):
    """A very broad ipBlock usually reaches far more than the workload needs (often the whole internet).

    Every ipBlock is judged, including ones in rules a missing policyType makes dead: they take effect as
    soon as someone fixes policyTypes. ``except`` entries do not make a CIDR narrower for this rule (they
    carve holes, the reach stays broad). The ipBlocks of one rule that together cover every IPv4 or
    IPv6 address (``0.0.0.0/1`` + ``128.0.0.0/1``) are as broad as a /0 and are reported at the peer
    list too, unless the /0 is in ``allow``. Independent of `forbid-allow-all`, which also reports a /0
    without except and a split one. Unparsable CIDRs are left to api-validation.
    """

    id = "forbid-broad-cidr"
    settings_model = ForbidBroadCidrSettings

    def check(
        self, policy: NetworkPolicy, settings: ForbidBroadCidrSettings, context: Context
    ) -> Iterable[Finding]:
        # Walked in `iter_ip_blocks` order, building a path only for what is reported.
        ipv4_min, ipv6_min = settings.ipv4_min_prefix, settings.ipv6_min_prefix
        for _, rule_path, peer_field, rule in iter_rules(policy):
            for index, peer in enumerate(rule.peers or ()):
                block = peer.get("ipBlock")
                if block is None:
                    continue
                cidr = block.get("cidr", "")
                if _prefix_at_least(cidr, ipv4_min, ipv6_min):
                    continue
                finding = _broad(cidr, settings)
                if finding is not None:
                    path = f"{rule_path}.{peer_field}[{index}].ipBlock.cidr"
                    yield Finding(path, *finding)
            yield from _split(rule_path, peer_field, rule.peers or [], settings)


def _split(
    rule_path: str, peer_field: str, peers: list[NetworkPolicyPeer], settings: ForbidBroadCidrSettings
) -> Iterable[Finding]:
    """The rule's ipBlocks that together cover a whole address family, as broad as its /0."""
    for version in covered_families(peers):
        minimum = settings.ipv4_min_prefix if version == 4 else settings.ipv6_min_prefix
        whole = parse_network(WHOLE_FAMILY[version])
        if minimum == 0 or whole in settings.allowed_networks:
            continue
        cidrs = ", ".join(family_cidrs(peers, version))
        yield Finding(
            f"{rule_path}.{peer_field}",
            f"ipBlocks {cidrs} together cover every {FAMILY_NAMES[version]} address, broader than /{minimum}",
            f"use /{minimum} or longer, or add {WHOLE_FAMILY[version]} to allow",
        )


def _broad(cidr: str, settings: ForbidBroadCidrSettings) -> tuple[str, str] | None:
    """(problem, fix) when an ipBlock's ``cidr`` is broader than allowed, else None."""
    network = parse_network(cidr)
    if network is None:
        return None
    minimum = settings.ipv4_min_prefix if network.version == 4 else settings.ipv6_min_prefix
    if network.prefixlen < minimum and network not in settings.allowed_networks:
        return (
            f"{cidr} is broader than /{minimum} ({_size(network)} addresses)",
            f"use /{minimum} or longer, or add it to allow",
        )
    return None
