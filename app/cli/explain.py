"""`netpol-guard explain PATH...`: what each NetworkPolicy allows, in plain words, from the YAML alone.

Exit codes: 0 every input explained, 2 an input could not be read or decoded (the others are still
explained). Imports nothing of the server stack.
"""

from __future__ import annotations

import argparse
import os
import sys

FORMATS = ("text", "markdown", "json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument(
        "--namespace", metavar="NS", help="namespace of manifests that name none (default: left unnamed)"
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, directories, or - for stdin")


def run(args: argparse.Namespace) -> int:
    """Explain every policy and print the chosen rendering."""
    import orjson

    from app.explain.document import explain_document
    from app.explain.inputs import explain_paths
    from app.explain.markdown import render_explain_markdown
    from app.explain.text import render_explain_text

    explained = explain_paths(args.paths, args.namespace)
    by_subject = any(os.path.isdir(path) for path in args.paths) or len(explained.policies) > 1
    document = explain_document(
        explained.policies, explained.errors, files=explained.files, by_subject=by_subject
    )
    if args.format == "json":
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.format == "markdown":
        sys.stdout.write(render_explain_markdown(document))
    else:
        sys.stdout.write(render_explain_text(document))
    return 2 if explained.errors else 0
