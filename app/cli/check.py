"""`netpol-guard check`: judge manifests in files, directories or stdin (for CI).

Exit codes: 0 nothing denied (warnings allowed), 1 something denied (or warned, with ``--strict``),
2 an input could not be read, a PATH holds no NetworkPolicy, or the rules file is bad. Whatever
happens, stdout holds one valid document of the chosen ``--format``.
"""

from __future__ import annotations

import argparse
import gc
import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.manifests import UnreadableManifest

EXIT_CODES = """\
exit codes:
  0  nothing denied (warnings are allowed)
  1  something denied, or warned with --strict
  2  an input could not be read (a broken file or document, a file over --max-file-bytes, a FIFO or
     device named explicitly), a PATH holds no NetworkPolicy (unless --allow-no-policy), or the rules
     file is bad

A manifest without metadata.namespace is judged in --namespace (default "default", as kubectl
applies it), and its findings say so. --exclude globs match paths relative to each PATH; "*" also
crosses "/", and a folder that matches is not entered. For a Helm chart, check what it renders:
  helm template my-release ./chart | netpol-guard check -
"""


def _byte_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of bytes") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _rules_problem(config: str | None, message: str) -> UnreadableManifest:
    """The rules file's error as a located problem (its messages start ``FILE[:LINE:COLUMN]: ``)."""
    from app.manifests import UnreadableManifest

    path = config or "<embedded rules>"
    line = column = 0
    if config is not None and message.startswith(f"{config}:"):
        message = message[len(config) + 1 :].lstrip()
        located = re.match(r"(\d+):(\d+):\s*(.*)", message, re.DOTALL)
        if located:
            line, column, message = int(located[1]), int(located[2]), located[3]
    return UnreadableManifest(path, f"bad rules file: {message}", line, column)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from app.manifests import MAX_FILE_BYTES
    from app.report.results import DEFAULT_NAMESPACE

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EXIT_CODES
    parser.add_argument("--config", metavar="FILE", help="rules file (default: the embedded default rules)")
    parser.add_argument("--format", choices=["text", "json", "sarif", "junit"], default="text")
    parser.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    parser.add_argument(
        "--exclude",
        metavar="GLOB",
        action="append",
        default=[],
        help="skip files and folders whose path relative to a PATH matches (repeatable), e.g. 'templates/*'",
    )
    parser.add_argument(
        "--namespace",
        metavar="NS",
        default=DEFAULT_NAMESPACE,
        help=f"namespace of manifests that set none (default: {DEFAULT_NAMESPACE}, as kubectl)",
    )
    parser.add_argument(
        "--max-file-bytes",
        metavar="N",
        type=_byte_count,
        default=MAX_FILE_BYTES,
        help=f"larger files are an error, not read (default: {MAX_FILE_BYTES} = 16 MiB)",
    )
    parser.add_argument(
        "--allow-no-policy",
        action="store_true",
        help="a PATH without any NetworkPolicy is not an error (pre-commit passes every staged file)",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, directories, or - for stdin")


def run(args: argparse.Namespace) -> int:
    """Load the rules, judge every input, print the report in the chosen format, return the exit code."""
    from app.apivalidation import dns1123_label_problems
    from app.errors import RulesFileError
    from app.report import RENDERERS
    from app.report.results import CheckReport, check_files
    from app.ruleset import Mode, load_ruleset

    render = RENDERERS[args.format]
    namespace_problems = dns1123_label_problems(args.namespace)
    if namespace_problems:
        print(
            f"netpol-guard: --namespace {args.namespace!r}: {'; '.join(namespace_problems)}", file=sys.stderr
        )
        return 2
    try:
        ruleset = load_ruleset(args.config)
    except RulesFileError as exc:
        # Still one valid document of the chosen format, so that CI (upload-sarif, test viewers) shows
        # the real cause instead of a parse failure of an empty file.
        print(f"netpol-guard: bad rules file: {exc}", file=sys.stderr)
        if args.format != "text":
            report = CheckReport((), Mode.ENFORCE, args.strict, (_rules_problem(args.config, str(exc)),))
            sys.stdout.write(render(report))
        return 2
    # As in the server (runner.pause_automatic_gc): parsing, decoding and judging allocate trees of
    # containers that are acyclic and die by reference counting, and the cyclic collector would only rescan
    # them over and over (it tripled the time of a 1 MiB policy). Turned back on only if it was on.
    collecting = gc.isenabled()
    gc.disable()
    try:
        report = check_files(
            args.paths,
            ruleset,
            strict=args.strict,
            exclude=args.exclude,
            namespace=args.namespace,
            max_file_bytes=args.max_file_bytes,
            require_policies=not args.allow_no_policy,
        )
    finally:
        if collecting:
            gc.enable()
    sys.stdout.write(render(report))
    return report.exit_code
