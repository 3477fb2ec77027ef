"""`netpol-guard serve`: the admission webhook."""

from __future__ import annotations

import argparse
import sys

from app.settings import (
    DEFAULT_GRACEFUL_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_REQUEST_BYTES,
    DEFAULT_REQUEST_TIMEOUT,
    env_name,
)

# (flag, metavar or None for choices, help). Defaults live in app.settings; a flag left out reads its
# NETPOL_GUARD_* variable, then the default.
_FLAGS: tuple[tuple[str, dict[str, object]], ...] = (
    (
        "config",
        {"metavar": "FILE", "help": "rules file (default: the embedded default rules); reloaded on change"},
    ),
    ("tls-cert-file", {"metavar": "FILE", "help": "PEM serving certificate (required); reloaded on change"}),
    ("tls-private-key-file", {"metavar": "FILE", "help": "PEM private key (required); reloaded on change"}),
    ("client-ca-file", {"metavar": "FILE", "help": "require client certificates signed by this CA bundle"}),
    ("host", {"metavar": "ADDR", "help": "listen address of the webhook port (default 0.0.0.0)"}),
    (
        "probe-host",
        {"metavar": "ADDR", "help": "listen address of the probe and metrics port (default 0.0.0.0)"},
    ),
    ("port", {"type": int, "help": "HTTPS webhook port (default 8443)"}),
    ("probe-port", {"type": int, "help": "plain-HTTP port for /healthz, /readyz, /metrics (default 9090)"}),
    ("log-format", {"choices": ["json", "text"], "help": "log format (default json)"}),
    ("log-level", {"choices": ["debug", "info", "warning", "error"], "help": "log level (default info)"}),
    (
        "max-request-bytes",
        {
            "type": int,
            "metavar": "N",
            "help": f"larger reviews get a 413 answer (default {DEFAULT_MAX_REQUEST_BYTES})",
        },
    ),
    (
        "max-header-bytes",
        {
            "type": int,
            "metavar": "N",
            "help": f"longer request heads get 431 and are closed (default {DEFAULT_MAX_HEADER_BYTES})",
        },
    ),
    (
        "request-timeout",
        {
            "type": float,
            "metavar": "SECONDS",
            "help": "a TLS handshake, or a request's headers and body, must arrive within this "
            f"(else 408 and close; default {DEFAULT_REQUEST_TIMEOUT:g})",
        },
    ),
    (
        "max-connections",
        {
            "type": int,
            "metavar": "N",
            "help": "open connections per port; more are refused at once "
            f"(default {DEFAULT_MAX_CONNECTIONS})",
        },
    ),
    (
        "graceful-timeout",
        {
            "type": int,
            "metavar": "SECONDS",
            "help": "after the shutdown delay, how long in-flight reviews may take to finish "
            f"(default {DEFAULT_GRACEFUL_TIMEOUT})",
        },
    ),
    (
        "reload-interval",
        {
            "type": float,
            "metavar": "SECONDS",
            "help": "how often files are checked (default 2; SIGHUP checks now)",
        },
    ),
    (
        "shutdown-delay",
        {
            "type": float,
            "metavar": "SECONDS",
            "help": "keep answering this long after SIGTERM while unready (default 2)",
        },
    ),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags mirror NETPOL_GUARD_* environment variables (see app.settings); a flag wins over its variable."""
    for flag, options in _FLAGS:
        field = flag.replace("-", "_")
        extra = dict(options)
        text = f"{extra.pop('help')} [env {env_name(field)}]"
        parser.add_argument(f"--{flag}", dest=field, default=None, help=text, **extra)  # type: ignore[arg-type]


def run(args: argparse.Namespace) -> int:
    """Check the settings, certificates and rules, then serve until SIGTERM. Exit 2 on a start-up error."""
    from app.errors import NetpolGuardError
    from app.logs import configure_logging
    from app.server.runner import WebhookServer, run_loop
    from app.settings import ServerSettings, load_settings

    flags = {field: getattr(args, field, None) for field in ServerSettings.model_fields}
    try:
        settings = load_settings(flags)
        configure_logging(settings.log_format, settings.log_level)
        server = WebhookServer(settings)
    except NetpolGuardError as exc:
        print(f"netpol-guard serve: {exc}", file=sys.stderr)
        return 2
    run_loop(server.serve())
    return 0
