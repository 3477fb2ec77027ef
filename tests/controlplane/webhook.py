"""netpol-guard served from the working tree as a local process, and the chart's webhook pointed at it.

The chart is installed with ``webhook.url=https://127.0.0.1:PORT/validate/networkpolicies`` (and the local
CA as caBundle), so the API server calls this process and nothing else. `loopback_problems` refuses any
webhook configuration that would make the API server dial a non-loopback address (a ClusterIP Service, a
remote host): it runs on what is about to be registered, before it is registered.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import os
import shutil
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

from app.certs.authority import KeyPair, issue_ca, issue_serving
from controlplane.cluster import ControlPlane, wait_for
from controlplane.kubetools import ROOT
from controlplane.processes import Process, Result, Supervisor, free_port, run

CHART: Final = ROOT / "charts" / "netpol-guard"
PATH: Final = "/validate/networkpolicies"
WEBHOOK_NAME: Final = "validate.netpol-guard.io"
SERVING_NAMES: Final = ("127.0.0.1", "localhost")
_LOOPBACK_NAMES: Final = {"localhost", "localhost."}
_VALIDITY: Final = dt.timedelta(days=2)


class NonLoopbackWebhook(Exception):
    """A webhook configuration would send the API server off this machine; never registered."""


def _is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


ServiceLookup = Callable[[str, str], Mapping[str, Any] | None]


def loopback_problems(objects: Iterable[Mapping[str, Any]], lookup: ServiceLookup | None = None) -> list[str]:
    """Why the webhook configurations among ``objects`` would reach beyond loopback ([] when they do not).

    A ``clientConfig.url`` must name 127.0.0.0/8, ::1 or localhost. A ``clientConfig.service`` is only
    safe as an ExternalName Service to localhost (found among ``objects``, else through ``lookup``):
    any other Service resolves to a ClusterIP.
    """
    objects = list(objects)
    services = {
        (obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): obj
        for obj in objects
        if obj.get("kind") == "Service"
    }
    problems = []
    for obj in objects:
        if obj.get("kind") not in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
            continue
        for hook in obj.get("webhooks") or []:
            where = f"{obj['kind']} {obj['metadata']['name']} webhook {hook.get('name')}"
            config = hook.get("clientConfig") or {}
            if "url" in config:
                host = urlsplit(config["url"]).hostname or ""
                if not _is_loopback(host):
                    problems.append(f"{where}: url {config['url']} is not on loopback")
                continue
            ref = config.get("service") or {}
            key = (ref.get("namespace", ""), ref.get("name", ""))
            service = services.get(key) or (lookup(*key) if lookup else None)
            spec = (service or {}).get("spec", {})
            if spec.get("type") != "ExternalName" or not _is_loopback(spec.get("externalName", "")):
                problems.append(
                    f"{where}: service {key[0]}/{key[1]} is not an ExternalName Service to localhost "
                    "(the API server would dial its ClusterIP)"
                )
    return problems


def _write_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    os.replace(tmp, path)


@dataclass
class LocalWebhook:
    """`netpol-guard serve` from this checkout on 127.0.0.1, with its own CA and serving certificate."""

    directory: Path
    supervisor: Supervisor
    config: Path | None = None
    reload_interval: float = 0.5
    port: int = field(default_factory=free_port)
    probe_port: int = field(default_factory=free_port)
    ca: KeyPair = field(default_factory=lambda: issue_ca("netpol-guard local webhook CA", _VALIDITY))
    process: Process | None = None

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "ca.crt").write_bytes(self.ca.cert_pem)
        if not self.cert_file.exists():
            self.rotate_certificate()

    @property
    def cert_file(self) -> Path:
        return self.directory / "tls.crt"

    @property
    def key_file(self) -> Path:
        return self.directory / "tls.key"

    @property
    def url(self) -> str:
        """What the webhook configuration's clientConfig.url says."""
        return f"https://127.0.0.1:{self.port}{PATH}"

    @property
    def ca_bundle(self) -> str:
        """The CA as the caBundle field wants it (base64 of the PEM)."""
        return base64.b64encode(self.ca.cert_pem).decode()

    @property
    def log_file(self) -> Path:
        return self.directory / "netpol-guard.log"

    def rotate_certificate(self, names: Sequence[str] = SERVING_NAMES) -> KeyPair:
        """A fresh serving pair from the same CA, swapped in atomically (the server reloads it)."""
        pair = issue_serving(self.ca, list(names), _VALIDITY)
        _write_atomically(self.key_file, pair.key_pem)
        _write_atomically(self.cert_file, pair.cert_pem, 0o644)
        return pair

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--probe-host", "127.0.0.1"]
        command += ["--port", str(self.port), "--probe-port", str(self.probe_port)]
        command += ["--tls-cert-file", str(self.cert_file), "--tls-private-key-file", str(self.key_file)]
        command += ["--reload-interval", str(self.reload_interval), "--shutdown-delay", "0"]
        if self.config is not None:
            command += ["--config", str(self.config)]
        return command

    def start(self, timeout: float = 60.0) -> None:
        """Start the server (same ports every time) and wait for /readyz."""
        if self.process is not None and self.process.alive():
            return
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
        self.process = self.supervisor.start("netpol-guard", self.command(), self.log_file, env=env, cwd=ROOT)
        self.process.wait_until(self.ready, timeout, "/readyz")

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.probe_port}/readyz", timeout=5) as answer:
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def restart(self, timeout: float = 60.0) -> None:
        self.stop()
        self.start(timeout)

    def decisions(self) -> list[dict[str, Any]]:
        """Every decision line the server logged so far (JSON), oldest first."""
        found = []
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("msg", entry.get("message")) == "decision":
                found.append(entry)
        return found

    def saw(self, name: str) -> bool:
        """Whether a review of an object named ``name`` reached the server."""
        return any(entry.get("name") == name for entry in self.decisions())


