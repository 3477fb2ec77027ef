"""AdmissionReview answers: tiny allowed / denied / errored constructors and the one encoder.

A `Response` carries no uid; `encode_review` is the only place the request uid is copied into an answer,
so it is echoed the same way for every decision, errors included.

Audit annotation keys carry no prefix: the API server prefixes each with the webhook's name
(``<webhook name>/<key>``) and rejects a key that would then hold two slashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from app.admission.review import Envelope

ANNOTATION_DECISION: Final = "decision"
ANNOTATION_MODE: Final = "mode"
ANNOTATION_RULES: Final = "rules"
ANNOTATION_EXEMPT: Final = "exempt"

_REASONS: Final = {400: "BadRequest", 403: "Forbidden", 413: "RequestEntityTooLarge", 500: "InternalError"}


@dataclass(slots=True)
class Response:
    """The ``response`` of an AdmissionReview, minus the uid (built once per review, then only read)."""

    allowed: bool
    code: int = 200
    message: str = ""
    warnings: tuple[str, ...] = ()
    audit_annotations: dict[str, str] = field(default_factory=dict)

    def as_dict(self, uid: str) -> dict[str, Any]:
        body: dict[str, Any] = {"uid": uid, "allowed": self.allowed}
        if not self.allowed:
            body["status"] = {
                "code": self.code,
                "reason": _REASONS.get(self.code, "BadRequest"),
                "message": self.message,
            }
        if self.warnings:
            body["warnings"] = list(self.warnings)
        if self.audit_annotations:
            body["auditAnnotations"] = self.audit_annotations
        return body


def allowed(warnings: tuple[str, ...] = (), annotations: dict[str, str] | None = None) -> Response:
    """Let the write through, optionally with warnings for the author."""
    return Response(allowed=True, warnings=warnings, audit_annotations=annotations or {})


def denied(
    message: str, warnings: tuple[str, ...] = (), annotations: dict[str, str] | None = None
) -> Response:
    """Reject the object: 403 Forbidden with ``message`` shown to the author."""
    return Response(
        allowed=False, code=403, message=message, warnings=warnings, audit_annotations=annotations or {}
    )


def errored(code: int, message: str, annotations: dict[str, str] | None = None) -> Response:
    """The review itself is malformed (400) or too large (413)."""
    return Response(allowed=False, code=code, message=message, audit_annotations=annotations or {})


def encode_review(envelope: Envelope, response: Response) -> bytes:
    """The AdmissionReview answer as JSON bytes, echoing apiVersion, kind and uid."""
    return orjson.dumps(
        {
            "apiVersion": envelope.api_version,
            "kind": envelope.kind,
            "response": response.as_dict(envelope.uid),
        }
    )
