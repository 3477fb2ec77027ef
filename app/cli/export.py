"""`netpol-guard export vap`: the rules file as ValidatingAdmissionPolicy objects and bindings (YAML).

The YAML goes to stdout; what CEL cannot express goes to stderr, one line per rule, and into the
policies' annotations. Exit codes: 0 written, 2 bad rules file.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    vap = targets.add_parser(
        "vap",
        help="ValidatingAdmissionPolicy + bindings (admissionregistration.k8s.io/v1, Kubernetes 1.30+)",
        description="Write the rules that CEL can express as ValidatingAdmissionPolicy objects and "
        "bindings; list on stderr what it cannot.",
    )
    vap.add_argument("--config", metavar="FILE", help="rules file (default: the embedded default rules)")


def run(args: argparse.Namespace) -> int:
    """Load the rules, export them, write YAML to stdout and the gaps to stderr."""
    import yaml

    from app.errors import RulesFileError
    from app.export.vap import export_vap
    from app.ruleset import load_ruleset

    try:
        ruleset = load_ruleset(args.config)
    except RulesFileError as exc:
        print(f"netpol-guard: bad rules file: {exc}", file=sys.stderr)
        return 2
    exported = export_vap(ruleset)
    source = args.config or "the embedded default rules"
    sys.stdout.write(f"# ValidatingAdmissionPolicy export of {source} by `netpol-guard export vap`.\n")
    sys.stdout.write(yaml.safe_dump_all(exported.documents, sort_keys=False, width=1_000_000))
    for rule_id, gaps in exported.gaps.items():
        for gap in gaps:
            print(f"netpol-guard: export vap: {rule_id}: {gap}", file=sys.stderr)
    return 0
