"""The webhook's FastAPI app (TLS port): ``POST /validate/networkpolicies``.

FastAPI routes the request, answers other paths (404) and methods (405), and has its docs and OpenAPI
endpoints switched off. The review route's endpoint is a plain ASGI callable (`ReviewEndpoint`), so no
request model, body validation or response serialisation runs on the hot path: read the body (bounded),
judge, write the answer, count, log one line. Every review gets an AdmissionReview answer with HTTP 200
(the API server only reads the answer of a 200), errors included.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from fastapi import FastAPI
from starlette.routing import BaseRoute, Route

from app.admission.handler import ERROR, INVALID, MISCONFIGURED, AdmissionHandler, Decision
from app.admission.review import Envelope, uid_from_prefix
from app.logs import DETAIL_LIMIT, FIELDS, clip, log_fields
from app.server.metrics import Metrics

VALIDATE_PATH: Final = "/validate/networkpolicies"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_UID_PREFIX_BYTES: Final = 64 * 1024
# Parsing JSON holds the GIL throughout (orjson: ~1-1.5 us per value, 0.2-0.4 s for a 3 MiB body of
# hundreds of thousands of empty rules or labels), so neither a worker thread nor a probe thread could
# answer meanwhile. A body with more JSON values than this (counted as commas plus opening brackets,
# strings included, so never fewer than there are) is refused before it is parsed. 50,000 is 26 times
# the largest policy of the shared corpus (1,928 values as JSON); 100,000 let probes stall 230-270 ms
# (docs/operations-limits.md, `make bench-limits`), over the 200 ms they must answer in.
MAX_JSON_VALUES: Final = 50_000
# Larger bodies are judged on a worker thread so the event loop (probes, other reviews) keeps answering;
# smaller ones take well under a millisecond, less than the hop to a thread would cost.
_THREAD_BYTES: Final = 64 * 1024
_DRAIN_FACTOR: Final = 4
_JSON_CONTENT_TYPE: Final = (b"content-type", b"application/json")
_LOG_LEVELS: Final = {MISCONFIGURED: logging.WARNING, INVALID: logging.WARNING, ERROR: logging.ERROR}

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
                prefix = b"".join([*chunks, chunk[:_UID_PREFIX_BYTES]])[:_UID_PREFIX_BYTES]
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


def count_json_values(body: bytes) -> int:
    """An upper bound of the values in a JSON document, without parsing it (a few ms for 3 MiB)."""
    return body.count(b",") + body.count(b"{") + body.count(b"[")


def read_headers(headers: list[tuple[bytes, bytes]]) -> tuple[int | None, str | None, bool]:
    """The declared Content-Length (None when absent or not a number), Content-Type, and whether the
    client waits for ``100 Continue`` before it sends the body, in one pass."""
    length: int | None = None
    content_type: str | None = None
    expects_continue = False
    for key, value in headers:
        if key == b"content-length":
            length = int(value) if value.isdigit() and len(value) < 20 else None
        elif key == b"content-type" and content_type is None:
            content_type = value.decode("latin-1")
        elif key == b"expect":
            expects_continue = value.lower() == b"100-continue"
    return length, content_type, expects_continue


def bare_fastapi(routes: list[BaseRoute] | None = None) -> FastAPI:
    """A FastAPI app with no docs, no OpenAPI schema, no telemetry hooks and exact paths."""
    return FastAPI(
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
        # No OpenTelemetry provider lookup per request: the server exports Prometheus metrics itself.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        routes=routes,
    )


def build_webhook_app(handler: AdmissionHandler, metrics: Metrics, max_request_bytes: int) -> WebhookApp:
    """The TLS port's app: `ReviewEndpoint` on ``POST /validate/networkpolicies``, nothing else."""
    endpoint = ReviewEndpoint(handler, metrics, max_request_bytes)
    routes: list[BaseRoute] = [Route(VALIDATE_PATH, endpoint=endpoint, methods=["POST"], name="validate")]
    return WebhookApp(bare_fastapi(routes), endpoint)


