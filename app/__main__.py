"""`netpol-guard` command line: serve | check | rules | certs | selftest | version.

Each subcommand lives in ``app.cli.<name>`` with ``add_arguments(parser)`` and ``run(args) -> int``;
those modules import their heavy dependencies inside ``run`` so that, e.g., `check` never loads the
server or the kubernetes client.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from app import __version__

_COMMANDS = {
    "serve": "Serve the admission webhook (AdmissionReview v1 over TLS).",
    "check": "Check NetworkPolicy manifests against the rules (for CI).",
    "rules": "Print the rule catalog: ids, default actions, parameters.",
    "certs": "Create certificates: dev certs for local runs, or in-cluster ones (`certs ensure`).",
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
    for name, help_text in _COMMANDS.items():
        module = importlib.import_module(f"app.cli.{name}")
        sub = commands.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args._module.run(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
