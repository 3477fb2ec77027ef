"""Renewal decisions, bundle merging and durations, with real certificates issued at chosen times."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from app.certs.authority import KeyPair, issue_ca, issue_serving, san_names
from app.certs.plan import (
    CA_LIFETIME_FACTOR,
    StoredCertificates,
    issue,
    load_certificates,
    merge_bundle,
    parse_duration,
    plan_renewal,
    service_names,
)

NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
NAMES = service_names("netpol-guard", "guard")
RENEW_BEFORE = 30 * DAY


def stored(
    *,
    ca_issued: dt.datetime = NOW - DAY,
    ca_validity: dt.timedelta = 3650 * DAY,
    serving_issued: dt.datetime = NOW - DAY,
    serving_validity: dt.timedelta = 365 * DAY,
    names: tuple[str, ...] = NAMES,
) -> StoredCertificates:
    ca = issue_ca("test CA", ca_validity, now=ca_issued)
    serving = issue_serving(ca, names, serving_validity, now=serving_issued)
    return StoredCertificates(serving.cert_pem, serving.key_pem, ca.cert_pem, ca.key_pem)


def test_durations_accept_days_hours_minutes_and_seconds() -> None:
    assert parse_duration("365d") == 365 * DAY
    assert parse_duration("12h") == dt.timedelta(hours=12)
    assert parse_duration("30m") == dt.timedelta(minutes=30)
    assert parse_duration(" 90s ") == dt.timedelta(seconds=90)


@pytest.mark.parametrize("text", ["", "365", "0d", "-1d", "1w", "1.5d", "d", "1d2h"], ids=repr)
def test_durations_reject_anything_else_and_say_what_is_allowed(text: str) -> None:
    with pytest.raises(ValueError, match=r"d, h, m or s"):
        parse_duration(text)


def test_the_service_names_cover_what_the_api_server_dials() -> None:
    assert service_names("svc", "ns") == ("svc.ns.svc", "svc", "svc.ns")


def test_a_valid_secret_is_kept() -> None:
    plan = plan_renewal(stored(), NAMES, now=NOW, renew_before=RENEW_BEFORE)
    assert not plan.changes
    assert plan.reasons == ()


def test_a_missing_secret_gets_a_new_ca_and_serving_certificate() -> None:
    plan = plan_renewal(None, NAMES, now=NOW, renew_before=RENEW_BEFORE)
    assert plan.rotate_ca and plan.reissue_serving
    assert "does not exist" in plan.reasons[0]


def _garbage(field: str) -> StoredCertificates:
    good = stored()
    values = {"tls_crt": good.tls_crt, "tls_key": good.tls_key, "ca_crt": good.ca_crt, "ca_key": good.ca_key}
    values[field] = b"not PEM"
    return StoredCertificates(**values)


def _other_ca_key() -> StoredCertificates:
    good = stored()
    return StoredCertificates(good.tls_crt, good.tls_key, good.ca_crt, issue_ca("x", DAY, now=NOW).key_pem)


def _signed_by_another_ca() -> StoredCertificates:
    good = stored()
    other = issue_serving(issue_ca("other", 3650 * DAY, now=NOW - DAY), NAMES, 365 * DAY, now=NOW - DAY)
    return StoredCertificates(other.cert_pem, other.key_pem, good.ca_crt, good.ca_key)


def _serving_cert_as_ca() -> StoredCertificates:
    good = stored()
    return StoredCertificates(good.tls_crt, good.tls_key, good.tls_crt, good.tls_key)


CA_PROBLEMS = [
    (_garbage("ca_crt"), "ca.crt is missing or not a PEM certificate"),
    (_garbage("ca_key"), "ca.key is missing or does not match"),
    (_other_ca_key(), "ca.key is missing or does not match"),
    (_serving_cert_as_ca(), "ca.crt is not a CA certificate"),
    (
        stored(ca_issued=NOW - 3640 * DAY, serving_issued=NOW - DAY, serving_validity=5 * DAY),
        "the CA expires at",
    ),
    (stored(ca_issued=NOW - 4000 * DAY, serving_issued=NOW - 4000 * DAY), "the CA expires at"),
]


@pytest.mark.parametrize(
    ("certs", "reason"),
    CA_PROBLEMS,
    ids=[
        "ca-not-pem",
        "ca-key-garbage",
        "ca-key-of-another-ca",
        "ca-is-not-a-ca",
        "ca-near-expiry",
        "ca-expired",
    ],
)
def test_a_broken_or_expiring_ca_is_rotated_together_with_the_serving_certificate(
    certs: StoredCertificates, reason: str
) -> None:
    plan = plan_renewal(certs, NAMES, now=NOW, renew_before=RENEW_BEFORE)
    assert plan.rotate_ca and plan.reissue_serving
    assert reason in plan.reasons[0]


SERVING_PROBLEMS = [
    (_garbage("tls_crt"), "tls.crt is missing or not a PEM certificate"),
    (_garbage("tls_key"), "tls.key is missing or does not match"),
    (stored(names=("netpol-guard.other.svc", "netpol-guard")), "not valid for netpol-guard.guard"),
    (stored(names=("netpol-guard", "netpol-guard.guard")), "not valid for netpol-guard.guard.svc"),
    (_signed_by_another_ca(), "not signed by ca.crt"),
    (stored(serving_issued=NOW - 340 * DAY), "inside the renewal window"),
    (stored(serving_issued=NOW - 400 * DAY), "inside the renewal window"),
    (stored(serving_issued=NOW + 2 * DAY), "not valid before"),
]


@pytest.mark.parametrize(
    ("certs", "reason"),
    SERVING_PROBLEMS,
    ids=[
        "tls-not-pem",
        "tls-key-garbage",
        "wrong-namespace",
        "missing-svc-name",
        "other-issuer",
        "near-expiry",
        "expired",
        "not-yet-valid",
    ],
)
def test_a_bad_serving_certificate_is_reissued_by_the_same_ca(certs: StoredCertificates, reason: str) -> None:
    plan = plan_renewal(certs, NAMES, now=NOW, renew_before=RENEW_BEFORE)
    assert plan.reissue_serving and not plan.rotate_ca
    assert reason in plan.reasons[0]


def test_a_certificate_just_outside_the_renewal_window_is_kept() -> None:
    certs = stored(serving_issued=NOW - 334 * DAY)  # 31 days left (plus the issuer's backdating)
    assert not plan_renewal(certs, NAMES, now=NOW, renew_before=RENEW_BEFORE).changes


def test_issuing_a_serving_renewal_keeps_the_ca_and_covers_every_service_name() -> None:
    old = stored(serving_issued=NOW - 340 * DAY)
    plan = plan_renewal(old, NAMES, now=NOW, renew_before=RENEW_BEFORE)
    new = issue(old, plan, NAMES, validity=365 * DAY, now=NOW)
    assert new.ca_crt == old.ca_crt and new.ca_key == old.ca_key
    assert new.tls_crt != old.tls_crt
    cert = x509.load_pem_x509_certificate(new.tls_crt)
    assert san_names(cert) == set(NAMES)
    assert cert.not_valid_after_utc == NOW + 365 * DAY
    assert not plan_renewal(new, NAMES, now=NOW, renew_before=RENEW_BEFORE).changes


def test_a_rotated_ca_outlives_its_serving_certificates() -> None:
    new = issue(
        None, plan_renewal(None, NAMES, now=NOW, renew_before=RENEW_BEFORE), NAMES, validity=DAY, now=NOW
    )
    ca = x509.load_pem_x509_certificate(new.ca_crt)
    assert ca.not_valid_after_utc == NOW + CA_LIFETIME_FACTOR * DAY
    x509.load_pem_x509_certificate(new.tls_crt).verify_directly_issued_by(ca)
    # A short validity (the e2e rotation test uses minutes) still yields a plan that keeps the pair.
    assert not plan_renewal(new, NAMES, now=NOW, renew_before=dt.timedelta(hours=1)).changes


def test_keeping_returns_the_stored_certificates_unchanged() -> None:
    old = stored()
    plan = plan_renewal(old, NAMES, now=NOW, renew_before=RENEW_BEFORE)
    assert issue(old, plan, NAMES, validity=365 * DAY, now=NOW) is old


def _ca(issued: dt.datetime, validity: dt.timedelta) -> KeyPair:
    return issue_ca("bundle CA", validity, now=issued)


def test_the_bundle_holds_old_and_new_ca_until_the_old_one_expires() -> None:
    old = _ca(NOW - 3640 * DAY, 3650 * DAY)  # expires in 10 days
    new = _ca(NOW, 3650 * DAY)
    bundle = merge_bundle([old.cert_pem, new.cert_pem, old.cert_pem], now=NOW)
    fingerprints = [c.serial_number for c in load_certificates(bundle)]
    assert fingerprints == [new.certificate.serial_number, old.certificate.serial_number]
    later = merge_bundle([bundle, new.cert_pem], now=NOW + 11 * DAY)
    assert [c.serial_number for c in load_certificates(later)] == [new.certificate.serial_number]


def test_the_bundle_drops_garbage_and_leaf_certificates() -> None:
    ca = _ca(NOW - DAY, 3650 * DAY)
    leaf = issue_serving(ca, NAMES, 365 * DAY, now=NOW - DAY)
    bundle = merge_bundle([b"garbage", leaf.cert_pem + ca.cert_pem, b""], now=NOW)
    assert [c.serial_number for c in load_certificates(bundle)] == [ca.certificate.serial_number]
