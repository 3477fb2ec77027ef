"""`limit-port-range`: port ranges (port..endPort) stay small."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from app.netpol import NetworkPolicy, iter_rules
from app.rules.base import Action, Context, Finding, Rule, RuleSettings


class LimitPortRangeSettings(RuleSettings):
    action: Action = Field(default=Action.WARN, description="deny | warn | audit | off")
    max_ports: int = Field(
        strict=True,
        default=100,
        ge=1,
        alias="maxPorts",
        description="Most ports one port..endPort range may span.",
    )


class LimitPortRange(Rule[LimitPortRangeSettings]):
    """A wide port range opens services nobody meant to expose.

    Judged only where ``port`` and ``endPort`` are both integers (a named port with endPort, or an
    endPort below port, is api-validation's business). Every rule counts, including rules a missing
    policyType makes dead, since they take effect once policyTypes is fixed.
    """

    id = "limit-port-range"
    settings_model = LimitPortRangeSettings

    def check(
        self, policy: NetworkPolicy, settings: LimitPortRangeSettings, context: Context
    ) -> Iterable[Finding]:
        for _, rule_path, _, rule in iter_rules(policy):
            for index, port in enumerate(rule.ports or ()):
                number, end_port = port.get("port"), port.get("endPort")
                if end_port is None or not isinstance(number, int):
                    continue
                count = end_port - number + 1
                if count > settings.max_ports:
                    yield Finding(
                        f"{rule_path}.ports[{index}].endPort",
                        f"range {number}-{end_port} is {count} ports (limit {settings.max_ports})",
                        f"narrow it to at most {settings.max_ports} ports",
                    )
