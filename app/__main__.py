"""`netpol-guard` command line: serve | check | rules | certs | export | selftest | version.

Each subcommand lives in ``app.cli.<name>`` with ``add_arguments(parser)`` and ``run(args) -> int``;
those modules import their heavy dependencies inside ``run`` so that, e.g., `check` never loads the
server or the kubernetes client. The server commands need the ``server`` extra (app.cli.extras): without
it their module is not imported at all and the command, even with ``--help``, says what to install.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from app import __version__
from app.cli.extras import SERVER_COMMANDS, missing_extra_message, missing_server_modules

_COMMANDS = {
    "serve": "Serve the admission webhook (AdmissionReview v1 over TLS).",
    "check": "Check NetworkPolicy manifests against the rules (for CI).",
    "explain": "Explain in plain words what NetworkPolicy manifests allow, with the field of each grant.",
    "diff": "Show what a change to NetworkPolicy manifests opens or closes (for pull requests).",
    "rules": "Print the rule catalog: ids, default actions, parameters.",
    "certs": "Create certificates: dev certs for local runs, or in-cluster ones (`certs ensure`).",
    "export": "Export the rules to another enforcement point (`export vap`: ValidatingAdmissionPolicy).",
    "selftest": "Dry-run a bad and a good NetworkPolicy against a live cluster (used by `helm test`).",
    "version": "Print the version.",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netpol-guard",
        description="Organisational rules for Kubernetes NetworkPolicy objects, at admission and in CI.",
    )
    parser.add_argument("--version", action="version", version=f"netpol-guard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    missing = missing_server_modules()
    for name, help_text in _COMMANDS.items():
        if name in SERVER_COMMANDS and missing:
            _add_unavailable(commands, name, help_text, missing_extra_message(name, missing))
            continue
        module = importlib.import_module(f"app.cli.{name}")
        sub = commands.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(_module=module)
    return parser


def _add_unavailable(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_text: str, message: str
) -> None:
    """A server command without the extra: any arguments (even --help) get ``message`` (see main)."""
    sub = commands.add_parser(name, help=f"{help_text} [needs netpol-guard[server]]", add_help=False)
    sub.set_defaults(_unavailable=message)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # parse_known_args: an unavailable command's arguments are unknown to its empty parser, and must not
    # turn the one-line hint into a usage error.
    args, unknown = parser.parse_known_args(argv)
    unavailable = getattr(args, "_unavailable", None)
    if unavailable is not None:
        print(unavailable, file=sys.stderr)
        return 2
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    code: int = args._module.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
