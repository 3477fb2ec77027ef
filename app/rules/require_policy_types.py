"""`require-policy-types`: policyTypes is explicit, includes what is required, leaves no rule dead."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final, Literal

import orjson
from pydantic import Field

from app.netpol import DIRECTIONS, NetworkPolicy
from app.rules.base import Action, Context, Finding, Rule, RuleSettings

LAST_APPLIED: Final = "kubectl.kubernetes.io/last-applied-configuration"


class RequirePolicyTypesSettings(RuleSettings):
    action: Action = Field(default=Action.DENY, description="deny | warn | audit | off")
    must_include: list[Literal["Ingress", "Egress"]] = Field(
        default=[],
        alias="mustInclude",
        description="Policy types every policy must include after defaulting, e.g. [Ingress, Egress].",
    )


def _defaulted(policy: NetworkPolicy) -> str:
    return "[" + ", ".join(policy.effective_policy_types) + "]"


def _omitted_in_last_applied(annotations: dict[str, str]) -> bool | None:
    """Whether the client-side-applied manifest lacked policyTypes; None when it cannot tell."""
    text = annotations.get(LAST_APPLIED)
    if text is None:
        return None
    try:
        applied: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None  # a broken annotation is no evidence either way
    if not isinstance(applied, dict):
        return None
    spec = applied.get("spec")
    if spec is None:
        return True
    if not isinstance(spec, dict):
        return None
    return not spec.get("policyTypes")


def _omitted_in_server_side_apply(managed_fields: list[dict[str, Any]]) -> bool | None:
    """Whether the server-side-applied manifests lacked policyTypes; None when none applied the spec.

    Every ``operation: Apply`` entry that owns part of the spec is an author's manifest; policyTypes
    counts as written when any of them owns ``f:policyTypes``.
    """
    applied_specs = [
        entry["fieldsV1"]["f:spec"]
        for entry in managed_fields
        if isinstance(entry, dict)
        and entry.get("operation") == "Apply"
        and isinstance(entry.get("fieldsV1"), dict)
        and isinstance(entry["fieldsV1"].get("f:spec"), dict)
    ]
    if not applied_specs:
        return None
    return not any("f:policyTypes" in spec for spec in applied_specs)


def _omission(policy: NetworkPolicy, context: Context) -> str | None:
    """Where the author left policyTypes out (a phrase for the message), or None."""
    if context.source == "manifest":
        policy_types = policy.spec.get("policyTypes")
        return "not set" if policy_types is None else "empty" if not policy_types else None
    meta = policy.metadata
    if _omitted_in_last_applied(meta.get("annotations") or {}):
        return "not set in the applied manifest"
    if _omitted_in_server_side_apply(meta.get("managedFields") or []):
        return "not set in the server-side applied manifest"
    return None


class RequirePolicyTypes(Rule[RequirePolicyTypesSettings]):
    """Explicit policyTypes make a policy's isolation visible; the API default surprises authors.

    Without policyTypes the API server isolates Ingress always and Egress only when egress rules exist,
    so an "egress-only" policy silently denies all ingress. On raw manifests an absent or empty
    policyTypes is reported. At admission the API server has already defaulted it, so the omission is
    read from the author's own manifest: the ``kubectl.kubernetes.io/last-applied-configuration``
    annotation (client-side apply) or the ``managedFields`` entries with ``operation: Apply`` (server-side
    apply). Where neither exists (``kubectl create``, controllers, client libraries) or the annotation is
    not valid JSON, nothing shows what the author wrote and no omission is reported. ``mustInclude``
    always applies, to the effective (defaulted) policyTypes. Rules of a direction that an explicit
    policyTypes leaves out are reported as dead: the API keeps them but no network plugin applies them.
    """

    id = "require-policy-types"
    settings_model = RequirePolicyTypesSettings

    def check(
        self, policy: NetworkPolicy, settings: RequirePolicyTypesSettings, context: Context
    ) -> Iterable[Finding]:
        omission = _omission(policy, context)
        if omission is not None:
            yield Finding(
                "spec.policyTypes",
                f"policyTypes {omission}; defaults to {_defaulted(policy)}",
                f"set it explicitly ({_defaulted(policy)} keeps today's meaning)",
            )
        effective = policy.effective_policy_types
        for wanted in settings.must_include:
            if wanted not in effective:
                yield Finding(
                    "spec.policyTypes",
                    f"policyTypes lacks {wanted} (required here)",
                    f"add {wanted} and the {wanted.lower()} rules needed",
                )
        if policy.spec.get("policyTypes"):
            for direction, field, _ in DIRECTIONS:
                if direction not in effective and policy.rules(direction):
                    yield Finding(
                        f"spec.{field}",
                        f"rules ignored: policyTypes lacks {direction}",
                        f"add {direction} to policyTypes, or delete them",
                    )
