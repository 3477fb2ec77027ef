"""The webhook's ASGI app (TLS port): ``POST /validate/networkpolicies``.

A raw ASGI callable rather than a framework: the hot path is read the body (bounded), judge, write the
answer, count, log one line. Every review gets an AdmissionReview answer with HTTP 200 (the API server only
reads the answer of a 200), errors included; other paths get a plain 404/405.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from app.admission.handler import ERROR, INVALID, MISCONFIGURED, AdmissionHandler, Decision
from app.admission.review import Envelope, uid_from_prefix
from app.logs import FIELDS
from app.server.metrics import Metrics

VALIDATE_PATH: Final = "/validate/networkpolicies"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_UID_PREFIX_BYTES: Final = 64 * 1024
_DRAIN_FACTOR: Final = 4
_JSON_HEADERS: Final = [(b"content-type", b"application/json")]

logger = logging.getLogger(__name__)


class ClientGone(Exception):
    """The client disconnected before the whole request arrived."""


async def read_body(receive: Receive, limit: int, declared: int | None) -> tuple[bytes, bytes | None]:
    """``(body, None)``, or ``(b"", prefix)`` when the body is over ``limit`` bytes.

    Never holds more than ``limit`` bytes: an oversized body is drained (up to a few times the limit, so the
    client can read the answer) and only its first bytes are kept, to find the uid in.
    """
    chunks: list[bytes] = []
    size = 0
    prefix: bytes | None = None
    if declared is not None and declared > limit:
        prefix = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if prefix is None:
            if size > limit:
                prefix = b"".join(chunks)[:_UID_PREFIX_BYTES] or chunk[:_UID_PREFIX_BYTES]
                chunks.clear()
            else:
                chunks.append(chunk)
        elif len(prefix) < _UID_PREFIX_BYTES:
            prefix += chunk[: _UID_PREFIX_BYTES - len(prefix)]
        if not message.get("more_body", False) or size > limit * _DRAIN_FACTOR:
            break
    if prefix is not None:
        return b"", prefix
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


async def _plain(send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


class WebhookApp:
    """ASGI app answering AdmissionReviews with ``handler``, recording ``metrics`` and one log line each."""

    def __init__(self, handler: AdmissionHandler, metrics: Metrics, max_request_bytes: int) -> None:
        self.handler = handler
        self.metrics = metrics
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # uvicorn runs with lifespan off
            return
        if scope["path"] != VALIDATE_PATH:
            await _plain(send, 404, f"not found: AdmissionReviews go to POST {VALIDATE_PATH}\n")
            return
        if scope["method"] != "POST":
            await _plain(send, 405, f"method not allowed: use POST {VALIDATE_PATH}\n", [(b"allow", b"POST")])
            return
        await self._review(scope, receive, send)

    async def _review(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        declared = _header(scope, b"content-length")
        try:
            body, prefix = await read_body(
                receive, self.max_request_bytes, int(declared) if declared and declared.isdigit() else None
            )
        except ClientGone:
            logger.info(
                "client disconnected before sending the whole review; nothing answered",
                extra={FIELDS: {"client": _client(scope)}},
            )
            return
        if prefix is not None:
            decision = self.handler.invalid(
                Envelope(uid=uid_from_prefix(prefix)),
                413,
                f"the request body is over the {self.max_request_bytes}-byte limit (--max-request-bytes)",
            )
        else:
            decision = self.handler.handle(body, _header(scope, b"content-type"))
        answer = decision.body
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})
        seconds = time.perf_counter() - started
        self.metrics.record(decision, seconds)
        log_decision(decision, seconds, body)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "unknown"


def log_decision(decision: Decision, seconds: float, body: bytes) -> None:
    """One line per decision; the review body only at debug level."""
    level = logging.INFO
    if decision.decision in (MISCONFIGURED, INVALID):
        level = logging.WARNING
    elif decision.decision == ERROR:
        level = logging.ERROR
    if not logger.isEnabledFor(level):
        return
    fields: dict[str, Any] = {
        "uid": decision.envelope.uid,
        "operation": decision.operation,
        "namespace": decision.namespace,
        "name": decision.name,
        "user": decision.user,
        "dry_run": decision.dry_run,
        "decision": decision.decision,
        "rules": list(decision.rule_ids),
        "duration_ms": round(seconds * 1000, 3),
    }
    if not decision.response.allowed:
        fields["code"] = decision.response.code
    if decision.detail:
        fields["detail"] = decision.detail
    if logger.isEnabledFor(logging.DEBUG):
        fields["body"] = body.decode("utf-8", "replace")
    logger.log(level, "decision", extra={FIELDS: fields})
