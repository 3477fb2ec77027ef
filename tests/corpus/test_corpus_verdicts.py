"""The shared real corpus: every file is checked without a crash, and verdicts match the reviewed record."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "real"
EXPECTED = Path(__file__).parent / "expected-verdicts.json"
RERECORD = (
    "re-record with `.venv/bin/python scripts/record_corpus_verdicts.py`, review the diff of "
    "tests/corpus/expected-verdicts.json (each change must be an intended rule change), then commit it"
)

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is absent ({CORPUS})")


def _recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "record_corpus_verdicts", ROOT / "scripts" / "record_corpus_verdicts.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@cache
def current() -> dict[str, Any]:
    verdicts: dict[str, Any] = _recorder().corpus_verdicts(CORPUS)
    return verdicts


@cache
def index() -> dict[str, Any]:
    return {entry["file"]: entry for entry in json.loads((CORPUS / "index.json").read_text())["files"]}


def test_every_indexed_file_is_checked_without_an_internal_error_or_read_error() -> None:
    verdicts = current()
    assert set(index()) <= set(verdicts), "files in index.json were not checked"
    crashed = {
        f: p
        for f, e in verdicts.items()
        for p, rules in e["policies"].items()
        if any(r.startswith("internal-error:") for r in rules)
    }
    assert not crashed, f"rules crashed on: {crashed}"
    unreadable = {
        f: e["error"] for f, e in verdicts.items() if e["error"] and not index().get(f, {}).get("yaml_error")
    }
    assert not unreadable
    assert all(
        e["exitCode"] in (0, 1) for f, e in verdicts.items() if not index().get(f, {}).get("yaml_error")
    )


def test_policy_counts_match_the_index() -> None:
    verdicts = current()
    for file, entry in index().items():
        assert len(verdicts[file]["policies"]) == entry["policies"], file


def test_verdicts_equal_the_recorded_expectations() -> None:
    recorded = json.loads(EXPECTED.read_text())["files"]
    verdicts = current()
    changed = sorted(f for f in set(recorded) | set(verdicts) if recorded.get(f) != verdicts.get(f))
    details = "\n".join(
        f"  {f}:\n    recorded {json.dumps(recorded.get(f))}\n    now      {json.dumps(verdicts.get(f))}"
        for f in changed[:10]
    )
    assert not changed, f"{len(changed)} corpus verdicts changed; {RERECORD}\n{details}"


def test_files_the_api_server_rejects_fail_api_validation() -> None:
    verdicts = current()
    missed = []
    for file, entry in index().items():
        for detail in entry["policies_detail"]:
            if not detail["derived_errors_legacy_cidr"]:
                continue  # the default cidrMode is legacy: only what such an API server rejects
            name = f"{detail['namespace']}/{detail['name']}" if detail["namespace"] else str(detail["name"])
            rules = verdicts[file]["policies"].get(name, [])
            if "api-validation:deny" not in rules:
                missed.append(f"{file} {name}: {detail['derived_errors_legacy_cidr']} -> {rules}")
    assert not missed, "\n".join(missed)
