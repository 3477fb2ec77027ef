"""The admission handler: AdmissionReview bytes in, a `Decision` (answer + what to log and count) out.

Operation switch: CREATE and UPDATE judge ``object`` (UPDATE also decodes ``oldObject`` for grandfathering
and baseline protection), DELETE judges ``oldObject``, CONNECT passes. Two error families: the object is
rejected (403 in the response) and the review is malformed (400/413 in an AdmissionReview). The handler
knows no rule and no transport; it is synchronous and pure apart from the rule set it reads.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Final

from app.admission import responses
from app.admission.responses import Response
from app.admission.review import (
    NETWORKPOLICY_GROUP,
    NETWORKPOLICY_KIND,
    Envelope,
    ReviewRequest,
    check_content_type,
    load_body,
    read_envelope,
    read_request,
)
from app.admission.warnings import PREFERRED, fit_warnings, shorten
from app.engine import Verdict, Violation, evaluate
from app.errors import ReviewError
from app.netpol import NetworkPolicy, PolicyShapeError, decode_policy
from app.rules.base import Action, Context
from app.ruleset import RuleSet

logger = logging.getLogger(__name__)

# Decisions, as logged and as the `decision` metric label.
ALLOWED: Final = "allowed"
WARNED: Final = "warned"
AUDITED: Final = "audited"
DENIED: Final = "denied"
EXEMPT: Final = "exempt"
MISCONFIGURED: Final = "misconfigured"
INVALID: Final = "invalid"
ERROR: Final = "error"

MAX_MESSAGE_LINES: Final = 100
"""Denying violations listed in status.message; a pathological object gets a count for the rest."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One answered review: the answer and the facts the log line and the metrics record."""

    envelope: Envelope
    response: Response
    decision: str
    operation: str = ""
    namespace: str = ""
    name: str = ""
    user: str = ""
    dry_run: bool = False
    violations: tuple[Violation, ...] = ()
    detail: str = ""

    @property
    def body(self) -> bytes:
        """The encoded AdmissionReview answer."""
        return responses.encode_review(self.envelope, self.response)

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.rule for v in self.violations))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def deny_message(kind: str, display_name: str, denials: tuple[Violation, ...]) -> str:
    """The summary line, then one ``[rule-id] path: problem. Fix: ...`` line per denying violation."""
    rules = len(dict.fromkeys(v.rule for v in denials))
    lines = [f"{kind} {display_name} violates {_plural(rules, 'organisational rule')}:"]
    lines.extend(v.render() for v in denials[:MAX_MESSAGE_LINES])
    if len(denials) > MAX_MESSAGE_LINES:
        lines.append(
            f"... and {len(denials) - MAX_MESSAGE_LINES} more violations: "
            "run `netpol-guard check` on the manifest to see them all"
        )
    return "\n".join(lines)


def misconfigured_warning(request: ReviewRequest) -> str:
    """Shown to whoever wrote an object the webhook should never have been asked about."""
    return shorten(
        f"webhook misconfigured: netpol-guard got {request.kind_label}, not {NETWORKPOLICY_KIND}; "
        "allowed unjudged",
        PREFERRED,
    )


