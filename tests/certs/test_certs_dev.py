"""Development certificates: kept while they still work, rewritten when they would not serve."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.__main__ import main
from app.certs.authority import san_names
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


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--out", ""], "--out is empty"),
        (["--out", "{tmp}/file"], "--out {tmp}/file is a file: name a directory"),
        (["--out", "{tmp}/file/sub"], "cannot write certificates to {tmp}/file/sub: "),
        (["--out", "{tmp}/out", "--host", "web hook"], "--host 'web hook': not an IP address or a DNS name"),
        (["--out", "{tmp}/out", "--host", "10.0.0.0/8"], "--host '10.0.0.0/8': not an IP address"),
        (["--out", "{tmp}/out", "--host", "bücher.example"], "--host 'bücher.example': not an IP"),
    ],
    ids=["empty-out", "out-is-a-file", "out-under-a-file", "host-with-space", "host-cidr", "host-unicode"],
)
def test_certs_dev_rejects_bad_flags_with_exit_two_naming_the_flag(
    tmp_path: Path,
    flags: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # where an empty --out would write
    (tmp_path / "file").write_text("not a directory")
    argv = ["certs", "dev", *(flag.format(tmp=tmp_path) for flag in flags)]

    assert main(argv) == 2
    assert message.format(tmp=tmp_path) in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (tmp_path / "ca.crt").exists()


def test_certs_dev_accepts_ip_addresses_and_wildcard_names(tmp_path: Path) -> None:
    hosts = ["::1", "*.webhook.local", "Webhook.Local"]
    assert main(["certs", "dev", "--out", str(tmp_path), *(f"--host={host}" for host in hosts)]) == 0
    cert = x509.load_pem_x509_certificate((tmp_path / "tls.crt").read_bytes())
    assert set(hosts) <= san_names(cert)