def find_helm() -> str:
    """Helm 4 from `make tools` (.tools/helm), else `helm` on PATH."""
    local = ROOT / ".tools" / "helm"
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    found = shutil.which("helm")
    if found is None:
        raise FileNotFoundError("no helm: run `make tools` (extracts Helm 4 into .tools/helm)")
    return found


@dataclass(frozen=True)
class Release:
    """A chart installed into the control plane."""

    name: str
    namespace: str
    install: Result


def chart_values(webhook: LocalWebhook) -> list[str]:
    """The --set flags that point the chart's webhook at ``webhook`` (its CA as the caBundle)."""
    return [
        f"webhook.url={webhook.url}",
        "tls.mode=existingSecret",
        # The Deployment that would mount it never runs (no nodes); the local process has the files.
        "tls.existingSecret.name=netpol-guard-local-tls",
        f"tls.existingSecret.caBundle={webhook.ca_bundle}",
    ]


def install_chart(
    plane: ControlPlane,
    webhook: LocalWebhook,
    release: str = "netpol-guard",
    namespace: str = "netpol-guard",
    values_files: Sequence[Path] = (),
    set_values: Sequence[str] = (),
    extra_args: Sequence[str] = (),
) -> Release:
    """`helm install --no-hooks` the chart with its webhook at ``webhook``; refuses (NonLoopbackWebhook)
    when the rendered webhook configuration would reach beyond loopback. Hooks are Jobs, which never run
    without nodes: run their commands as local processes instead."""
    helm = find_helm()
    args = ["--namespace", namespace, "--kubeconfig", str(plane.kubeconfig)]
    for values in values_files:
        args += ["-f", str(values)]
    for item in [*chart_values(webhook), *set_values]:
        args += ["--set", item]
    rendered = run([helm, "template", release, str(CHART), *args, *extra_args], timeout=120)
    if rendered.rc != 0:
        raise AssertionError(f"helm template failed: {rendered.stderr}")
    objects = [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]
    problems = loopback_problems(objects, lambda ns, name: _cluster_service(plane, ns, name))
    if problems:
        raise NonLoopbackWebhook("; ".join(problems))
    command = [helm, "install", release, str(CHART), *args, "--create-namespace", "--no-hooks", *extra_args]
    installed = run(command, timeout=180)
    if installed.rc != 0:
        raise AssertionError(f"helm install failed: {installed.stderr}")
    return Release(release, namespace, installed)


def _cluster_service(plane: ControlPlane, namespace: str, name: str) -> Mapping[str, Any] | None:
    result = plane.kubectl("get", "service", name, "-n", namespace, "-o", "json")
    return json.loads(result.stdout) if result.rc == 0 else None


def register_webhook_configuration(plane: ControlPlane, objects: Sequence[Mapping[str, Any]]) -> Result:
    """`kubectl apply` webhook configurations (and Services) after the loopback check passes."""
    problems = loopback_problems(objects, lambda ns, name: _cluster_service(plane, ns, name))
    if problems:
        raise NonLoopbackWebhook("; ".join(problems))
    return plane.kubectl(
        "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    )


def probe_policy(name: str, namespace: str) -> str:
    """A NetworkPolicy manifest that every rule set judges (it only has to reach the server)."""
    return json.dumps(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
        }
    )


def wait_until_answering(
    plane: ControlPlane, webhook: LocalWebhook, namespace: str = "default", timeout: float = 90.0
) -> None:
    """Retry a server-side dry-run NetworkPolicy write until the webhook logs its review: the API server
    reads webhook configurations through an informer, so the first writes may not be sent yet."""
    name = f"netpol-guard-probe-{uuid.uuid4().hex[:8]}"
    manifest = probe_policy(name, namespace)

    def answered() -> bool:
        plane.kubectl("apply", "--dry-run=server", "-f", "-", input=manifest)
        return webhook.saw(name)

    wait_for(answered, timeout, f"a NetworkPolicy review to reach {webhook.url}")
