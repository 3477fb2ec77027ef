"""`forbid-allow-all`: no rule admits every peer on every port."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from app.netpol import INGRESS, NetworkPolicy
from app.rules.address_cover import FAMILY_NAMES, covered_families, family_cidrs
from app.rules.base import Action, Context, Finding, Rule, RuleSettings
from app.rules.traffic import covers_all_ports, everything_matcher, live_rules


class ForbidAllowAllSettings(RuleSettings):
    action: Action = Field(default=Action.DENY, description="deny | warn | audit | off")
    allow_port_scoped: bool = Field(
        strict=True,
        default=True,
        alias="allowPortScoped",
        description="Allow a rule that admits every peer but only on some ports; false reports it too.",
    )


class ForbidAllowAll(Rule[ForbidAllowAllSettings]):
    """A rule that admits everyone on every port undoes the isolation the policy exists for.

    Everyone means a rule without ``from``/``to`` (including ``ingress: [{}]`` and ``ingress: [null]``),
    or a peer matching every address or pod: ``ipBlock`` ``0.0.0.0/0`` or ``::/0`` without ``except``,
    ``namespaceSelector: {}`` with no or an empty ``podSelector``, or ipBlock peers that together (minus
    their excepts) cover every IPv4 or every IPv6 address (``0.0.0.0/1`` + ``128.0.0.0/1``, reported at
    the peer list). Every port means no ``ports``, or ports
    that cover all of TCP, UDP and SCTP. Only directions in the effective (defaulted) policyTypes count:
    a rule of another direction admits nothing (`require-policy-types` reports it as dead), so calling
    it an allow-all would point the author at the wrong fix. Unparsable CIDRs are left to api-validation.
    """

    id = "forbid-allow-all"
    settings_model = ForbidAllowAllSettings

    def check(
        self, policy: NetworkPolicy, settings: ForbidAllowAllSettings, context: Context
    ) -> Iterable[Finding]:
        for direction, rule_path, peer_field, rule in live_rules(policy):
            every_port = covers_all_ports(rule.ports)
            if not every_port and settings.allow_port_scoped:
                continue
            peers = "sources" if direction == INGRESS else "destinations"
            scope = "on every port" if every_port else "on its ports"
            and_ports = " and list the ports" if every_port else ""
            if not rule.peers:
                yield Finding(
                    rule_path,
                    f"rule with no {peer_field} admits all {peers} {scope}",
                    f"list the allowed {peers}" + (" and ports" if every_port else ""),
                )
                continue
            whole_blocks: set[int] = set()
            for index, peer in enumerate(rule.peers):
                matched = everything_matcher(peer)
                if matched is not None:
                    sub_path, what = matched
                    block = peer.get("ipBlock")
                    if block is not None:
                        whole_blocks.add(6 if ":" in block.get("cidr", "") else 4)
                    yield Finding(
                        f"{rule_path}.{peer_field}[{index}]{sub_path}",
                        f"{what}, {scope}",
                        f"narrow the peer{and_ports}",
                    )
            for version in covered_families(rule.peers):
                if version in whole_blocks:
                    continue  # one /0 peer already said it
                cidrs = ", ".join(family_cidrs(rule.peers, version))
                yield Finding(
                    f"{rule_path}.{peer_field}",
                    f"ipBlocks {cidrs} together cover every {FAMILY_NAMES[version]} address, {scope}",
                    f"narrow the ipBlocks{and_ports}",
                )
