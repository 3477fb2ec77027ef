"""Reporters for `netpol-guard check`: text, json, sarif, junit, all rendering one `CheckReport`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from app.report.jsonreport import render_json
from app.report.junit import render_junit
from app.report.results import CheckReport
from app.report.sarif import render_sarif
from app.report.text import render_text

RENDERERS: Final[dict[str, Callable[[CheckReport], str]]] = {
    "text": render_text,
    "json": render_json,
    "sarif": render_sarif,
    "junit": render_junit,
}
"""Report format name (the ``--format`` value) -> renderer."""
