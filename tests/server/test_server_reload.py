"""Hot reload: rules file and TLS pair swapped the way Kubernetes updates mounted volumes."""

from __future__ import annotations

import os
import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
from cryptography import x509
from server_harness import Pki, Running, metric_value, review_bytes, rules_text, trusting, wait_for

Start = Callable[..., Running]


def swap_volume(directory: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` the way the kubelet updates a Secret or ConfigMap volume: a new timestamped
    directory, then one atomic rename of the ``..data`` symlink; the visible names link through it."""
    generation = sum(1 for entry in directory.iterdir() if entry.name.startswith("..gen"))
    target = directory / f"..gen{generation}"
    target.mkdir()
    for name, content in files.items():
        (target / name).write_bytes(content)
    staging = directory / "..data_tmp"
    staging.symlink_to(target.name)
    os.replace(staging, directory / "..data")
    for name in files:
        link = directory / name
        if not link.is_symlink():
            link.symlink_to(f"..data/{name}")


def served_serial(running: Running) -> int:
    """The serial number of the certificate a brand-new handshake gets."""
    context = trusting(running.ca_file)
    with (
        socket.create_connection(("127.0.0.1", running.server.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def _reloads(running: Running, kind: str, result: str) -> float:
    return metric_value(running.metrics(), f'netpol_guard_{kind}_reloads_total{{result="{result}"}}') or 0


def _allowed(running: Running) -> bool:
    allowed: bool = running.post(review_bytes(uid="r")).json()["response"]["allowed"]
    return allowed


def test_a_changed_rules_file_is_used_without_a_restart(start_server: Start, tmp_path: Path) -> None:
    volume = tmp_path / "config"
    volume.mkdir()
    swap_volume(volume, {"rules.yaml": rules_text("enforce").encode()})
    running = start_server(config=volume / "rules.yaml")
    assert _allowed(running) is False

    swap_volume(volume, {"rules.yaml": rules_text("warn").encode()})

    wait_for(lambda: _reloads(running, "config", "success") == 1, what="the rules reload")
    assert _allowed(running) is True


def test_a_broken_rules_file_keeps_the_last_good_rules_and_counts_an_error(
    start_server: Start, tmp_path: Path
) -> None:
    running = start_server()
    rules_file = tmp_path / "rules.yaml"

    rules_file.write_text(rules_text("warn").replace("require-labels:", "no-such-rule:"))

    wait_for(lambda: _reloads(running, "config", "error") == 1, what="the failed reload to be counted")
    assert _allowed(running) is False
    assert httpx.get(f"{running.probe_url}/readyz").status_code == 200

    rules_file.write_text(rules_text("warn"))
    wait_for(lambda: _reloads(running, "config", "success") == 1, what="the fixed file to load")
    assert _allowed(running) is True


def test_a_rotated_certificate_is_served_to_new_handshakes_while_a_keep_alive_client_keeps_sending(
    start_server: Start, pki: Pki, tmp_path: Path
) -> None:
    volume = tmp_path / "secret"
    volume.mkdir()
    first = pki.serving(tmp_path / "first")
    swap_volume(volume, {"tls.crt": first.cert_pem, "tls.key": first.key_pem})
    running = start_server(tls_cert_file=volume / "tls.crt", tls_private_key_file=volume / "tls.key")
    assert served_serial(running) == first.certificate.serial_number

    failures: list[BaseException] = []
    answered = 0
    stop = threading.Event()

    def keep_sending() -> None:
        nonlocal answered
        with running.client() as client:
            while not stop.is_set():
                try:
                    reply = running.post(review_bytes(uid=f"ka-{answered}"), client=client)
                    assert reply.json()["response"]["uid"] == f"ka-{answered}"
                    answered += 1
                except BaseException as exc:
                    failures.append(exc)
                    return

    sender = threading.Thread(target=keep_sending)
    sender.start()
    try:
        wait_for(lambda: answered >= 5, what="the keep-alive client to get going")
        second = pki.serving(tmp_path / "second")
        swap_volume(volume, {"tls.crt": second.cert_pem, "tls.key": second.key_pem})
        wait_for(lambda: _reloads(running, "tls", "success") == 1, what="the TLS reload")
        before = answered
        wait_for(lambda: answered >= before + 5 or bool(failures), what="requests after the rotation")
    finally:
        stop.set()
        sender.join(timeout=30)

    assert failures == []
    assert served_serial(running) == second.certificate.serial_number
    expiry = metric_value(running.metrics(), "netpol_guard_tls_certificate_expiry_timestamp_seconds")
    assert expiry == second.certificate.not_valid_after_utc.timestamp()


def test_a_mismatched_new_key_keeps_the_old_pair_and_counts_an_error(
    start_server: Start, pki: Pki, tmp_path: Path
) -> None:
    running = start_server()
    old_serial = served_serial(running)
    other = pki.serving(tmp_path / "other")

    (running.tls_dir / "tls.key").write_bytes(other.key_pem)  # new key, old certificate: a broken pair

    wait_for(lambda: _reloads(running, "tls", "error") == 1, what="the failed TLS reload")
    assert served_serial(running) == old_serial
    assert running.post(review_bytes(uid="still")).json()["response"]["uid"] == "still"


def test_the_tls_context_enforces_tls_1_2_after_a_reload_too(
    start_server: Start, pki: Pki, tmp_path: Path
) -> None:
    running = start_server()
    pair = pki.serving(tmp_path / "next")
    (running.tls_dir / "tls.key").write_bytes(pair.key_pem)
    (running.tls_dir / "tls.crt").write_bytes(pair.cert_pem)

    wait_for(lambda: served_serial(running) == pair.certificate.serial_number, what="the new certificate")
    assert running.server.tls_context.minimum_version == ssl.TLSVersion.TLSv1_2
