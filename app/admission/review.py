"""The AdmissionReview wire format: bytes in, a checked `ReviewRequest` out (or a `ReviewError`).

Plain orjson dict access with explicit type checks instead of a pydantic model: the object inside a
review can be megabytes, and the NetworkPolicy view decodes it once anyway. JSON ``null`` and an absent
field mean the same thing, as they do for the API server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import orjson

from app.errors import ReviewError

V1: Final = "admission.k8s.io/v1"
V1BETA1: Final = "admission.k8s.io/v1beta1"
API_VERSIONS: Final = frozenset({V1, V1BETA1})
KIND: Final = "AdmissionReview"
OPERATIONS: Final = frozenset({"CREATE", "UPDATE", "DELETE", "CONNECT"})
NETWORKPOLICY_GROUP: Final = "networking.k8s.io"
NETWORKPOLICY_KIND: Final = "NetworkPolicy"

# The API server writes request.uid first (Go field order), so a prefix of an oversized body still has it.
_UID_IN_PREFIX: Final = re.compile(rb'"uid"\s*:\s*"([^"\\]{1,128})"')


# Not frozen: frozen dataclasses cost about 100 ns per field to build, on every review. Neither is changed
# after it is built.
@dataclass(slots=True)
class Envelope:
    """What every answer echoes: the review's apiVersion and kind, and the request uid ("" if unknown)."""

    api_version: str = V1
    kind: str = KIND
    uid: str = ""


@dataclass(slots=True)
class ReviewRequest:
    """The parts of ``request`` netpol-guard reads. Objects are still raw parsed JSON."""

    envelope: Envelope
    operation: str
    group: str
    version: str
    resource_kind: str
    namespace: str
    name: str
    username: str
    groups: tuple[str, ...]
    dry_run: bool
    object: Any
    old_object: Any

    @property
    def uid(self) -> str:
        return self.envelope.uid

    @property
    def is_networkpolicy(self) -> bool:
        return self.group == NETWORKPOLICY_GROUP and self.resource_kind == NETWORKPOLICY_KIND

    @property
    def kind_label(self) -> str:
        """``group/version Kind`` as kubectl would print it (``v1 Pod`` for the core group)."""
        group_version = f"{self.group}/{self.version}" if self.group else self.version
        return f"{group_version} {self.resource_kind}".strip() or "<unknown kind>"


def uid_from_prefix(prefix: bytes) -> str:
    """Best-effort uid of a body that was not parsed (too large): the first ``"uid": "..."``."""
    match = _UID_IN_PREFIX.search(prefix)
    return match.group(1).decode("utf-8", "replace") if match else ""


def check_content_type(content_type: str | None) -> None:
    """The API server always sends ``application/json``; anything else is a misdirected client."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ReviewError(
            f"Content-Type must be application/json, got {content_type or 'none'!r}: "
            "send the AdmissionReview as JSON"
        )


def _string(value: Any, field: str, uid: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ReviewError(f"{field} must be a string", uid=uid)
    return value


def read_envelope(review: dict[str, Any]) -> Envelope:
    """apiVersion (when it is one we speak) and uid of a parsed review; never raises, so that every
    answer, even to a broken review, echoes what could be read."""
    api_version = review.get("apiVersion")
    request = review.get("request")
    uid = request.get("uid") if isinstance(request, dict) else None
    return Envelope(
        api_version=api_version if isinstance(api_version, str) and api_version in API_VERSIONS else V1,
        uid=uid if isinstance(uid, str) else "",
    )


def load_body(body: bytes) -> dict[str, Any]:
    """The body parsed as a JSON object, or `ReviewError`."""
    if not body or body.isspace():  # not strip(): that copies the whole (possibly megabytes) body
        raise ReviewError("the request body is empty: send an AdmissionReview JSON document")
    try:
        review = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ReviewError(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(review, dict):
        raise ReviewError("the request body must be a JSON object (an AdmissionReview)")
    return review


def _kind_of_object(obj: Any) -> dict[str, Any]:
    # Hand-written reviews sometimes omit request.kind; the API server never does. Read it off the object.
    if not isinstance(obj, dict) or not isinstance(obj.get("apiVersion"), str):
        return {}
    group, _, version = obj["apiVersion"].rpartition("/")
    return {"group": group, "version": version, "kind": obj.get("kind")}


def read_request(review: dict[str, Any], envelope: Envelope) -> ReviewRequest:
    """Check a parsed review and pull out what the handler needs.

    Raises `ReviewError` (code 400) naming the field that is wrong. Whether the objects are NetworkPolicy
    shapes is decided later by the policy decoder.
    """
    uid = envelope.uid
    api_version = review.get("apiVersion")
    if not isinstance(api_version, str) or api_version not in API_VERSIONS:
        raise ReviewError(
            f"apiVersion must be {V1} or {V1BETA1}, got {api_version!r}: "
            "list v1 in the webhook's admissionReviewVersions",
            uid=uid,
        )
    if review.get("kind") != KIND:
        raise ReviewError(f"kind must be {KIND}, got {review.get('kind')!r}", uid=uid)
    request = review.get("request")
    if not isinstance(request, dict):
        raise ReviewError("the AdmissionReview has no request object", uid=uid)
    if not uid:
        raise ReviewError("request.uid is missing or not a string")

    operation = request.get("operation")
    if not isinstance(operation, str) or operation not in OPERATIONS:
        raise ReviewError(
            f"request.operation must be one of CREATE, UPDATE, DELETE, CONNECT, got {operation!r}", uid=uid
        )
    kind = request.get("kind")
    if kind is None:
        kind = _kind_of_object(request.get("object") or request.get("oldObject"))
    if not isinstance(kind, dict):
        raise ReviewError("request.kind must be an object with group, version and kind", uid=uid)
    user_info = request.get("userInfo")
    if user_info is None:
        user_info = {}
    if not isinstance(user_info, dict):
        raise ReviewError("request.userInfo must be an object", uid=uid)
    groups = user_info.get("groups")
    if groups is None:
        groups = []
    if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
        raise ReviewError("request.userInfo.groups must be a list of strings", uid=uid)
    dry_run = request.get("dryRun")
    if dry_run is None:
        dry_run = False
    if not isinstance(dry_run, bool):
        raise ReviewError("request.dryRun must be true or false", uid=uid)

    return ReviewRequest(
        envelope,
        operation,
        _string(kind.get("group"), "request.kind.group", uid),
        _string(kind.get("version"), "request.kind.version", uid),
        _string(kind.get("kind"), "request.kind.kind", uid),
        _string(request.get("namespace"), "request.namespace", uid),
        _string(request.get("name"), "request.name", uid),
        _string(user_info.get("username"), "request.userInfo.username", uid),
        tuple(groups),
        dry_run,
        request.get("object"),
        request.get("oldObject"),
    )
