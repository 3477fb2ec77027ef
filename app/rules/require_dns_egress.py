"""`require-dns-egress`: a policy that restricts egress still lets its pods resolve names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pydantic import Field

from app.netpol import EGRESS, NetworkPolicy
from app.rules.base import Action, Context, Finding, Rule, RuleSettings
from app.rules.traffic import admits_port

DNS_PORT: Final = 53
# The container port names CoreDNS and kube-dns give port 53 (UDP "dns", TCP "dns-tcp").
DNS_PORT_NAMES: Final = frozenset({"dns", "dns-tcp"})


class RequireDnsEgressSettings(RuleSettings):
    action: Action = Field(default=Action.OFF, description="deny | warn | audit | off")


class RequireDnsEgress(Rule[RequireDnsEgressSettings]):
    """Pods whose egress is restricted without DNS cannot resolve names unless another policy allows it.

    Applies when the effective policyTypes includes Egress and there is at least one egress rule (an
    egress deny-all with no rules is deliberate). Port 53 must be admitted over both UDP and TCP, by one
    rule or several, to any peer (where the DNS server runs is the cluster's business). A rule without
    ports admits every port; an entry without ``port`` admits every port of its protocol; a range
    covering 53 counts; protocol defaults to TCP. The named ports ``dns`` and ``dns-tcp`` (what
    CoreDNS/kube-dns call port 53) count as 53 for the entry's protocol, since named ports resolve on the
    destination pods and those are the names cluster DNS uses.
    """

    id = "require-dns-egress"
    settings_model = RequireDnsEgressSettings

    def check(
        self, policy: NetworkPolicy, settings: RequireDnsEgressSettings, context: Context
    ) -> Iterable[Finding]:
        rules = policy.spec.get("egress") or []
        if EGRESS not in policy.effective_policy_types or not rules:
            return
        missing = [
            protocol
            for protocol in ("UDP", "TCP")
            if not any(admits_port(rule.get("ports"), DNS_PORT, protocol, DNS_PORT_NAMES) for rule in rules)
        ]
        if missing:
            which = " and ".join(missing)
            yield Finding(
                "spec.egress",
                f"no egress rule allows DNS (port 53 over {which})",
                f"allow port 53 over {which} to cluster DNS",
            )
