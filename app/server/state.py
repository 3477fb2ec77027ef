"""Readiness: what must be true before the webhook may receive traffic."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Readiness:
    """Ready when the rules and the TLS pair are loaded, the webhook listens, and no SIGTERM arrived."""

    rules_loaded: bool = False
    tls_loaded: bool = False
    serving: bool = False
    shutting_down: bool = False

    def problems(self) -> list[str]:
        """Why the server is not ready (empty when it is)."""
        problems = []
        if self.shutting_down:
            problems.append("shutting down")
        if not self.rules_loaded:
            problems.append("rules not loaded")
        if not self.tls_loaded:
            problems.append("TLS certificate not loaded")
        if not self.serving:
            problems.append("webhook port not listening yet")
        return problems
