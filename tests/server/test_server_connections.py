"""Bounded connections on the real server: request-head size, request timeout, connection count,
``Expect: 100-continue`` with an oversized body, and keep-alive that outlives the request timeout."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from server_harness import VALIDATE, Running, review_bytes, trusting, wait_for

Start = Callable[..., Running]


def _tls(running: Running, timeout: float = 10.0) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", running.server.port), timeout=timeout)
    return trusting(running.ca_file).wrap_socket(raw, server_hostname="localhost")


def _read_all(sock: socket.socket) -> bytes:
    """Everything until the server closes (a server that never does fails on the socket timeout)."""
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, ssl.SSLEOFError):
            return data
        if not chunk:
            return data
        data += chunk


def _read_answer(sock: socket.socket) -> bytes:
    """One HTTP answer with a Content-Length, however the TLS records split it."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n") if b"content-length" in line.lower()]
    length = int(lengths[0])
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def _request_head(extra: bytes = b"", length: int = 0) -> bytes:
    return (
        b"POST /validate/networkpolicies HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + extra
        + f"Content-Length: {length}\r\n\r\n".encode()
    )


@pytest.fixture
def closing() -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()


def test_a_request_head_over_max_header_bytes_gets_431_and_the_connection_is_closed(
    start_server: Start,
) -> None:
    running = start_server(max_header_bytes=8192)
    with _tls(running) as tls:
        tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Padding: ")
        try:
            for _ in range(64):  # 4 MiB of one header: refused long before the end
                tls.sendall(b"a" * 65536)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass
        reply = _read_all(tls)

    assert reply.startswith(b"HTTP/1.1 431 ")
    assert b"connection: close" in reply.lower()
    assert b"--max-header-bytes" in reply


def test_a_request_head_just_under_max_header_bytes_is_answered(start_server: Start) -> None:
    running = start_server(max_header_bytes=8192)
    body = review_bytes(uid="fits")
    head = _request_head(length=len(body))
    padding = b"X-Padding: " + b"a" * (8192 - len(head) - len(b"X-Padding: \r\n")) + b"\r\n"
    request = _request_head(padding, len(body))
    assert len(request) == 8192

    with _tls(running) as tls:
        tls.sendall(request + body)
        reply = _read_answer(tls)

    assert reply.startswith(b"HTTP/1.1 200 ")


def test_the_probe_port_bounds_request_heads_too(start_server: Start) -> None:
    running = start_server(max_header_bytes=4096)

    reply = httpx.get(f"{running.probe_url}/healthz", headers={"x-padding": "a" * 8000})

    assert reply.status_code == 431


def test_a_slow_request_head_gets_408_and_is_closed(start_server: Start) -> None:
    running = start_server(request_timeout=1)
    with _tls(running) as tls:
        started = time.monotonic()
        tls.sendall(b"POST /validate/networkpolicies HTTP/1.1\r\nHost: loc")  # and then nothing
        reply = _read_all(tls)
        waited = time.monotonic() - started

    assert reply.startswith(b"HTTP/1.1 408 ")
    assert b"--request-timeout" in reply
    assert 0.9 < waited < 5


def test_a_body_that_trickles_in_gets_408(start_server: Start) -> None:
    running = start_server(request_timeout=1)
    body = review_bytes(uid="slow")
    with _tls(running) as tls:
        tls.sendall(_request_head(length=len(body)))
        reply = b""
        for byte in body:  # one byte every 50 ms: the whole body would take far longer than 1 s
            try:
                tls.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
                break
            time.sleep(0.05)
            tls.settimeout(0.001)
            with contextlib.suppress(TimeoutError, ssl.SSLWantReadError):
                reply += tls.recv(65536)
            if reply:
                break
        tls.settimeout(5)
        reply += _read_all(tls)

    assert reply.startswith(b"HTTP/1.1 408 ")


def test_a_connection_that_never_starts_tls_is_closed_after_the_request_timeout(start_server: Start) -> None:
    running = start_server(request_timeout=1)
    with socket.create_connection(("127.0.0.1", running.server.port), timeout=10) as raw:
        started = time.monotonic()
        assert _read_all(raw) == b""  # closed by the server, without a word
        assert time.monotonic() - started < 5


def test_a_tls_connection_that_never_sends_a_request_is_closed_after_the_request_timeout(
    start_server: Start,
) -> None:
    running = start_server(request_timeout=1)
    with _tls(running) as tls:
        started = time.monotonic()
        assert _read_all(tls) == b""
        assert time.monotonic() - started < 5


