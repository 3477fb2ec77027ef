"""Readiness: what must be true before the webhook may receive traffic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Readiness:
    """Ready when the webhook listens and no SIGTERM arrived.

    The rules and the TLS pair need no flag: they are loaded before the server is built (a failure is a
    start-up error) and a broken reload keeps the last good ones, so neither is ever missing while serving.
    """

    serving: bool = False
    shutting_down: bool = False

    def problems(self) -> list[str]:
        """Why the server is not ready (empty when it is)."""
        problems = []
        if self.shutting_down:
            problems.append("shutting down")
        if not self.serving:
            problems.append("webhook port not listening yet")
        return problems
