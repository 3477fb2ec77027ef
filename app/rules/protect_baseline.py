"""`protect-baseline`: baseline policies are changed or deleted only by the people who own them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from pydantic import Field

from app.netpol import NetworkPolicy, spec_value
from app.rules.base import Action, Context, Finding, Rule, RuleSettings

BASELINE_LABEL: Final = "netpol-guard.io/baseline"
NAMESPACE_LIFECYCLE_USERS: Final = frozenset(
    {
        "system:serviceaccount:kube-system:namespace-controller",
        "system:serviceaccount:kube-system:generic-garbage-collector",
    }
)
"""The controllers that delete what a deleted namespace (or owner) held. Always allowed, so that deleting
a namespace never depends on this rule; the chart's webhook does not even send their requests."""


class ProtectBaselineSettings(RuleSettings):
    action: Action = Field(default=Action.DENY, description="deny | warn | audit | off")
    allowed_users: list[str] = Field(
        default=[], alias="allowedUsers", description="Usernames that may change or delete baselines (exact)."
    )
    allowed_groups: list[str] = Field(
        default=[], alias="allowedGroups", description="Groups whose members may change or delete baselines."
    )


def is_baseline(policy: NetworkPolicy) -> bool:
    """True when the policy carries ``netpol-guard.io/baseline: "true"``."""
    return (policy.metadata.get("labels") or {}).get(BASELINE_LABEL) == "true"


class ProtectBaseline(Rule[ProtectBaselineSettings]):
    """Baseline policies (labelled netpol-guard.io/baseline: "true") keep the cluster's floor in place.

    Only at admission, for UPDATE and DELETE (``check`` never runs it). DELETE judges the deleted object;
    UPDATE is reported when the old object is a baseline and the new one drops the label (or sets it to
    anything but "true") or has a different spec. Specs are compared as decoded models, i.e. by value
    after the API server's defaulting, so a re-apply of the same spec is no change. Users in
    ``allowedUsers`` and members of any of ``allowedGroups`` are let through, and so are the namespace
    controller and the garbage collector (``system:serviceaccount:kube-system:namespace-controller`` and
    ``...:generic-garbage-collector``), so that a namespace holding a baseline can be deleted.
    """

    id = "protect-baseline"
    settings_model = ProtectBaselineSettings
    scope = "admission"
    operations = frozenset({"UPDATE", "DELETE"})

    def check(
        self, policy: NetworkPolicy, settings: ProtectBaselineSettings, context: Context
    ) -> Iterable[Finding]:
        username = context.username
        if (
            username in NAMESPACE_LIFECYCLE_USERS
            or username in settings.allowed_users
            or not set(context.groups).isdisjoint(settings.allowed_groups)
        ):
            return
        fix = "ask someone in protect-baseline's allowedUsers or allowedGroups"
        if context.operation == "DELETE":
            if is_baseline(policy):
                yield Finding(
                    "metadata.labels",
                    f"{policy.display_name} is a baseline policy and cannot be deleted",
                    fix,
                )
            return
        old = context.old_object
        if old is None or not is_baseline(old):
            return
        if not is_baseline(policy):
            yield Finding("metadata.labels", f"the {BASELINE_LABEL} label cannot be removed", fix)
        if spec_value(policy) != spec_value(old):
            yield Finding("spec", "the spec of a baseline policy cannot be changed", fix)
