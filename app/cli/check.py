"""`netpol-guard check`: judge manifests in files, directories or stdin (for CI).

Exit codes: 0 nothing denied (warnings allowed), 1 something denied (or warned, with ``--strict``),
2 an input could not be read or the rules file is bad.
"""

from __future__ import annotations

import argparse
import gc
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="rules file (default: the embedded default rules)")
    parser.add_argument("--format", choices=["text", "json", "sarif", "junit"], default="text")
    parser.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, directories, or - for stdin")


def run(args: argparse.Namespace) -> int:
    """Load the rules, judge every input, print the report in the chosen format, return the exit code."""
    from app.errors import RulesFileError
    from app.report import RENDERERS
    from app.report.results import EXIT_ERROR, check_files
    from app.ruleset import load_ruleset

    try:
        ruleset = load_ruleset(args.config)
    except RulesFileError as exc:
        print(f"netpol-guard: bad rules file: {exc}", file=sys.stderr)
        return EXIT_ERROR
    # As in the server (runner.pause_automatic_gc): parsing, decoding and judging allocate trees of
    # containers that are acyclic and die by reference counting, and the cyclic collector would only rescan
    # them over and over (it tripled the time of a 1 MiB policy). Turned back on only if it was on.
    collecting = gc.isenabled()
    gc.disable()
    try:
        report = check_files(args.paths, ruleset, strict=args.strict)
    finally:
        if collecting:
            gc.enable()
    sys.stdout.write(RENDERERS[args.format](report))
    return report.exit_code
