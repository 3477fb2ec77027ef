"""Per-object opt-out by annotation: only when enabled, only with a reason, never for protected rules."""

from __future__ import annotations

from typing import Any

import pytest

from app.engine import evaluate, evaluate_document
from app.netpol import decode_policy
from app.rules.base import Context

EVERY_POD_ALLOW_ALL = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{}]}
ENABLED = {"annotation": {"enabled": True}}
KEY, REASON = "netpol-guard.io/exempt", "netpol-guard.io/exempt-reason"


@pytest.mark.parametrize(
    ("exemptions", "annotations", "rule_ids"),
    [
        pytest.param(
            ENABLED,
            {KEY: "forbid-allow-all", REASON: "public ingress gateway"},
            ("forbid-empty-pod-selector",),
            id="opted-out-of-one-rule",
        ),
        pytest.param(
            ENABLED,
            {KEY: " forbid-allow-all , forbid-empty-pod-selector,", REASON: "gateway"},
            (),
            id="comma-separated-with-spaces",
        ),
        pytest.param(
            {},
            {KEY: "forbid-allow-all", REASON: "gateway"},
            ("forbid-allow-all", "forbid-empty-pod-selector"),
            id="disabled-by-default",
        ),
        pytest.param(
            ENABLED,
            {KEY: "forbid-allow-all"},
            ("forbid-allow-all", "forbid-empty-pod-selector"),
            id="no-reason",
        ),
        pytest.param(
            ENABLED,
            {KEY: "forbid-allow-all", REASON: "  "},
            ("forbid-allow-all", "forbid-empty-pod-selector"),
            id="blank-reason",
        ),
        pytest.param(
            {"annotation": {"enabled": True, "key": "acme.io/skip", "reasonKey": "acme.io/why"}},
            {"acme.io/skip": "forbid-allow-all", "acme.io/why": "gateway"},
            ("forbid-empty-pod-selector",),
            id="custom-keys",
        ),
        pytest.param(
            {"annotation": {"enabled": True, "key": "acme.io/skip", "reasonKey": "acme.io/why"}},
            {KEY: "forbid-allow-all", REASON: "gateway"},
            ("forbid-allow-all", "forbid-empty-pod-selector"),
            id="default-keys-ignored-when-customised",
        ),
        pytest.param(
            ENABLED,
            {KEY: "no-such-rule", REASON: "typo"},
            ("forbid-allow-all", "forbid-empty-pod-selector"),
            id="unknown-ids-opt-out-of-nothing",
        ),
    ],
)
def test_annotation_opt_out(
    ruleset: Any,
    policy: Any,
    exemptions: dict[str, Any],
    annotations: dict[str, str],
    rule_ids: tuple[str, ...],
) -> None:
    document = policy(EVERY_POD_ALLOW_ALL, annotations=annotations)
    assert evaluate_document(document, ruleset(exemptions=exemptions)).rule_ids == rule_ids


def test_opt_out_without_reason_says_why_it_was_ignored(ruleset: Any, policy: Any) -> None:
    document = policy(EVERY_POD_ALLOW_ALL, annotations={KEY: "forbid-allow-all"})
    verdict = evaluate_document(document, ruleset(exemptions=ENABLED))
    assert verdict.denied
    assert all(f"ignored until {REASON} gives a non-empty reason" in v.fix for v in verdict.violations)


def test_baseline_protection_cannot_be_opted_out_of(ruleset: Any, policy: Any) -> None:
    annotations = {KEY: "protect-baseline", REASON: "I want to delete it"}
    deleted = decode_policy(policy(labels={"netpol-guard.io/baseline": "true"}, annotations=annotations))
    context = Context(source="admission", operation="DELETE", old_object=deleted)
    verdict = evaluate(deleted, ruleset(exemptions=ENABLED), context)
    assert verdict.rule_ids == ("protect-baseline",) and verdict.denied


def test_api_validation_cannot_be_opted_out_of(ruleset: Any, policy: Any) -> None:
    annotations = {KEY: "api-validation", REASON: "trust me"}
    document = policy(annotations=annotations)
    document["metadata"]["name"] = "Not_A_Valid_Name"
    verdict = evaluate_document(document, ruleset(exemptions=ENABLED))
    assert "api-validation" in verdict.rule_ids
