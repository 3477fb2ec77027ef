"""Logging setup: one JSON object (or one text line) per record, on stderr.

Structured fields travel in ``extra={"fields": {...}}``; the decision log line uses them so that every
admission decision is exactly one line with uid, operation, namespace, name, user, dry_run, decision,
rules and duration_ms.

What a client sends never shapes a line: identifiers (uid, names, user) are cut to `IDENTIFIER_LIMIT`
characters by `clip` with a marker saying how much was cut; the text format quotes and escapes any value
with a control or other non-printable character, so a newline in a username cannot start a forged line;
and in either format Python's "Exception ignored in" reports (a TLS client's non-ASCII server name) become
one ordinary line instead of a raw traceback on stderr.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Any, Final

import orjson

FIELDS: Final = "fields"
IDENTIFIER_LIMIT: Final = 256
"""Longest uid, name, namespace or user written to a log line (the API answer still echoes them whole).
Kubernetes names are at most 253 characters and uids 36, so only a hostile or broken client is cut."""
DETAIL_LIMIT: Final = 4096
"""Longest free-text field (an error's message, a decision's detail) in a log line."""
_NOT_PRINTABLE: Final = re.compile(r"[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_UVICORN_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access")


class _UtcClock:
    """ISO 8601 UTC times with milliseconds (``2024-05-01T12:00:00.123+00:00``).

    The date and time up to the second are formatted once per second: the decision line is written on
    every request, and a datetime object per line cost more than the rest of the line.
    """

    def __init__(self) -> None:
        self._cached: tuple[int, str] = (-1, "")

    def __call__(self, created: float) -> str:
        second = int(created)
        cached_second, prefix = self._cached
        if second != cached_second:
            prefix = dt.datetime.fromtimestamp(second, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._cached = (second, prefix)  # one tuple: a consistent pair for every thread
        return f"{prefix}.{int((created - second) * 1000):03d}+00:00"


_timestamp: Final = _UtcClock()
_LEVEL_NAMES: Final = {
    level: logging.getLevelName(level).lower()
    for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
}


def _level_name(levelno: int) -> str:
    return _LEVEL_NAMES.get(levelno) or str(logging.getLevelName(levelno)).lower()


def json_line(
    created: float, levelno: int, name: str, message: str, fields: Any, exception: str | None = None
) -> str:
    """``{"time", "level", "logger", "message", ...fields}``, built as one dict and one `orjson.dumps`."""
    entry: dict[str, Any] = {
        "time": _timestamp(created),
        "level": _level_name(levelno),
        "logger": name,
        "message": message,
    }
    if isinstance(fields, dict):
        entry.update(fields)
    if exception:
        entry["exception"] = exception
    return orjson.dumps(entry, default=str).decode()


def text_line(
    created: float, levelno: int, name: str, message: str, fields: Any, exception: str | None = None
) -> str:
    """``time level logger: message key=value ...``; a traceback follows on its own lines."""
    if not message.isprintable():
        message = _NOT_PRINTABLE.sub(_escape, message)
    line = f"{_timestamp(created)} {_level_name(levelno).upper():<7} {name}: {message}"
    if isinstance(fields, dict):
        line += "".join(f" {key}={_text_value(value)}" for key, value in fields.items())
    if exception:
        line += "\n" + exception
    return line


class LineFormatter(logging.Formatter):
    """One record as one line drawn by ``render`` (`json_line` or `text_line`)."""

    render: Callable[..., str] = staticmethod(json_line)

    def format(self, record: logging.LogRecord) -> str:
        exception = self.formatException(record.exc_info) if record.exc_info else None
        return self.render(
            record.created,
            record.levelno,
            record.name,
            record.getMessage(),
            getattr(record, FIELDS, None),
            exception,
        )


class JsonFormatter(LineFormatter):
    """One JSON object per record; an exception becomes a field, never a multi-line traceback."""

    render = staticmethod(json_line)


class TextFormatter(LineFormatter):
    """``time level logger: message key=value ...`` for people reading a terminal."""

    render = staticmethod(text_line)


def clip(value: str, limit: int = IDENTIFIER_LIMIT) -> str:
    """``value``, or its first ``limit`` characters and a marker naming how many were cut."""
    if len(value) <= limit:
        return value
    return f"{value[:limit]}...[{len(value) - limit} more characters cut]"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _text_value(value: Any) -> str:
    if isinstance(value, str):
        if value and value.isprintable() and " " not in value and '"' not in value and "\\" not in value:
            return value
        # JSON quoting escapes quotes, backslashes and C0 controls; anything else unprintable (DEL, C1
        # controls, U+2028/2029 line separators) is escaped too, so one record is always one line.
        return _NOT_PRINTABLE.sub(_escape, orjson.dumps(value).decode())
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value) or '""'
    if isinstance(value, dict):
        return orjson.dumps(value, default=str).decode()
    return str(value).lower() if isinstance(value, bool) else str(value)


class LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure_logging` installs: one line per record, JSON or text.

    It can also write a line given as fields, with no `logging.LogRecord` (see `log_fields`).
    """

    def __init__(self, stream: Any, log_format: str) -> None:
        super().__init__(stream)
        self.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())

    def emit_fields(self, levelno: int, name: str, message: str, fields: dict[str, Any]) -> None:
        """Format and write one line from its parts, as `emit` would for the equivalent record."""
        assert isinstance(self.formatter, LineFormatter)  # `log_fields` checked
        line = self.formatter.render(time.time(), levelno, name, message, fields)
        with self.lock:  # type: ignore[union-attr]  # StreamHandler always creates its lock
            try:
                self.stream.write(line + self.terminator)
                self.flush()
            except Exception:
                self.handleError(None)  # type: ignore[arg-type]  # only prints, like a failed emit


