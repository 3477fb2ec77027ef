"""`require-dns-egress`: a policy that restricts egress still lets its pods resolve names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pydantic import Field

from app.explain.labels import named_namespace, normalise
from app.netpol import EGRESS, NetworkPolicy, NetworkPolicyPeer, PolicyRule
from app.rules.base import Action, Context, Finding, Rule, RuleSettings
from app.rules.traffic import admits_port

DNS_PORT: Final = 53
# The container port names CoreDNS and kube-dns give port 53, each for its own protocol.
DNS_PORT_NAMES: Final = {"UDP": frozenset({"dns"}), "TCP": frozenset({"dns-tcp"})}
_NO_NAMES: Final = frozenset[str]()
_DEFAULT_NAMESPACE: Final = "default"


class RequireDnsEgressSettings(RuleSettings):
    action: Action = Field(default=Action.OFF, description="deny | warn | audit | off")
    dns_namespaces: list[str] = Field(
        default=["kube-system"],
        alias="dnsNamespaces",
        description="Namespaces cluster DNS may run in; only a peer that could reach one of them counts.",
    )


def _could_reach_dns(peer: NetworkPolicyPeer, own_namespace: str, dns_namespaces: list[str]) -> bool:
    """True when the peer could select pods of a DNS namespace (or DNS's addresses, for an ipBlock).

    An ipBlock could hold the DNS service's pods; a namespaceSelector counts unless it provably excludes
    every DNS namespace (only their ``kubernetes.io/metadata.name`` label is known); a podSelector alone
    selects the policy's own namespace.
    """
    if peer.get("ipBlock") is not None:
        return True
    namespaces = peer.get("namespaceSelector")
    if namespaces is None:
        return own_namespace in dns_namespaces
    selector = normalise(namespaces, namespace=True)
    return any(not selector.disjoint(named_namespace(name)) for name in dns_namespaces)


def _admits_dns(rule: PolicyRule, protocol: str, own_namespace: str, dns_namespaces: list[str]) -> bool:
    if not rule.peers:  # no `to`: every destination, DNS included
        return admits_port(rule.ports, DNS_PORT, protocol, DNS_PORT_NAMES.get(protocol, _NO_NAMES))
    for peer in rule.peers:
        if not _could_reach_dns(peer, own_namespace, dns_namespaces):
            continue
        # A named port resolves on the destination pods; an ipBlock has none, so only numbers count.
        names = _NO_NAMES if peer.get("ipBlock") is not None else DNS_PORT_NAMES.get(protocol, _NO_NAMES)
        if admits_port(rule.ports, DNS_PORT, protocol, names):
            return True
    return False


class RequireDnsEgress(Rule[RequireDnsEgressSettings]):
    """Pods whose egress is restricted without DNS cannot resolve names unless another policy allows it.

    Applies when the effective policyTypes includes Egress and there is at least one egress rule (an
    egress deny-all with no rules is deliberate). Port 53 must be admitted over both UDP and TCP, by one
    rule or several, to a peer that could be cluster DNS: a rule without ``to``, an ipBlock, or a
    namespaceSelector that could select a namespace of ``dnsNamespaces`` (only the
    ``kubernetes.io/metadata.name`` label of those namespaces is known, so a selector on other labels
    counts); a podSelector-only peer selects the policy's own namespace, so it counts only when the
    policy lives in a DNS namespace. A rule without ports admits every port; an entry without ``port``
    admits every port of its protocol; a range covering 53 counts; protocol defaults to TCP. The named
    ports CoreDNS and kube-dns give port 53 count by name and protocol: ``dns`` over UDP, ``dns-tcp``
    over TCP (never against an ipBlock, where named ports cannot resolve).
    """

    id = "require-dns-egress"
    settings_model = RequireDnsEgressSettings

    def check(
        self, policy: NetworkPolicy, settings: RequireDnsEgressSettings, context: Context
    ) -> Iterable[Finding]:
        if EGRESS not in policy.effective_policy_types or not policy.spec.get("egress"):
            return
        own = context.namespace or policy.metadata.get("namespace") or _DEFAULT_NAMESPACE
        rules = [rule for direction, _, _, rule in policy.rule_entries if direction == EGRESS]
        missing = [
            protocol
            for protocol in ("UDP", "TCP")
            if not any(_admits_dns(rule, protocol, own, settings.dns_namespaces) for rule in rules)
        ]
        if missing:
            which = " and ".join(missing)
            where = ", ".join(settings.dns_namespaces)
            yield Finding(
                "spec.egress",
                f"no egress rule allows DNS (port 53 over {which}) to a peer that could be cluster DNS",
                f"allow port 53 over {which} to cluster DNS (a namespaceSelector for {where}, "
                "or a rule without `to`)",
            )
