"""The plain-HTTP probe app: ``GET /healthz``, ``GET /readyz``, ``GET /metrics``.

Served on its own port without TLS so that kubelet probes and Prometheus need no certificates and the
webhook port carries nothing but reviews.
"""

from __future__ import annotations

from app.server.metrics import Metrics
from app.server.state import Readiness
from app.server.webhook import Receive, Scope, Send


async def _answer(send: Send, status: int, body: bytes, content_type: str) -> None:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ProbeApp:
    """Liveness (the event loop answers), readiness (`Readiness`), and the Prometheus exposition."""

    def __init__(self, readiness: Readiness, metrics: Metrics) -> None:
        self.readiness = readiness
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # uvicorn runs with lifespan off
            return
        path, method = scope["path"], scope["method"]
        if method not in ("GET", "HEAD"):
            await _answer(send, 405, b"method not allowed: use GET\n", "text/plain; charset=utf-8")
        elif path == "/healthz":
            await _answer(send, 200, b"ok\n", "text/plain; charset=utf-8")
        elif path == "/readyz":
            problems = self.readiness.problems()
            if problems:
                text = "not ready: " + ", ".join(problems) + "\n"
                await _answer(send, 503, text.encode(), "text/plain; charset=utf-8")
            else:
                await _answer(send, 200, b"ready\n", "text/plain; charset=utf-8")
        elif path == "/metrics":
            body, content_type = self.metrics.render()
            await _answer(send, 200, body, content_type)
        else:
            await _answer(
                send, 404, b"not found: try /healthz, /readyz or /metrics\n", "text/plain; charset=utf-8"
            )
