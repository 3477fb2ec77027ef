"""`netpol-guard diff OLD NEW`: what a change to NetworkPolicies opens or closes.

``--base GITREV`` reads OLD from git (``diff --base main policies/`` compares the committed policies
with the working tree; ``diff --base main OLD NEW`` reads OLD at that revision). Exit codes: 1 when a
change of a ``--fail-on`` kind is found, 2 on an input error, else 0.
"""

from __future__ import annotations

import argparse
import sys

FORMATS = ("text", "markdown", "json")
FAIL_ON = ("opens", "closes", "any")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--base", metavar="GITREV", help="read OLD (or the one PATH) from this git revision")
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when something opens (opens, widens, stops-isolating, selects, unknown), closes, or any",
    )
    parser.add_argument("--namespace", metavar="NS", help="namespace of manifests that name none")
    parser.add_argument(
        "--link-base", metavar="URL", help="Markdown: link each file#Lline to this URL prefix (a blob URL)"
    )
    parser.add_argument("old", metavar="OLD", help="file or directory before the change")
    parser.add_argument("new", metavar="NEW", nargs="?", help="file or directory after the change")


def run(args: argparse.Namespace) -> int:
    """Read both sides, compare, print the chosen rendering, return the exit code."""
    import orjson

    from app.explain.diff import diff_explanations, failing_kinds
    from app.explain.document import diff_document
    from app.explain.inputs import GitError, explain_manifests, explain_paths, read_revision
    from app.explain.markdown import render_diff_markdown
    from app.explain.text import render_diff_text

    if args.new is None and args.base is None:
        print("netpol-guard diff: give OLD and NEW, or --base GITREV with one PATH", file=sys.stderr)
        return 2
    new_paths = [args.new or args.old]
    try:
        if args.base is not None:
            old = explain_manifests(read_revision(args.base, [args.old]), args.namespace)
        else:
            old = explain_paths([args.old], args.namespace)
    except GitError as exc:
        print(f"netpol-guard diff: {exc}", file=sys.stderr)
        return 2
    new = explain_paths(new_paths, args.namespace)
    errors = [*old.errors, *new.errors]
    document = diff_document(diff_explanations(old.policies, new.policies), errors)
    if args.format == "json":
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.format == "markdown":
        sys.stdout.write(render_diff_markdown(document, args.link_base))
    else:
        sys.stdout.write(render_diff_text(document))
    if errors:
        return 2
    if args.fail_on and failing_kinds((c["kind"] for c in document["changes"]), args.fail_on):
        return 1
    return 0
