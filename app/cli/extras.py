"""Optional dependency groups: which commands need the ``server`` extra, and whether it is installed.

``pip install netpol-guard`` is the CLI for CI (`check`, `rules`, `version` and the other offline
commands); ``pip install 'netpol-guard[server]'`` adds the webhook stack. A server command run without it
must say in one line what to install, not fail with an ImportError, so the check runs before its module
is imported (those modules may import the stack at the top).
"""

from __future__ import annotations

import importlib.util

SERVER_EXTRA = "server"
INSTALL_SERVER = "pip install 'netpol-guard[server]'"

# Import names of the server extra's distributions in pyproject.toml (a test keeps the two in step).
# uvloop is left out: it is optional on platforms without it (see app.server.runner.run_loop).
SERVER_MODULES: dict[str, str] = {
    "fastapi": "fastapi",
    "uvicorn": "uvicorn",
    "httptools": "httptools",
    "pydantic-settings": "pydantic_settings",
    "prometheus-client": "prometheus_client",
    "cryptography": "cryptography",
    "kubernetes": "kubernetes",
}

# The commands that need the extra; every other command runs on the core dependencies alone.
SERVER_COMMANDS = frozenset({"serve", "certs", "selftest"})


def missing_server_modules() -> list[str]:
    """Import names of the server extra that cannot be found, in a stable order (empty: installed)."""
    return [module for module in SERVER_MODULES.values() if importlib.util.find_spec(module) is None]


def missing_extra_message(command: str, missing: list[str]) -> str:
    """The one line a server command prints when the extra is not installed."""
    return (
        f"netpol-guard {command} needs the server extra (missing: {', '.join(missing)}): run {INSTALL_SERVER}"
    )