class AdmissionHandler:
    """Judges AdmissionReviews against ``ruleset``, which the reloader may swap at any time."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset

    def handle(self, body: bytes, content_type: str | None) -> Decision:
        """Answer one review body. Never raises: an unexpected failure is an ``error`` decision."""
        envelope = Envelope()
        try:
            review = load_body(body)
            envelope = read_envelope(review)
            check_content_type(content_type)
            request = read_request(review, envelope)
        except ReviewError as exc:
            return self.invalid(envelope, exc.code, str(exc))
        try:
            return self._dispatch(request, self.ruleset)
        except ReviewError as exc:
            return self.invalid(envelope, exc.code, str(exc), request)
        except Exception as exc:  # a rule bug must still produce a well-formed answer
            logger.exception("judging request %s failed", request.uid)
            return Decision(
                envelope=envelope,
                response=responses.errored(
                    500,
                    f"netpol-guard failed to judge this request ({type(exc).__name__}); "
                    "the server log has the details",
                    {responses.ANNOTATION_DECISION: ERROR, responses.ANNOTATION_MODE: self.ruleset.mode.value},
                ),
                decision=ERROR,
                operation=request.operation,
                namespace=request.namespace,
                name=request.name,
                user=request.username,
                dry_run=request.dry_run,
                detail=str(exc),
            )

    def invalid(
        self, envelope: Envelope, code: int, message: str, request: ReviewRequest | None = None
    ) -> Decision:
        """The answer to a malformed review (400) or an oversized one (413)."""
        annotations = {responses.ANNOTATION_DECISION: INVALID, responses.ANNOTATION_MODE: self.ruleset.mode.value}
        return Decision(
            envelope=envelope,
            response=responses.errored(code, message, annotations),
            decision=INVALID,
            operation=request.operation if request else "",
            namespace=request.namespace if request else "",
            name=request.name if request else "",
            user=request.username if request else "",
            dry_run=request.dry_run if request else False,
            detail=message,
        )

    def _dispatch(self, request: ReviewRequest, ruleset: RuleSet) -> Decision:
        annotations = {responses.ANNOTATION_MODE: ruleset.mode.value}
        if not request.is_networkpolicy:
            warning = misconfigured_warning(request)
            annotations[responses.ANNOTATION_DECISION] = MISCONFIGURED
            return self._decided(request, responses.allowed((warning,), annotations), MISCONFIGURED, warning)
        if request.operation == "CONNECT":
            annotations[responses.ANNOTATION_DECISION] = ALLOWED
            return self._decided(request, responses.allowed((), annotations), ALLOWED)

        old_policy: NetworkPolicy | None = None
        if request.operation == "DELETE":
            policy = _decode(request.old_object, "oldObject", request)
        else:
            policy = _decode(request.object, "object", request)
            if request.operation == "UPDATE":
                old_policy = _decode(request.old_object, "oldObject", request)
        context = Context(
            source="admission",
            namespace=request.namespace,
            operation=request.operation,  # type: ignore[arg-type]  # checked against OPERATIONS
            old_object=old_policy,
            username=request.username,
            groups=request.groups,
        )
        verdict = evaluate(policy, ruleset, context)
        return self._judged(request, policy, verdict)

    def _judged(self, request: ReviewRequest, policy: NetworkPolicy, verdict: Verdict) -> Decision:
        namespace = request.namespace or policy.metadata.namespace or ""
        name = policy.metadata.name or request.name or policy.metadata.generate_name or "<unnamed>"
        annotations = {
            responses.ANNOTATION_MODE: verdict.mode.value,
            responses.ANNOTATION_RULES: ",".join(verdict.rule_ids),
        }
        if verdict.exempt is not None:
            annotations[responses.ANNOTATION_DECISION] = EXEMPT
            annotations[responses.ANNOTATION_EXEMPT] = verdict.exempt
            return self._decided(
                request, responses.allowed((), annotations), EXEMPT, verdict.exempt, name=name, namespace=namespace
            )
        warnings = tuple(fit_warnings(verdict.warnings))
        if verdict.denied:
            decision = DENIED
        elif warnings:
            decision = WARNED
        elif any(v.action is Action.AUDIT for v in verdict.violations):
            decision = AUDITED
        else:
            decision = ALLOWED
        annotations[responses.ANNOTATION_DECISION] = decision
        if decision == DENIED:
            display = f"{namespace}/{name}" if namespace else name
            message = deny_message(NETWORKPOLICY_KIND, display, verdict.denials)
            response = responses.denied(message, warnings, annotations)
        else:
            response = responses.allowed(warnings, annotations)
        return self._decided(
            request, response, decision, violations=verdict.violations, name=name, namespace=namespace
        )

    @staticmethod
    def _decided(
        request: ReviewRequest,
        response: Response,
        decision: str,
        detail: str = "",
        *,
        violations: tuple[Violation, ...] = (),
        name: str = "",
        namespace: str = "",
    ) -> Decision:
        return Decision(
            envelope=request.envelope,
            response=response,
            decision=decision,
            operation=request.operation,
            namespace=namespace or request.namespace,
            name=name or request.name,
            user=request.username,
            dry_run=request.dry_run,
            violations=violations,
            detail=detail,
        )


def _decode(obj: Any, field: str, request: ReviewRequest) -> NetworkPolicy:
    if not isinstance(obj, dict):
        raise ReviewError(
            f"request.{field} is missing: a {request.operation} review of a NetworkPolicy must carry it",
            uid=request.uid,
        )
    try:
        return decode_policy(obj)
    except PolicyShapeError as exc:
        problems = "; ".join(f"{path or '(top level)'}: {message}" for path, message in exc.problems[:20])
        raise ReviewError(f"request.{field} is not a NetworkPolicy: {problems}", uid=request.uid) from None
