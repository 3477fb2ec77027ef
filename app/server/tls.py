"""The serving TLS context: checked at start with one-line errors, replaced for new handshakes on change.

uvicorn reads certificates only at start and keeps the one `SSLContext` it was given. OpenSSL can add
trusted CAs to a context but never remove one, so a client CA dropped from the bundle could never stop
being trusted by that context. Instead, `ServingTLS` builds a fresh context whenever the pair or the
client CA bundle changes, and the long-lived context's ``sni_callback`` moves each new handshake onto the
freshest one. OpenSSL runs that callback for every ClientHello, with or without SNI (an API server that
dials an IP address sends none; ``server_name`` is then None), before it picks the certificate to serve
or verifies the client's. Open connections keep the context they started with.

A client that resumes a TLS session skips certificate verification, so a session made under a CA that
was since removed would still get in. With a client CA configured, no session tickets are issued (so
TLS 1.3 never resumes), and a TLS 1.2 session from OpenSSL's server-side session cache (which Python
cannot turn off) is refused when it was made before the client CA bundle last changed; the client's next
full handshake is verified against the current CAs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import ssl
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.errors import CertificateError
from app.logs import FIELDS

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServingPair:
    """A certificate/key pair that was read and checked; ``not_after`` is the leaf's expiry.

    The PEM bytes are kept so the pair can go into new contexts later, even after the files change.
    """

    cert_file: Path
    key_file: Path
    not_after: float
    cert_pem: bytes
    key_pem: bytes


@dataclass(frozen=True, slots=True)
class ClientCAs:
    """A client CA bundle that was read and checked: the CAs a client certificate must chain to."""

    ca_file: Path
    pem: str
    subjects: tuple[str, ...]


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CertificateError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None


def _public_der(key: Any) -> bytes:
    # Certificates and private keys both have public_key(); comparing SubjectPublicKeyInfo proves a match.
    der: bytes = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


@contextlib.contextmanager
def _pem_path(pem: bytes) -> Iterator[str]:
    """A path from which ``pem`` can be read: `load_cert_chain` accepts nothing but paths.

    On Linux an anonymous in-memory file: it works on a read-only root filesystem and leaves no copy of
    the key anywhere. Elsewhere a file in a private temporary directory.
    """
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("netpol-guard-tls", os.MFD_CLOEXEC)
        try:
            with open(fd, "wb", closefd=False) as handle:
                handle.write(pem)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory(prefix="netpol-guard-tls-") as directory:
        path = Path(directory) / "pair.pem"
        path.write_bytes(pem)
        yield str(path)


def _load_pair(context: ssl.SSLContext, pair: ServingPair) -> None:
    """Load ``pair`` into ``context``, or raise `CertificateError` naming the certificate file."""
    # Exactly the bytes that were checked go in, however the files changed since.
    try:
        with _pem_path(pair.cert_pem + b"\n" + pair.key_pem) as path:
            context.load_cert_chain(path)
    except (ssl.SSLError, OSError) as exc:
        raise CertificateError(
            f"{pair.cert_file}: the TLS library refused this certificate and key: {exc}"
        ) from None


def check_pair(cert_file: Path, key_file: Path) -> ServingPair:
    """Read and check a PEM certificate chain and its key; `CertificateError` names the bad file."""
    cert_pem = _read(cert_file, "TLS certificate")
    key_pem = _read(key_file, "TLS private key")
    try:
        chain = x509.load_pem_x509_certificates(cert_pem)
    except ValueError:
        raise CertificateError(
            f"{cert_file}: not a PEM certificate (expected -----BEGIN CERTIFICATE-----)"
        ) from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"{key_file}: not an unencrypted PEM private key ({exc})") from None
    leaf = chain[0]
    if _public_der(leaf) != _public_der(key):
        raise CertificateError(f"{key_file}: this private key does not match the certificate in {cert_file}")
    pair = ServingPair(cert_file, key_file, leaf.not_valid_after_utc.timestamp(), cert_pem, key_pem)
    # The stdlib loader is what the server really uses; prove the pair on a scratch context first.
    _load_pair(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), pair)
    return pair


def check_client_cas(ca_file: Path) -> ClientCAs:
    """Read and check a PEM client CA bundle; `CertificateError` names the file and says what is wrong."""
    data = _read(ca_file, "client CA bundle")
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise CertificateError(
            f"{ca_file}: not a PEM CA bundle (expected one or more -----BEGIN CERTIFICATE----- blocks)"
        ) from None
    pem = "".join(
        certificate.public_bytes(serialization.Encoding.PEM).decode("ascii") for certificate in certificates
    )
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_verify_locations(cadata=pem)
    except ssl.SSLError as exc:
        raise CertificateError(f"{ca_file}: the TLS library refused this client CA bundle: {exc}") from None
    return ClientCAs(
        ca_file, pem, tuple(certificate.subject.rfc4514_string() for certificate in certificates)
    )


def build_context(pair: ServingPair, client_cas: ClientCAs | None) -> ssl.SSLContext:
    """A server context with TLS 1.2 minimum; with ``client_cas`` clients must present a certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_pair(context, pair)
    if client_cas is not None:
        try:
            context.load_verify_locations(cadata=client_cas.pem)
        except ssl.SSLError as exc:
            raise CertificateError(f"{client_cas.ca_file}: cannot load the client CA bundle: {exc}") from None
        context.verify_mode = ssl.CERT_REQUIRED
        # A resumed session is not verified again. No tickets: TLS 1.3 cannot resume at all; TLS 1.2 can
        # only resume from the session cache, which `ServingTLS` guards across client CA changes.
        context.options |= ssl.OP_NO_TICKET
        context.num_tickets = 0
    return context


