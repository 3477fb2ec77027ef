"""`netpol-guard selftest`: server-side dry-run of a bad and a good NetworkPolicy (for `helm test`)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options are added by the selftest implementation."""


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError("being built")
