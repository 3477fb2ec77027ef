"""Hot reload of the client CA bundle (--client-ca-file): new handshakes trust exactly the current bundle."""

from __future__ import annotations

import json
import logging
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from server_harness import (
    DAY,
    VALIDATE,
    Pki,
    Running,
    issue_client,
    metric_value,
    review_bytes,
    trusting,
    wait_for,
)
from test_server_reload import swap_volume

from app.certs.authority import KeyPair, issue_ca
from app.errors import CertificateError

Start = Callable[..., Running]

# An API server dialling the Service's IP sends no SNI (CPython sends none for an IP address either);
# one dialling a DNS name does. Both must get the current client CAs.
SERVER_NAMES = pytest.mark.parametrize(
    "server_name", ["127.0.0.1", "localhost"], ids=["ip-address-without-sni", "dns-name-with-sni"]
)


@dataclass
class Client:
    """A client certificate issued by one CA, and a TLS context presenting it."""

    ca: KeyPair
    context: ssl.SSLContext


@dataclass
class Attempt:
    """What one brand-new connection got: the echoed uid (None when refused) and its TLS session."""

    uid: str | None
    session: ssl.SSLSession | None = None
    resumed: bool = False


def make_client(pki: Pki, directory: Path, ca: KeyPair, name: str) -> Client:
    pair = issue_client(ca, name)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.crt").write_bytes(pair.cert_pem)
    (directory / f"{name}.key").write_bytes(pair.key_pem)
    return Client(ca, trusting(pki.ca_file, (directory / f"{name}.crt", directory / f"{name}.key")))


