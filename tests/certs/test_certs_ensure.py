"""`certs ensure` against an in-memory cluster: idempotence, ordering of writes, rotation, conflicts."""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass, field

import pytest
from cryptography import x509

from app.certs.authority import san_names
from app.certs.ensure import (
    ConflictError,
    EnsureRequest,
    SecretState,
    WebhookState,
    ensure,
    run,
)
from app.certs.plan import load_certificates

NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
REQUEST = EnsureRequest(
    namespace="guard",
    secret="netpol-guard-tls",
    webhook="validate.netpol-guard.io",
    service="netpol-guard",
    validity=365 * DAY,
    renew_before=30 * DAY,
)


@dataclass
class FakeCluster:
    """Just enough of the API server: objects with resourceVersions, 409 on a stale write, a call log."""

    secrets: dict[tuple[str, str], SecretState] = field(default_factory=dict)
    webhooks: dict[str, WebhookState] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    conflicts: int = 0  # the next N writes fail as if someone else wrote first
    _version: int = 0

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def _write(self, what: str, current: str | None, expected: str | None) -> None:
        self.calls.append(what)
        if self.conflicts:
            self.conflicts -= 1
            raise ConflictError(f"{what}: changed concurrently")
        if current != expected:
            raise ConflictError(f"{what}: stale resourceVersion {expected}, now {current}")

    def read_secret(self, namespace: str, name: str) -> SecretState | None:
        return self.secrets.get((namespace, name))

    def create_secret(self, namespace: str, name: str, data: dict[str, bytes]) -> None:
        self._write("create secret", None, None)
        if (namespace, name) in self.secrets:
            raise ConflictError("create secret: already exists")
        self.secrets[(namespace, name)] = SecretState(dict(data), self._next_version())

    def patch_secret(self, namespace: str, name: str, data: dict[str, bytes], resource_version: str) -> None:
        self._write("patch secret", self.secrets[(namespace, name)].resource_version, resource_version)
        self.secrets[(namespace, name)] = SecretState(dict(data), self._next_version())

    def read_webhook(self, name: str) -> WebhookState | None:
        return self.webhooks.get(name)

    def patch_webhook_bundle(self, name: str, bundle: bytes, webhooks: int, resource_version: str) -> None:
        self._write("patch webhook", self.webhooks[name].resource_version, resource_version)
        self.webhooks[name] = WebhookState((bundle,) * webhooks, self._next_version())

    def add_webhook(self) -> None:
        self.webhooks[REQUEST.webhook] = WebhookState((b"",), self._next_version())

    @property
    def secret(self) -> dict[str, bytes]:
        return self.secrets[(REQUEST.namespace, REQUEST.secret)].data

    @property
    def bundle_serials(self) -> list[int]:
        return [c.serial_number for c in load_certificates(self.webhooks[REQUEST.webhook].bundles[0])]


def serial(pem: bytes) -> int:
    return x509.load_pem_x509_certificate(pem).serial_number


def test_the_first_run_creates_the_secret_and_points_the_webhook_at_its_ca() -> None:
    cluster = FakeCluster()
    cluster.add_webhook()
    result = ensure(cluster, REQUEST, clock=lambda: NOW)
    assert result.secret_written and result.bundle_written
    assert set(cluster.secret) == {"tls.crt", "tls.key", "ca.crt", "ca.key"}
    assert san_names(x509.load_pem_x509_certificate(cluster.secret["tls.crt"])) == {
        "netpol-guard.guard.svc",
        "netpol-guard",
        "netpol-guard.guard",
    }
    assert cluster.bundle_serials == [serial(cluster.secret["ca.crt"])]
    # The webhook learns the CA before any pod can serve a pair it signed.
    assert cluster.calls == ["patch webhook", "create secret"]


def test_a_second_run_changes_nothing() -> None:
    cluster = FakeCluster()
    cluster.add_webhook()
    ensure(cluster, REQUEST, clock=lambda: NOW)
    cluster.calls.clear()
    result = ensure(cluster, REQUEST, clock=lambda: NOW + DAY)
    assert cluster.calls == []
    assert not result.secret_written and not result.bundle_written
    assert "nothing to do" in result.describe(REQUEST)[0]


def test_before_the_webhook_exists_only_the_secret_is_written_and_the_next_run_sets_the_bundle() -> None:
    cluster = FakeCluster()
    first = ensure(cluster, REQUEST, clock=lambda: NOW)
    assert not first.webhook_found
    assert "not found yet" in first.describe(REQUEST)[1]
    cluster.add_webhook()  # helm creates it after the pre-install hook
    second = ensure(cluster, REQUEST, clock=lambda: NOW)
    assert cluster.calls == ["create secret", "patch webhook"]
    assert second.bundle_written and not second.secret_written


