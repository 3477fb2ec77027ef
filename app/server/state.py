"""Readiness: what must be true before the webhook may receive traffic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Readiness:
    """Ready when the webhook listens, no SIGTERM arrived and the reload loop still runs.

    The rules and the TLS pair need no flag: they are loaded before the server is built (a failure is a
    start-up error) and a broken reload keeps the last good ones, so neither is ever missing while serving.
    A dead reload loop is another matter: the certificate would expire on a pod that reports ready.
    """

    serving: bool = False
    shutting_down: bool = False
    reloads_stopped: str | None = None

    def problems(self) -> list[str]:
        """Why the server is not ready (empty when it is)."""
        problems = []
        if self.shutting_down:
            problems.append("shutting down")
        if self.reloads_stopped is not None:
            problems.append(self.reloads_stopped)
        if not self.serving:
            problems.append("webhook port not listening yet")
        return problems
