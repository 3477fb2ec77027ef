"""`api-validation`: what the Kubernetes API server itself rejects, found before `kubectl apply` is."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import Field

from app.apischema import duplicate_field, type_problems, unknown_fields
from app.apivalidation import CREATE_OPTIONS, options_for_update, validate_policy
from app.netpol import NetworkPolicy
from app.rules.base import Action, Context, Finding, Rule, RuleSettings

_STRICT_NOTE = (
    " (only API servers with the StrictIPCIDRValidation feature gate reject this; others accept it "
    "and read the value as written in the fix)"
)


class CidrMode(StrEnum):
    """Which API server CIDR parsing to judge against."""

    LEGACY = "legacy"
    STRICT = "strict"


class ApiValidationSettings(RuleSettings):
    action: Action = Field(default=Action.DENY, description="deny | warn | audit | off")
    cidr_mode: CidrMode = Field(
        default=CidrMode.LEGACY,
        alias="cidrMode",
        description=(
            "legacy: judge CIDRs like an API server without the StrictIPCIDRValidation feature gate "
            "(the default up to at least 1.33); leading zeros, IPv4-mapped IPv6 and host bits set "
            "(010.0.0.0/8, ::ffff:10.0.0.0/104, 10.0.0.1/8) are only warnings. strict: judge like a "
            "server with the gate on, where they are errors with the rule's action."
        ),
    )


class ApiValidation(Rule[ApiValidationSettings]):
    """Manifests the Kubernetes API server would refuse fail here first, with its field paths and messages.

    Covers object metadata (name, namespace, labels, annotations), label selectors, ports, peers,
    policyTypes and ipBlocks as kube-apiserver validates them; a manifest that cannot even be decoded
    (wrong JSON types) is reported by the engine under this rule id too. Like kubectl, which decodes
    strictly, it also refuses fields the v1 schema does not know (with a did-you-mean fix), keys given
    twice in one mapping, and a NetworkPolicy under a removed or unknown apiVersion
    (``extensions/v1beta1``) or a mis-cased kind. Only `check` runs it: at admission the API server has
    already validated the object.
    """

    id = "api-validation"
    settings_model = ApiValidationSettings
    scope = "check"

    def check(
        self, policy: NetworkPolicy, settings: ApiValidationSettings, context: Context
    ) -> Iterable[Finding]:
        source = policy.source
        for problem in (
            *type_problems(source),
            *unknown_fields(source),
            *map(duplicate_field, context.duplicate_fields),
        ):
            yield Finding(problem.path, problem.problem, problem.fix)
        options = CREATE_OPTIONS
        if context.operation == "UPDATE" and context.old_object is not None:
            options = options_for_update(context.old_object)
        strict = settings.cidr_mode is CidrMode.STRICT
        for error in validate_policy(policy, options):
            if error.strict_only and not strict:
                yield Finding(error.path, error.body + _STRICT_NOTE, error.fix, advisory=True)
            else:
                yield Finding(error.path, error.body, error.fix)