class ServingTLS:
    """The context uvicorn serves with, and the newest pair and client CAs that new handshakes get."""

    def __init__(self, pair: ServingPair, client_cas: ClientCAs | None) -> None:
        self.pair = pair
        self.client_cas = client_cas
        # Handed to uvicorn once. The settings every connection inherits from it at creation (TLS 1.2
        # minimum, CERT_REQUIRED, no tickets) never change at runtime; certificates and CAs come from
        # `current`, switched to in `_select`.
        self.context = build_context(pair, client_cas)
        self.current = self.context
        # Wall-clock time of the last client CA change; sessions made until then are not resumed.
        self.client_cas_changed_at = 0.0
        self.context.sni_callback = self._select

    def _select(
        self, connection: ssl.SSLObject, server_name: str | None, context: ssl.SSLContext
    ) -> int | None:
        # Runs in the event loop for every ClientHello, server_name or not, after OpenSSL looked up a
        # session to resume and before it verifies a client certificate, so the context chosen here is
        # the one the client is verified against.
        if connection.session_reused and self._made_before_client_cas_changed(connection.session):
            logger.warning(
                "refused to resume a TLS session made before the client CA bundle changed; "
                "the client must reconnect with a full handshake",
                extra={FIELDS: {"client_ca_file": str(self.client_cas.ca_file) if self.client_cas else None}},
            )
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
        if self.current is not self.context:
            connection.context = self.current
        return None

    def _made_before_client_cas_changed(self, session: ssl.SSLSession | None) -> bool:
        # OpenSSL stamps a session with whole seconds from a clock that lags, never leads, time.time():
        # every session made before the change compares <=, and so do those of the second after it,
        # which are refused too (safe; such a client reconnects with a full handshake). The id of a new
        # session cannot be recorded instead: Python cannot read a session before its handshake ends.
        return self.client_cas_changed_at > 0 and (
            session is None or session.time <= self.client_cas_changed_at
        )

    def replace_pair(self, pair: ServingPair) -> None:
        """Serve ``pair`` to new handshakes; on `CertificateError` nothing changes."""
        fresh = build_context(pair, self.client_cas)
        # Also kept current in the long-lived context, the one to serve were the callback ever skipped.
        _load_pair(self.context, pair)
        self.pair, self.current = pair, fresh

    def replace_client_cas(self, client_cas: ClientCAs) -> None:
        """Trust exactly ``client_cas`` for new handshakes; on `CertificateError` nothing changes."""
        self.current = build_context(self.pair, client_cas)
        self.client_cas = client_cas
        self.client_cas_changed_at = time.time()
