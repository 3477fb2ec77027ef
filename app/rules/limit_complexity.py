"""`limit-complexity`: policies stay small enough for people to review and for plugins to program."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from app.netpol import DIRECTIONS, NetworkPolicy, iter_ip_blocks, iter_rules, iter_selectors
from app.rules.base import Action, Context, Finding, Rule, RuleSettings


class LimitComplexitySettings(RuleSettings):
    action: Action = Field(default=Action.WARN, description="deny | warn | audit | off")
    max_rules: int = Field(
        strict=True, default=50, ge=0, alias="maxRules", description="Most rules per direction."
    )
    max_peers_per_rule: int = Field(
        strict=True, default=50, ge=0, alias="maxPeersPerRule", description="Most from/to peers in one rule."
    )
    max_cidrs: int = Field(
        strict=True,
        default=100,
        ge=0,
        alias="maxCidrs",
        description="Most CIDRs in one policy, counting every ipBlock.cidr and every except entry.",
    )
    max_except_per_block: int = Field(
        strict=True,
        default=50,
        ge=0,
        alias="maxExceptPerBlock",
        description="Most except entries in one ipBlock.",
    )
    max_match_expressions: int = Field(
        strict=True,
        default=10,
        ge=0,
        alias="maxMatchExpressions",
        description="Most matchExpressions in one selector.",
    )


class LimitComplexity(Rule[LimitComplexitySettings]):
    """Huge policies hide mistakes from reviewers and slow down the network plugin that programs them.

    Counts what is written, in every rule (rules a missing policyType makes dead included). ``maxCidrs``
    counts both ``ipBlock.cidr`` and each ``except`` entry, because a plugin programs a match for each.
    """

    id = "limit-complexity"
    settings_model = LimitComplexitySettings

    def check(
        self, policy: NetworkPolicy, settings: LimitComplexitySettings, context: Context
    ) -> Iterable[Finding]:
        for direction, field, _ in DIRECTIONS:
            count = len(policy.spec.rules(direction))
            if count > settings.max_rules:
                yield Finding(
                    f"spec.{field}",
                    f"{count} {field} rules exceed the limit of {settings.max_rules}",
                    "merge rules with the same ports, or split the policy by workload",
                )
        for _, rule_path, peer_field, rule in iter_rules(policy):
            count = len(rule.peers or ())
            if count > settings.max_peers_per_rule:
                yield Finding(
                    f"{rule_path}.{peer_field}",
                    f"{count} peers in one rule exceed the limit of {settings.max_peers_per_rule}",
                    "select peers by label instead of listing them, or split the rule",
                )
        cidrs = 0
        for path, block in iter_ip_blocks(policy):
            excepts = len(block.except_ or ())
            cidrs += 1 + excepts
            if excepts > settings.max_except_per_block:
                yield Finding(
                    f"{path}.except",
                    f"{excepts} except entries exceed the limit of {settings.max_except_per_block}",
                    "merge adjacent except ranges, or split the cidr into smaller blocks",
                )
        if cidrs > settings.max_cidrs:
            yield Finding(
                "spec",
                f"{cidrs} CIDRs (cidr and except entries) exceed the limit of {settings.max_cidrs}",
                "aggregate adjacent ranges into shorter prefixes, or split the policy",
            )
        for path, selector in iter_selectors(policy):
            count = len(selector.match_expressions or ())
            if count > settings.max_match_expressions:
                yield Finding(
                    f"{path}.matchExpressions",
                    f"{count} matchExpressions exceed the limit of {settings.max_match_expressions}",
                    "label the pods or namespaces for this purpose and match that one label",
                )
