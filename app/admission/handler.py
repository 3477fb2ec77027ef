"""The admission handler: AdmissionReview bytes in, a `Decision` (answer + what to log and count) out.

Operation switch: CREATE and UPDATE judge ``object`` (UPDATE also decodes ``oldObject`` for grandfathering
and baseline protection), DELETE judges ``oldObject``, CONNECT passes. Two error families: the object is
rejected (403 in the response) and the review is malformed (400/413 in an AdmissionReview). The handler
knows no rule and no transport; it is synchronous and pure apart from the rule set it reads.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from app.admission import responses
from app.admission.responses import Response
from app.admission.review import (
    NETWORKPOLICY_KIND,
    Envelope,
    ReviewRequest,
    check_content_type,
    load_body,
    read_envelope,
    read_request,
)
from app.admission.warnings import PREFERRED, fit_warnings, shorten
from app.engine import Verdict, Violation, evaluate, too_large_verdict
from app.errors import ReviewError
from app.explain.admission import admission_lines
from app.limits import PolicyTooLargeError
from app.logs import clip
from app.netpol import (
    NetworkPolicy,
    ObjectMeta,
    PolicyShapeError,
    decode_policy,
    display_name,
    metadata_string,
    undecoded_display_name,
)
from app.rules.base import Action, Context
from app.ruleset import Mode, RuleSet

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


@dataclass(slots=True)
class Decision:
    """One answered review: the answer and the facts the log line and the metrics record.

    Not frozen (a frozen dataclass costs a microsecond per construction on the hot path), but never changed
    after it is built: ``body`` is encoded once, from ``envelope`` and ``response``.
    """

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
    body: bytes = field(init=False, repr=False)
    """The encoded AdmissionReview answer."""

    def __post_init__(self) -> None:
        self.body = responses.encode_review(self.envelope, self.response)

    @property
    def rule_ids(self) -> list[str]:
        """The ids of the rules that fired, each once, in the order they fired."""
        return list(dict.fromkeys(v.rule for v in self.violations))


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


def _decision(
    envelope: Envelope,
    response: Response,
    decision: str,
    request: ReviewRequest | None,
    *,
    detail: str = "",
    violations: tuple[Violation, ...] = (),
    name: str = "",
    namespace: str = "",
) -> Decision:
    """A `Decision` with the request's facts (as far as the request could be read)."""
    if request is None:
        return Decision(envelope, response, decision, "", namespace, name, "", False, violations, detail)
    return Decision(
        envelope,
        response,
        decision,
        request.operation,
        namespace or request.namespace,
        name or request.name,
        request.username,
        request.dry_run,
        violations,
        detail,
    )


def _annotations(
    decision: str, ruleset: RuleSet, rules: str | None = None, exempt: str | None = None
) -> dict[str, str]:
    annotations = {responses.ANNOTATION_DECISION: decision, responses.ANNOTATION_MODE: ruleset.mode.value}
    if rules is not None:
        annotations[responses.ANNOTATION_RULES] = rules
    if exempt is not None:
        annotations[responses.ANNOTATION_EXEMPT] = exempt
    return annotations


