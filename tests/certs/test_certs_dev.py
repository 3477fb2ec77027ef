"""Development certificates: kept while they still work, rewritten when they would not serve."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.certs.dev import write_dev_certificates


def test_a_key_that_does_not_match_the_certificate_is_replaced(tmp_path: Path) -> None:
    write_dev_certificates(tmp_path)
    stray = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "tls.key").write_bytes(stray)

    result = write_dev_certificates(tmp_path)

    assert result.created
    key = serialization.load_pem_private_key((tmp_path / "tls.key").read_bytes(), password=None)
    cert = x509.load_pem_x509_certificate((tmp_path / "tls.crt").read_bytes())
    assert key.public_key() == cert.public_key()


def test_files_that_still_work_are_kept(tmp_path: Path) -> None:
    write_dev_certificates(tmp_path, ["webhook.local"])
    before = {name: (tmp_path / name).read_bytes() for name in ("ca.crt", "tls.crt", "tls.key")}

    result = write_dev_certificates(tmp_path, ["webhook.local"])

    assert not result.created
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
