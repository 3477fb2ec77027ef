"""The shared corpora: real AdmissionReview captures of other kinds, and real NetworkPolicy manifests.

Each real policy is sent the way `kubectl apply` would send it (the API server's defaulting applied, the
authored manifest in the last-applied annotation) and the answer must match what `check` (the engine on the
raw manifest) decides, apart from the check-only `api-validation` rule.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from app.admission.handler import AdmissionHandler
from app.engine import API_VALIDATION, evaluate_document
from app.manifests import read_manifests
from app.netpol import PolicyShapeError, decode_policy
from app.rules.base import Action, Context
from app.ruleset import load_ruleset

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"
REVIEWS = SHARED / "admissionreview"
REAL = SHARED / "real"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"the shared corpus is not at {SHARED}")


def _review_files() -> list[Path]:
    return sorted(REVIEWS.rglob("*.json")) if REVIEWS.is_dir() else []


@needs_shared
@pytest.mark.parametrize("path", _review_files(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_captured_reviews_of_other_kinds_are_allowed_with_a_misconfiguration_warning(path: Path) -> None:
    body = path.read_bytes()
    request = json.loads(body)["request"]

    reply = json.loads(AdmissionHandler(load_ruleset(None)).handle(body, "application/json").body)

    assert reply["apiVersion"] == "admission.k8s.io/v1"
    assert reply["kind"] == "AdmissionReview"
    response = reply["response"]
    assert response["uid"] == request["uid"]
    assert response["allowed"] is True
    [warning] = response["warnings"]
    assert request["kind"]["kind"] in warning
    assert len(warning) <= 120
    assert response["auditAnnotations"]["decision"] == "misconfigured"


def test_the_capture_corpus_is_not_empty_when_present() -> None:
    if not REVIEWS.is_dir():
        pytest.skip(f"the shared corpus is not at {REVIEWS}")
    assert len(_review_files()) >= 8


def _policies() -> list[tuple[str, dict[str, Any]]]:
    if not REAL.is_dir():
        return []
    index = json.loads((REAL / "index.json").read_text())
    files = [str(REAL / entry["file"]) for entry in index["files"] if not entry["yaml_error"]]
    return [
        (f"{Path(manifest.path).relative_to(REAL)}#{number}", document.obj)
        for manifest in read_manifests(files)
        for number, document in enumerate(manifest.policies)
    ]


def _api_defaults(manifest: dict[str, Any]) -> dict[str, Any]:
    """The object as the API server stores it: namespace, podSelector, policyTypes, protocol filled in."""
    obj = copy.deepcopy(manifest)
    meta = obj.setdefault("metadata", {}) or {}
    obj["metadata"] = meta
    meta.setdefault("namespace", "default")
    spec = obj.get("spec") or {}
    obj["spec"] = spec
    if spec.get("podSelector") is None:
        spec["podSelector"] = {}
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for port in (rule or {}).get("ports") or []:
                if isinstance(port, dict) and port.get("protocol") is None:
                    port["protocol"] = "TCP"
    annotations = meta.get("annotations") or {}
    meta["annotations"] = {**annotations, LAST_APPLIED: json.dumps(manifest) + "\n"}
    return obj


def _create_review(obj: Any, number: int) -> bytes:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return json.dumps(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": f"corpus-{number}",
                "kind": {"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"},
                "operation": "CREATE",
                "namespace": namespace if isinstance(namespace, str) else "default",
                "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
                "object": obj,
                "dryRun": False,
            },
        }
    ).encode()


POLICIES = _policies()


@needs_shared
def test_the_real_corpus_has_hundreds_of_policies() -> None:
    assert len(POLICIES) >= 400


@needs_shared
def test_every_real_policy_gets_the_same_verdict_at_admission_as_in_check() -> None:
    ruleset = load_ruleset(None)
    handler = AdmissionHandler(ruleset)
    mismatches = []
    for number, (name, manifest) in enumerate(POLICIES):
        try:
            decode_policy(manifest)
            decodable = True
        except PolicyShapeError:
            decodable = False
        obj = _api_defaults(manifest) if decodable else manifest
        reply = json.loads(handler.handle(_create_review(obj, number), "application/json").body)
        response = reply["response"]
        assert reply["kind"] == "AdmissionReview" and response["uid"] == f"corpus-{number}", name
        assert isinstance(response["allowed"], bool), name
        if not decodable:
            assert (response["allowed"], response["status"]["code"]) == (False, 400), name
            continue

        namespace = obj["metadata"]["namespace"]
        verdict = evaluate_document(manifest, ruleset, Context(source="manifest", namespace=namespace))
        judged = [v for v in verdict.violations if v.rule != API_VALIDATION]
        expected_denials = sorted({v.rule for v in judged if v.action is Action.DENY})
        expected_warned = {v.rule for v in judged if v.action is Action.WARN}

        got_denials = sorted(
            {
                line[1 : line.index("]")]
                for line in response.get("status", {}).get("message", "").splitlines()[1:]
            }
        )
        got_warned = {w[1 : w.index("]")] for w in response.get("warnings", []) if w.startswith("[")}
        if (response["allowed"], got_denials, got_warned) != (
            not expected_denials,
            expected_denials,
            expected_warned,
        ):
            mismatches.append(
                (name, got_denials, expected_denials, sorted(got_warned), sorted(expected_warned))
            )
    assert mismatches == []
