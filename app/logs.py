"""Logging setup: one JSON object (or one text line) per record, on stderr.

Structured fields travel in ``extra={"fields": {...}}``; the decision log line uses them so that every
admission decision is exactly one line with uid, operation, namespace, name, user, dry_run, decision,
rules and duration_ms.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any, Final

import orjson

FIELDS: Final = "fields"
_UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access")


class _UtcClock:
    """ISO 8601 UTC times with milliseconds (``2024-05-01T12:00:00.123+00:00``).

    The date and time up to the second are formatted once per second: the decision line is written on
    every request, and a datetime object per line cost more than the rest of the line.
    """

    def __init__(self) -> None:
        self._cached: tuple[int, str] = (-1, "")

    def __call__(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        cached_second, prefix = self._cached
        if second != cached_second:
            prefix = dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._cached = (second, prefix)  # one tuple: a consistent pair for every thread
        return f"{prefix}.{int(record.msecs):03d}+00:00"


_timestamp: Final = _UtcClock()
_LEVEL_NAMES: Final = {
    level: logging.getLevelName(level).lower()
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
}


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...fields}``, built as one dict and one `orjson.dumps`; an
    exception becomes a field, never a multi-line traceback on its own."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": _timestamp(record),
            "level": _LEVEL_NAMES.get(record.levelno) or record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time level logger: message key=value ...`` for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            line += "".join(f" {key}={_text_value(value)}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text_value(value: Any) -> str:
    if isinstance(value, str):
        return value if value and " " not in value and '"' not in value else orjson.dumps(value).decode()
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value) or '""'
    if isinstance(value, dict):
        return orjson.dumps(value, default=str).decode()
    return str(value).lower() if isinstance(value, bool) else str(value)


def configure_logging(log_format: str = "json", level: str = "info") -> None:
    """Send every logger (ours and uvicorn's) to stderr in ``log_format`` at ``level``."""
    # The logging HOWTO's optimisations: no caller lookup (a stack walk per record), no thread or process
    # names; none of them is in our lines, and the decision line is written on every request.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # The decision line already records every request and the runner logs start and stop; uvicorn's own
    # access and lifecycle lines would only repeat them (its warnings and errors still show).
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").setLevel(max(logging.WARNING, root.level))
