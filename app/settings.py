"""Server settings: one pydantic-settings class, flags override ``NETPOL_GUARD_*`` environment variables.

Validated once at start; a bad value becomes one `SettingsError` line naming the flag and the variable
(the CLI prints it and exits 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.errors import SettingsError

ENV_PREFIX = "NETPOL_GUARD_"
DEFAULT_MAX_REQUEST_BYTES = 7 * 1024 * 1024  # the API server's own request body limit is 3 MiB + headroom
# The API server's webhook requests carry a few hundred bytes of headers; 64 KiB is Go net/http's default
# client-side MaxHeaderBytes order of magnitude, far above any real request and far below a memory problem.
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_REQUEST_TIMEOUT = 10.0  # seconds; the API server's own webhook timeout defaults to 10 s
DEFAULT_MAX_CONNECTIONS = 1000
DEFAULT_GRACEFUL_TIMEOUT = 15  # seconds; longer than a request may take to arrive and be judged

LogFormat = Literal["json", "text"]
LogLevel = Literal["debug", "info", "warning", "error"]


class ServerSettings(BaseSettings):
    """Everything `netpol-guard serve` needs; ``foo_bar`` is ``--foo-bar`` and ``NETPOL_GUARD_FOO_BAR``."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    config: Path | None = Field(
        default=None, description="Rules file; the embedded default rules when unset."
    )
    tls_cert_file: Path = Field(description="PEM serving certificate (chain); re-read when it changes.")
    tls_private_key_file: Path = Field(description="PEM private key of the serving certificate.")
    client_ca_file: Path | None = Field(
        default=None, description="PEM CA bundle; when set, clients must present a certificate it signed."
    )
    host: str = Field(default="0.0.0.0", min_length=1, description="Address the webhook port listens on.")
    probe_host: str = Field(
        default="0.0.0.0", min_length=1, description="Address the probe and metrics port listens on."
    )
    port: int = Field(default=8443, ge=0, le=65535, description="HTTPS port of the webhook.")
    probe_port: int = Field(default=9090, ge=0, le=65535, description="Plain-HTTP port: probes and metrics.")
    log_format: LogFormat = Field(default="json", description="json (one object a line) or text.")
    log_level: LogLevel = Field(default="info", description="debug also logs request objects.")
    max_request_bytes: int = Field(
        default=DEFAULT_MAX_REQUEST_BYTES, ge=1024, description="Larger request bodies get a 413 answer."
    )
    max_header_bytes: int = Field(
        default=DEFAULT_MAX_HEADER_BYTES,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Longest request line plus headers; longer ones get 431 and the connection is closed.",
    )
    request_timeout: float = Field(
        default=DEFAULT_REQUEST_TIMEOUT,
        gt=0,
        le=300,
        description="Seconds a TLS handshake, and a request's headers and body, may take to arrive (408).",
    )
    max_connections: int = Field(
        default=DEFAULT_MAX_CONNECTIONS,
        ge=1,
        le=1_000_000,
        description="Open connections per port; past it new connections are refused at once.",
    )
    graceful_timeout: int = Field(
        default=DEFAULT_GRACEFUL_TIMEOUT,
        ge=1,
        le=300,
        description="Seconds in-flight requests may take to finish after the listener stops.",
    )
    reload_interval: float = Field(
        default=2.0, gt=0, le=300, description="Seconds between checks of the rules and TLS files."
    )
    shutdown_delay: float = Field(
        default=2.0,
        ge=0,
        le=300,
        description="Seconds to keep serving after SIGTERM while unready, so endpoints drop this pod first.",
    )

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("config", "tls_cert_file", "tls_private_key_file", "client_ca_file", mode="before")
    @classmethod
    def _not_empty(cls, value: Any) -> Any:
        # An empty value (often NETPOL_GUARD_X="" from a template) would otherwise be the path ".".
        if isinstance(value, str) and not value.strip():
            raise PydanticCustomError("empty_path", "must name a file, not be empty")
        return value


def flag_name(field: str) -> str:
    """``tls_cert_file`` -> ``--tls-cert-file``."""
    return "--" + field.replace("_", "-")


def env_name(field: str) -> str:
    """``tls_cert_file`` -> ``NETPOL_GUARD_TLS_CERT_FILE``."""
    return ENV_PREFIX + field.upper()


def load_settings(flags: dict[str, Any]) -> ServerSettings:
    """Build the settings from explicitly given flags (which win) and the environment.

    Raises `SettingsError` with one line per bad value, each naming the flag and the variable.
    """
    given = {key: value for key, value in flags.items() if value is not None}
    try:
        return ServerSettings(**given)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            where = f"{flag_name(field)} / {env_name(field)}" if field else "settings"
            if error["type"] == "missing":
                lines.append(f"{where} is required")
            else:
                got = error.get("input")
                lines.append(f"{where}: {error['msg']} (got {got!r})")
        raise SettingsError("; ".join(lines)) from None
