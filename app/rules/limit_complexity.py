"""`limit-complexity`: policies stay small enough for people to review and for plugins to program."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from app.netpol import DIRECTIONS, LabelSelector, NetworkPolicy, iter_rules
from app.rules.base import Action, Context, Finding, Rule, RuleSettings

# Past app.limits' hard limits a policy is refused before any rule runs; a bound keeps typos like a
# 5,000-digit number out of the rules file (and the chart's schema refuses them at render time).
_MOST = 1_000_000


class LimitComplexitySettings(RuleSettings):
    action: Action = Field(default=Action.WARN, description="deny | warn | audit | off")
    max_rules: int = Field(
        strict=True, default=50, ge=0, le=_MOST, alias="maxRules", description="Most rules per direction."
    )
    max_peers_per_rule: int = Field(
        strict=True,
        default=50,
        ge=0,
        le=_MOST,
        alias="maxPeersPerRule",
        description="Most from/to peers in one rule.",
    )
    max_cidrs: int = Field(
        strict=True,
        default=100,
        ge=0,
        le=_MOST,
        alias="maxCidrs",
        description="Most CIDRs in one policy, counting every ipBlock.cidr and every except entry.",
    )
    max_except_per_block: int = Field(
        strict=True,
        default=50,
        ge=0,
        le=_MOST,
        alias="maxExceptPerBlock",
        description="Most except entries in one ipBlock.",
    )
    max_match_expressions: int = Field(
        strict=True,
        default=10,
        ge=0,
        le=_MOST,
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
            count = len(policy.rules(direction))
            if count > settings.max_rules:
                yield Finding(
                    f"spec.{field}",
                    f"{count} {field} rules exceed the limit of {settings.max_rules}",
                    "merge rules with the same ports, or split the policy by workload",
                )
        # One pass over the peers of a policy that may list thousands; findings are reported by kind in
        # the order of `iter_rules`, `iter_ip_blocks` and `iter_selectors`, and paths are built only for
        # what is reported.
        max_peers, max_except = settings.max_peers_per_rule, settings.max_except_per_block
        max_expressions = settings.max_match_expressions
        crowded_rules: list[Finding] = []
        long_excepts: list[Finding] = []
        selectors: list[Finding] = []
        pod_selector = policy.pod_selector
        expressions = pod_selector.get("matchExpressions")
        if expressions and len(expressions) > max_expressions:
            selectors.append(_selector_finding("spec.podSelector", pod_selector, max_expressions))
        cidrs = 0
        for _, rule_path, peer_field, rule in iter_rules(policy):
            peers = rule.peers
            if not peers:
                continue
            if len(peers) > max_peers:
                crowded_rules.append(
                    Finding(
                        f"{rule_path}.{peer_field}",
                        f"{len(peers)} peers in one rule exceed the limit of {max_peers}",
                        "select peers by label instead of listing them, or split the rule",
                    )
                )
            for index, peer in enumerate(peers):
                block, pods, namespaces = (
                    peer.get("ipBlock"),
                    peer.get("podSelector"),
                    peer.get("namespaceSelector"),
                )
                if block is not None:
                    except_ = block.get("except")
                    excepts = len(except_) if except_ else 0
                    cidrs += 1 + excepts
                    if excepts > max_except:
                        long_excepts.append(
                            Finding(
                                f"{rule_path}.{peer_field}[{index}].ipBlock.except",
                                f"{excepts} except entries exceed the limit of {max_except}",
                                "merge adjacent except ranges, or split the cidr into smaller blocks",
                            )
                        )
                if pods is not None and len(pods.get("matchExpressions") or ()) > max_expressions:
                    where = f"{rule_path}.{peer_field}[{index}].podSelector"
                    selectors.append(_selector_finding(where, pods, max_expressions))
                if namespaces is not None and len(namespaces.get("matchExpressions") or ()) > max_expressions:
                    where = f"{rule_path}.{peer_field}[{index}].namespaceSelector"
                    selectors.append(_selector_finding(where, namespaces, max_expressions))
        yield from crowded_rules
        yield from long_excepts
        if cidrs > settings.max_cidrs:
            yield Finding(
                "spec",
                f"{cidrs} CIDRs (cidr and except entries) exceed the limit of {settings.max_cidrs}",
                "aggregate adjacent ranges into shorter prefixes, or split the policy",
            )
        yield from selectors


def _selector_finding(path: str, selector: LabelSelector, limit: int) -> Finding:
    return Finding(
        f"{path}.matchExpressions",
        f"{len(selector.get('matchExpressions') or ())} matchExpressions exceed the limit of {limit}",
        "label the pods or namespaces for this purpose and match that one label",
    )
