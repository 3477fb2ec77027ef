"""`limit-port-range`: port ranges (port..endPort) stay small."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from app.netpol import NetworkPolicy, effective_protocol, iter_rules
from app.rules.base import Action, Context, Finding, Rule, RuleSettings
from app.rules.traffic import port_span


class LimitPortRangeSettings(RuleSettings):
    action: Action = Field(default=Action.WARN, description="deny | warn | audit | off")
    max_ports: int = Field(
        strict=True,
        default=100,
        ge=1,
        le=65536,  # a range spans at most every port; a bound also keeps huge numbers out of the file
        alias="maxPorts",
        description="Most ports one port..endPort range may span.",
    )


class LimitPortRange(Rule[LimitPortRangeSettings]):
    """A wide port range opens services nobody meant to expose.

    Judged where ``port`` and ``endPort`` are both integers (a named port with endPort, or an endPort
    below port, is api-validation's business), and for an entry without ``port`` (``{protocol: TCP}``),
    which opens every port of its protocol just like ``port: 1, endPort: 65535``. Every rule counts,
    including rules a missing policyType makes dead, since they take effect once policyTypes is fixed.
    """

    id = "limit-port-range"
    settings_model = LimitPortRangeSettings

    def check(
        self, policy: NetworkPolicy, settings: LimitPortRangeSettings, context: Context
    ) -> Iterable[Finding]:
        for _, rule_path, _, rule in iter_rules(policy):
            for index, port in enumerate(rule.ports or ()):
                span = port_span(port)
                if span is None or (port.get("port") is not None and port.get("endPort") is None):
                    continue  # a named port or a single port
                first, last = span
                count = last - first + 1
                if count <= settings.max_ports:
                    continue
                limit = f"{count} ports (limit {settings.max_ports})"
                if port.get("port") is None:
                    yield Finding(
                        f"{rule_path}.ports[{index}]",
                        f"no port: every {effective_protocol(port)} port is open, {limit}",
                        f"set port (and endPort for a range of at most {settings.max_ports} ports)",
                    )
                else:
                    yield Finding(
                        f"{rule_path}.ports[{index}].endPort",
                        f"range {first}-{last} is {limit}",
                        f"narrow it to at most {settings.max_ports} ports",
                    )
