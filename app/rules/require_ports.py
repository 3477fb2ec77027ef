"""`require-ports`: a rule that names its peers also names the ports they may use."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from app.netpol import NetworkPolicy, effective_protocol
from app.rules.base import Action, Context, Finding, Rule, RuleSettings
from app.rules.traffic import live_rules, opens_whole_protocol


class RequirePortsSettings(RuleSettings):
    action: Action = Field(default=Action.WARN, description="deny | warn | audit | off")


class RequirePorts(Rule[RequirePortsSettings]):
    """Peers without ports may use every port; least privilege names the ports too.

    A rule with ``from``/``to`` peers but no (or empty) ``ports`` is reported at the rule. A port entry
    that opens every port of its protocol - no ``port`` (``{protocol: TCP}``), or ``port: 1, endPort:
    65535`` - lists no port either, and is reported at the entry. A rule with neither peers nor ports is
    an allow-all (`forbid-allow-all`'s business). Only directions in the effective policyTypes are
    judged: rules of another direction admit nothing (`require-policy-types` reports them).
    """

    id = "require-ports"
    settings_model = RequirePortsSettings

    def check(
        self, policy: NetworkPolicy, settings: RequirePortsSettings, context: Context
    ) -> Iterable[Finding]:
        for _, rule_path, _, rule in live_rules(policy):
            if not rule.peers:
                continue
            if not rule.ports:
                yield Finding(
                    rule_path,
                    "rule has peers but no ports (every port is open)",
                    "list the ports the peers need",
                )
                continue
            for index, port in enumerate(rule.ports):
                if opens_whole_protocol(port):
                    protocol = effective_protocol(port)
                    yield Finding(
                        f"{rule_path}.ports[{index}]",
                        f"port entry names no ports: it opens every {protocol} port to the peers",
                        f"list the {protocol} ports the peers need",
                    )