class WebhookApp:
    """The FastAPI app, with its one hot route dispatched ahead of FastAPI's middleware stack.

    Every review passes here; the endpoint reads the raw body, never raises and needs none of the five
    middleware layers (error pages, exception handlers, body limits, exit stacks, telemetry) that FastAPI
    wraps around every route: measured under load they cost as much CPU as judging the review. Every
    other path and method goes to FastAPI, which answers 404/405.
    """

    def __init__(self, app: FastAPI, endpoint: ReviewEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == VALIDATE_PATH and scope["method"] == "POST":
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class ReviewEndpoint:
    """The review route's ASGI endpoint: answers with ``handler``, records ``metrics``, logs one line."""

    def __init__(self, handler: AdmissionHandler, metrics: Metrics, max_request_bytes: int) -> None:
        self.handler = handler
        self.metrics = metrics
        self.max_request_bytes = max_request_bytes
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="netpol-guard-judge")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        declared, content_type, expects_continue = read_headers(scope["headers"])
        if expects_continue and declared is not None and declared > self.max_request_bytes:
            # Answered before the body is asked for: the first receive() would send "100 Continue".
            await self._refuse_declared_body(send, declared, started)
            return
        try:
            body, prefix = await read_body(receive, self.max_request_bytes, declared)
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
        elif len(body) < _THREAD_BYTES:
            decision = self.handler.handle(body, content_type)
        elif (values := count_json_values(body)) > MAX_JSON_VALUES:
            decision = self.handler.invalid(
                Envelope(uid=uid_from_prefix(body[:_UID_PREFIX_BYTES])),
                413,
                f"the request body has {values} JSON values, over the limit of {MAX_JSON_VALUES}; "
                "it was not parsed. Split the NetworkPolicy into smaller ones",
            )
        else:
            decision = await self.judge_on_worker(body, content_type)
        answer = decision.body
        headers = [_JSON_CONTENT_TYPE, (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
        seconds = time.perf_counter() - started
        self.metrics.record(decision, seconds)
        log_decision(decision, seconds, body)

    async def judge_on_worker(self, body: bytes, content_type: str | None) -> Decision:
        """`AdmissionHandler.handle` on the one worker thread (large reviews wait their turn there, so
        only one is ever parsed at a time: memory stays bounded)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.worker, self.handler.handle, body, content_type)

    async def _refuse_declared_body(self, send: Send, declared: int, started: float) -> None:
        # HTTP 413 here, not the usual 200: the client asked whether to send the body at all, and the
        # answer is no (RFC 9110, 10.1.1); the AdmissionReview in it still says why. The API server never
        # sends Expect, so this only meets other clients.
        decision = self.handler.invalid(
            Envelope(),
            413,
            f"the declared body of {declared} bytes is over the {self.max_request_bytes}-byte limit "
            "(--max-request-bytes)",
        )
        answer = decision.body
        headers = [_JSON_CONTENT_TYPE, (b"content-length", b"%d" % len(answer)), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": answer})
        seconds = time.perf_counter() - started
        self.metrics.record(decision, seconds)
        log_decision(decision, seconds, b"")


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "unknown"


def log_decision(decision: Decision, seconds: float, body: bytes) -> None:
    """One line per decision; the review body only at debug level."""
    level = _LOG_LEVELS.get(decision.decision, logging.INFO)
    if not logger.isEnabledFor(level):
        return
    fields: dict[str, Any] = {
        "uid": clip(decision.envelope.uid),
        "operation": clip(decision.operation),
        "namespace": clip(decision.namespace),
        "name": clip(decision.name),
        "user": clip(decision.user),
        "dry_run": decision.dry_run,
        "decision": decision.decision,
        "rules": decision.rule_ids,
        "duration_ms": round(seconds * 1000, 3),
    }
    if not decision.response.allowed:
        fields["code"] = decision.response.code
    if decision.detail:
        fields["detail"] = clip(decision.detail, DETAIL_LIMIT)
    if logger.isEnabledFor(logging.DEBUG):
        fields["body"] = body.decode("utf-8", "replace")
    log_fields(logger, level, "decision", fields)
