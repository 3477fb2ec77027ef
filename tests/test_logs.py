"""The log lines: one JSON object (or text line) per record, and the decision line's direct path."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator

import pytest

from app import logs
from app.logs import FIELDS, configure_logging, log_fields

FIELDS_SEEN = {
    "uid": "u-1",
    "decision": "denied",
    "rules": ["require-ports"],
    "dry_run": False,
    "duration_ms": 0.5,
}


Configure = Callable[[str], io.StringIO]


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """`configure_logging` writing to a fresh stream (returned); the logging setup is put back afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level, logs._installed)

    def configure(log_format: str) -> io.StringIO:
        # Inside the test: pytest swaps sys.stderr between the setup and call phases.
        stream = io.StringIO()
        monkeypatch.setattr("sys.stderr", stream)
        configure_logging(log_format, "info")
        return stream

    yield configure
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved[0]:
        root.addHandler(handler)
    root.setLevel(saved[1])
    logs._installed = saved[2]


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


@pytest.mark.parametrize("direct", [True, False], ids=["log_fields", "logger.log"])
def test_a_decision_line_is_the_same_json_object_whichever_way_it_is_written(
    configure: Configure, direct: bool
) -> None:
    stderr = configure("json")
    logger = logging.getLogger("app.server.webhook")

    if direct:
        log_fields(logger, logging.INFO, "decision", dict(FIELDS_SEEN))
    else:
        logger.info("decision", extra={FIELDS: dict(FIELDS_SEEN)})

    [line] = _lines(stderr)
    entry = json.loads(line)
    assert entry.pop("time").endswith("+00:00")
    assert entry == {"level": "info", "logger": "app.server.webhook", "message": "decision", **FIELDS_SEEN}


def test_the_text_format_writes_key_value_pairs_on_one_line(configure: Configure) -> None:
    stderr = configure("text")

    log_fields(logging.getLogger("app.server.webhook"), logging.WARNING, "decision", dict(FIELDS_SEEN))

    [line] = _lines(stderr)
    assert " WARNING app.server.webhook: decision uid=u-1 decision=denied rules=require-ports" in line
    assert line.endswith("dry_run=false duration_ms=0.5")


def test_another_handler_gets_a_real_record_so_log_capture_keeps_working(configure: Configure) -> None:
    stderr = configure("json")
    captured: list[logging.LogRecord] = []
    extra = logging.Handler()
    extra.emit = captured.append  # type: ignore[method-assign]
    logging.getLogger().addHandler(extra)

    log_fields(logging.getLogger("app.server.webhook"), logging.INFO, "decision", dict(FIELDS_SEEN))

    assert [record.getMessage() for record in captured] == ["decision"]
    assert getattr(captured[0], FIELDS) == FIELDS_SEEN
    assert len(_lines(stderr)) == 1  # and the installed handler still wrote the line once


def test_a_filter_on_the_logger_still_decides(configure: Configure) -> None:
    stderr = configure("json")
    logger = logging.getLogger("app.tests.filtered")
    drop_all = logging.Filter("nothing-matches-this-name")
    logger.addFilter(drop_all)
    try:
        log_fields(logger, logging.INFO, "decision", dict(FIELDS_SEEN))
    finally:
        logger.removeFilter(drop_all)

    assert _lines(stderr) == []


def test_a_logger_that_does_not_propagate_writes_nothing_through_the_root_handler(
    configure: Configure,
) -> None:
    stderr = configure("json")
    logger = logging.getLogger("app.tests.silent")
    logger.propagate = False  # and no handler of its own: the record reaches no handler at all
    try:
        log_fields(logger, logging.INFO, "decision", dict(FIELDS_SEEN))
    finally:
        logger.propagate = True

    assert _lines(stderr) == []


def test_an_exception_is_one_field_of_one_json_line(configure: Configure) -> None:
    stderr = configure("json")

    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("app.tests").exception("judging failed")

    [line] = _lines(stderr)
    entry = json.loads(line)
    assert entry["level"] == "error" and entry["message"] == "judging failed"
    assert "ValueError: boom" in entry["exception"]


def test_a_formatter_set_later_is_used_for_the_decision_line_too(configure: Configure) -> None:
    stderr = configure("json")
    logging.getLogger().handlers[0].setFormatter(logging.Formatter("custom: %(message)s"))

    log_fields(logging.getLogger("app.server.webhook"), logging.INFO, "decision", dict(FIELDS_SEEN))

    assert _lines(stderr) == ["custom: decision"]
