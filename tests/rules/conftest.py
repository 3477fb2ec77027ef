"""Run one rule through the real engine, every other rule off, so tests see what a user would see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from app.engine import Violation, evaluate
from app.netpol import decode_policy
from app.rules import REGISTRY
from app.rules.base import Context
from app.ruleset import RuleSet, parse_ruleset

Judge = Callable[..., tuple[Violation, ...]]


def ruleset_with_only(rule_id: str, params: dict[str, Any] | None = None) -> RuleSet:
    """A rule set where only ``rule_id`` runs (with ``params``) and no namespace is exempt."""
    rules: dict[str, Any] = {other: {"action": "off"} for other in REGISTRY if other != rule_id}
    rules[rule_id] = params or {}
    document = {
        "apiVersion": "netpol-guard.io/v1alpha1",
        "kind": "RuleSet",
        "exemptions": {"namespaces": []},
        "rules": rules,
    }
    return parse_ruleset(document, "<test rules>")


def manifest(spec: Any = None, **metadata: Any) -> dict[str, Any]:
    """A NetworkPolicy manifest with ``spec`` and metadata (name/namespace defaulted)."""
    meta = {"name": "np", "namespace": "team-a", **metadata}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec}


@pytest.fixture
def judge() -> Judge:
    """``judge(rule_id, spec_or_manifest, params=None, context=None)`` -> the violations that rule reports.

    A dict with a ``spec`` key is taken as a whole manifest, anything else as the spec.
    """

    def run(
        rule_id: str,
        spec_or_manifest: Any,
        params: dict[str, Any] | None = None,
        context: Context | None = None,
    ) -> tuple[Violation, ...]:
        document = (
            spec_or_manifest
            if isinstance(spec_or_manifest, dict) and "spec" in spec_or_manifest
            else manifest(spec_or_manifest)
        )
        verdict = evaluate(decode_policy(document), ruleset_with_only(rule_id, params), context)
        assert {violation.rule for violation in verdict.violations} <= {rule_id}
        for violation in verdict.violations:
            assert violation.problem and violation.fix, violation
        return verdict.violations

    return run


@pytest.fixture
def netpol() -> Callable[..., dict[str, Any]]:
    """``netpol(spec, **metadata)`` -> a NetworkPolicy manifest."""
    return manifest


@pytest.fixture
def only_rule() -> Callable[..., RuleSet]:
    """``only_rule(rule_id, params)`` -> the validated rule set (raises RulesFileError on bad params)."""
    return ruleset_with_only


def assert_reported(violations: tuple[Violation, ...], expected: list[tuple[str, str]]) -> None:
    """The violations are at exactly the ``expected`` paths, in order, each problem naming its words."""
    assert [v.path for v in violations] == [path for path, _ in expected]
    for violation, (_, words) in zip(violations, expected, strict=True):
        assert words in violation.problem, violation.problem


@pytest.fixture
def reported() -> Callable[[tuple[Violation, ...], list[tuple[str, str]]], None]:
    """``reported(violations, [(path, words in the problem), ...])`` asserts exactly those findings."""
    return assert_reported
