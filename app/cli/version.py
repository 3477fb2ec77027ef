"""`netpol-guard version`."""

from __future__ import annotations

import argparse

from app import __version__


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(args: argparse.Namespace) -> int:
    print(f"netpol-guard {__version__}")
    return 0
