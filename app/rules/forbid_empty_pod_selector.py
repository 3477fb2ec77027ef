"""`forbid-empty-pod-selector`: a policy that allows traffic names the pods it is for."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from app.netpol import NetworkPolicy, is_empty
from app.rules.base import Action, Context, Finding, Rule, RuleSettings
from app.rules.traffic import live_rules


class ForbidEmptyPodSelectorSettings(RuleSettings):
    action: Action = Field(default=Action.WARN, description="deny | warn | audit | off")


class ForbidEmptyPodSelector(Rule[ForbidEmptyPodSelectorSettings]):
    """An allow rule applied to every pod in the namespace usually opens more than its author meant.

    ``podSelector: {}`` (or an absent/null one) selects every pod in the namespace. That is the right
    shape for a deny-all baseline (no ingress and no egress rules), which is never reported; a policy
    with at least one rule in a direction of its effective policyTypes allows something to every pod,
    and is. Rules of a direction policyTypes leaves out allow nothing, so they do not count.
    """

    id = "forbid-empty-pod-selector"
    settings_model = ForbidEmptyPodSelectorSettings

    def check(
        self, policy: NetworkPolicy, settings: ForbidEmptyPodSelectorSettings, context: Context
    ) -> Iterable[Finding]:
        if not is_empty(policy.pod_selector):
            return
        if next(live_rules(policy), None) is not None:
            yield Finding(
                "spec.podSelector",
                "{} selects every pod in the namespace",
                "select the intended pods by label (matchLabels)",
            )
