"""`netpol-guard certs ensure`: keep the webhook's serving Secret and the configuration's caBundle valid.

Idempotent; runs as a Helm hook Job (install/upgrade) and as a daily CronJob. One pass:

1. read the Secret and decide (`app.certs.plan.plan_renewal`) whether to keep it, reissue the serving pair,
   or rotate the CA;
2. widen the ValidatingWebhookConfiguration's ``caBundle`` to every unexpired CA (old and new) *before* the
   new pair is written, so the API server trusts whichever pair a pod is serving while the kubelet and the
   server's hot reload pick up the new files;
3. write ``tls.crt``, ``tls.key``, ``ca.crt`` (and ``ca.key``, so the next serving renewal keeps the CA).

Writes carry the ``resourceVersion`` they were based on; a concurrent writer (hook Job and CronJob at once)
makes the API server answer 409 and the whole pass is retried on fresh reads.

The cluster is reached through `ClusterApi`; `KubernetesClusterApi` adapts the kubernetes client (imported
only here and in `selftest`, never by `serve` or `check`).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from app.certs.plan import (
    CA_LIFETIME_FACTOR,
    RenewalPlan,
    StoredCertificates,
    issue,
    merge_bundle,
    parse_duration,
    plan_renewal,
    service_names,
)
from app.kubeapi import ClusterUnreachable, connect, status_message, transport_errors

_ATTEMPTS = 3
_SECRET_LABELS = {"app.kubernetes.io/name": "netpol-guard", "app.kubernetes.io/component": "webhook-tls"}


class ClusterApiError(Exception):
    """A Kubernetes API call failed; the message names the object, the verb and what to check."""


class ConflictError(ClusterApiError):
    """The object changed since it was read (HTTP 409); the caller re-reads and retries."""


@dataclass(frozen=True)
class SecretState:
    """A Secret's decoded data and the resourceVersion it was read at."""

    data: dict[str, bytes]
    resource_version: str


@dataclass(frozen=True)
class WebhookState:
    """The caBundle of each webhook in a ValidatingWebhookConfiguration, in order, and its resourceVersion."""

    bundles: tuple[bytes, ...]
    resource_version: str


class ClusterApi(Protocol):
    """The five calls `certs ensure` makes. ``None`` from a read means the object does not exist."""

    def read_secret(self, namespace: str, name: str) -> SecretState | None: ...

    def create_secret(self, namespace: str, name: str, data: dict[str, bytes]) -> None: ...

    def patch_secret(
        self, namespace: str, name: str, data: dict[str, bytes], resource_version: str
    ) -> None: ...

    def read_webhook(self, name: str) -> WebhookState | None: ...

    def patch_webhook_bundle(
        self, name: str, bundle: bytes, webhooks: int, resource_version: str
    ) -> None: ...


@dataclass(frozen=True)
class EnsureRequest:
    """What to keep valid: the Secret, the webhook configuration and the Service the API server dials."""

    namespace: str
    secret: str
    webhook: str
    service: str
    validity: dt.timedelta
    renew_before: dt.timedelta

    @property
    def names(self) -> tuple[str, ...]:
        return service_names(self.service, self.namespace)


@dataclass(frozen=True)
class EnsureResult:
    """What one pass did, for the log line and for tests."""

    plan: RenewalPlan
    secret_written: bool
    bundle_written: bool
    webhook_found: bool
    bundle_certificates: int

    def describe(self, request: EnsureRequest) -> list[str]:
        """Human-readable lines: one for the Secret, one for the webhook configuration."""
        where = f"Secret {request.namespace}/{request.secret}"
        if self.plan.changes:
            what = "new CA and serving certificate" if self.plan.rotate_ca else "new serving certificate"
            lines = [f"{where}: wrote a {what} ({'; '.join(self.plan.reasons)})"]
        else:
            lines = [f"{where}: certificates are valid for {', '.join(request.names)}; nothing to do"]
        vwc = f"ValidatingWebhookConfiguration {request.webhook}"
        if not self.webhook_found:
            lines.append(
                f"{vwc}: not found yet; the next run (post-install hook or CronJob) sets its caBundle"
            )
        elif self.bundle_written:
            lines.append(f"{vwc}: caBundle set to {self.bundle_certificates} CA certificate(s)")
        else:
            lines.append(f"{vwc}: caBundle already up to date")
        return lines


