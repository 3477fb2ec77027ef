"""`limit-complexity`: policies stay small enough for people to review and for plugins to program."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from app.netpol import DIRECTIONS, NetworkPolicy, iter_rules
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
        # Paths are built only for what is reported: a large policy has thousands of blocks and selectors
        # (walked in `iter_ip_blocks` / `iter_selectors` order).
        max_except = settings.max_except_per_block
        cidrs = 0
        for _, rule_path, peer_field, rule in iter_rules(policy):
            for index, peer in enumerate(rule.peers or ()):
                block = peer.ip_block
                if block is None:
                    continue
                excepts = len(block.except_) if block.except_ else 0
                cidrs += 1 + excepts
                if excepts > max_except:
                    yield Finding(
                        f"{rule_path}.{peer_field}[{index}].ipBlock.except",
                        f"{excepts} except entries exceed the limit of {max_except}",
                        "merge adjacent except ranges, or split the cidr into smaller blocks",
                    )
        if cidrs > settings.max_cidrs:
            yield Finding(
                "spec",
                f"{cidrs} CIDRs (cidr and except entries) exceed the limit of {settings.max_cidrs}",
                "aggregate adjacent ranges into shorter prefixes, or split the policy",
            )
        max_expressions = settings.max_match_expressions
        selector = policy.spec.pod_selector
        if selector.match_expressions and len(selector.match_expressions) > max_expressions:
            yield _too_many_expressions("spec.podSelector", len(selector.match_expressions), max_expressions)
        for _, rule_path, peer_field, rule in iter_rules(policy):
            for index, peer in enumerate(rule.peers or ()):
                pods, namespaces = peer.pod_selector, peer.namespace_selector
                if pods is not None and pods.match_expressions:
                    count = len(pods.match_expressions)
                    if count > max_expressions:
                        where = f"{rule_path}.{peer_field}[{index}].podSelector"
                        yield _too_many_expressions(where, count, max_expressions)
                if namespaces is not None and namespaces.match_expressions:
                    count = len(namespaces.match_expressions)
                    if count > max_expressions:
                        where = f"{rule_path}.{peer_field}[{index}].namespaceSelector"
                        yield _too_many_expressions(where, count, max_expressions)


def _too_many_expressions(path: str, count: int, limit: int) -> Finding:
    return Finding(
        f"{path}.matchExpressions",
        f"{count} matchExpressions exceed the limit of {limit}",
        "label the pods or namespaces for this purpose and match that one label",
    )
