"""`netpol-guard certs dev|ensure`: local dev certificates, or in-cluster certificate management."""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="certs_command", metavar="ACTION", required=True)
    dev = sub.add_parser("dev", help="write ca.crt, tls.crt, tls.key for a local server")
    dev.add_argument("--out", required=True, metavar="DIR")
    dev.add_argument("--host", action="append", default=[], metavar="NAME", help="extra SAN (repeatable)")
    ensure = sub.add_parser("ensure", help="create or renew the webhook's Secret and caBundle (in-cluster)")
    ensure.add_argument("--namespace", required=True)
    ensure.add_argument("--secret", required=True)
    ensure.add_argument("--webhook", required=True, metavar="VWC_NAME")
    ensure.add_argument("--service", required=True, metavar="SVC")
    ensure.add_argument("--validity", default="365d")
    ensure.add_argument("--renew-before", default="30d")


def run(args: argparse.Namespace) -> int:
    if args.certs_command == "ensure":
        # Imported here: only `ensure` needs the kubernetes client.
        ensure = importlib.import_module("app.certs.ensure")
        code: int = ensure.run(args)
        return code
    return _dev(args.out, args.host)


def _dev_flag_problem(out: str, hosts: list[str]) -> str | None:
    from app.certs.authority import name_problem

    if not out:
        return "--out is empty: name the directory to write ca.crt, tls.crt and tls.key into"
    if Path(out).exists() and not Path(out).is_dir():
        return f"--out {out} is a file: name a directory"
    for host in hosts:
        problem = name_problem(host)
        if problem is not None:
            return f"--host {host!r}: {problem}"
    return None


def _dev(out_flag: str, hosts: list[str]) -> int:
    from app.certs.dev import write_dev_certificates

    problem = _dev_flag_problem(out_flag, hosts)
    if problem is not None:
        print(f"netpol-guard certs dev: {problem}", file=sys.stderr)
        return 2
    out = Path(out_flag)
    try:
        result = write_dev_certificates(out, hosts)
    except (OSError, ValueError) as exc:
        print(f"netpol-guard certs dev: cannot write certificates to {out}: {exc}", file=sys.stderr)
        return 2
    verb = "wrote" if result.created else "kept the still-valid"
    print(
        f"{verb} {result.ca_file}, {result.cert_file}, {result.key_file} (names: {', '.join(result.names)})"
    )
    return 0
