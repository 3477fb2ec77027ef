"""Size limits: a hostile 3 MiB review of any shape is denied at once, naming the count and the limit;
real policies are far below every limit; `check` applies the same limits.

Time and memory bounds are measured in `make bench` (benchmarks/worstcase.py), not here; the 10 s guard
only catches a hang.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from app import limits
from app.admission.handler import AdmissionHandler
from app.engine import evaluate_document
from app.manifests import read_manifests
from app.ruleset import load_ruleset
from benchmarks.worstcase import REVIEW_LIMIT, SHAPES, at_limits, fill, review_body

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "real"
LIMIT_OF_SHAPE = {
    "empty rules": limits.RULES,
    "empty peers": limits.PEERS,
    "empty ports": limits.PORTS,
    "rules x peers": limits.PEERS,
    "except entries": limits.EXCEPTS,
    "selector labels": limits.SELECTOR_LABELS,
    "match expressions": limits.EXPRESSIONS,
    "expression values": limits.EXPRESSION_VALUES,
    "policy types": limits.POLICY_TYPES,
    "metadata labels": limits.METADATA_LABELS,
    "annotations": limits.ANNOTATIONS,
    "managedFields": limits.MANAGED_FIELDS,
}


def answer(body: bytes) -> dict[str, object]:
    started = time.monotonic()
    decision = AdmissionHandler(load_ruleset(None)).handle(body, "application/json")
    assert time.monotonic() - started < 10, "a bounded review must not take seconds"
    response: dict[str, object] = orjson.loads(decision.body)["response"]
    return response


def test_every_shape_has_a_limit() -> None:
    assert set(LIMIT_OF_SHAPE) == set(SHAPES)


@pytest.mark.parametrize("shape", list(SHAPES), ids=list(SHAPES))
def test_a_3_mib_review_of_one_repeated_element_is_denied_naming_the_count_and_the_limit(shape: str) -> None:
    body = fill(shape)
    assert REVIEW_LIMIT * 0.95 < len(body) <= REVIEW_LIMIT

    response = answer(body)

    limit = LIMIT_OF_SHAPE[shape]
    assert response["allowed"] is False
    status = response["status"]
    assert isinstance(status, dict)
    assert status["code"] == 403
    match = re.search(
        rf"(\d+) {limit.name} \(.*\) exceed netpol-guard's limit of {limit.maximum}\b", status["message"]
    )
    assert match is not None, status["message"]
    assert int(match.group(1)) > limit.maximum
    assert "[limit-complexity]" in status["message"]


@pytest.mark.parametrize("mode", ["warn", "audit"])
def test_a_policy_over_a_limit_is_denied_in_every_mode(mode: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(f"apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\nmode: {mode}\n")
    body = review_body(SHAPES["empty rules"](limits.RULES.maximum + 1))

    decision = AdmissionHandler(load_ruleset(rules)).handle(body, "application/json")

    assert decision.response.allowed is False
    assert f"{limits.RULES.maximum + 1} rules" in decision.body.decode()


def test_an_update_whose_old_object_is_over_a_limit_is_denied_and_says_it_is_the_old_object() -> None:
    small = SHAPES["empty ports"](1)
    body = orjson.loads(review_body(small, "UPDATE"))
    body["request"]["oldObject"] = SHAPES["empty ports"](limits.PORTS.maximum + 1)

    response = answer(orjson.dumps(body))

    assert response["allowed"] is False
    assert "request.oldObject: " in json.dumps(response)


def test_a_policy_at_every_limit_at_once_is_judged_not_refused() -> None:
    response = answer(review_body(at_limits()))

    assert "netpol-guard's limit" not in json.dumps(response)
    assert response["allowed"] is True  # the default rules only warn about its size


def test_limits_apply_to_manifests_in_check_too() -> None:
    verdict = evaluate_document(SHAPES["empty peers"](limits.PEERS.maximum + 1), load_ruleset(None))

    [violation] = verdict.violations
    assert verdict.denied
    assert violation.rule == "limit-complexity"
    assert f"exceed netpol-guard's limit of {limits.PEERS.maximum}" in violation.problem


def test_check_command_denies_an_oversized_file_with_exit_1(tmp_path: Path) -> None:
    manifest = tmp_path / "huge.json"
    manifest.write_bytes(orjson.dumps(SHAPES["empty rules"](limits.RULES.maximum + 1)))

    result = subprocess.run(
        [sys.executable, "-m", "app", "check", str(manifest)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 1, result.stderr
    assert f"{limits.RULES.maximum + 1} rules (spec.ingress and spec.egress) exceed" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared corpus is not at {CORPUS}")
def test_every_limit_is_at_least_100_times_the_largest_real_policy() -> None:
    largest = {limit.name: 0 for limit in limits.LIMITS}
    policies = 0
    for file in read_manifests([str(CORPUS)]):
        for document in file.policies:
            policies += 1
            for name, count in limits.measure(document.obj).items():
                largest[name] = max(largest[name], count)
    assert policies > 400
    for limit in limits.LIMITS:
        assert limit.maximum >= 100 * max(largest[limit.name], 1), (limit.name, largest[limit.name])
