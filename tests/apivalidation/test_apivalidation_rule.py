"""The api-validation rule through the engine: actions, cidrMode, scope, decode errors, ratchets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from apivalidation_cases import manifest, ruleset_with_only_api_validation

from app.engine import evaluate, evaluate_document
from app.errors import RulesFileError
from app.netpol import decode_policy
from app.rules import REGISTRY
from app.rules.base import Action, Context

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = REPO_ROOT.parent / "shared" / "corpus" / "real"
HOST_BITS = {"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.1/8"}}]}]}


def test_api_validation_is_the_last_rule_of_the_catalog_and_runs_only_in_check() -> None:
    rule = list(REGISTRY.values())[-1]
    assert rule.id == "api-validation"
    assert rule.scope == "check"
    assert rule.settings_model().action is Action.DENY


@pytest.mark.parametrize(
    ("params", "spec", "expected"),
    [
        pytest.param(
            {},
            {"ingress": [{"ports": [{"port": 0}]}]},
            [
                (
                    Action.DENY,
                    "spec.ingress[0].ports[0].port",
                    "Invalid value: 0: must be between 1 and 65535, inclusive",
                )
            ],
            id="an-error-denies",
        ),
        pytest.param(
            {"action": "warn"},
            {"ingress": [{"ports": [{"port": 0}]}]},
            [
                (
                    Action.WARN,
                    "spec.ingress[0].ports[0].port",
                    "Invalid value: 0: must be between 1 and 65535, inclusive",
                )
            ],
            id="action-warn",
        ),
        pytest.param(
            {},
            HOST_BITS,
            [
                (
                    Action.WARN,
                    "spec.ingress[0].from[0].ipBlock.cidr",
                    'Invalid value: "10.0.0.1/8": must not have bits set beyond the prefix length '
                    "(only API servers with the StrictIPCIDRValidation feature gate reject this; others "
                    "accept it and read the value as written in the fix)",
                )
            ],
            id="legacy-mode-strict-only-problem-is-a-warning",
        ),
        pytest.param(
            {"cidrMode": "strict"},
            HOST_BITS,
            [
                (
                    Action.DENY,
                    "spec.ingress[0].from[0].ipBlock.cidr",
                    'Invalid value: "10.0.0.1/8": must not have bits set beyond the prefix length',
                )
            ],
            id="strict-mode-denies-it",
        ),
        pytest.param({}, {"ingress": [{"ports": [{"port": "abc"}]}]}, [], id="valid-policy-has-no-findings"),
    ],
)
def test_findings_carry_the_api_servers_path_and_message(
    params: dict[str, Any], spec: Any, expected: list[tuple[Action, str, str]]
) -> None:
    verdict = evaluate(decode_policy(manifest(spec)), ruleset_with_only_api_validation(params))
    assert [(v.action, v.path, v.problem) for v in verdict.violations] == expected
    assert all(v.fix for v in verdict.violations)


def test_it_does_not_run_at_admission_where_the_api_server_already_validated() -> None:
    policy = decode_policy(manifest({"ingress": [{"ports": [{"port": 0}]}]}))
    verdict = evaluate(
        policy, ruleset_with_only_api_validation(), Context(source="admission", namespace="team-a")
    )
    assert verdict.violations == ()


def test_an_unknown_cidr_mode_is_a_rules_file_error_naming_the_key() -> None:
    with pytest.raises(RulesFileError, match=r"rules\.api-validation\.cidrMode"):
        ruleset_with_only_api_validation({"cidrMode": "sloppy"})


def test_an_update_keeps_accepting_cidrs_the_old_object_already_had() -> None:
    old = decode_policy(manifest({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.1/8"}}]}]}))
    new = decode_policy(
        manifest({"ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.1/8", "except": ["10.1.0.1/16"]}}]}]})
    )
    context = Context(operation="UPDATE", old_object=old)
    verdict = evaluate(new, ruleset_with_only_api_validation({"cidrMode": "strict"}), context)
    assert [v.path for v in verdict.violations] == ["spec.ingress[0].from[0].ipBlock.except[0]"]


def test_a_peer_list_written_as_an_object_is_a_decode_error_under_this_rule() -> None:
    document = manifest({"ingress": [{"from": {}}]})
    verdict = evaluate_document(document, ruleset_with_only_api_validation())
    assert [(v.rule, v.action, v.path) for v in verdict.violations] == [
        ("api-validation", Action.DENY, "spec.ingress[0].from")
    ]


def test_the_corpus_file_with_from_as_an_object_is_denied() -> None:
    path = CORPUS / "ahmetb-recipes-history" / "08-allow-external-traffic@c999d61f88.yaml"
    if not path.exists():
        pytest.skip(f"the shared corpus is not available ({path} is absent)")
    (document,) = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]
    verdict = evaluate_document(document, ruleset_with_only_api_validation())
    assert verdict.denied
    assert [v.path for v in verdict.denials] == ["spec.ingress[0].from"]
