"""evaluate(policy, ruleset, context) -> Verdict: exemptions, rule scoping, modes, grandfathering.

The engine knows no rule and no transport: rules come from the registry through the rule set, the
server and the CLI only build a `Context` and read the `Verdict`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from app.limits import PolicyTooLargeError
from app.netpol import (
    NetworkPolicy,
    PolicyShapeError,
    decode_policy,
    metadata_string,
    undecoded_display_name,
)
from app.rules.base import Action, Context, Finding
from app.ruleset import Mode, RuleSet

API_VALIDATION = "api-validation"
PROTECT_BASELINE = "protect-baseline"
LIMIT_COMPLEXITY = "limit-complexity"
# Opting out by annotation must not switch off what protects the opt-out itself or what the API server
# enforces anyway.
_NOT_OPTABLE = frozenset({API_VALIDATION, PROTECT_BASELINE})
_DEFAULT_NAMESPACE = "default"
_MAP_FIELDS = frozenset({"matchLabels", "labels", "annotations"})


@dataclass(frozen=True, slots=True)
class Violation:
    """A finding with the rule that made it and the action it takes after modes and grandfathering."""

    rule: str
    action: Action
    path: str
    problem: str
    fix: str
    grandfathered: bool = False

    def render(self) -> str:
        """``[rule-id] field.path: problem. Fix: ...`` as shown to users."""
        where = f" {self.path}:" if self.path else ""
        return f"[{self.rule}]{where} {self.problem.rstrip('.')}. Fix: {self.fix}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one policy."""

    policy: str
    mode: Mode
    violations: tuple[Violation, ...] = ()
    exempt: str | None = None

    def with_action(self, action: Action) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.action is action)

    @property
    def denied(self) -> bool:
        return any(v.action is Action.DENY for v in self.violations)

    @property
    def denials(self) -> tuple[Violation, ...]:
        return self.with_action(Action.DENY)

    @property
    def warnings(self) -> tuple[Violation, ...]:
        return self.with_action(Action.WARN)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        """Ids of the rules that fired, each once, in order."""
        return tuple(dict.fromkeys(v.rule for v in self.violations))


def _namespace(policy: NetworkPolicy, context: Context) -> str:
    return context.namespace or policy.metadata.get("namespace") or _DEFAULT_NAMESPACE


def _exemption(ruleset: RuleSet, namespace: str, context: Context) -> str | None:
    exemptions = ruleset.exemptions
    if exemptions.exempts_namespace(namespace):
        return f"namespace {namespace!r} is exempt"
    if context.username and context.username in exemptions.users:
        return f"user {context.username!r} is exempt"
    for group in context.groups:
        if group in exemptions.groups:
            return f"group {group!r} is exempt"
    return None


def _opted_out(ruleset: RuleSet, policy: NetworkPolicy) -> tuple[frozenset[str], str | None]:
    """Rule ids the object opts out of by annotation, and a note when the opt-out does not count."""
    config = ruleset.exemptions.annotation
    annotations = policy.metadata.get("annotations") or {}
    if not config.enabled or config.key not in annotations:
        return frozenset(), None
    if not annotations.get(config.reason_key, "").strip():
        return frozenset(), (
            f"the {config.key} annotation is ignored until {config.reason_key} gives a non-empty reason"
        )
    ids = {part.strip() for part in annotations[config.key].split(",") if part.strip()}
    return frozenset(ids - _NOT_OPTABLE), None


def _findings(
    policy: NetworkPolicy, ruleset: RuleSet, context: Context, namespace: str
) -> Iterable[tuple[str, Action, Finding]]:
    opted_out, note = _opted_out(ruleset, policy)
    for rule, settings in ruleset.plan(namespace, context):
        if rule.id in opted_out:
            continue
        for finding in rule.check(policy, settings, context):
            action = settings.action
            if finding.advisory and action is Action.DENY:
                action = Action.WARN
            if note is not None:
                finding = replace(finding, fix=f"{finding.fix} (note: {note})")
            yield rule.id, action, finding


def _apply_mode(action: Action, mode: Mode) -> Action:
    if mode is Mode.AUDIT:
        return Action.AUDIT
    if mode is Mode.WARN and action is Action.DENY:
        return Action.WARN
    return action


