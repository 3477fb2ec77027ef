"""`netpol-guard export vap` offline: what it writes for a rules file, and what it says it leaves out.

The CEL itself is judged by the real API server in tests/vap (accepted, and equivalent to the webhook).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.__main__ import main
from app.export import cel
from app.export.bounds import SIZE_POLICY
from app.export.translations import TRANSLATORS
from app.export.vap import GAPS_ANNOTATION, RULE_LABEL, SKIPPED_ANNOTATION, export_vap
from app.rules import REGISTRY
from app.ruleset import load_ruleset, parse_ruleset_text

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING = ROOT / "tests" / "vap" / "rules-everything.yaml"


def _ruleset(body: str) -> Any:
    header = "apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\n"
    return parse_ruleset_text(header + textwrap.dedent(body), "test")


def _by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def _policies(ruleset: Any) -> dict[str, dict[str, Any]]:
    return _by_kind(export_vap(ruleset).documents, "ValidatingAdmissionPolicy")


def _bindings(ruleset: Any) -> dict[str, dict[str, Any]]:
    return _by_kind(export_vap(ruleset).documents, "ValidatingAdmissionPolicyBinding")


def _conditions(policy: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["expression"] for c in policy["spec"].get("matchConditions", [])}


def test_every_rule_of_the_registry_has_a_translation() -> None:
    assert set(TRANSLATORS) == set(REGISTRY)


def test_cli_writes_a_policy_and_a_binding_per_active_rule_and_lists_gaps_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["export", "vap"]) == 0
    out, err = capsys.readouterr()
    documents = [doc for doc in yaml.safe_load_all(out) if doc]
    policies = _by_kind(documents, "ValidatingAdmissionPolicy")
    bindings = _by_kind(documents, "ValidatingAdmissionPolicyBinding")
    assert set(policies) == set(bindings)
    assert all(doc["apiVersion"] == "admissionregistration.k8s.io/v1" for doc in documents)
    for name, binding in bindings.items():
        assert binding["spec"]["policyName"] == name
    # Default rules: require-dns-egress is off, require-labels/annotations have nothing to require.
    exported = {policy["metadata"]["labels"][RULE_LABEL] for policy in policies.values()}
    assert exported == {
        SIZE_POLICY,
        "require-policy-types",
        "forbid-allow-all",
        "forbid-broad-cidr",
        "forbid-empty-pod-selector",
        "require-ports",
        "limit-port-range",
        "limit-complexity",
        "protect-baseline",
    }
    assert "require-policy-types: policyTypes left out of the author's manifest" in err
    assert "api-validation: not exported" in err
    assert "require-labels" not in err
    gaps = policies["netpol-guard-require-policy-types"]["metadata"]["annotations"][GAPS_ANNOTATION]
    assert "last-applied-configuration" in gaps
    assert policies["netpol-guard-forbid-allow-all"]["metadata"]["annotations"][SKIPPED_ANNOTATION] == (
        "api-validation"
    )


def test_actions_follow_the_rules_and_the_mode() -> None:
    ruleset = load_ruleset(None)
    bindings = _bindings(ruleset)
    assert bindings["netpol-guard-forbid-allow-all"]["spec"]["validationActions"] == ["Deny"]
    assert bindings["netpol-guard-require-ports"]["spec"]["validationActions"] == ["Warn"]
    assert bindings["netpol-guard-forbid-allow-all-grandfathered"]["spec"]["validationActions"] == ["Warn"]
    policies = _policies(ruleset)
    assert policies["netpol-guard-forbid-allow-all"]["spec"]["failurePolicy"] == "Fail"
    assert policies["netpol-guard-require-ports"]["spec"]["failurePolicy"] == "Ignore"

    warn = _bindings(_ruleset("mode: warn\n"))
    assert warn["netpol-guard-forbid-allow-all"]["spec"]["validationActions"] == ["Warn"]
    audit = _bindings(_ruleset("mode: audit\nrules:\n  limit-complexity: {action: audit}\n"))
    assert {b["spec"]["validationActions"][0] for b in audit.values()} == {"Audit"}


def test_grandfathering_is_exported_only_for_deny_rules_when_enabled() -> None:
    policies = _policies(load_ruleset(None))
    [validation, *_] = policies["netpol-guard-forbid-allow-all"]["spec"]["validations"]
    assert 'request.operation == "UPDATE"' in validation["expression"]
    assert "netpol-guard-require-ports-grandfathered" not in policies
    assert "netpol-guard-protect-baseline-grandfathered" not in policies

    off = _policies(_ruleset("grandfatherExisting: false\n"))
    assert not any(name.endswith("-grandfathered") for name in off)
    [validation, *_] = off["netpol-guard-forbid-allow-all"]["spec"]["validations"]
    assert "UPDATE" not in validation["expression"]


def test_exemptions_become_match_resources_and_match_conditions() -> None:
    ruleset = load_ruleset(EVERYTHING)
    bindings = _bindings(ruleset)
    selector = bindings["netpol-guard-forbid-allow-all"]["spec"]["matchResources"]["namespaceSelector"]
    assert selector["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system"]}
    ]
    policies = _policies(ruleset)
    conditions = _conditions(policies["netpol-guard-forbid-allow-all"])
    assert set(conditions) == {
        "exempt-namespace-patterns",
        "exempt-users",
        "exempt-groups",
        "annotation-opt-out",
        "within-bounds",
    }
    assert '"ci-bot"' in conditions["exempt-users"]
    assert '"platform-admins"' in conditions["exempt-groups"]
    assert '"example.com/exempt"' in conditions["annotation-opt-out"]
    assert '"forbid-allow-all"' in conditions["annotation-opt-out"]
    # The opt-out cannot switch off what protects baselines, nor the size bound.
    assert "annotation-opt-out" not in _conditions(policies["netpol-guard-protect-baseline"])
    assert "annotation-opt-out" not in _conditions(policies[SIZE_POLICY])
    annotations = _conditions(policies["netpol-guard-require-annotations"])
    assert (
        annotations["rule-namespaces"]
        == 'request.namespace.matches("^(?s)(?:(?:prod\\\\-.*)|(?:payments))$")'
    )
    assert "rule-exclude-namespaces" in _conditions(policies["netpol-guard-forbid-empty-pod-selector"])
    baseline = _conditions(policies["netpol-guard-protect-baseline"])["rule-exemptions"]
    assert '"alice"' in baseline
    assert '"system:serviceaccount:kube-system:namespace-controller"' in baseline
    assert '"network-admins"' in baseline


def test_protect_baseline_judges_update_and_delete() -> None:
    policy = _policies(load_ruleset(None))["netpol-guard-protect-baseline"]
    [rule] = policy["spec"]["matchConstraints"]["resourceRules"]
    assert rule["operations"] == ["UPDATE", "DELETE"]
    assert "within-bounds" not in _conditions(policy)


def test_rules_that_are_off_or_have_nothing_to_check_get_no_policy() -> None:
    policies = _policies(_ruleset("rules:\n  forbid-allow-all: {action: 'off'}\n"))
    assert "netpol-guard-forbid-allow-all" not in policies
    assert "netpol-guard-require-labels" not in policies
    assert "netpol-guard-require-labels" in _policies(load_ruleset(EVERYTHING))


def test_messages_carry_rule_id_path_and_fix() -> None:
    policies = _policies(load_ruleset(EVERYTHING))
    for name, policy in policies.items():
        rule = policy["metadata"]["labels"][RULE_LABEL]
        for validation in policy["spec"]["validations"]:
            prefix = "[netpol-guard]" if rule == SIZE_POLICY else f"[{rule}]"
            assert validation["message"].startswith(prefix), name
            assert ". Fix: " in validation["message"], name
            assert "\n" not in validation["message"]
            assert validation["messageExpression"].startswith('"' + prefix), name


def test_cel_string_literals_escape_quotes_backslashes_and_control_characters() -> None:
    assert cel.string('a"b\\c\nd\x01') == '"a\\"b\\\\c\\nd\\x01"'
    assert cel.string_list(["x", 'db "quoted"']) == '["x", "db \\"quoted\\""]'


def test_globs_become_anchored_re2() -> None:
    assert cel.globs_regex(["team-*", "a?"]) == "^(?s)(?:(?:team\\-.*)|(?:a.))$"


def test_a_bad_rules_file_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "rules.yaml"
    bad.write_text("apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\nrules:\n  nope: {}\n")
    assert main(["export", "vap", "--config", str(bad)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{bad}: rules.nope: unknown rule id" in err


def test_export_imports_no_kubernetes_client() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from app.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    main(['export', 'vap'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'fastapi', 'uvicorn')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert done.stdout.strip() == "[]"
