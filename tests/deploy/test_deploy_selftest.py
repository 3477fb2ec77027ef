"""`netpol-guard selftest` (the helm test): expectations from the served rules, judging the API's answers."""

from __future__ import annotations

import argparse

import pytest

from app.cli import selftest
from app.cli.selftest import (
    EXPECTED_RULE,
    Expect,
    Outcome,
    bad_policy,
    expectation_for_bad_policy,
    good_policy,
    judge_bad,
    judge_good,
    run,
)
from app.engine import evaluate_document
from app.kubeapi import ClusterUnreachable
from app.rules import REGISTRY
from app.rules.base import Context
from app.ruleset import load_ruleset, parse_ruleset_text

pytestmark = pytest.mark.skipif(
    EXPECTED_RULE not in REGISTRY, reason=f"{EXPECTED_RULE} is not registered yet"
)
WEBHOOK = "validate.netpol-guard.io"
DENIAL = Outcome(
    403,
    f'admission webhook "{WEBHOOK}" denied the request: NetworkPolicy default/netpol-guard-selftest-bad '
    f"violates 1 organisational rule:\n[{EXPECTED_RULE}] spec.ingress[0]: allows every peer on every port.",
)


def rules(text: str) -> object:
    return parse_ruleset_text(f"apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\n{text}", "test")


@pytest.mark.parametrize(
    ("rules_text", "namespace", "expected"),
    [
        ("", "default", Expect.DENIED),
        ("mode: warn\n", "default", Expect.WARNED),
        ("mode: audit\n", "default", Expect.ADMITTED),
        (f"rules:\n  {EXPECTED_RULE}:\n    action: warn\n", "default", Expect.WARNED),
        (f"rules:\n  {EXPECTED_RULE}:\n    action: off\n", "default", Expect.ADMITTED),
        (f"rules:\n  {EXPECTED_RULE}:\n    excludeNamespaces: [def*]\n", "default", Expect.ADMITTED),
        ("exemptions:\n  namespaces: [default]\n", "default", Expect.ADMITTED),
    ],
    ids=[
        "enforce",
        "warn-mode",
        "audit-mode",
        "rule-warns",
        "rule-off",
        "namespace-excluded",
        "namespace-exempt",
    ],
)
def test_the_expectation_follows_the_rules_the_webhook_serves(
    rules_text: str, namespace: str, expected: Expect
) -> None:
    assert expectation_for_bad_policy(rules(rules_text), namespace) is expected


def test_the_test_policies_are_judged_as_intended_by_the_engine_itself() -> None:
    ruleset = load_ruleset()
    context = Context(source="admission", namespace="default")
    bad = evaluate_document(bad_policy("default", {}, {}), ruleset, context)
    good = evaluate_document(good_policy("default", {}, {}), ruleset, context)
    assert EXPECTED_RULE in {violation.rule for violation in bad.denials}
    assert not good.denied and not good.warnings, [v.render() for v in good.violations]


@pytest.mark.parametrize(
    ("expect", "outcome", "problem"),
    [
        (Expect.DENIED, DENIAL, None),
        (Expect.DENIED, Outcome(201), "was admitted"),
        (
            Expect.DENIED,
            Outcome(403, 'admission webhook "other" denied: [forbid-allow-all]'),
            "expected a 403",
        ),
        (
            Expect.DENIED,
            Outcome(500, "failed calling webhook: x509: certificate signed by unknown authority"),
            "HTTP 500",
        ),
        (Expect.WARNED, Outcome(201, warnings=f'299 - "[{EXPECTED_RULE}] spec.ingress[0]: ..."'), None),
        (Expect.WARNED, Outcome(201), "expected a warning naming"),
        (Expect.ADMITTED, Outcome(201), None),
        (Expect.ADMITTED, DENIAL, "expected the allow-all policy to be admitted"),
    ],
    ids=[
        "denied-as-expected",
        "admitted-instead-of-denied",
        "denied-by-another-webhook",
        "webhook-unreachable",
        "warned-as-expected",
        "warning-missing",
        "admitted-as-expected",
        "denied-instead-of-admitted",
    ],
)
def test_the_answer_to_the_bad_policy_is_judged(
    expect: Expect, outcome: Outcome, problem: str | None
) -> None:
    result = judge_bad(expect, outcome, WEBHOOK)
    if problem is None:
        assert result is None
    else:
        assert result is not None and problem in result


def test_a_refused_good_policy_fails_with_the_api_servers_message() -> None:
    assert judge_good(Outcome(201)) is None
    assert "x509" in (judge_good(Outcome(500, "x509: unknown authority")) or "")


class FakePolicyApi:
    def __init__(self, bad: Outcome, good: Outcome) -> None:
        self.answers = {"netpol-guard-selftest-bad": bad, "netpol-guard-selftest-good": good}
        self.seen: list[dict[str, object]] = []

    def dry_run_create(self, namespace: str, policy: dict[str, object]) -> Outcome:
        self.seen.append(policy)
        return self.answers[policy["metadata"]["name"]]  # type: ignore[index]


def _args(**extra: object) -> argparse.Namespace:
    values = {"namespace": "default", "config": None, "webhook": WEBHOOK, "label": [], "annotation": []}
    return argparse.Namespace(**{**values, **extra})


def test_selftest_passes_when_the_webhook_denies_bad_and_admits_good(
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = FakePolicyApi(DENIAL, Outcome(201))
    assert run(_args(label=["team=platform"]), api=api) == 0
    out = capsys.readouterr().out
    assert "ok    allow-all NetworkPolicy in default is denied" in out
    assert all(policy["metadata"]["labels"] == {"team": "platform"} for policy in api.seen)  # type: ignore[index]


def test_selftest_fails_when_the_webhook_is_not_there(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_args(), api=FakePolicyApi(Outcome(201), Outcome(201))) == 1
    assert (
        "FAIL  allow-all NetworkPolicy in default is denied: the allow-all policy was admitted"
        in capsys.readouterr().out
    )


def test_selftest_rejects_a_malformed_label_flag(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_args(label=["no-equals-sign"]), api=FakePolicyApi(DENIAL, Outcome(201))) == 2
    assert "--label 'no-equals-sign': expected KEY=VALUE" in capsys.readouterr().err


def test_a_malformed_flag_exits_2_before_any_cluster_is_contacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def connect() -> None:
        raise AssertionError("a bad flag must be reported before connecting")

    monkeypatch.setattr(selftest, "KubernetesPolicyApi", connect)
    assert run(_args(annotation=["=value"])) == 2
    assert "--annotation '=value': expected KEY=VALUE" in capsys.readouterr().err


class UnreachableApi:
    def dry_run_create(self, namespace: str, policy: dict[str, object]) -> Outcome:
        raise ClusterUnreachable("cannot reach the Kubernetes API: connection refused")


def test_an_unreachable_cluster_exits_1_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(_args(), api=UnreachableApi()) == 1
    assert capsys.readouterr().err == (
        "netpol-guard selftest: cannot reach the Kubernetes API: connection refused\n"
    )
