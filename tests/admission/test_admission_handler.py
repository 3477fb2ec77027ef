"""The admission handler, in process: operation dispatch, answers, errors, modes, exemptions."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from app.admission.handler import AdmissionHandler
from app.engine import Violation
from app.rules import REGISTRY
from app.rules.base import Action
from app.ruleset import RuleSet, load_ruleset, parse_ruleset_text

Answer = Callable[..., dict[str, Any]]
Example = Callable[[str], dict[str, Any]]
# What the API server accepts as the part after "<webhook name>/".
ANNOTATION_KEY = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")


def test_a_policy_missing_a_required_label_is_forbidden_with_the_violation_listed(
    answer: Answer, review: dict[str, Any]
) -> None:
    response = answer(review)["response"]

    assert response["allowed"] is False
    assert response["status"]["code"] == 403
    assert response["status"]["reason"] == "Forbidden"
    lines = response["status"]["message"].splitlines()
    assert lines[0] == "NetworkPolicy prod/web violates 1 organisational rule:"
    expected = Violation(
        rule="require-labels",
        action=Action.DENY,
        path="metadata.labels",
        problem="label 'tier' is missing",
        fix="add label 'tier'",
    ).render()
    assert lines[1:] == [expected]


def test_the_summary_counts_rules_and_every_denying_violation_gets_a_line(
    answer: Answer, review: dict[str, Any]
) -> None:
    del review["request"]["object"]["metadata"]["labels"]["team"]

    message = answer(review)["response"]["status"]["message"]

    lines = message.splitlines()
    assert lines[0] == "NetworkPolicy prod/web violates 1 organisational rule:"
    assert [line.split(":")[0] for line in lines[1:]] == ["[require-labels] metadata.labels"] * 2
    assert "'team'" in lines[1] and "'tier'" in lines[2]


@pytest.mark.skipif(
    not {"require-policy-types", "forbid-allow-all"} <= set(REGISTRY), reason="needs the catalog's rules"
)
def test_the_bad_example_breaks_two_default_rules_and_says_so(make_example: Example) -> None:
    body = make_example("bad")
    decision = AdmissionHandler(load_ruleset(None)).handle(json.dumps(body).encode(), "application/json")
    response = json.loads(decision.body)["response"]

    assert response["allowed"] is False
    lines = response["status"]["message"].splitlines()
    assert lines[0] == "NetworkPolicy prod/web violates 2 organisational rules:"
    assert {line.split("]")[0] + "]" for line in lines[1:]} == {
        "[require-policy-types]",
        "[forbid-allow-all]",
    }
    assert all(". Fix: " in line for line in lines[1:])


def test_a_warning_rule_lets_the_policy_in_and_tells_the_author(
    answer: Answer, review: dict[str, Any]
) -> None:
    review["request"]["object"]["metadata"]["labels"]["tier"] = "backend"

    response = answer(review)["response"]

    assert response["allowed"] is True
    assert "status" not in response
    # The one-line form would be over 120 characters, so the problem and the fix come as two warnings.
    assert response["warnings"] == [
        "[require-annotations] metadata.annotations: annotation 'netpol-guard.io/owner' is missing.",
        "[require-annotations] Fix: add annotation 'netpol-guard.io/owner'",
    ]
    assert response["auditAnnotations"]["decision"] == "warned"


def test_a_compliant_policy_is_allowed_without_warnings(answer: Answer, compliant: dict[str, Any]) -> None:
    response = answer(compliant)["response"]

    assert response == {
        "uid": compliant["request"]["uid"],
        "allowed": True,
        "auditAnnotations": {"mode": "enforce", "rules": "", "decision": "allowed"},
    }


def test_a_dry_run_is_judged_exactly_like_a_real_request(answer: Answer, review: dict[str, Any]) -> None:
    real = answer(review)["response"]
    review["request"]["dryRun"] = True
    dry = answer(review)["response"]

    assert dry == real


def test_a_v1beta1_review_is_answered_as_v1beta1(answer: Answer, review: dict[str, Any]) -> None:
    review["apiVersion"] = "admission.k8s.io/v1beta1"

    reply = answer(review)

    assert reply["apiVersion"] == "admission.k8s.io/v1beta1"
    assert reply["kind"] == "AdmissionReview"
    assert reply["response"]["uid"] == review["request"]["uid"]
    assert reply["response"]["allowed"] is False


def _delete(review: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    review["request"]["operation"] = "DELETE"
    review["request"]["object"] = None
    review["request"]["oldObject"] = old
    return review


def test_delete_judges_the_old_object_and_creation_rules_do_not_apply(
    answer: Answer, review: dict[str, Any]
) -> None:
    unlabelled = review["request"]["object"]
    unlabelled["metadata"].pop("labels")

    response = answer(_delete(review, unlabelled))["response"]

    assert response["allowed"] is True


@pytest.mark.skipif("protect-baseline" not in REGISTRY, reason="needs the protect-baseline rule")
def test_deleting_a_baseline_policy_is_denied_by_protect_baseline(review: dict[str, Any]) -> None:
    baseline = review["request"]["object"]
    baseline["metadata"]["labels"]["netpol-guard.io/baseline"] = "true"

    decision = AdmissionHandler(load_ruleset(None)).handle(
        json.dumps(_delete(review, baseline)).encode(), "application/json"
    )
    response = json.loads(decision.body)["response"]

    assert response["allowed"] is False
    assert "[protect-baseline]" in response["status"]["message"]


def test_connect_is_allowed_without_judging(answer: Answer, review: dict[str, Any]) -> None:
    review["request"]["operation"] = "CONNECT"
    review["request"]["object"] = None

    response = answer(review)["response"]

    assert response["allowed"] is True
    assert "warnings" not in response


def test_an_update_keeping_an_existing_violation_is_only_warned(
    answer: Answer, review: dict[str, Any]
) -> None:
    review["request"]["operation"] = "UPDATE"
    review["request"]["oldObject"] = json.loads(json.dumps(review["request"]["object"]))
    review["request"]["object"]["spec"]["ingress"][0]["ports"][0]["port"] = 8443

    response = answer(review)["response"]

    assert response["allowed"] is True
    assert any(w.startswith("[require-labels]") and "already present" in w for w in response["warnings"])


def test_an_update_introducing_a_violation_is_denied(answer: Answer, compliant: dict[str, Any]) -> None:
    compliant["request"]["operation"] = "UPDATE"
    compliant["request"]["oldObject"] = json.loads(json.dumps(compliant["request"]["object"]))
    del compliant["request"]["object"]["metadata"]["labels"]["tier"]

    response = answer(compliant)["response"]

    assert response["allowed"] is False
    assert "'tier' is missing" in response["status"]["message"]


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("namespace",), "kube-system"),
        (("namespace",), "sandbox-alice"),
        (("userInfo", "username"), "system:serviceaccount:ops:deployer"),
        (("userInfo", "groups"), ["developers", "platform-admins"]),
    ],
    ids=["namespace", "namespace-glob", "user", "group"],
)
def test_exempt_requests_are_allowed_at_once_and_recorded(
    answer: Answer, review: dict[str, Any], where: tuple[str, ...], value: Any
) -> None:
    target = review["request"]
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    review["request"]["object"]["metadata"]["namespace"] = review["request"]["namespace"]

    response = answer(review)["response"]

    assert response["allowed"] is True
    assert "warnings" not in response
    assert response["auditAnnotations"]["decision"] == "exempt"
    assert response["auditAnnotations"]["exempt"]


def test_audit_mode_shows_nothing_but_records_the_rules(answer: Answer, review: dict[str, Any]) -> None:
    response = answer(review, mode="audit")["response"]

    assert response["allowed"] is True
    assert "warnings" not in response and "status" not in response
    assert response["auditAnnotations"] == {
        "mode": "audit",
        "rules": "require-labels,require-annotations",
        "decision": "audited",
    }


def test_warn_mode_turns_denials_into_warnings(answer: Answer, review: dict[str, Any]) -> None:
    response = answer(review, mode="warn")["response"]

    assert response["allowed"] is True
    assert [w.split("]")[0] for w in response["warnings"]] == [
        "[require-labels",
        "[require-annotations",
        "[require-annotations",
    ]


def test_another_kind_is_allowed_with_a_warning_that_the_webhook_is_misconfigured(
    answer: Answer, make_example: Example
) -> None:
    pod = make_example("good")
    pod["request"]["kind"] = {"group": "", "version": "v1", "kind": "Pod"}
    pod["request"]["object"] = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": "not judged"}}

    response = answer(pod)["response"]

    assert response["allowed"] is True
    [warning] = response["warnings"]
    assert "v1 Pod" in warning and "webhook" in warning
    assert len(warning) <= 120
    assert response["auditAnnotations"]["decision"] == "misconfigured"


def _without(path: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    def edit(review: dict[str, Any]) -> None:
        target = review
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(review: dict[str, Any]) -> None:
        target = review
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "expected_text", "uid_readable"),
    [
        (_without(("request",)), "no request", False),
        (_without(("request", "uid")), "request.uid", False),
        (_without(("request", "object")), "request.object is missing", True),
        (_set(("request", "object"), None), "request.object is missing", True),
        (_set(("request", "object"), []), "request.object is not a NetworkPolicy: (top level)", True),
        (_set(("request", "object", "spec", "ingress"), {"from": []}), "spec.ingress: must be a list", True),
        (_set(("request", "object", "metadata", "labels"), {"team": 1}), "metadata.labels.team", True),
        (_set(("request", "operation"), "PATCH"), "request.operation", True),
        (_set(("apiVersion",), "admission.k8s.io/v2"), "apiVersion must be", True),
        (_set(("kind",), "Review"), "kind must be AdmissionReview", True),
        (_set(("request", "userInfo", "groups"), "devs"), "request.userInfo.groups", True),
        (_set(("request", "dryRun"), "yes"), "request.dryRun", True),
    ],
    ids=[
        "no-request",
        "no-uid",
        "no-object-on-create",
        "null-object-on-create",
        "object-a-list",
        "object-not-networkpolicy-shape",
        "label-value-not-string",
        "unknown-operation",
        "unknown-api-version",
        "wrong-kind",
        "groups-not-a-list",
        "dry-run-not-bool",
    ],
)
def test_malformed_reviews_get_a_400_admission_review_echoing_the_uid(
    answer: Answer,
    review: dict[str, Any],
    edit: Callable[[dict[str, Any]], None],
    expected_text: str,
    uid_readable: bool,
) -> None:
    uid = review["request"]["uid"]
    edit(review)

    reply = answer(review)

    assert reply["kind"] == "AdmissionReview"
    assert reply["response"]["allowed"] is False
    assert reply["response"]["status"]["code"] == 400
    assert reply["response"]["status"]["reason"] == "BadRequest"
    assert expected_text in reply["response"]["status"]["message"]
    assert reply["response"]["uid"] == (uid if uid_readable else "")


@pytest.mark.parametrize(
    ("operation", "field"), [("UPDATE", "oldObject"), ("DELETE", "oldObject")], ids=["update", "delete"]
)
def test_a_missing_old_object_is_a_malformed_review(
    answer: Answer, review: dict[str, Any], operation: str, field: str
) -> None:
    review["request"]["operation"] = operation
    review["request"][field] = None

    response = answer(review)["response"]

    assert response["status"]["code"] == 400
    assert f"request.{field} is missing" in response["status"]["message"]


@pytest.mark.parametrize(
    ("body", "content_type", "expected_text"),
    [
        (b"", "application/json", "empty"),
        (b"   \n", "application/json", "empty"),
        (b"{not json", "application/json", "not valid JSON"),
        (b"[1, 2]", "application/json", "must be a JSON object"),
        (b'"AdmissionReview"', "application/json", "must be a JSON object"),
    ],
    ids=["empty", "blank", "not-json", "json-array", "json-string"],
)
def test_unreadable_bodies_get_a_400_admission_review(
    answer: Answer, body: bytes, content_type: str, expected_text: str
) -> None:
    reply = answer(body, content_type=content_type)

    assert reply["apiVersion"] == "admission.k8s.io/v1"
    assert reply["response"]["uid"] == ""
    assert reply["response"]["status"]["code"] == 400
    assert expected_text in reply["response"]["status"]["message"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", ""], ids=["text", "form", "none"]
)
def test_a_wrong_content_type_is_a_400_that_still_echoes_the_uid(
    answer: Answer, review: dict[str, Any], content_type: str
) -> None:
    reply = answer(review, content_type=content_type)

    assert reply["response"]["status"]["code"] == 400
    assert "Content-Type must be application/json" in reply["response"]["status"]["message"]
    assert reply["response"]["uid"] == review["request"]["uid"]


def test_a_content_type_with_a_charset_is_accepted(answer: Answer, compliant: dict[str, Any]) -> None:
    assert answer(compliant, content_type="application/json; charset=utf-8")["response"]["allowed"] is True


@pytest.mark.parametrize(
    "edit",
    [
        _set(("request", "operation"), "CONNECT"),
        _set(("request", "namespace"), "kube-system"),
        _set(("request", "kind", "kind"), "Pod"),
        _without(("request", "object")),
        lambda review: None,
    ],
    ids=["connect", "exempt", "other-kind", "malformed", "denied"],
)
def test_every_decision_carries_valid_audit_annotations(
    answer: Answer, review: dict[str, Any], edit: Callable[[dict[str, Any]], None]
) -> None:
    edit(review)

    annotations = answer(review)["response"]["auditAnnotations"]

    assert {"decision", "mode"} <= set(annotations)
    assert all(ANNOTATION_KEY.match(key) for key in annotations)
    assert all(isinstance(value, str) for value in annotations.values())


def test_a_rule_that_crashes_still_gets_a_well_formed_answer(
    answer: Answer, review: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: Any) -> Any:
        raise RuntimeError("rule bug")

    monkeypatch.setattr(REGISTRY["require-labels"], "check", explode)

    response = answer(review)["response"]

    assert response["uid"] == review["request"]["uid"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 500
    assert "RuntimeError" in response["status"]["message"]


def test_a_hand_written_review_without_request_kind_is_judged_by_its_object(
    answer: Answer, review: dict[str, Any]
) -> None:
    del review["request"]["kind"]

    response = answer(review)["response"]

    assert response["allowed"] is False
    assert "[require-labels]" in response["status"]["message"]


def test_a_huge_number_of_denials_is_listed_up_to_a_limit_with_a_count_of_the_rest(
    review: dict[str, Any],
) -> None:
    keys = ", ".join(f"{{key: k{i}}}" for i in range(150))
    rules = f"""
apiVersion: netpol-guard.io/v1alpha1
kind: RuleSet
rules:
  require-labels: {{action: deny, labels: [{keys}]}}
"""
    handler = AdmissionHandler(parse_ruleset_text(rules, "<many>"))
    message = json.loads(handler.handle(json.dumps(review).encode(), "application/json").body)["response"][
        "status"
    ]["message"]

    lines = message.splitlines()
    assert lines[0] == "NetworkPolicy prod/web violates 1 organisational rule:"
    assert len(lines) == 1 + 100 + 1
    assert lines[-1].startswith("... and 50 more violations")


def test_the_rules_in_use_can_be_swapped_between_requests(
    review: dict[str, Any], make_ruleset: Callable[[str], RuleSet]
) -> None:
    handler = AdmissionHandler(make_ruleset("enforce"))
    body = json.dumps(review).encode()
    assert json.loads(handler.handle(body, "application/json").body)["response"]["allowed"] is False

    handler.ruleset = make_ruleset("warn")

    assert json.loads(handler.handle(body, "application/json").body)["response"]["allowed"] is True
