"""Development certificates: a throwaway CA and a serving certificate for a local `netpol-guard serve`.

Existing files are kept when they still work (the CA signs the serving certificate, every wanted name is a
SAN, more than a day of validity is left), so a CA someone chose to trust survives `make run` restarts.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from app.certs.authority import issue_ca, issue_serving
from app.certs.plan import StoredCertificates, serving_problem

DEFAULT_NAMES: Final = ("localhost", "127.0.0.1")
CA_VALIDITY: Final = dt.timedelta(days=365)
SERVING_VALIDITY: Final = dt.timedelta(days=90)
_MIN_REMAINING: Final = dt.timedelta(days=1)


@dataclass(frozen=True)
class DevCertificates:
    """Where the files are, and whether this run wrote them."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    created: bool
    names: tuple[str, ...]


def _still_good(ca_file: Path, cert_file: Path, key_file: Path, names: Sequence[str]) -> bool:
    try:
        stored = StoredCertificates(
            tls_crt=cert_file.read_bytes(), tls_key=key_file.read_bytes(), ca_crt=ca_file.read_bytes()
        )
    except OSError:
        return False
    # A key from another run would make `serve` refuse to start; a CA that did not sign it, fail TLS.
    return serving_problem(stored, names, dt.datetime.now(dt.UTC), _MIN_REMAINING) is None


def _write(path: Path, data: bytes, mode: int) -> None:
    # Written under a temporary name and renamed, so a running server never reads half a file.
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def write_dev_certificates(out: Path, hosts: Sequence[str] = ()) -> DevCertificates:
    """Write ``ca.crt``, ``tls.crt`` and ``tls.key`` into ``out`` for localhost, 127.0.0.1 and ``hosts``."""
    names = tuple(dict.fromkeys([*DEFAULT_NAMES, *hosts]))
    out.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = out / "ca.crt", out / "tls.crt", out / "tls.key"
    if _still_good(ca_file, cert_file, key_file, names):
        return DevCertificates(ca_file, cert_file, key_file, created=False, names=names)
    ca = issue_ca("netpol-guard development CA", CA_VALIDITY)
    serving = issue_serving(ca, names, SERVING_VALIDITY)
    _write(ca_file, ca.cert_pem, 0o644)
    _write(key_file, serving.key_pem, 0o600)
    _write(cert_file, serving.cert_pem, 0o644)
    return DevCertificates(ca_file, cert_file, key_file, created=True, names=names)
