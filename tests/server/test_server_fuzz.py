"""Hypothesis: no body, however odd, gets a 500 or an answer that is not a well-formed AdmissionReview.

The webhook's FastAPI app is called in process through httpx's ASGI transport (the HTTP layer is the same
code the real server runs; TLS is covered by the other server tests).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.admission.handler import AdmissionHandler
from app.ruleset import load_ruleset
from app.server.metrics import Metrics
from app.server.webhook import VALIDATE_PATH, build_webhook_app

APP = build_webhook_app(AdmissionHandler(load_ruleset(None)), Metrics(), max_request_bytes=64 * 1024)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


def _policy_like() -> st.SearchStrategy[Any]:
    """Objects that look like NetworkPolicies, with any JSON where the fields are."""
    field_names = st.sampled_from(
        [
            "podSelector",
            "ingress",
            "egress",
            "policyTypes",
            "from",
            "to",
            "ports",
            "ipBlock",
            "cidr",
            "except",
            "namespaceSelector",
            "matchLabels",
            "matchExpressions",
            "port",
            "endPort",
            "protocol",
        ]
    )
    nested = st.recursive(
        json_values,
        lambda children: st.lists(children, max_size=3) | st.dictionaries(field_names, children, max_size=4),
        max_leaves=25,
    )
    return st.fixed_dictionaries(
        {"apiVersion": st.just("networking.k8s.io/v1"), "kind": st.just("NetworkPolicy")},
        optional={
            "metadata": st.fixed_dictionaries(
                {},
                optional={
                    "name": json_values,
                    "namespace": json_values,
                    "labels": json_values,
                    "annotations": json_values,
                },
            ),
            "spec": st.dictionaries(field_names, nested, max_size=5),
        },
    )


reviews = st.fixed_dictionaries(
    {
        "apiVersion": st.sampled_from(["admission.k8s.io/v1", "admission.k8s.io/v1beta1"]) | json_values,
        "kind": st.just("AdmissionReview") | json_values,
        "request": st.fixed_dictionaries(
            {
                "uid": st.text(max_size=40) | json_values,
                "operation": st.sampled_from(["CREATE", "UPDATE", "DELETE", "CONNECT"]) | json_values,
                "kind": st.just({"group": "networking.k8s.io", "version": "v1", "kind": "NetworkPolicy"})
                | json_values,
            },
            optional={
                "namespace": st.text(max_size=20) | json_values,
                "userInfo": json_values
                | st.fixed_dictionaries(
                    {"username": st.text(max_size=10), "groups": st.lists(st.text(max_size=10))}
                ),
                "object": _policy_like() | json_values,
                "oldObject": _policy_like() | json_values,
                "dryRun": st.booleans() | json_values,
            },
        )
        | json_values,
    }
)


def _post(body: bytes, content_type: str = "application/json") -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=APP)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            return await client.post(VALIDATE_PATH, content=body, headers={"content-type": content_type})

    return asyncio.run(call())


def _assert_well_formed(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 200
    answer = reply.json()
    assert answer["apiVersion"] in ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")
    assert answer["kind"] == "AdmissionReview"
    response = answer["response"]
    assert isinstance(response["uid"], str)
    assert isinstance(response["allowed"], bool)
    if not response["allowed"]:
        assert response["status"]["code"] in (400, 403, 413)
        assert isinstance(response["status"]["message"], str) and response["status"]["message"]
    for warning in response.get("warnings", []):
        assert isinstance(warning, str) and len(warning) <= 256
    assert all(isinstance(v, str) for v in response["auditAnnotations"].values())
    return answer


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_body_gets_a_well_formed_answer(value: Any) -> None:
    _assert_well_formed(_post(json.dumps(value).encode()))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reviews)
def test_any_review_shaped_body_gets_a_well_formed_answer_echoing_a_string_uid(review: Any) -> None:
    answer = _assert_well_formed(_post(json.dumps(review).encode()))

    request = review.get("request") if isinstance(review, dict) else None
    uid = request.get("uid") if isinstance(request, dict) else None
    if isinstance(uid, str):
        assert answer["response"]["uid"] == uid


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["application/json", "text/plain", ""]))
def test_any_bytes_with_any_content_type_get_a_well_formed_answer(body: bytes, content_type: str) -> None:
    _assert_well_formed(_post(body, content_type))
