"""Record the default rules' verdicts on the shared real corpus into tests/corpus/expected-verdicts.json.

Run after a rule changes on purpose, then review the diff of the JSON file before committing it:

    .venv/bin/python scripts/record_corpus_verdicts.py [CORPUS_DIR]

CORPUS_DIR defaults to ../shared/corpus/real (relative to the repository root). tests/corpus compares
the current verdicts with the recorded ones, so an unintended change in any rule shows up there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from app.manifests import read_manifests
from app.report.results import CheckReport, check_manifest
from app.ruleset import load_ruleset

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "real"
EXPECTED = ROOT / "tests" / "corpus" / "expected-verdicts.json"
ABOUT = (
    "Verdicts of the embedded default rules on ../shared/corpus/real, per file: the exit code of "
    "`netpol-guard check FILE` and, per policy, the sorted 'rule-id:action' pairs that fired. "
    "Re-record with `.venv/bin/python scripts/record_corpus_verdicts.py` and review the diff."
)


def corpus_verdicts(corpus: Path) -> dict[str, Any]:
    """{relative file: {"exitCode": int, "error": str|None, "policies": {name: ["rule:action", ...]}}}."""
    ruleset = load_ruleset(None)
    files: dict[str, Any] = {}
    for path in sorted(corpus.rglob("*.yaml")):
        (manifest,) = read_manifests([str(path)])
        result = check_manifest(manifest, ruleset)
        policies: dict[str, list[str]] = {}
        for policy in result.policies:
            # Keyed by the name the manifest itself gives: the namespace `check` assumes is not part of it.
            own = policy.name
            if policy.assumed_namespace is not None:
                own = own.removeprefix(f"{policy.assumed_namespace}/")
            name, copy = own, 2
            while name in policies:  # the same name twice in one file (history copies)
                name, copy = f"{own} #{copy}", copy + 1
            if policy.internal_error is not None:
                policies[name] = [f"internal-error:{policy.internal_error}"]
            else:
                policies[name] = sorted(
                    {f"{f.violation.rule}:{f.violation.action.value}" for f in policy.findings}
                )
        files[path.relative_to(corpus).as_posix()] = {
            "exitCode": CheckReport((result,), ruleset.mode).exit_code,
            "error": manifest.error.problem if manifest.error is not None else None,
            "policies": policies,
        }
    return files


def main(argv: list[str]) -> int:
    corpus = Path(argv[1]) if len(argv) > 1 else DEFAULT_CORPUS
    if not corpus.is_dir():
        print(f"{corpus}: corpus directory not found", file=sys.stderr)
        return 2
    files = corpus_verdicts(corpus)
    document = {"about": ABOUT, "files": files}
    EXPECTED.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    policies = [rules for entry in files.values() for rules in entry["policies"].values()]
    denied = sum(1 for rules in policies if any(r.endswith(":deny") for r in rules))
    warned = sum(1 for rules in policies if not any(r.endswith(":deny") for r in rules) and rules)
    print(f"{EXPECTED}: {len(files)} files, {len(policies)} policies, {denied} denied, {warned} only warned")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