def _stored(state: SecretState | None) -> StoredCertificates | None:
    if state is None:
        return None
    get = state.data.get
    return StoredCertificates(
        tls_crt=get("tls.crt", b""),
        tls_key=get("tls.key", b""),
        ca_crt=get("ca.crt", b""),
        ca_key=get("ca.key", b""),
    )


def _secret_data(certs: StoredCertificates) -> dict[str, bytes]:
    return {
        "tls.crt": certs.tls_crt,
        "tls.key": certs.tls_key,
        "ca.crt": certs.ca_crt,
        "ca.key": certs.ca_key,
    }


def ensure_once(api: ClusterApi, request: EnsureRequest, now: dt.datetime) -> EnsureResult:
    """One read-decide-write pass; raises `ConflictError` when an object changed under it."""
    secret = api.read_secret(request.namespace, request.secret)
    stored = _stored(secret)
    plan = plan_renewal(stored, request.names, now=now, renew_before=request.renew_before)
    wanted = issue(stored, plan, request.names, validity=request.validity, now=now)

    webhook = api.read_webhook(request.webhook)
    bundle_written = False
    bundle = b""
    if webhook is not None:
        # The old CA stays trusted while pods may still serve a pair it signed (until it expires).
        previous_ca = stored.ca_crt if stored is not None else b""
        bundle = merge_bundle([*webhook.bundles, previous_ca, wanted.ca_crt], now=now)
        if any(existing != bundle for existing in webhook.bundles):
            api.patch_webhook_bundle(request.webhook, bundle, len(webhook.bundles), webhook.resource_version)
            bundle_written = True

    if plan.changes:
        if secret is None:
            api.create_secret(request.namespace, request.secret, _secret_data(wanted))
        else:
            api.patch_secret(request.namespace, request.secret, _secret_data(wanted), secret.resource_version)
    return EnsureResult(
        plan=plan,
        secret_written=plan.changes,
        bundle_written=bundle_written,
        webhook_found=webhook is not None,
        bundle_certificates=bundle.count(b"-----BEGIN CERTIFICATE-----"),
    )


def ensure(
    api: ClusterApi, request: EnsureRequest, clock: Callable[[], dt.datetime] | None = None
) -> EnsureResult:
    """`ensure_once`, retried on fresh reads when another writer got there first."""
    clock = clock or (lambda: dt.datetime.now(dt.UTC))
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            return ensure_once(api, request, clock())
        except ConflictError:
            if attempt == _ATTEMPTS:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


class KubernetesClusterApi:
    """`ClusterApi` over the kubernetes client, speaking raw JSON (no model round-trips of base64 bytes).

    Patches are JSON patches that also set ``metadata.resourceVersion``: the API server then refuses a
    stale write with 409, which `ensure` retries. RBAC needed: secrets get/patch (by name) and create;
    validatingwebhookconfigurations get/patch (by name).
    """

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        # Typed as Any: the client's generated signatures differ between releases; we pass plain JSON.
        self._core: Any = client.CoreV1Api(api_client)
        self._admission: Any = client.AdmissionregistrationV1Api(api_client)
        self._api_exception: type[Exception] = client.exceptions.ApiException
        self._unreachable = transport_errors()

    @classmethod
    def from_environment(cls) -> KubernetesClusterApi:
        """In-cluster ServiceAccount credentials, or the local kubeconfig outside a cluster."""
        return cls(connect())

    def _call(self, what: str, call: Callable[[], Any], *, missing_ok: bool = False) -> Any:
        try:
            response = call()
        except self._api_exception as exc:
            status = getattr(exc, "status", None)
            if status == 404 and missing_ok:
                return None
            message = status_message(getattr(exc, "body", None)) or str(getattr(exc, "reason", exc))
            if status == 409:
                raise ConflictError(f"{what}: changed concurrently ({message})") from None
            hint = ""
            if status == 403:
                hint = "; check the Role/ClusterRole the chart binds to this ServiceAccount"
            raise ClusterApiError(f"{what}: HTTP {status}: {message}{hint}") from None
        except self._unreachable as exc:
            raise ClusterApiError(f"{what}: cannot reach the Kubernetes API: {exc}") from None
        return json.loads(response.data) if response is not None and response.data else {}

    def read_secret(self, namespace: str, name: str) -> SecretState | None:
        body = self._call(
            f"get Secret {namespace}/{name}",
            lambda: self._core.read_namespaced_secret(name, namespace, _preload_content=False),
            missing_ok=True,
        )
        if body is None:
            return None
        data = {key: _b64decode(value) for key, value in (body.get("data") or {}).items()}
        return SecretState(data=data, resource_version=body["metadata"]["resourceVersion"])

    def create_secret(self, namespace: str, name: str, data: dict[str, bytes]) -> None:
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace, "labels": _SECRET_LABELS},
            "type": "kubernetes.io/tls",
            "data": {key: _b64encode(value) for key, value in data.items()},
        }
        self._call(
            f"create Secret {namespace}/{name}",
            lambda: self._core.create_namespaced_secret(namespace, body, _preload_content=False),
        )

    def patch_secret(self, namespace: str, name: str, data: dict[str, bytes], resource_version: str) -> None:
        # "add" on /data replaces the whole map, and also works on a Secret that has no data map yet.
        patch = [
            {"op": "replace", "path": "/metadata/resourceVersion", "value": resource_version},
            {"op": "add", "path": "/data", "value": {key: _b64encode(value) for key, value in data.items()}},
        ]
        self._call(
            f"patch Secret {namespace}/{name}",
            lambda: self._core.patch_namespaced_secret(name, namespace, patch, _preload_content=False),
        )

    def read_webhook(self, name: str) -> WebhookState | None:
        body = self._call(
            f"get ValidatingWebhookConfiguration {name}",
            lambda: self._admission.read_validating_webhook_configuration(name, _preload_content=False),
            missing_ok=True,
        )
        if body is None:
            return None
        bundles = tuple(
            _b64decode((hook.get("clientConfig") or {}).get("caBundle") or "")
            for hook in body.get("webhooks") or []
        )
        return WebhookState(bundles=bundles, resource_version=body["metadata"]["resourceVersion"])

    def patch_webhook_bundle(self, name: str, bundle: bytes, webhooks: int, resource_version: str) -> None:
        patch = [{"op": "replace", "path": "/metadata/resourceVersion", "value": resource_version}]
        patch += [
            {"op": "add", "path": f"/webhooks/{index}/clientConfig/caBundle", "value": _b64encode(bundle)}
            for index in range(webhooks)
        ]
        self._call(
            f"patch ValidatingWebhookConfiguration {name}",
            lambda: self._admission.patch_validating_webhook_configuration(
                name, patch, _preload_content=False
            ),
        )


