"""`netpol-guard rules`: print the rule catalog (ids, default actions, parameters, rationale);
`netpol-guard rules init`: print a complete, commented starter rules file."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``[init]`` and ``--format text|markdown|json``."""
    parser.add_argument(
        "command",
        nargs="?",
        choices=["init"],
        help="init: print a starter rules file with every rule, its default action and parameters",
    )
    parser.add_argument(
        "--format",
        choices=["text", "markdown", "json"],
        default="text",
        help="text for a terminal, markdown for docs (the README catalog), json for tools",
    )


def run(args: argparse.Namespace) -> int:
    """Print the catalog built from the rule registry, or the starter rules file (``init``)."""
    if args.command == "init":
        from app.report.starter import render_starter

        sys.stdout.write(render_starter())
        return 0
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
