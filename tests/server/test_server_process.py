"""`netpol-guard serve` as a real process: start-up errors, SIGTERM under load, import hygiene, dev certs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from server_harness import (
    VALIDATE,
    Pki,
    free_port,
    review_bytes,
    running_server,
    trusting,
    wait_for,
)

from app.certs.authority import san_names


@pytest.fixture
def serving_pair(pki: Pki, tmp_path: Path) -> tuple[Path, Path]:
    pki.serving(tmp_path / "tls")
    return tmp_path / "tls" / "tls.crt", tmp_path / "tls" / "tls.key"


def _serve(
    netpol_guard: list[str], *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*netpol_guard, "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_a_missing_certificate_is_one_line_naming_the_file_and_exit_2(
    netpol_guard: list[str], serving_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.crt"

    result = _serve(
        netpol_guard, "--tls-cert-file", str(missing), "--tls-private-key-file", str(serving_pair[1])
    )

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(missing) in result.stderr
    assert "Traceback" not in result.stderr


def test_a_key_that_does_not_match_the_certificate_is_one_line_naming_the_key_and_exit_2(
    netpol_guard: list[str], pki: Pki, serving_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    other = pki.serving(tmp_path / "other")
    (tmp_path / "other.key").write_bytes(other.key_pem)

    result = _serve(
        netpol_guard,
        "--tls-cert-file",
        str(serving_pair[0]),
        "--tls-private-key-file",
        str(tmp_path / "other.key"),
    )

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "other.key" in result.stderr and "does not match" in result.stderr


def test_settings_come_from_netpol_guard_environment_variables_and_bad_values_exit_2(
    netpol_guard: list[str], serving_pair: tuple[Path, Path]
) -> None:
    env = {
        "NETPOL_GUARD_TLS_CERT_FILE": str(serving_pair[0]),
        "NETPOL_GUARD_TLS_PRIVATE_KEY_FILE": str(serving_pair[1]),
        "NETPOL_GUARD_PROBE_PORT": "99999",
    }

    result = _serve(netpol_guard, env=env)

    assert result.returncode == 2
    assert "--probe-port / NETPOL_GUARD_PROBE_PORT" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        ((), {"NETPOL_GUARD_CONFIG": ""}, "--config / NETPOL_GUARD_CONFIG: must name a file"),
        ((), {"NETPOL_GUARD_CLIENT_CA_FILE": ""}, "--client-ca-file / NETPOL_GUARD_CLIENT_CA_FILE"),
        (("--port", "{port}", "--probe-port", "{port}"), {}, "--probe-port / NETPOL_GUARD_PROBE_PORT"),
        (("--host", "nosuch.invalid"), {}, "--host / NETPOL_GUARD_HOST"),
    ],
    ids=["empty-config-variable", "empty-client-ca-variable", "probe-port-same-as-port", "unknown-host"],
)
def test_a_bad_start_up_setting_is_one_line_naming_its_flag_and_exit_2(
    netpol_guard: list[str],
    serving_pair: tuple[Path, Path],
    args: tuple[str, ...],
    env: dict[str, str],
    named: str,
) -> None:
    port = str(free_port())
    tls = ("--tls-cert-file", str(serving_pair[0]), "--tls-private-key-file", str(serving_pair[1]))
    host = ("--probe-host", "127.0.0.1") + (() if "--host" in args else ("--host", "127.0.0.1"))
    given = tuple(arg.format(port=port) for arg in args)

    result = _serve(netpol_guard, *tls, *host, *given, env=env)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert named in result.stderr


def test_required_tls_flags_are_named_when_missing(netpol_guard: list[str]) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("NETPOL_GUARD_")}
    result = subprocess.run([*netpol_guard, "serve"], capture_output=True, text=True, env=env, timeout=60)

    assert result.returncode == 2
    assert "--tls-cert-file" in result.stderr and "--tls-private-key-file" in result.stderr


def test_a_broken_rules_file_at_start_exits_2_naming_it(
    netpol_guard: list[str], serving_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("apiVersion: netpol-guard.io/v1alpha1\nkind: RuleSet\nbogus: 1\n")

    result = _serve(
        netpol_guard,
        "--config",
        str(rules),
        "--tls-cert-file",
        str(serving_pair[0]),
        "--tls-private-key-file",
        str(serving_pair[1]),
    )

    assert result.returncode == 2
    assert str(rules) in result.stderr and "bogus" in result.stderr


@pytest.fixture
def server_process(
    netpol_guard: list[str], serving_pair: tuple[Path, Path]
) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    with running_server(netpol_guard, *serving_pair, "--shutdown-delay", "1") as server:
        yield server


def test_sigterm_under_load_turns_unready_finishes_in_flight_requests_and_exits_cleanly(
    server_process: tuple[subprocess.Popen[bytes], int, int], pki: Pki
) -> None:
    process, port, probe_port = server_process
    unready = threading.Event()
    failures: list[BaseException] = []
    answered = [0] * 4
    readyz_after_ready: list[int] = []  # the /readyz answer that ended readiness (none: it went away)

    def watch_readiness() -> None:
        # What the endpoints controller does: stop routing once /readyz fails.
        while not unready.is_set():
            try:
                status = httpx.get(f"http://127.0.0.1:{probe_port}/readyz", timeout=2).status_code
                if status != 200:
                    readyz_after_ready.append(status)
                    unready.set()
            except httpx.HTTPError:
                unready.set()
            time.sleep(0.02)

    def load(worker: int) -> None:
        with httpx.Client(
            base_url=f"https://127.0.0.1:{port}", verify=trusting(pki.ca_file), timeout=30
        ) as client:
            while not unready.is_set():
                try:
                    uid = f"w{worker}-{answered[worker]}"
                    reply = client.post(
                        VALIDATE, content=review_bytes(uid=uid), headers={"content-type": "application/json"}
                    )
                    assert reply.json()["response"]["uid"] == uid
                    answered[worker] += 1
                except BaseException as exc:
                    failures.append(exc)
                    return

    threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
    watcher = threading.Thread(target=watch_readiness)
    for thread in [*threads, watcher]:
        thread.start()
    wait_for(lambda: min(answered) >= 3, what="load on every worker")

    # A review already on the wire when SIGTERM arrives: headers and half the body now, the rest later.
    body = review_bytes(uid="in-flight")
    context = trusting(pki.ca_file)
    raw = socket.create_connection(("127.0.0.1", port))
    tls = context.wrap_socket(raw, server_hostname="localhost")
    tls.settimeout(30)  # a server that never answers fails the test instead of hanging it
    tls.sendall(
        b"POST /validate/networkpolicies HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[: len(body) // 2]
    )
    process.send_signal(signal.SIGTERM)
    wait_for(unready.is_set, what="/readyz to fail after SIGTERM")
    tls.sendall(body[len(body) // 2 :])
    reply = b""
    while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}}"):
        chunk = tls.recv(65536)
        if not chunk:
            break
        reply += chunk
    tls.close()

    for thread in [*threads, watcher]:
        thread.join(timeout=30)
    _, stderr = process.communicate(timeout=30)

    assert failures == []
    assert readyz_after_ready == [503], "/readyz must answer 503 while the server drains, not just vanish"
    assert reply.startswith(b"HTTP/1.1 200")
    assert b'"uid":"in-flight"' in reply
    assert process.returncode == 0
    assert b"Traceback" not in stderr


def test_the_server_modules_do_not_import_the_kubernetes_client() -> None:
    code = (
        "import sys; import app.server.runner, app.server.webhook, app.server.probes, app.cli.serve; "
        "import app.__main__; app.__main__.build_parser(); "
        "assert 'kubernetes' not in sys.modules, sorted(m for m in sys.modules if m.startswith('kubernetes'))"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stderr


def test_certs_dev_writes_a_ca_and_a_serving_pair_for_localhost_and_extra_hosts(
    netpol_guard: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "dev"

    result = subprocess.run(
        [*netpol_guard, "certs", "dev", "--out", str(out), "--host", "webhook.local", "--host", "10.0.0.7"],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {"ca.crt", "tls.crt", "tls.key"}
    cert = x509.load_pem_x509_certificate((out / "tls.crt").read_bytes())
    assert san_names(cert) == {"localhost", "127.0.0.1", "webhook.local", "10.0.0.7"}
    assert (out / "tls.key").stat().st_mode & 0o077 == 0
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate((out / "ca.crt").read_bytes()))


def test_certs_dev_keeps_valid_files_and_replaces_them_when_a_host_is_added(
    netpol_guard: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "dev"
    subprocess.run(
        [*netpol_guard, "certs", "dev", "--out", str(out)], check=True, capture_output=True, timeout=60
    )
    first = (out / "tls.crt").read_bytes()

    subprocess.run(
        [*netpol_guard, "certs", "dev", "--out", str(out)], check=True, capture_output=True, timeout=60
    )
    assert (out / "tls.crt").read_bytes() == first

    subprocess.run(
        [*netpol_guard, "certs", "dev", "--out", str(out), "--host", "new.local"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    assert "new.local" in san_names(x509.load_pem_x509_certificate((out / "tls.crt").read_bytes()))
