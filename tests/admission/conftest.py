"""Fixtures for the admission handler: example reviews from deploy/examples and a small rules file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.admission.handler import AdmissionHandler
from app.ruleset import RuleSet, parse_ruleset_text

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples"

# Deterministic rules for these tests: require-labels denies, require-annotations warns. The example
# "good" policy has the team label but not tier, and no owner annotation.
RULES = """
apiVersion: netpol-guard.io/v1alpha1
kind: RuleSet
mode: {mode}
grandfatherExisting: true
exemptions:
  namespaces: [kube-system, "sandbox-*"]
  users: ["system:serviceaccount:ops:deployer"]
  groups: [platform-admins]
rules:
  require-labels:
    action: deny
    labels: [{{key: team}}, {{key: tier}}]
  require-annotations:
    action: warn
    annotations: [{{key: netpol-guard.io/owner}}]
# These tests are about the rules; what explain adds to the warnings is tested in tests/explain.
explain: {{admission: "off"}}
"""


def example(name: str) -> dict[str, Any]:
    """A fresh copy of deploy/examples/admissionreview-<name>.json."""
    data: dict[str, Any] = json.loads((EXAMPLES / f"admissionreview-{name}.json").read_text())
    return data


@pytest.fixture
def make_example() -> Callable[[str], dict[str, Any]]:
    """Load a fresh copy of an example review by name (good, bad, update, delete)."""
    return example


@pytest.fixture
def make_ruleset() -> Callable[[str], RuleSet]:
    """RULES in a given mode."""
    return ruleset


@pytest.fixture
def review() -> dict[str, Any]:
    """A CREATE review of a policy that passes the default rules (lacks the tier label and owner)."""
    return example("good")


@pytest.fixture
def compliant(review: dict[str, Any]) -> dict[str, Any]:
    """The same review, with everything RULES asks for."""
    meta = review["request"]["object"]["metadata"]
    meta["labels"]["tier"] = "backend"
    meta["annotations"]["netpol-guard.io/owner"] = "payments"
    return review


def ruleset(mode: str = "enforce") -> RuleSet:
    """RULES in the given mode."""
    return parse_ruleset_text(RULES.format(mode=mode), "<test rules>")


@pytest.fixture
def answer() -> Callable[..., dict[str, Any]]:
    """Post a review (dict or raw bytes) to a handler with RULES and return the parsed answer."""

    def post(
        body: dict[str, Any] | bytes, mode: str = "enforce", content_type: str = "application/json"
    ) -> Any:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return json.loads(AdmissionHandler(ruleset(mode)).handle(raw, content_type).body)

    return post
