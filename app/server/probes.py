"""The plain-HTTP probe app: ``GET /healthz``, ``GET /readyz``, ``GET /metrics`` (HEAD too).

Served on its own port without TLS so that kubelet probes and Prometheus need no certificates and the
webhook port carries nothing but reviews. A FastAPI app with plain-text answers and its docs and OpenAPI
endpoints switched off; FastAPI answers other paths (404) and methods (405).
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI
from starlette.responses import PlainTextResponse, Response

from app.server.metrics import Metrics
from app.server.state import Readiness
from app.server.webhook import bare_fastapi

_PROBE_METHODS: Final = ["GET", "HEAD"]


def build_probe_app(readiness: Readiness, metrics: Metrics) -> FastAPI:
    """Liveness (the event loop answers), readiness (`Readiness`), and the Prometheus exposition."""
    app = bare_fastapi()

    async def healthz() -> Response:
        return PlainTextResponse("ok\n")

    async def readyz() -> Response:
        problems = readiness.problems()
        if problems:
            return PlainTextResponse("not ready: " + ", ".join(problems) + "\n", status_code=503)
        return PlainTextResponse("ready\n")

    async def metrics_exposition() -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    for path, endpoint in (("/healthz", healthz), ("/readyz", readyz), ("/metrics", metrics_exposition)):
        app.add_api_route(path, endpoint, methods=_PROBE_METHODS, include_in_schema=False)
    return app