def _b64encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _b64decode(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        return b""  # unreadable content counts as missing; the plan then replaces it


def request_from_args(args: argparse.Namespace) -> EnsureRequest:
    """Validate the CLI flags; raises ValueError naming the flag."""
    from app.apivalidation import dns1123_label_problems, dns1123_subdomain_problems

    for flag, value, problems in (
        ("--namespace", args.namespace, dns1123_label_problems),
        ("--secret", args.secret, dns1123_subdomain_problems),
        ("--webhook", args.webhook, dns1123_subdomain_problems),
        ("--service", args.service, dns1123_label_problems),
    ):
        found = problems(value)
        if found:
            raise ValueError(f"{flag} {value!r} is not a valid Kubernetes name: {found[0]}")
    try:
        validity = parse_duration(args.validity)
    except ValueError as exc:
        raise ValueError(f"--validity: {exc}") from None
    try:
        renew_before = parse_duration(args.renew_before)
    except ValueError as exc:
        raise ValueError(f"--renew-before: {exc}") from None
    try:
        dt.datetime.now(dt.UTC) + validity * CA_LIFETIME_FACTOR
    except OverflowError:
        raise ValueError(
            f"--validity ({args.validity}) is too long: the CA lives {CA_LIFETIME_FACTOR} times as long, "
            "and a certificate cannot end after the year 9999"
        ) from None
    if renew_before >= validity:
        raise ValueError(
            f"--renew-before ({args.renew_before}) must be shorter than --validity ({args.validity}), "
            "or every run would renew"
        )
    return EnsureRequest(
        namespace=args.namespace,
        secret=args.secret,
        webhook=args.webhook,
        service=args.service,
        validity=validity,
        renew_before=renew_before,
    )


def run(args: argparse.Namespace, api: ClusterApi | None = None) -> int:
    """CLI entry for `certs ensure`: 0 done (changed or not), 1 API failure, 2 bad flags."""
    try:
        request = request_from_args(args)
    except ValueError as exc:
        print(f"netpol-guard certs ensure: {exc}", file=sys.stderr)
        return 2
    try:
        result = ensure(api or KubernetesClusterApi.from_environment(), request)
    except (ClusterApiError, ClusterUnreachable) as exc:
        print(f"netpol-guard certs ensure: {exc}", file=sys.stderr)
        return 1
    for line in result.describe(request):
        print(line)
    return 0
