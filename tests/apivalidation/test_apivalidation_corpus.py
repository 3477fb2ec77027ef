"""The shared real-manifest corpus: api-validation agrees with the index's derived API server verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from apivalidation_cases import ruleset_with_only_api_validation

from app.apivalidation import validate_policy
from app.engine import evaluate_document
from app.netpol import PolicyShapeError, decode_policy

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "real"
INDEX = CORPUS / "index.json"

if not INDEX.exists():
    pytest.skip(f"the shared corpus is not available ({INDEX} is absent)", allow_module_level=True)

ENTRIES: dict[str, dict[str, Any]] = {
    entry["file"]: entry for entry in json.loads(INDEX.read_text())["files"]
}
FILES = sorted(
    str(path.relative_to(CORPUS)) for path in CORPUS.rglob("*") if path.suffix in {".yaml", ".yml", ".json"}
)
FILES.remove("index.json")
STRICT_DECODING = "strict decoding error"


def network_policies(relative: str) -> list[dict[str, Any]]:
    """Every NetworkPolicy document of a corpus file, `kind: List` unwrapped, in file order."""
    policies = []
    for document in yaml.safe_load_all((CORPUS / relative).read_text(encoding="utf-8")):
        items = (
            document.get("items") or []
            if isinstance(document, dict) and document.get("kind") == "List"
            else [document]
        )
        policies.extend(
            item for item in items if isinstance(item, dict) and item.get("kind") == "NetworkPolicy"
        )
    return policies


def test_every_corpus_file_is_in_the_index() -> None:
    assert set(FILES) == set(ENTRIES)


@pytest.mark.parametrize("relative", FILES)
def test_files_the_api_server_rejects_are_denied_and_no_other(relative: str) -> None:
    entry = ENTRIES[relative]
    if entry.get("yaml_error"):
        pytest.skip(f"{relative} is not valid YAML: {entry['yaml_error']}")
    ruleset = ruleset_with_only_api_validation()
    policies = network_policies(relative)
    assert len(policies) == entry["policies"]
    # The index derives its verdicts from validation alone; strict decoding (kubectl's default) also
    # refuses the `status: {}` that `kubectl get -o yaml` output of old clusters carries (NetworkPolicy
    # has had no status since 1.27): compared apart, so that neither hides the other.
    verdicts = [evaluate_document(policy, ruleset) for policy in policies]
    validation = [
        any(v.problem.startswith(STRICT_DECODING) is False for v in verdict.denials) for verdict in verdicts
    ]
    assert any(validation) is (entry["derived_verdict"] == "reject")
    unknown = sorted(
        {v.path for verdict in verdicts for v in verdict.denials if v.problem.startswith(STRICT_DECODING)}
    )
    assert unknown == (["status"] if any("status" in policy for policy in policies) else [])


def derived_errors(policy: dict[str, Any]) -> tuple[list[list[str]], list[list[str]]]:
    """(type, path) of every error in legacy and in strict CIDR mode; decode errors typed "Decode"."""
    try:
        errors = validate_policy(decode_policy(policy))
    except PolicyShapeError as exc:
        decode = [["Decode", path] for path, _ in exc.problems]
        return decode, decode
    everything = [[error.type.value, error.path] for error in errors]
    legacy = [[error.type.value, error.path] for error in errors if not error.strict_only]
    return legacy, everything


def test_error_types_and_paths_match_the_index_for_every_policy() -> None:
    mismatches = []
    total = 0
    for relative in FILES:
        details = ENTRIES[relative]["policies_detail"]
        for policy, detail in zip(network_policies(relative), details, strict=True):
            total += 1
            expected = (
                [error[:2] for error in detail["derived_errors_legacy_cidr"]],
                [error[:2] for error in detail["derived_errors_strict_cidr"]],
            )
            got = derived_errors(policy)
            if got != expected:
                mismatches.append(f"{relative} {detail['name']}: got {got}, index says {expected}")
    assert total == 434
    assert mismatches == []
