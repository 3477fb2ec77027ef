"""`netpol-guard serve`: the admission webhook."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags mirror NETPOL_GUARD_* environment variables (see app.settings)."""


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("being built")
