"""The webhook over real TLS: answers, routes, limits, client certificates, disconnects."""

from __future__ import annotations

import json
import logging
import socket
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from server_harness import VALIDATE, Pki, Running, issue_client, review_bytes, trusting, wait_for

Start = Callable[..., Running]


def test_a_review_over_tls_is_answered_with_an_admission_review(start_server: Start) -> None:
    running = start_server()

    reply = running.post(review_bytes("good", uid="tls-1"))

    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["apiVersion"] == "admission.k8s.io/v1"
    assert body["response"]["uid"] == "tls-1"
    assert body["response"]["allowed"] is False
    assert body["response"]["status"]["code"] == 403


def test_bad_input_over_http_is_still_an_admission_review_never_a_500(start_server: Start) -> None:
    running = start_server()

    replies = [
        running.post(b""),
        running.post(b"{oops"),
        running.post(review_bytes("good", uid="ct"), **{"content-type": "text/plain"}),
    ]

    assert [r.status_code for r in replies] == [200, 200, 200]
    assert [r.json()["response"]["status"]["code"] for r in replies] == [400, 400, 400]
    assert replies[2].json()["response"]["uid"] == "ct"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", VALIDATE, 405),
        ("PUT", VALIDATE, 405),
        ("POST", "/validate", 404),
        ("POST", VALIDATE + "/", 404),
        ("GET", "/", 404),
        ("GET", "/docs", 404),
        ("GET", "/redoc", 404),
        ("GET", "/openapi.json", 404),
    ],
    ids=["get", "put", "other-path", "trailing-slash", "root", "docs", "redoc", "openapi"],
)
def test_only_post_on_the_validate_path_is_a_review(
    start_server: Start, method: str, path: str, status: int
) -> None:
    running = start_server()

    with running.client() as client:
        reply = client.request(method, path)

    assert reply.status_code == status
    assert "response" not in reply.text  # never mistaken for an AdmissionReview answer
    if status == 405:
        assert reply.headers["allow"] == "POST"


def test_a_body_over_the_limit_gets_413_echoing_the_uid(start_server: Start) -> None:
    running = start_server(max_request_bytes=4096)
    review = json.loads(review_bytes("good", uid="too-big"))
    review["request"]["object"]["metadata"]["annotations"]["padding"] = "x" * 20000

    reply = running.post(json.dumps(review).encode())

    assert reply.status_code == 200
    response = reply.json()["response"]
    assert response["uid"] == "too-big"
    assert response["allowed"] is False
    assert response["status"]["code"] == 413
    assert response["status"]["reason"] == "RequestEntityTooLarge"
    assert "4096" in response["status"]["message"]
    # The connection stays usable for the next review.
    assert running.post(review_bytes("good", uid="after")).json()["response"]["uid"] == "after"


def test_a_chunked_body_over_the_limit_without_a_content_length_gets_413_too(start_server: Start) -> None:
    running = start_server(max_request_bytes=4096)
    body = review_bytes("good", uid="chunked-big")
    padding = b" " * 2048  # JSON whitespace: the body stays a valid review, only too large

    def chunks() -> Iterator[bytes]:  # an iterator: httpx sends it chunked, with no Content-Length
        yield body
        for _ in range(8):
            yield padding

    with running.client() as client:
        reply = client.post(VALIDATE, content=chunks(), headers={"content-type": "application/json"})

    response = reply.json()["response"]
    assert "content-length" not in reply.request.headers
    assert (response["uid"], response["status"]["code"]) == ("chunked-big", 413)


def test_a_body_just_under_the_limit_is_judged(start_server: Start) -> None:
    body = review_bytes("good", uid="fits")
    running = start_server(max_request_bytes=len(body))

    assert running.post(body).json()["response"]["status"]["code"] == 403


def test_the_server_refuses_tls_below_1_2(start_server: Start) -> None:
    running = start_server()
    assert running.server.tls_context.minimum_version == ssl.TLSVersion.TLSv1_2

    only_12 = trusting(running.ca_file)
    only_12.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(base_url=running.url, verify=only_12) as client:
        assert client.get("/").status_code == 404


def test_client_certificates_are_required_and_verified_with_a_client_ca(
    start_server: Start, pki: Pki, tmp_path: Path
) -> None:
    client_pair = issue_client(pki.ca, "kube-apiserver")
    (tmp_path / "client.crt").write_bytes(client_pair.cert_pem)
    (tmp_path / "client.key").write_bytes(client_pair.key_pem)
    running = start_server(client_ca_file=pki.ca_file)

    with_cert = trusting(running.ca_file, (tmp_path / "client.crt", tmp_path / "client.key"))
    with httpx.Client(base_url=running.url, verify=with_cert) as client:
        reply = client.post(
            VALIDATE, content=review_bytes(uid="mtls"), headers={"content-type": "application/json"}
        )
    assert reply.json()["response"]["uid"] == "mtls"

    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        running.post(review_bytes(uid="no-cert"))


def test_a_client_that_disconnects_mid_body_is_logged_once_and_the_server_keeps_serving(
    start_server: Start, caplog: pytest.LogCaptureFixture
) -> None:
    running = start_server()
    caplog.set_level(logging.INFO, logger="app.server.webhook")
    context = trusting(running.ca_file)
    with (
        socket.create_connection(("127.0.0.1", running.server.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(
            b"POST /validate/networkpolicies HTTP/1.1\r\nHost: localhost\r\n"
            b'Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n{"apiVersion": '
        )

    def disconnect_lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if "disconnected" in r.getMessage()]

    wait_for(lambda: len(disconnect_lines()) >= 1, what="the disconnect log line")
    assert running.post(review_bytes(uid="next")).json()["response"]["uid"] == "next"
    assert len(disconnect_lines()) == 1
    assert disconnect_lines()[0].levelno == logging.INFO
    assert disconnect_lines()[0].exc_info is None
