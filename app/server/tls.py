"""The serving TLS context: checked at start with one-line errors, reloaded in place when files change.

uvicorn reads certificates only at start. netpol-guard builds the `SSLContext` itself, hands it to
uvicorn, and later calls ``load_cert_chain`` on that same context: new handshakes use the new pair, open
connections keep theirs. A new pair is first proven on a scratch context, because a half-loaded pair
(new certificate, old key) would leave the live context unable to serve.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from app.errors import CertificateError


@dataclass(frozen=True, slots=True)
class ServingPair:
    """A certificate/key pair that was read and checked; ``not_after`` is the leaf's expiry."""

    cert_file: Path
    key_file: Path
    not_after: float


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
    # The stdlib loader is what the server really uses; prove the pair on a scratch context first.
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_file, key_file)
    except (ssl.SSLError, OSError) as exc:
        raise CertificateError(
            f"{cert_file}: the TLS library refused this certificate and key: {exc}"
        ) from None
    return ServingPair(cert_file, key_file, leaf.not_valid_after_utc.timestamp())


def build_context(pair: ServingPair, client_ca_file: Path | None) -> ssl.SSLContext:
    """A server context with TLS 1.2 minimum; with ``client_ca_file`` clients must present a certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(pair.cert_file, pair.key_file)
    if client_ca_file is not None:
        try:
            context.load_verify_locations(cafile=client_ca_file)
        except (ssl.SSLError, OSError) as exc:
            raise CertificateError(f"{client_ca_file}: cannot load the client CA bundle: {exc}") from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def reload_pair(context: ssl.SSLContext, cert_file: Path, key_file: Path) -> ServingPair:
    """Check the pair on disk and load it into the live ``context``; on error the context is untouched."""
    pair = check_pair(cert_file, key_file)
    context.load_cert_chain(pair.cert_file, pair.key_file)
    return pair
