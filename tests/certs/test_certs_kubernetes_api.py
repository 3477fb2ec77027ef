"""The kubernetes-client adapter of `certs ensure`, talking HTTP to a small fake API server.

The fake keeps objects as JSON, applies JSON patches (add/replace) and refuses a write whose
``metadata.resourceVersion`` is stale with 409, like the real API server. It checks the content type
the client sends, so a change in the client's patch defaults would fail here, not in a cluster.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kubernetes")
from kubernetes import client

from app.certs.ensure import ClusterApiError, ConflictError, EnsureRequest, KubernetesClusterApi, ensure
from app.certs.plan import load_certificates

SECRETS = "/api/v1/namespaces/guard/secrets"
VWCS = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
REQUEST = EnsureRequest("guard", "netpol-guard-tls", "validate.netpol-guard.io", "netpol-guard",
                        dt.timedelta(days=365), dt.timedelta(days=30))  # fmt: skip


class FakeApiServer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.objects: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.content_types: list[str] = []

    def store(self, path: str, obj: dict[str, Any]) -> None:
        self.version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.version)
        self.objects[path] = obj


def _apply(obj: dict[str, Any], patch: list[dict[str, Any]]) -> dict[str, Any]:
    result = copy.deepcopy(obj)
    for op in patch:
        assert op["op"] in ("add", "replace"), op
        *parents, last = op["path"].lstrip("/").split("/")
        target: Any = result
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = op["value"]
    return result


class _Handler(BaseHTTPRequestHandler):
    server: FakeApiServer

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _status(self, code: int, message: str) -> None:
        self._send(
            code,
            {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code},
        )

    def _body(self) -> Any:
        self.server.content_types.append(f"{self.command} {self.headers['Content-Type']}")
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self) -> None:
        obj = self.server.objects.get(self.path.split("?")[0])
        if obj is None:
            self._status(404, f"{self.path} not found")
        else:
            self._send(200, obj)

    def do_POST(self) -> None:
        body = self._body()
        path = f"{self.path.split('?')[0]}/{body['metadata']['name']}"
        if path in self.server.objects:
            self._status(409, "already exists")
            return
        self.server.store(path, body)
        self._send(201, self.server.objects[path])

    def do_PATCH(self) -> None:
        path = self.path.split("?")[0]
        patch = self._body()
        current = self.server.objects.get(path)
        if current is None:
            self._status(404, f"{path} not found")
            return
        patched = _apply(current, patch)
        if patched["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"]:
            self._status(409, "the object has been modified; please apply your changes to the latest version")
            return
        self.server.store(path, patched)
        self._send(200, patched)


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    fake = FakeApiServer()
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    yield fake
    fake.shutdown()
    fake.server_close()


def adapter(server: FakeApiServer) -> KubernetesClusterApi:
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{server.server_address[1]}"
    return KubernetesClusterApi(client.ApiClient(configuration))


def add_webhook(server: FakeApiServer) -> None:
    hook = {"name": "validate.netpol-guard.io", "clientConfig": {"service": {"name": "netpol-guard"}}}
    server.store(
        f"{VWCS}/validate.netpol-guard.io",
        {"metadata": {"name": "validate.netpol-guard.io"}, "webhooks": [hook]},
    )


def test_ensure_through_the_kubernetes_client_creates_the_secret_and_sets_the_bundle(
    server: FakeApiServer,
) -> None:
    add_webhook(server)
    api = adapter(server)
    result = ensure(api, REQUEST)
    assert result.secret_written and result.bundle_written
    secret = server.objects[f"{SECRETS}/netpol-guard-tls"]
    assert secret["type"] == "kubernetes.io/tls"
    assert sorted(secret["data"]) == ["ca.crt", "ca.key", "tls.crt", "tls.key"]
    state = api.read_secret("guard", "netpol-guard-tls")
    webhook = api.read_webhook("validate.netpol-guard.io")
    assert state is not None and webhook is not None
    assert load_certificates(webhook.bundles[0]) == load_certificates(state.data["ca.crt"])
    # The API server reads a body without Content-Type as JSON; a patch must say which kind it is.
    assert set(server.content_types) <= {
        "POST None",
        "POST application/json",
        "PATCH application/json-patch+json",
    }
    assert "PATCH application/json-patch+json" in server.content_types
    assert not ensure(api, REQUEST).secret_written  # idempotent through the real client too


def test_a_secret_without_data_is_filled_in_place(server: FakeApiServer) -> None:
    server.store(f"{SECRETS}/netpol-guard-tls", {"metadata": {"name": "netpol-guard-tls"}, "type": "Opaque"})
    api = adapter(server)
    ensure(api, REQUEST)
    secret = server.objects[f"{SECRETS}/netpol-guard-tls"]
    assert secret["type"] == "Opaque" and "tls.crt" in secret["data"]


def test_a_stale_write_is_reported_as_a_conflict(server: FakeApiServer) -> None:
    add_webhook(server)
    api = adapter(server)
    with pytest.raises(ConflictError, match=r"patch ValidatingWebhookConfiguration validate\.netpol"):
        api.patch_webhook_bundle("validate.netpol-guard.io", b"x", 1, resource_version="0")


def test_a_missing_object_reads_as_none(server: FakeApiServer) -> None:
    api = adapter(server)
    assert api.read_secret("guard", "absent") is None
    assert api.read_webhook("absent") is None


def test_an_api_server_that_does_not_answer_is_an_error_naming_the_call() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.retries = 0
    api = KubernetesClusterApi(client.ApiClient(configuration))
    with pytest.raises(ClusterApiError, match=r"^get Secret guard/x: cannot reach the Kubernetes API: "):
        api.read_secret("guard", "x")


def test_a_broken_kubeconfig_exits_one_naming_the_file_without_a_traceback(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("[1, 2]\n")  # YAML, but not a kubeconfig
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE")}
    result = subprocess.run(
        [sys.executable, "-m", "app", "certs", "ensure", "--namespace", "guard", "--secret", "tls",
         "--webhook", "validate.netpol-guard.io", "--service", "netpol-guard"],
        env={**env, "KUBECONFIG": str(kubeconfig)},
        cwd=Path(__file__).parents[2],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert f"the kubeconfig {kubeconfig} cannot be loaded" in result.stderr
    assert "Traceback" not in result.stderr
