"""`netpol-guard rules`: print the rule catalog (ids, default actions, parameters, rationale)."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--format text|markdown|json``."""
    parser.add_argument(
        "--format",
        choices=["text", "markdown", "json"],
        default="text",
        help="text for a terminal, markdown for docs (the README catalog), json for tools",
    )


def run(args: argparse.Namespace) -> int:
    """Print the catalog built from the rule registry."""
    from app.report.catalog import (
        catalog,
        render_catalog_json,
        render_catalog_markdown,
        render_catalog_text,
    )

    renderers = {
        "text": render_catalog_text,
        "markdown": render_catalog_markdown,
        "json": render_catalog_json,
    }
    sys.stdout.write(renderers[args.format](catalog()))
    return 0
