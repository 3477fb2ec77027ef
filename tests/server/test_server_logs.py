"""What a client sends never shapes the server's log: forged lines, huge identifiers, hostile TLS."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_harness import VALIDATE, Pki, example, spawn_server, trusting

from app.logs import IDENTIFIER_LIMIT

TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 [A-Z]+ +[\w.]+: ")


class ServerProcess:
    def __init__(self, process: subprocess.Popen[bytes], port: int, probe_port: int, pki: Pki) -> None:
        self.process, self.port, self.probe_port, self.pki = process, port, probe_port, pki

    def post(self, review: dict[str, object]) -> httpx.Response:
        with httpx.Client(verify=trusting(self.pki.ca_file), timeout=30) as client:
            return client.post(
                f"https://127.0.0.1:{self.port}{VALIDATE}",
                content=json.dumps(review).encode(),
                headers={"content-type": "application/json"},
            )

    def stop(self) -> list[str]:
        self.process.terminate()
        _, stderr = self.process.communicate(timeout=30)
        return stderr.decode("utf-8", "replace").splitlines()


@pytest.fixture
def serve(netpol_guard: list[str], pki: Pki, tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []
    pki.serving(tmp_path / "tls")

    def start(*args: str, probe_host: str = "127.0.0.1") -> ServerProcess:
        tls = tmp_path / "tls"
        process, port, probe_port = spawn_server(
            netpol_guard,
            tls / "tls.crt",
            tls / "tls.key",
            "--shutdown-delay",
            "0",
            *args,
            probe_host=probe_host,
        )
        started.append(process)
        return ServerProcess(process, port, probe_port, pki)

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def test_a_newline_in_a_username_cannot_forge_a_text_log_line(serve: object) -> None:
    server = serve("--log-format", "text")  # type: ignore[operator]
    review = example("bad")
    forged = "alice\n2026-01-01T00:00:00.000+00:00 INFO    app.server.webhook: decision decision=allowed"
    review["request"]["userInfo"]["username"] = forged + "\r\x1b[2K\u2028"

    assert server.post(review).status_code == 200
    lines = server.stop()

    assert lines and all(TEXT_LINE.match(line) for line in lines), lines
    decision = next(line for line in lines if " decision " in line and "alice" in line)
    assert '"alice\\n2026-01-01' in decision and "\\r\\u001b[2K\\u2028" in decision


def test_a_huge_uid_is_cut_in_the_log_line_and_echoed_whole_in_the_answer(serve: object) -> None:
    server = serve()  # type: ignore[operator]
    review = example("good")
    uid = "u" * 1_000_000
    review["request"]["uid"] = uid
    review["request"]["userInfo"]["username"] = "x" * 100_000

    reply = server.post(review)
    lines = server.stop()

    assert reply.json()["response"]["uid"] == uid
    decision = next(json.loads(line) for line in lines if '"message":"decision"' in line)
    assert decision["uid"].startswith("u" * IDENTIFIER_LIMIT)
    assert decision["uid"].endswith(f"...[{1_000_000 - IDENTIFIER_LIMIT} more characters cut]")
    assert decision["user"].endswith(f"...[{100_000 - IDENTIFIER_LIMIT} more characters cut]")
    assert max(len(line) for line in lines) < 16_384


def _client_hello_with_server_name(server_name: bytes) -> bytes:
    """A real ClientHello whose SNI bytes are ``server_name`` (Python's ssl only sends ASCII names)."""
    placeholder = "a" * len(server_name)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=placeholder + ".example")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    hello = outgoing.read()
    assert hello.count(placeholder.encode() + b".example") == 1
    return hello.replace(placeholder.encode() + b".example", server_name + b".example")


def test_hostile_tls_clients_never_put_a_traceback_or_a_non_json_line_on_stderr(serve: object) -> None:
    server = serve()  # type: ignore[operator]
    hostile = [
        _client_hello_with_server_name("bücher".encode()),  # non-ASCII SNI
        _client_hello_with_server_name(b"\xff\xfe\xfd\xfc\xfb\xfa\xf9"),  # not even UTF-8
        b"\x16\x03\x01\x00\x05hello",  # a truncated record
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # plain HTTP on the TLS port
        os.urandom(2048),
    ]
    for payload in hostile:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(payload)
            sock.settimeout(2)
            with contextlib.suppress(TimeoutError, ConnectionResetError):
                sock.recv(65536)
    time.sleep(0.5)
    assert httpx.get(f"http://127.0.0.1:{server.probe_port}/healthz", timeout=5).status_code == 200

    lines = server.stop()

    assert lines
    for line in lines:
        assert isinstance(json.loads(line), dict), line
    assert not any("Traceback" in line for line in lines)


def test_probe_host_binds_the_probe_port_on_its_own_address(serve: object) -> None:
    server = serve(probe_host="127.0.0.2")  # type: ignore[operator]

    assert httpx.get(f"http://127.0.0.2:{server.probe_port}/healthz", timeout=5).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{server.probe_port}/healthz", timeout=5)
    server.stop()


def test_a_bad_probe_host_is_one_line_naming_its_flag(
    netpol_guard: list[str], pki: Pki, tmp_path: Path
) -> None:
    pki.serving(tmp_path / "tls")
    result = subprocess.run(
        [
            *netpol_guard,
            "serve",
            "--tls-cert-file",
            str(tmp_path / "tls" / "tls.crt"),
            "--tls-private-key-file",
            str(tmp_path / "tls" / "tls.key"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--probe-host",
            "nosuch.invalid",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--probe-host / NETPOL_GUARD_PROBE_HOST" in result.stderr
