"""SIGTERM with pooled keep-alive connections under load, against a real `netpol-guard serve` process.

The API server keeps its pooled connections to a terminating pod (they were dialled through the
Service, before the endpoint went away) and does not retry a POST that got no answer. So from SIGTERM on,
every answer says ``Connection: close``; the client's next review goes on a new connection, which the
Service sends to another pod. A request that could not even connect was never sent and is retried on
another endpoint; one that was sent and got no answer is lost: there must be none.
"""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_harness import VALIDATE, Pki, review_bytes, running_server, trusting, wait_for

WORKERS = 6


@pytest.fixture
def draining_server(
    netpol_guard: list[str], pki: Pki, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    pki.serving(tmp_path / "tls")
    tls = tmp_path / "tls"
    # Warnings only: stderr is a pipe read at the end, and a decision line per review would fill it and
    # block the server mid-drain (a kubelet reads a container's output all along; this test does not).
    with running_server(
        netpol_guard, tls / "tls.crt", tls / "tls.key", "--shutdown-delay", "2", "--log-level", "warning"
    ) as server:
        yield server


def test_sigterm_with_pooled_keep_alive_connections_under_load_loses_no_request(
    draining_server: tuple[subprocess.Popen[bytes], int, int], pki: Pki
) -> None:
    process, port, probe_port = draining_server
    limits = httpx.Limits(max_connections=WORKERS, max_keepalive_connections=WORKERS)
    client = httpx.Client(
        base_url=f"https://127.0.0.1:{port}", verify=trusting(pki.ca_file), timeout=30, limits=limits
    )
    lost: list[str] = []
    unsent: list[str] = []
    answered = [0] * WORKERS
    after_signal: list[str] = []  # the Connection header of each answer sent once /readyz said 503

    def watch_readiness() -> None:
        # The server turns unready and starts draining in one step; the signal itself takes a moment.
        while True:
            try:
                status = httpx.get(f"http://127.0.0.1:{probe_port}/readyz", timeout=2).status_code
            except httpx.HTTPError:
                status = 0
            if status != 200:
                draining.set()
                return
            time.sleep(0.01)

    draining = threading.Event()

    def load(worker: int) -> None:
        while True:
            uid = f"w{worker}-{answered[worker]}"
            sent_after_signal = draining.is_set()
            try:
                reply = client.post(
                    VALIDATE, content=review_bytes(uid=uid), headers={"content-type": "application/json"}
                )
            except httpx.ConnectError:
                unsent.append(uid)  # never reached the server: the Service routes the retry elsewhere
                return
            except httpx.HTTPError as exc:
                lost.append(f"{uid}: {exc!r}")
                return
            if reply.json()["response"]["uid"] != uid:
                lost.append(f"{uid}: answered with another uid")
                return
            if sent_after_signal:
                after_signal.append(reply.headers.get("connection", ""))
            answered[worker] += 1

    threads = [threading.Thread(target=load, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    wait_for(lambda: min(answered) >= 5, what="load on every pooled connection")

    watcher = threading.Thread(target=watch_readiness)
    watcher.start()
    process.send_signal(signal.SIGTERM)
    for thread in [*threads, watcher]:
        thread.join(timeout=60)
    client.close()
    _, stderr = process.communicate(timeout=30)

    assert lost == []
    assert after_signal, "no review was answered during the drain"
    assert set(after_signal) == {"close"}, "every answer during the drain must carry Connection: close"
    assert len(unsent) == WORKERS  # every worker ran until the listener stopped
    assert process.returncode == 0
    assert b"Traceback" not in stderr


def test_an_idle_keep_alive_connection_is_closed_by_the_drain_and_the_process_exits(
    draining_server: tuple[subprocess.Popen[bytes], int, int], pki: Pki
) -> None:
    process, port, _probe_port = draining_server
    body = review_bytes(uid="before")
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    tls = trusting(pki.ca_file).wrap_socket(raw, server_hostname="localhost")
    tls.sendall(
        b"POST /validate/networkpolicies HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    answer = b""
    while b'"uid":"before"' not in answer:
        answer += tls.recv(65536)
    assert b"connection: close" not in answer.lower()  # before SIGTERM, keep-alive as usual

    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    rest = b""
    try:
        while chunk := tls.recv(65536):
            rest += chunk
    except (ConnectionResetError, ssl.SSLError):
        pass
    closed_after = time.monotonic() - started
    tls.close()
    process.communicate(timeout=30)

    assert rest == b""  # closed without a word: nothing was asked on it
    assert 1.5 < closed_after < 10  # after the shutdown delay (2 s), not at the 120 s idle timeout
    assert process.returncode == 0