def review_on_new_connection(
    running: Running,
    context: ssl.SSLContext,
    server_name: str = "127.0.0.1",
    session: ssl.SSLSession | None = None,
) -> Attempt:
    """POST one review over a new TLS connection; a refused handshake or a closed connection is uid None."""
    body = review_bytes(uid="fresh")
    request = (
        f"POST {VALIDATE} HTTP/1.1\r\nHost: {server_name}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    response = b""
    try:
        with (
            socket.create_connection(("127.0.0.1", running.server.port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=server_name, session=session) as tls,
        ):
            tls.sendall(request)
            # TLS 1.3 reports a refused client certificate only here, after the client's handshake ended.
            while chunk := tls.recv(65536):
                response += chunk
            got_session, resumed = tls.session, tls.session_reused
    except (ssl.SSLError, ConnectionError):
        return Attempt(None)
    if not response:
        return Attempt(None)
    head, _, payload = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    uid: str = json.loads(payload)["response"]["uid"]
    return Attempt(uid, got_session, resumed)


def accepted(running: Running, client: Client, server_name: str = "127.0.0.1") -> bool:
    return review_on_new_connection(running, client.context, server_name).uid == "fresh"


def ca_volume(directory: Path, *cas: KeyPair) -> Path:
    """Write a bundle of ``cas`` the way the kubelet updates a mounted Secret; the path to ca.crt."""
    directory.mkdir(exist_ok=True)
    swap_volume(directory, {"ca.crt": b"".join(ca.cert_pem for ca in cas)})
    return directory / "ca.crt"


def tls_reloads(running: Running, result: str) -> float:
    return metric_value(running.metrics(), f'netpol_guard_tls_reloads_total{{result="{result}"}}') or 0


def served_serial(running: Running, client: Client) -> int:
    """The serial number of the serving certificate a brand-new handshake gets."""
    with (
        socket.create_connection(("127.0.0.1", running.server.port)) as raw,
        client.context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


@pytest.fixture
def clients(pki: Pki, tmp_path: Path) -> tuple[Client, Client]:
    """Clients of two unrelated CAs, A and B (as after an API server's client CA rotation)."""
    return (
        make_client(pki, tmp_path / "clients", issue_ca("client CA A", DAY), "client-a"),
        make_client(pki, tmp_path / "clients", issue_ca("client CA B", DAY), "client-b"),
    )


@SERVER_NAMES
def test_a_ca_removed_from_the_bundle_is_refused_on_new_connections_and_the_new_ca_is_trusted(
    start_server: Start, clients: tuple[Client, Client], tmp_path: Path, server_name: str
) -> None:
    a, b = clients
    running = start_server(client_ca_file=ca_volume(tmp_path / "client-ca", a.ca))
    assert accepted(running, a, server_name)
    assert not accepted(running, b, server_name)
    kept_alive = running.client(verify=a.context)
    assert running.post(review_bytes(uid="before"), client=kept_alive).json()["response"]["uid"] == "before"

    ca_volume(tmp_path / "client-ca", b.ca)

    wait_for(lambda: tls_reloads(running, "success") == 1, what="the client CA reload")
    assert not accepted(running, a, server_name)
    assert accepted(running, b, server_name)
    # A connection made before the change is not dropped: it keeps the trust it was established with.
    assert running.post(review_bytes(uid="after"), client=kept_alive).json()["response"]["uid"] == "after"
    kept_alive.close()
    assert tls_reloads(running, "error") == 0


@pytest.mark.parametrize(
    "broken",
    [b"", b"not a certificate\n", b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"],
    ids=["empty", "not-pem", "bad-certificate-body"],
)
def test_a_broken_client_ca_bundle_keeps_the_last_good_cas_logs_the_file_and_counts_an_error(
    start_server: Start,
    clients: tuple[Client, Client],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    broken: bytes,
) -> None:
    a, b = clients
    ca_file = ca_volume(tmp_path / "client-ca", b.ca)
    running = start_server(client_ca_file=ca_file)
    caplog.set_level(logging.ERROR, logger="app.server.reload")

    swap_volume(tmp_path / "client-ca", {"ca.crt": broken})

    wait_for(lambda: tls_reloads(running, "error") == 1, what="the failed client CA reload to be counted")
    assert accepted(running, b)
    assert not accepted(running, a)
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "client CA bundle" in errors[0].getMessage()
    assert str(ca_file) in str(errors[0].__dict__)

    ca_volume(tmp_path / "client-ca", a.ca, b.ca)  # fixed, now with both CAs

    wait_for(lambda: tls_reloads(running, "success") == 1, what="the fixed bundle to load")
    assert accepted(running, a)
    assert accepted(running, b)


# TLS 1.3 gets no session tickets with client certificates on, so it never resumes and an old session
# just means a full handshake; TLS 1.2 resumes from the server's session cache, except sessions made
# before the client CAs changed: those handshakes fail, even for a client whose CA is still trusted.
@pytest.mark.parametrize(
    ("version", "trusted_old_session_uid", "resumes"),
    [(ssl.TLSVersion.TLSv1_2, None, True), (ssl.TLSVersion.TLSv1_3, "fresh", False)],
    ids=["tls-1.2", "tls-1.3"],
)
def test_a_client_resuming_a_tls_session_from_before_its_ca_was_removed_is_refused(
    start_server: Start,
    clients: tuple[Client, Client],
    tmp_path: Path,
    version: ssl.TLSVersion,
    trusted_old_session_uid: str | None,
    resumes: bool,
) -> None:
    a, b = clients
    running = start_server(client_ca_file=ca_volume(tmp_path / "client-ca", a.ca, b.ca))
    a.context.maximum_version = b.context.maximum_version = version
    first_a = review_on_new_connection(running, a.context)
    first_b = review_on_new_connection(running, b.context)
    assert (first_a.uid, first_b.uid) == ("fresh", "fresh")

    ca_volume(tmp_path / "client-ca", b.ca)
    wait_for(lambda: tls_reloads(running, "success") == 1, what="the client CA reload")

    assert review_on_new_connection(running, a.context, session=first_a.session).uid is None
    old_b = review_on_new_connection(running, b.context, session=first_b.session)
    assert old_b.uid == trusted_old_session_uid
    full = review_on_new_connection(running, b.context)
    assert (full.uid, full.resumed) == ("fresh", False)

    def new_session_resumes() -> bool:
        # Sessions from about the first second after the change are refused too (whole-second stamps).
        made = review_on_new_connection(running, b.context)
        again = review_on_new_connection(running, b.context, session=made.session)
        return made.uid == again.uid == "fresh" and again.resumed

    if resumes:
        wait_for(new_session_resumes, what="a session made after the change to resume")
    else:
        assert not new_session_resumes()


def test_a_new_client_ca_bundle_applies_while_the_serving_pair_on_disk_is_broken(
    start_server: Start, clients: tuple[Client, Client], pki: Pki, tmp_path: Path
) -> None:
    a, b = clients
    running = start_server(client_ca_file=ca_volume(tmp_path / "client-ca", a.ca))
    old_serial = served_serial(running, a)
    (running.tls_dir / "tls.key").write_bytes(pki.serving(tmp_path / "other").key_pem)
    wait_for(lambda: tls_reloads(running, "error") == 1, what="the failed serving pair reload")

    ca_volume(tmp_path / "client-ca", b.ca)

    wait_for(lambda: tls_reloads(running, "success") == 1, what="the client CA reload")
    assert served_serial(running, b) == old_serial
    assert accepted(running, b)
    assert not accepted(running, a)

    fixed = pki.serving(running.tls_dir)  # a good new pair: served with the current client CAs
    wait_for(lambda: tls_reloads(running, "success") == 2, what="the serving pair reload")
    assert served_serial(running, b) == fixed.certificate.serial_number
    assert accepted(running, b)
    assert not accepted(running, a)
    assert review_on_new_connection(running, trusting(running.ca_file)).uid is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "cannot read"), (b"", "not a PEM CA bundle"), (b"hello\n", "not a PEM CA bundle")],
    ids=["missing", "empty", "not-pem"],
)
def test_a_client_ca_file_that_does_not_load_stops_the_start_with_an_error_naming_it(
    start_server: Start, tmp_path: Path, content: bytes | None, problem: str
) -> None:
    ca_file = tmp_path / "client-ca.crt"
    if content is not None:
        ca_file.write_bytes(content)

    with pytest.raises(CertificateError) as raised:
        start_server(client_ca_file=ca_file)

    assert str(raised.value).startswith(f"{ca_file}: ")
    assert problem in str(raised.value)