def _grandfather(
    findings: list[tuple[str, Action, Finding]], old_findings: Iterable[tuple[str, Action, Finding]]
) -> list[bool]:
    """For each new finding, whether the old object already had it (each old finding excuses one).

    A finding is matched on (rule, path, problem) first, then on (rule, problem) alone, so that a
    violation that only moved (a rule inserted before it) stays excused, while a second copy of an old
    violation added elsewhere is new and still denies.
    """
    exact: Counter[tuple[str, str, str]] = Counter()
    loose: Counter[tuple[str, str]] = Counter()
    for rule_id, _, finding in old_findings:
        exact[rule_id, finding.path, finding.problem] += 1
        loose[rule_id, finding.problem] += 1
    excused = [False] * len(findings)
    for by_path in (True, False):
        for index, (rule_id, action, finding) in enumerate(findings):
            if excused[index] or action is not Action.DENY:
                continue
            if by_path and exact[rule_id, finding.path, finding.problem] > 0:
                exact[rule_id, finding.path, finding.problem] -= 1
            elif by_path or loose[rule_id, finding.problem] <= 0:
                continue
            loose[rule_id, finding.problem] -= 1
            excused[index] = True
    return excused


def evaluate(policy: NetworkPolicy, ruleset: RuleSet, context: Context | None = None) -> Verdict:
    """Judge one decoded policy against the rule set.

    For DELETE, ``policy`` is the object being deleted (the request's oldObject).
    """
    return _evaluate(policy, ruleset, context or Context())


def _evaluate(policy: NetworkPolicy, ruleset: RuleSet, context: Context) -> Verdict:
    namespace = _namespace(policy, context)
    exempt = _exemption(ruleset, namespace, context)
    if exempt is not None:
        return Verdict(policy=policy.display_name, mode=ruleset.mode, exempt=exempt)

    findings = list(_findings(policy, ruleset, context, namespace))
    excused = [False] * len(findings)
    if ruleset.grandfather_existing and context.operation == "UPDATE" and context.old_object is not None:
        old_context = replace(context, operation="CREATE", old_object=None)
        excused = _grandfather(findings, _findings(context.old_object, ruleset, old_context, namespace))

    violations = tuple(
        Violation(
            rule=rule_id,
            action=_apply_mode(Action.WARN if grandfathered else action, ruleset.mode),
            path=finding.path,
            problem=finding.problem,
            fix=finding.fix,
            grandfathered=grandfathered,
        )
        for (rule_id, action, finding), grandfathered in zip(findings, excused, strict=True)
    )
    return Verdict(policy=policy.display_name, mode=ruleset.mode, violations=violations)


def explain_target(path: str) -> str:
    """The `kubectl explain` argument documenting the field at ``path`` (``spec.ingress[0].from`` is
    ``networkpolicy.spec.ingress.from``); a map's keys are not fields, so its path stops at the map."""
    fields = ["networkpolicy"]
    for part in re.sub(r"\[\d+\]", "", path).split("."):
        if not part:
            continue
        fields.append(part)
        if part in _MAP_FIELDS:
            break
    return ".".join(fields)


def too_large_verdict(display: str, error: PolicyTooLargeError, ruleset: RuleSet, where: str = "") -> Verdict:
    """The verdict on an object over netpol-guard's size limits: denied, whatever the mode, exemptions or
    rule settings, because it was not judged (reported under limit-complexity, the rule about size)."""
    limit = error.limit
    violation = Violation(
        rule=LIMIT_COMPLEXITY,
        action=Action.DENY,
        path=limit.path,
        problem=f"{where}{error}, so it was not judged",
        fix=f"split the policy so that each part has at most {limit.maximum} {limit.name}",
    )
    return Verdict(policy=display, mode=ruleset.mode, violations=(violation,))


def evaluate_document(obj: Any, ruleset: RuleSet, context: Context | None = None) -> Verdict:
    """Decode a parsed manifest and judge it; a shape the API server cannot decode is an api-validation
    violation (the API server answers 400 before any other check could apply).

    Exemptions and api-validation's own namespace scoping apply to such a document as to any other.
    """
    try:
        policy = decode_policy(obj)
    except PolicyTooLargeError as exc:
        return too_large_verdict(undecoded_display_name(obj, (context or Context()).namespace), exc, ruleset)
    except PolicyShapeError as exc:
        context = context or Context()
        display = undecoded_display_name(obj, context.namespace)
        namespace = context.namespace or metadata_string(obj, "namespace") or _DEFAULT_NAMESPACE
        exempt = _exemption(ruleset, namespace, context)
        if exempt is not None:
            return Verdict(policy=display, mode=ruleset.mode, exempt=exempt)
        settings = ruleset.settings_for(API_VALIDATION)
        if not settings.applies_to(namespace):
            return Verdict(policy=display, mode=ruleset.mode)
        action = _apply_mode(settings.action, ruleset.mode)
        violations = tuple(
            Violation(
                rule=API_VALIDATION,
                action=action,
                path=path,
                problem=f"the API server cannot decode this field: {message}",
                fix="use the type the NetworkPolicy API defines for this field "
                f"(see `kubectl explain {explain_target(path)}`)",
            )
            for path, message in exc.problems
        )
        return Verdict(policy=display, mode=ruleset.mode, violations=violations)
    return evaluate(policy, ruleset, context)
