"""Pure certificate decisions for `certs ensure`: durations, what to renew and why, the CA bundle.

No Kubernetes here: `app.certs.ensure` reads the Secret and the webhook configuration, asks `plan_renewal`
what to do, and writes the result. Everything in this module is tested with real certificates.

Design: the Secret keeps the CA's key (``ca.key``) beside the serving pair, so the serving certificate is
renewed by the same CA and the webhook's ``caBundle`` does not change. The CA itself is replaced only when it
is missing, broken or inside the renewal window; then the bundle holds the old and the new CA until the old
one expires (every serving certificate it signed expires no later than it does).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from app.certs.authority import KeyPair, issue_ca, issue_serving, san_names

_DURATION = re.compile(r"(?P<count>[1-9][0-9]*)(?P<unit>[smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

# A CA outlives the serving certificates it signs by this factor, so it is rotated rarely and never on the
# same run as an ordinary serving renewal (unless it is itself inside the renewal window).
CA_LIFETIME_FACTOR = 10


def parse_duration(text: str) -> dt.timedelta:
    """``365d``, ``12h``, ``30m``, ``90s`` -> timedelta; anything else raises ValueError saying why."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration: use a positive whole number followed by d, h, m or s "
            "(e.g. 365d, 12h)"
        )
    try:
        return dt.timedelta(**{_UNITS[match["unit"]]: int(match["count"])})
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None


def service_names(service: str, namespace: str) -> tuple[str, ...]:
    """The names the API server may use for the webhook Service (it dials ``SVC.NS.svc``)."""
    return (f"{service}.{namespace}.svc", service, f"{service}.{namespace}")


def load_certificates(pem: bytes) -> list[x509.Certificate]:
    """Every certificate in a PEM bundle; unparseable input gives an empty list."""
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        return []


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _key_matches(cert: x509.Certificate, key_pem: bytes) -> bool:
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        return False
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        return False
    return key.public_key() == cert.public_key()


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


@dataclass(frozen=True)
class StoredCertificates:
    """What the Secret holds (any key may be missing or garbage)."""

    tls_crt: bytes = b""
    tls_key: bytes = b""
    ca_crt: bytes = b""
    ca_key: bytes = b""


@dataclass(frozen=True)
class RenewalPlan:
    """What `certs ensure` must do: keep, reissue the serving pair, or also rotate the CA; and why."""

    rotate_ca: bool
    reissue_serving: bool
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changes(self) -> bool:
        return self.rotate_ca or self.reissue_serving


def _ca_problem(stored: StoredCertificates, now: dt.datetime, renew_before: dt.timedelta) -> str | None:
    certs = load_certificates(stored.ca_crt)
    if not certs:
        return "ca.crt is missing or not a PEM certificate"
    ca = certs[0]
    if not _is_ca(ca):
        return "ca.crt is not a CA certificate"
    if not _key_matches(ca, stored.ca_key):
        return "ca.key is missing or does not match ca.crt"
    if ca.not_valid_after_utc - now <= renew_before:
        return f"the CA expires at {ca.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}, inside the renewal window"
    return None


def serving_problem(
    stored: StoredCertificates,
    names: Sequence[str],
    now: dt.datetime,
    renew_before: dt.timedelta,
) -> str | None:
    """Why the stored serving pair will not do for ``names`` until ``renew_before`` from ``now``, or None.

    Also what `certs dev` asks of the files it would keep.
    """
    certs = load_certificates(stored.tls_crt)
    if not certs:
        return "tls.crt is missing or not a PEM certificate"
    cert = certs[0]
    if not _key_matches(cert, stored.tls_key):
        return "tls.key is missing or does not match tls.crt"
    missing = sorted(set(names) - san_names(cert))
    if missing:
        return f"tls.crt is not valid for {', '.join(missing)}"
    ca = load_certificates(stored.ca_crt)
    if not ca or not _signed_by(cert, ca[0]):
        return "tls.crt is not signed by ca.crt"
    if cert.not_valid_before_utc > now:
        return f"tls.crt is not valid before {cert.not_valid_before_utc:%Y-%m-%dT%H:%M:%SZ}"
    if cert.not_valid_after_utc - now <= renew_before:
        return f"tls.crt expires at {cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}, inside the renewal window"
    return None


def plan_renewal(
    stored: StoredCertificates | None,
    names: Sequence[str],
    *,
    now: dt.datetime,
    renew_before: dt.timedelta,
) -> RenewalPlan:
    """Decide what to (re)issue for a Secret's content; ``None`` means the Secret does not exist."""
    if stored is None:
        return RenewalPlan(rotate_ca=True, reissue_serving=True, reasons=("the Secret does not exist",))
    ca_problem = _ca_problem(stored, now, renew_before)
    if ca_problem is not None:
        # A new CA invalidates the serving certificate, whatever its own state.
        return RenewalPlan(rotate_ca=True, reissue_serving=True, reasons=(ca_problem,))
    problem = serving_problem(stored, names, now, renew_before)
    if problem is not None:
        return RenewalPlan(rotate_ca=False, reissue_serving=True, reasons=(problem,))
    return RenewalPlan(rotate_ca=False, reissue_serving=False)


def merge_bundle(sources: Iterable[bytes], *, now: dt.datetime) -> bytes:
    """The union of unexpired CA certificates in ``sources`` (PEM), deduplicated, newest first.

    Non-CA certificates and garbage are dropped: a ``caBundle`` only needs the roots that signed a serving
    certificate still in use, and ours never outlive their CA.
    """
    seen: dict[bytes, x509.Certificate] = {}
    for pem in sources:
        for cert in load_certificates(pem):
            if _is_ca(cert) and cert.not_valid_after_utc > now:
                seen.setdefault(cert.fingerprint(hashes.SHA256()), cert)
    ordered = sorted(seen.values(), key=lambda c: c.not_valid_after_utc, reverse=True)
    return b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in ordered)


def issue(
    stored: StoredCertificates | None,
    plan: RenewalPlan,
    names: Sequence[str],
    *,
    validity: dt.timedelta,
    now: dt.datetime,
) -> StoredCertificates:
    """Carry out ``plan``: new CA and/or serving pair from `app.certs.authority`; unchanged parts kept."""
    if stored is None or plan.rotate_ca:
        ca = issue_ca("netpol-guard webhook CA", validity * CA_LIFETIME_FACTOR, now=now)
    else:
        ca = KeyPair(stored.ca_crt, stored.ca_key)
    if stored is not None and not plan.reissue_serving:
        return stored
    serving = issue_serving(ca, names, validity, now=now)
    return StoredCertificates(
        tls_crt=serving.cert_pem, tls_key=serving.key_pem, ca_crt=ca.cert_pem, ca_key=ca.key_pem
    )