def test_an_idle_keep_alive_connection_outlives_the_request_timeout(start_server: Start) -> None:
    running = start_server(request_timeout=0.5)
    with running.client() as client:
        first = running.post(review_bytes(uid="one"), client)
        time.sleep(1.5)  # three request timeouts: idle keep-alive is governed by the 120 s idle timeout
        second = running.post(review_bytes(uid="two"), client)

    assert first.json()["response"]["uid"] == "one"
    assert second.json()["response"]["uid"] == "two"
    assert second.extensions["network_stream"] is first.extensions["network_stream"]
    assert running.server._webhook.config.timeout_keep_alive > 90  # the API server's idle timeout


def test_past_max_connections_new_connections_are_refused_at_once_and_accepted_again_later(
    start_server: Start, closing: list[socket.socket]
) -> None:
    running = start_server(max_connections=4)
    for _ in range(4):
        closing.append(_tls(running))

    started = time.monotonic()
    with pytest.raises(OSError):  # reset (ConnectionResetError, or an SSLError during the handshake)
        raw = socket.create_connection(("127.0.0.1", running.server.port), timeout=5)
        closing.append(raw)
        trusting(running.ca_file).wrap_socket(raw, server_hostname="localhost")
    assert time.monotonic() - started < 2  # refused, not left waiting

    closing.pop(0).close()
    wait_for(lambda: running.server._webhook.gate.open < 4, what="the closed connection to be released")
    assert running.post(review_bytes(uid="again")).json()["response"]["uid"] == "again"


def test_over_limit_content_length_with_expect_100_continue_gets_413_at_once_never_100_continue(
    start_server: Start,
) -> None:
    running = start_server(max_request_bytes=4096)
    with _tls(running) as tls:
        tls.sendall(_request_head(b"Expect: 100-continue\r\n", 50 * 1024 * 1024))
        reply = _read_all(tls)  # the body is never sent: a server waiting for it would time out

    assert reply.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in reply
    assert b'"code":413' in reply
    assert b"connection: close" in reply.lower()


def test_an_expect_100_continue_within_the_limit_is_continued_and_judged(start_server: Start) -> None:
    running = start_server()
    body = review_bytes(uid="continued")
    with _tls(running) as tls:
        tls.sendall(_request_head(b"Expect: 100-continue\r\n", len(body)))
        interim = tls.recv(65536)
        tls.sendall(body)
        reply = _read_answer(tls)

    assert interim.startswith(b"HTTP/1.1 100 Continue")
    assert reply.startswith(b"HTTP/1.1 200 ") and b'"uid":"continued"' in reply


def test_connection_limits_come_from_netpol_guard_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.settings import load_settings

    monkeypatch.setenv("NETPOL_GUARD_MAX_HEADER_BYTES", "2048")
    monkeypatch.setenv("NETPOL_GUARD_REQUEST_TIMEOUT", "3.5")
    monkeypatch.setenv("NETPOL_GUARD_MAX_CONNECTIONS", "7")
    monkeypatch.setenv("NETPOL_GUARD_PROBE_HOST", "127.0.0.1")

    settings = load_settings({"tls_cert_file": "a", "tls_private_key_file": "b", "max_connections": 9})

    assert (settings.max_header_bytes, settings.request_timeout) == (2048, 3.5)
    assert settings.max_connections == 9  # the flag wins
    assert settings.probe_host == "127.0.0.1"


def test_the_defaults_are_the_documented_ones() -> None:
    from app.settings import ServerSettings

    settings = ServerSettings(tls_cert_file="a", tls_private_key_file="b")  # type: ignore[arg-type]

    assert settings.max_header_bytes == 65536
    assert settings.request_timeout == 10
    assert settings.max_connections == 1000
    assert settings.probe_host == "0.0.0.0"


def test_requests_on_the_validate_path_still_work_with_every_limit_in_place(start_server: Start) -> None:
    running = start_server(max_connections=8, max_header_bytes=4096, request_timeout=2)
    with running.client() as client:
        replies = [running.post(review_bytes(uid=f"n{n}"), client) for n in range(20)]
        empty = client.post(VALIDATE, content=b"{}")

    assert [r.json()["response"]["uid"] for r in replies] == [f"n{n}" for n in range(20)]
    assert empty.status_code == 200 and empty.json()["response"]["status"]["code"] == 400