class AdmissionHandler:
    """Judges AdmissionReviews against ``ruleset``, which the reloader may swap at any time."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset

    def handle(self, body: bytes, content_type: str | None) -> Decision:
        """Answer one review body. Never raises: an unexpected failure is an ``error`` decision."""
        envelope = Envelope()
        request: ReviewRequest | None = None
        ruleset = self.ruleset  # one rule set for the whole review, even if a reload swaps it meanwhile
        try:
            review = load_body(body)
            envelope = read_envelope(review)
            check_content_type(content_type)
            request = read_request(review, envelope)
            return self._dispatch(request, ruleset)
        except ReviewError as exc:
            return self.invalid(envelope, exc.code, str(exc), request)
        except Exception as exc:  # a bug (here or in a rule) must still produce a well-formed answer
            logger.exception("judging request %r failed", clip(envelope.uid))
            message = f"netpol-guard failed to judge this request ({type(exc).__name__}); see the server log"
            response = responses.errored(500, message, _annotations(ERROR, ruleset))
            return _decision(envelope, response, ERROR, request, detail=str(exc))

    def invalid(
        self, envelope: Envelope, code: int, message: str, request: ReviewRequest | None = None
    ) -> Decision:
        """The answer to a malformed review (400) or an oversized one (413)."""
        response = responses.errored(code, message, _annotations(INVALID, self.ruleset))
        return _decision(envelope, response, INVALID, request, detail=message)

    def _dispatch(self, request: ReviewRequest, ruleset: RuleSet) -> Decision:
        if not request.is_networkpolicy:
            warning = misconfigured_warning(request)
            response = responses.allowed((warning,), _annotations(MISCONFIGURED, ruleset))
            return _decision(request.envelope, response, MISCONFIGURED, request, detail=warning)
        if request.operation == "CONNECT":
            response = responses.allowed((), _annotations(ALLOWED, ruleset))
            return _decision(request.envelope, response, ALLOWED, request)

        old_policy: NetworkPolicy | None = None
        deleting = request.operation == "DELETE"
        field = "oldObject" if deleting else "object"
        try:
            policy = _decode(request.old_object if deleting else request.object, field, request)
            if request.operation == "UPDATE":
                field = "oldObject"
                old_policy = _decode(request.old_object, field, request)
        except PolicyTooLargeError as exc:
            return _too_large(request, field, exc, ruleset)
        context = Context(
            source="admission",
            namespace=request.namespace,
            operation=request.operation,  # type: ignore[arg-type]  # checked against OPERATIONS
            old_object=old_policy,
            username=request.username,
            groups=request.groups,
        )
        verdict = evaluate(policy, ruleset, context)
        explained: list[str] = []
        if not verdict.denied and verdict.exempt is None and ruleset.mode is not Mode.AUDIT:
            # What the write opens or closes: after the rule warnings, same budget; audit shows nothing.
            mode = ruleset.explain.admission
            if request.operation == "DELETE":
                explained = admission_lines("DELETE", policy, None, mode)
            else:
                explained = admission_lines(request.operation, old_policy, policy, mode)
        return _judged(request, policy.metadata, verdict, ruleset, explained)


def _too_large(request: ReviewRequest, field: str, error: PolicyTooLargeError, ruleset: RuleSet) -> Decision:
    """Deny an object over the size limits without judging it (the new object's name names it)."""
    obj = request.old_object if request.operation == "DELETE" else request.object
    where = "request.oldObject: " if field == "oldObject" and request.operation == "UPDATE" else ""
    verdict = too_large_verdict(undecoded_display_name(obj, request.namespace), error, ruleset, where)
    meta: ObjectMeta = {
        "name": metadata_string(obj, "name"),
        "generateName": metadata_string(obj, "generateName"),
    }
    return _judged(request, meta, verdict, ruleset)


def _judged(
    request: ReviewRequest,
    meta: ObjectMeta,
    verdict: Verdict,
    ruleset: RuleSet,
    explained: Sequence[str] = (),
) -> Decision:
    namespace = request.namespace or meta.get("namespace") or ""
    name = meta.get("name") or request.name or meta.get("generateName") or "<unnamed>"
    rules = ",".join(verdict.rule_ids)
    if verdict.exempt is not None:
        annotations = _annotations(EXEMPT, ruleset, rules=rules, exempt=verdict.exempt)
        return _decision(
            request.envelope,
            responses.allowed((), annotations),
            EXEMPT,
            request,
            detail=verdict.exempt,
            name=name,
            namespace=namespace,
        )
    warnings = tuple(fit_warnings(verdict.warnings, explained))
    if verdict.denied:
        decision = DENIED
    elif verdict.warnings:
        decision = WARNED
    elif any(v.action is Action.AUDIT for v in verdict.violations):
        decision = AUDITED
    else:
        decision = ALLOWED
    annotations = _annotations(decision, ruleset, rules=rules)
    if decision == DENIED:
        response = responses.denied(
            deny_message(NETWORKPOLICY_KIND, display_name(namespace, name), verdict.denials),
            warnings,
            annotations,
        )
    else:
        response = responses.allowed(warnings, annotations)
    return _decision(
        request.envelope,
        response,
        decision,
        request,
        violations=verdict.violations,
        name=name,
        namespace=namespace,
    )


def _decode(obj: Any, field: str, request: ReviewRequest) -> NetworkPolicy:
    if obj is None:  # any other non-object is reported by the decoder as the wrong shape
        raise ReviewError(
            f"request.{field} is missing: a {request.operation} review of a NetworkPolicy must carry it",
            uid=request.uid,
        )
    try:
        return decode_policy(obj)
    except PolicyShapeError as exc:
        problems = "; ".join(f"{path or '(top level)'}: {message}" for path, message in exc.problems[:20])
        raise ReviewError(f"request.{field} is not a NetworkPolicy: {problems}", uid=request.uid) from None