_installed: LineHandler | None = None
"""The handler `configure_logging` put on the root logger, if any."""


def _reaches_only(logger: logging.Logger, handler: logging.Handler) -> bool:
    """True when a record from ``logger`` would pass no filter and reach ``handler`` and no other handler
    (the walk `logging.Logger.callHandlers` makes)."""
    if logger.filters:
        return False
    reached = 0
    current: logging.Logger | None = logger
    while current is not None:
        for other in current.handlers:
            if other is not handler:
                return False
            reached += 1
        current = current.parent if current.propagate else None
    return reached == 1


def log_fields(logger: logging.Logger, level: int, message: str, fields: dict[str, Any]) -> None:
    """Log ``message`` with ``fields``; the caller has checked ``logger.isEnabledFor(level)``.

    For the per-request decision line. When the only handler the record would reach is the one
    `configure_logging` installed (the server's normal state), the line is written straight from
    ``fields``: building a `logging.LogRecord` and passing it through the logger hierarchy cost more
    than the rest of the line (8.5 µs against 5.5 in a tight loop). Anything else in the way (a handler,
    filter or formatter added later, a test's log capture) gets an ordinary record.
    """
    handler = _installed
    if (
        handler is not None
        and level >= handler.level
        and not handler.filters
        and isinstance(handler.formatter, LineFormatter)  # not swapped for another formatter since
        and _reaches_only(logger, handler)
    ):
        handler.emit_fields(level, logger.name, message, fields)
        return
    logger.log(level, message, extra={FIELDS: fields})


def configure_logging(log_format: str = "json", level: str = "info") -> None:
    """Send every logger (ours and uvicorn's) to stderr in ``log_format`` at ``level``."""
    # The logging HOWTO's optimisations: no caller lookup (a stack walk per record), no thread or process
    # names; none of them is in our lines, and the decision line is written on every request.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    global _installed
    handler = LineHandler(sys.stderr, log_format)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    _installed = handler
    root.setLevel(level.upper())
    for name in _UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # The decision line already records every request and the runner logs start and stop; uvicorn's own
    # access and lifecycle lines would only repeat them (its warnings and errors still show).
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("uvicorn.error").setLevel(max(logging.WARNING, root.level))
    sys.unraisablehook = _log_unraisable


def _log_unraisable(unraisable: Any) -> None:
    """One line for what Python would print as "Exception ignored in ..." with a traceback.

    The ssl module reports this way when a ClientHello's server name is not ASCII (its SNI callback
    cannot even be called), and such a client must not be able to put a traceback on stderr.
    """
    error = unraisable.exc_value
    logging.getLogger("app.logs").warning(
        "an error was raised where it could not be handled (for example a TLS client sent a server "
        "name that is not ASCII); nothing else is affected",
        extra={
            FIELDS: {
                "error": clip(f"{type(error).__name__}: {error}", DETAIL_LIMIT),
                "object": clip(repr(unraisable.object)),
            }
        },
    )
