"""The control plane's certificates: one CA, the API server's serving pair, client certificates (admin in
``system:masters``, the controller manager) and the service-account signing key, written as files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from app.certs.authority import KeyPair, issue_ca, issue_serving

VALIDITY: Final = dt.timedelta(days=2)
# What clients dial (127.0.0.1, localhost) and the in-cluster names, so a token's audience checks pass.
APISERVER_NAMES: Final = (
    "127.0.0.1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "10.0.0.1",
)


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def issue_client(ca: KeyPair, user: str, groups: tuple[str, ...] = ()) -> KeyPair:
    """A client certificate: the API server reads CN as the user name and every O as a group."""
    key = ec.generate_private_key(ec.SECP256R1())
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, group) for group in groups]
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, user))
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _pem(key))


_FILES: Final = {
    "ca_file": "ca.crt",
    "ca_key_file": "ca.key",
    "serving_cert": "apiserver.crt",
    "serving_key": "apiserver.key",
    "admin_cert": "admin.crt",
    "admin_key": "admin.key",
    "controller_manager_cert": "kube-controller-manager.crt",
    "controller_manager_key": "kube-controller-manager.key",
    "service_account_key": "sa.key",
    "service_account_pub": "sa.pub",
}


@dataclass(frozen=True)
class ClusterPki:
    """Paths of every file the control plane reads (all in one directory)."""

    ca_file: Path
    ca_key_file: Path
    serving_cert: Path
    serving_key: Path
    admin_cert: Path
    admin_key: Path
    controller_manager_cert: Path
    controller_manager_key: Path
    service_account_key: Path
    service_account_pub: Path

    @classmethod
    def at(cls, directory: Path) -> ClusterPki:
        return cls(**{field: directory / name for field, name in _FILES.items()})


def write_cluster_pki(directory: Path) -> ClusterPki:
    """Create the CA, the API server's serving pair, the admin and controller-manager client pairs and the
    service-account key in ``directory`` (private keys mode 0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = ClusterPki.at(directory)
    ca = issue_ca("netpol-guard control plane CA", VALIDITY)
    serving = issue_serving(ca, list(APISERVER_NAMES), VALIDITY)
    admin = issue_client(ca, "netpol-guard-admin", ("system:masters",))
    controller_manager = issue_client(ca, "system:kube-controller-manager")
    sa_key = ec.generate_private_key(ec.SECP256R1())
    sa_pub = sa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    files = {
        pki.ca_file: ca.cert_pem,
        pki.ca_key_file: ca.key_pem,
        pki.serving_cert: serving.cert_pem,
        pki.serving_key: serving.key_pem,
        pki.admin_cert: admin.cert_pem,
        pki.admin_key: admin.key_pem,
        pki.controller_manager_cert: controller_manager.cert_pem,
        pki.controller_manager_key: controller_manager.key_pem,
        pki.service_account_key: _pem(sa_key),
        pki.service_account_pub: sa_pub,
    }
    for path, data in files.items():
        path.write_bytes(data)
        path.chmod(0o600 if path.suffix == ".key" else 0o644)
    return pki
