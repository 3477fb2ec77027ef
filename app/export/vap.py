"""A rules file as admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy objects and bindings.

One policy and one binding per active rule (``netpol-guard-<rule-id>``), so that each rule keeps its own
action, namespaces and CEL cost budget (the API server's budget is per policy and binding). The mapping:

- the action after the rules file's mode (`engine._apply_mode`) is the binding's validationActions:
  deny -> Deny, warn -> Warn, audit -> Audit; deny policies fail closed, the others fail open, so that a
  warning can never block a write;
- exempt namespaces named exactly are the binding's namespaceSelector (``kubernetes.io/metadata.name``);
  globs, the rule's own namespaces/excludeNamespaces, exempt users and groups and the annotation opt-out
  are matchConditions;
- grandfathering: on UPDATE a check the old object already failed does not deny; it warns instead
  through a second policy, ``netpol-guard-<rule-id>-grandfathered``, bound with Warn;
- every message is ``[rule-id] path: problem (offending values). Fix: ...`` on one line.

What CEL cannot express is collected in `Export.gaps` and written into the policies' annotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from app.engine import API_VALIDATION, PROTECT_BASELINE
from app.export import bounds, cel
from app.export.translations import Check, Translation, translate
from app.rules.base import Action, RuleSettings
from app.ruleset import Mode, RuleSet

API_VERSION: Final = "admissionregistration.k8s.io/v1"
PREFIX: Final = "netpol-guard-"
GAPS_ANNOTATION: Final = "netpol-guard.io/not-exported"
"""On each policy: what of its rule the policy does not do (and the webhook does)."""
SKIPPED_ANNOTATION: Final = "netpol-guard.io/rules-not-exported"
"""On each policy: the active rules of the rules file that have no policy at all."""
RULE_LABEL: Final = "netpol-guard.io/rule"
MIN_KUBERNETES: Final = "1.30"
NAME_LABEL: Final = "kubernetes.io/metadata.name"
_NOT_OPTABLE: Final = frozenset({API_VALIDATION, PROTECT_BASELINE, bounds.SIZE_POLICY})
_ACTIONS: Final = {Action.DENY: "Deny", Action.WARN: "Warn", Action.AUDIT: "Audit"}
_MESSAGE_ITEMS: Final = 20
"""Offending values named in a message; more are counted (messages must stay under 5 KiB)."""


@dataclass(frozen=True, slots=True)
class Export:
    """The documents to write, and per rule id what CEL leaves out."""

    documents: list[dict[str, Any]]
    gaps: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _action(settings: RuleSettings, mode: Mode) -> Action:
    if mode is Mode.AUDIT:
        return Action.AUDIT
    if mode is Mode.WARN and settings.action is Action.DENY:
        return Action.WARN
    return settings.action


def _match_conditions(
    ruleset: RuleSet, rule_id: str, settings: RuleSettings, extra: str | None
) -> list[dict[str, str]]:
    exemptions = ruleset.exemptions
    conditions: list[dict[str, str]] = []
    globs = [name for name in exemptions.namespaces if cel.is_glob(name)]
    if globs:
        regex = cel.string(cel.globs_regex(globs))
        conditions.append(
            {"name": "exempt-namespace-patterns", "expression": f"!request.namespace.matches({regex})"}
        )
    if settings.namespaces != ["*"]:
        regex = cel.string(cel.globs_regex(settings.namespaces))
        conditions.append({"name": "rule-namespaces", "expression": f"request.namespace.matches({regex})"})
    if settings.exclude_namespaces:
        regex = cel.string(cel.globs_regex(settings.exclude_namespaces))
        conditions.append(
            {"name": "rule-exclude-namespaces", "expression": f"!request.namespace.matches({regex})"}
        )
    if exemptions.users:
        conditions.append({"name": "exempt-users", "expression": f"!({cel.user_in(exemptions.users)})"})
    if exemptions.groups:
        conditions.append({"name": "exempt-groups", "expression": f"!{cel.group_in(exemptions.groups)}"})
    opt_out = exemptions.annotation
    if opt_out.enabled and rule_id not in _NOT_OPTABLE:
        annotations = cel.metadata_map("object", "annotations")
        key, reason = cel.string(opt_out.key), cel.string(opt_out.reason_key)
        opted = (
            f'{key} in {annotations} && {reason} in {annotations} && {annotations}[{reason}].trim() != "" && '
            f'{annotations}[{key}].split(",").exists(id, id.trim() == {cel.string(rule_id)})'
        )
        conditions.append({"name": "annotation-opt-out", "expression": f"!({opted})"})
    if extra is not None:
        conditions.append({"name": "rule-exemptions", "expression": extra})
    return conditions


def _bounded(conditions: list[dict[str, str]]) -> list[dict[str, str]]:
    # Larger objects are the size policy's to deny; the rules' comprehensions never see them.
    return [*conditions, {"name": "within-bounds", "expression": bounds.within_bounds()}]


def _message(rule_id: str, check: Check, variable: str) -> tuple[str, str]:
    """(static message, messageExpression): the same line, the latter with the offending values."""
    head = f"[{rule_id}] {check.path}: {check.problem}"
    tail = f". Fix: {check.fix}"
    listed = (
        f'(size({variable}) > {_MESSAGE_ITEMS} ? string(size({variable})) + " found" : {variable}.join(", "))'
    )
    expression = f"{cel.string(head + ' (')} + {listed} + {cel.string(')' + tail)}"
    return head + tail, expression


def _variables(checks: tuple[Check, ...], old: bool) -> list[dict[str, str]]:
    found = [{"name": check.name, "expression": check.offenders("object")} for check in checks]
    if old:
        # Grandfathering reads the old object's findings, so the old object is held to the bounds too.
        found.append({"name": "old_within_bounds", "expression": bounds.within_bounds("oldObject")})
        found += [
            {"name": f"old_{check.name}", "expression": check.offenders("oldObject")} for check in checks
        ]
    return found


def _policy(
    name: str,
    rule_id: str,
    translation: Translation,
    conditions: list[dict[str, str]],
    validations: list[dict[str, str]],
    variables: list[dict[str, str]],
    fail_closed: bool,
    annotations: dict[str, str],
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "failurePolicy": "Fail" if fail_closed else "Ignore",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": ["networking.k8s.io"],
                    "apiVersions": ["v1"],
                    "operations": list(translation.operations),
                    "resources": ["networkpolicies"],
                }
            ]
        },
    }
    if conditions:
        spec["matchConditions"] = conditions
    spec["variables"] = variables
    spec["validations"] = validations
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "netpol-guard", RULE_LABEL: rule_id},
            "annotations": annotations,
        },
        "spec": spec,
    }


def _binding(name: str, rule_id: str, action: Action, exact_exempt: list[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"policyName": name, "validationActions": [_ACTIONS[action]]}
    if exact_exempt:
        spec["matchResources"] = {
            "namespaceSelector": {
                "matchExpressions": [{"key": NAME_LABEL, "operator": "NotIn", "values": exact_exempt}]
            }
        }
    return {
        "apiVersion": API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "netpol-guard", RULE_LABEL: rule_id},
        },
        "spec": spec,
    }


def export_vap(ruleset: RuleSet) -> Export:
    """Every active rule of ``ruleset`` that CEL can express, as policies and bindings."""
    translations = {
        rule.id: (settings, translate(rule.id, settings)) for rule, settings in ruleset.active_rules
    }
    gaps = {rule_id: t.gaps for rule_id, (_, t) in translations.items() if t.gaps}
    if ruleset.explain.admission != "off":
        gaps["explain"] = ("the webhook's explain warnings (what a write allows) have no policy form",)
    # A rule with nothing to check (require-labels without labels) has no policy and is no gap.
    skipped = sorted(rule_id for rule_id, (_, t) in translations.items() if not t.checks and t.gaps)
    exact_exempt = sorted(name for name in ruleset.exemptions.namespaces if not cel.is_glob(name))
    documents: list[dict[str, Any]] = []
    for rule_id, (settings, translation) in translations.items():
        if not translation.checks:
            continue
        action = _action(settings, ruleset.mode)
        annotations = {"netpol-guard.io/minimum-kubernetes": MIN_KUBERNETES}
        if translation.gaps:
            annotations[GAPS_ANNOTATION] = "; ".join(translation.gaps)
        if skipped:
            annotations[SKIPPED_ANNOTATION] = ", ".join(skipped)
        conditions = _match_conditions(ruleset, rule_id, settings, translation.condition)
        if translation.bounded:
            conditions = _bounded(conditions)
        # The engine excuses only denials, and only of rules that also judge CREATE (the old object is
        # judged as if created).
        grandfather = (
            ruleset.grandfather_existing and settings.action is Action.DENY and translation.grandfathered
        )
        validations = []
        for check in translation.checks:
            variable = f"variables.{check.name}"
            message, expression = _message(rule_id, check, variable)
            test = f"size({variable}) == 0"
            if grandfather:
                old = f"variables.old_within_bounds && size(variables.old_{check.name}) > 0"
                test += f' || (request.operation == "UPDATE" && {old})'
            validations.append(
                {
                    "expression": test,
                    "message": message,
                    "messageExpression": expression,
                    "reason": "Forbidden",
                }
            )
        name = PREFIX + rule_id
        documents.append(
            _policy(
                name,
                rule_id,
                translation,
                conditions,
                validations,
                _variables(translation.checks, grandfather),
                action is Action.DENY,
                annotations,
            )
        )
        documents.append(_binding(name, rule_id, action, exact_exempt))
        if grandfather:
            documents.extend(
                _grandfathered(ruleset, rule_id, translation, conditions, annotations, exact_exempt)
            )
    if any(t.bounded and t.checks for _, t in translations.values()):
        documents[:0] = _size_policy(ruleset, exact_exempt)
    return Export(documents=documents, gaps=gaps)


def _size_policy(ruleset: RuleSet, exact_exempt: list[str]) -> list[dict[str, Any]]:
    """`bounds.SIZE_POLICY`: deny what is too large for the rules' CEL (with the rules file's mode)."""
    variables, validations = bounds.size_validations()
    conditions = _match_conditions(ruleset, bounds.SIZE_POLICY, RuleSettings(), None)
    action = _action(RuleSettings(action=Action.DENY), ruleset.mode)
    policy = _policy(
        bounds.SIZE_POLICY,
        bounds.SIZE_POLICY,
        Translation(),
        conditions,
        validations,
        variables,
        action is Action.DENY,
        {"netpol-guard.io/minimum-kubernetes": MIN_KUBERNETES},
    )
    return [policy, _binding(bounds.SIZE_POLICY, bounds.SIZE_POLICY, action, exact_exempt)]


def _grandfathered(
    ruleset: RuleSet,
    rule_id: str,
    translation: Translation,
    conditions: list[dict[str, str]],
    annotations: dict[str, str],
    exact_exempt: list[str],
) -> list[dict[str, Any]]:
    """The warning the webhook gives instead of a denial the old object already had."""
    validations = []
    for check in translation.checks:
        variable = f"variables.{check.name}"
        message, expression = _message(rule_id, check, variable)
        note = " (already present before this update)"
        validations.append(
            {
                "expression": (
                    f"size({variable}) == 0 || !variables.old_within_bounds"
                    f" || size(variables.old_{check.name}) == 0"
                ),
                "message": message + note,
                "messageExpression": f"{expression} + {cel.string(note)}",
            }
        )
    name = f"{PREFIX}{rule_id}-grandfathered"
    policy = _policy(
        name,
        rule_id,
        Translation(checks=translation.checks, operations=("UPDATE",)),
        conditions,
        validations,
        _variables(translation.checks, old=True),
        False,
        annotations,
    )
    action = Action.AUDIT if ruleset.mode is Mode.AUDIT else Action.WARN
    return [policy, _binding(name, rule_id, action, exact_exempt)]