def test_a_serving_renewal_keeps_the_ca_and_the_bundle() -> None:
    cluster = FakeCluster()
    cluster.add_webhook()
    ensure(cluster, REQUEST, clock=lambda: NOW)
    old = dict(cluster.secret)
    cluster.calls.clear()
    result = ensure(cluster, REQUEST, clock=lambda: NOW + 340 * DAY)
    assert result.secret_written and not result.plan.rotate_ca
    assert cluster.secret["ca.crt"] == old["ca.crt"]
    assert cluster.secret["tls.crt"] != old["tls.crt"]
    assert cluster.calls == ["patch secret"]


def test_a_ca_rotation_trusts_old_and_new_ca_until_the_old_one_expires() -> None:
    cluster = FakeCluster()
    cluster.add_webhook()
    short = EnsureRequest(**{**REQUEST.__dict__, "validity": 10 * DAY, "renew_before": 2 * DAY})
    ensure(cluster, short, clock=lambda: NOW)
    old_ca = serial(cluster.secret["ca.crt"])  # lives 100 days
    cluster.calls.clear()
    result = ensure(cluster, short, clock=lambda: NOW + 99 * DAY)
    new_ca = serial(cluster.secret["ca.crt"])
    assert result.plan.rotate_ca and new_ca != old_ca
    assert cluster.bundle_serials == [new_ca, old_ca]
    assert cluster.calls == ["patch webhook", "patch secret"]
    ensure(cluster, short, clock=lambda: NOW + 101 * DAY)  # the old CA has expired
    assert cluster.bundle_serials == [new_ca]


def test_a_secret_for_the_wrong_service_is_replaced() -> None:
    cluster = FakeCluster()
    cluster.add_webhook()
    ensure(cluster, EnsureRequest(**{**REQUEST.__dict__, "service": "old-name"}), clock=lambda: NOW)
    result = ensure(cluster, REQUEST, clock=lambda: NOW)
    assert "not valid for netpol-guard" in result.plan.reasons[0]
    assert "netpol-guard.guard.svc" in san_names(x509.load_pem_x509_certificate(cluster.secret["tls.crt"]))


def test_an_unreadable_secret_is_replaced() -> None:
    cluster = FakeCluster()
    cluster.add_webhook()
    cluster.secrets[(REQUEST.namespace, REQUEST.secret)] = SecretState({"tls.crt": b"\x00garbage"}, "7")
    result = ensure(cluster, REQUEST, clock=lambda: NOW)
    assert result.plan.rotate_ca
    assert cluster.calls[-1] == "patch secret"
    assert serial(cluster.secret["tls.crt"]) > 0


def test_a_concurrent_writer_makes_the_pass_start_again_on_fresh_reads() -> None:
    cluster = FakeCluster(conflicts=1)
    cluster.add_webhook()
    result = ensure(cluster, REQUEST, clock=lambda: NOW)
    assert result.secret_written
    assert cluster.calls == ["patch webhook", "patch webhook", "create secret"]
    assert cluster.bundle_serials == [serial(cluster.secret["ca.crt"])]


def args(**overrides: str) -> argparse.Namespace:
    values = {
        "namespace": "guard",
        "secret": "netpol-guard-tls",
        "webhook": "validate.netpol-guard.io",
        "service": "netpol-guard",
        "validity": "365d",
        "renew_before": "30d",
    }
    return argparse.Namespace(**{**values, **overrides})


def test_run_reports_what_it_did_and_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    cluster = FakeCluster()
    cluster.add_webhook()
    assert run(args(), api=cluster) == 0
    out = capsys.readouterr().out
    assert "Secret guard/netpol-guard-tls: wrote a new CA and serving certificate" in out
    assert "caBundle set to 1 CA certificate(s)" in out


def test_run_exits_one_when_writes_keep_conflicting(capsys: pytest.CaptureFixture[str]) -> None:
    cluster = FakeCluster(conflicts=99)
    cluster.add_webhook()
    assert run(args(), api=cluster) == 1
    assert "changed concurrently" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"validity": "1y"}, "--validity: '1y' is not a duration"),
        ({"renew_before": "soon"}, "--renew-before: 'soon' is not a duration"),
        ({"validity": "30d", "renew_before": "30d"}, "must be shorter than --validity"),
        ({"validity": "99999999999999d"}, "--validity: '99999999999999d' is too long a duration"),
        ({"validity": "400000d"}, "--validity (400000d) is too long: the CA lives 10 times as long"),
        ({"service": "web hook"}, "--service 'web hook' is not a valid Kubernetes name"),
        ({"namespace": ""}, "--namespace '' is not a valid Kubernetes name"),
    ],
    ids=[
        "bad-validity",
        "bad-renew-before",
        "window-as-long-as-validity",
        "beyond-timedelta",
        "ca-beyond-year-9999",
        "service-not-a-dns-label",
        "empty-namespace",
    ],
)
def test_run_rejects_bad_flags_with_exit_two(
    overrides: dict[str, str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(args(**overrides), api=FakeCluster()) == 2
    assert message in capsys.readouterr().err
