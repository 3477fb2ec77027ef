"""etcd, kube-apiserver and kube-controller-manager on 127.0.0.1, and kubectl against them.

Everything lives in one directory (certificates, etcd data, logs, kubeconfigs, the audit log); the ports are
picked free at start. No flag lets the API server dial anything but loopback: it advertises 127.0.0.1, no
endpoint reconciler writes the `kubernetes` Service, and ClusterIPs are only allocated, never dialled.
"""

from __future__ import annotations

import json
import os
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from controlplane.kubetools import BIN_DIR
from controlplane.pki import ClusterPki, write_cluster_pki
from controlplane.processes import Process, Result, StartError, Supervisor, free_port, run

START_TIMEOUT: Final = 180.0  # 2 shared cores and a cold page cache: an API server can take a minute
# Controllers the tests rely on; none of them manages nodes, so none needs a kubelet.
CONTROLLERS: Final = (
    "namespace-controller",
    "garbage-collector-controller",
    "serviceaccount-controller",
    "serviceaccount-token-controller",
    "clusterrole-aggregation-controller",
    "root-ca-certificate-publisher-controller",
    "job-controller",
    "cronjob-controller",
    "ttl-after-finished-controller",
    "validatingadmissionpolicy-status-controller",  # type-checks ValidatingAdmissionPolicies
)
AUDIT_POLICY: Final = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        # Metadata carries the webhook's audit annotations (and no object bodies).
        {
            "level": "Metadata",
            "resources": [{"group": "networking.k8s.io", "resources": ["networkpolicies"]}],
        },
        {"level": "None"},
    ],
}


def write_kubeconfig(path: Path, server: str, ca_file: Path, user: dict[str, str], name: str) -> Path:
    """A one-context kubeconfig; ``user`` is its user entry (client-certificate files or a token)."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "netpol-guard", "cluster": {"server": server, "certificate-authority": str(ca_file)}}
        ],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": "netpol-guard", "user": name}}],
        "current-context": name,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
    return path


@dataclass
class ControlPlane:
    """A running control plane: its directory, admin kubeconfig, audit log, and what started it."""

    directory: Path
    pki: ClusterPki
    server: str
    kubeconfig: Path
    audit_log: Path
    supervisor: Supervisor
    bin_dir: Path = BIN_DIR
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def kubectl_binary(self) -> Path:
        return self.bin_dir / "kubectl"

    def kubectl(
        self,
        *args: str,
        input: str | None = None,
        kubeconfig: Path | None = None,
        timeout: float = 60.0,
    ) -> Result:
        """Run the real kubectl (admin unless ``kubeconfig`` is given); never raises on a non-zero exit."""
        command = [
            str(self.kubectl_binary),
            f"--kubeconfig={kubeconfig or self.kubeconfig}",
            f"--cache-dir={self.directory / 'kubectl-cache'}",
            *args,
        ]
        env = {key: value for key, value in os.environ.items() if key != "KUBECONFIG"}
        return run(command, input=input, timeout=timeout, env=env)

    def kubectl_json(self, *args: str) -> Any:
        """``kubectl ... -o json`` parsed; raises AssertionError with kubectl's error when it fails."""
        result = self.kubectl(*args, "-o", "json")
        assert result.rc == 0, f"kubectl {' '.join(args)}: {result.stderr}"
        return json.loads(result.stdout)

    def create_token(
        self, namespace: str, service_account: str, duration: str = "1h", audiences: Sequence[str] = ()
    ) -> str:
        """A token for a ServiceAccount from the TokenRequest API (`kubectl create token`)."""
        args = ["create", "token", service_account, "-n", namespace, f"--duration={duration}"]
        args += [f"--audience={audience}" for audience in audiences]
        result = self.kubectl(*args)
        if result.rc != 0:
            raise AssertionError(f"TokenRequest for {namespace}/{service_account} failed: {result.stderr}")
        return result.stdout.strip()

    def service_account_kubeconfig(self, namespace: str, service_account: str, path: Path) -> Path:
        """A kubeconfig that authenticates as the ServiceAccount (its RBAC is what the server enforces)."""
        token = self.create_token(namespace, service_account)
        return write_kubeconfig(
            path, self.server, self.pki.ca_file, {"token": token}, f"{namespace}-{service_account}"
        )

    def stop(self) -> None:
        self.supervisor.stop_all()


def _https_ok(url: str, context: ssl.SSLContext) -> bool:
    try:
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def start_control_plane(
    directory: Path, bin_dir: Path = BIN_DIR, supervisor: Supervisor | None = None
) -> ControlPlane:
    """Start etcd, kube-apiserver and kube-controller-manager in ``directory``; return once the API is ready
    and the controller manager has created the `default` ServiceAccount. On failure, stops what it started
    and raises `StartError` with the failing process's log."""
    supervisor = supervisor or Supervisor()
    try:
        return _start(directory.resolve(), bin_dir, supervisor)
    except BaseException:
        supervisor.stop_all()
        raise


def _start(directory: Path, bin_dir: Path, supervisor: Supervisor) -> ControlPlane:
    directory.mkdir(parents=True, exist_ok=True)
    pki = write_cluster_pki(directory / "pki")
    logs = directory / "logs"
    etcd_port, peer_port, api_port, kcm_port = (free_port() for _ in range(4))
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    peer_url = f"http://127.0.0.1:{peer_port}"
    etcd = supervisor.start(
        "etcd",
        [
            str(bin_dir / "etcd"),
            f"--data-dir={directory / 'etcd'}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}",
            "--unsafe-no-fsync",  # throwaway data: fsync only costs time
            "--log-level=warn",
        ],
        logs / "etcd.log",
    )
    etcd.wait_until(lambda: _http_ok(f"{etcd_url}/health"), START_TIMEOUT, "etcd health")

    server = f"https://127.0.0.1:{api_port}"
    audit_policy = directory / "audit-policy.yaml"
    audit_policy.write_text(yaml.safe_dump(AUDIT_POLICY, sort_keys=False))
    audit_log = directory / "audit.log"
    apiserver = supervisor.start(
        "kube-apiserver",
        [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            f"--secure-port={api_port}",
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",  # needed with a loopback advertise address
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_file}",
            "--authorization-mode=RBAC",
            f"--service-account-issuer={server}",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--service-cluster-ip-range=10.0.0.0/24",  # allocated, never dialled
            "--allow-privileged=true",
            f"--audit-policy-file={audit_policy}",
            f"--audit-log-path={audit_log}",
            f"--cert-dir={directory / 'apiserver-certs'}",
            "--profiling=false",
        ],
        logs / "kube-apiserver.log",
    )
    admin_context = ssl.create_default_context(cafile=str(pki.ca_file))
    admin_context.load_cert_chain(pki.admin_cert, pki.admin_key)
    apiserver.wait_until(lambda: _https_ok(f"{server}/readyz", admin_context), START_TIMEOUT, "/readyz")

    kubeconfig = write_kubeconfig(
        directory / "kubeconfig",
        server,
        pki.ca_file,
        {"client-certificate": str(pki.admin_cert), "client-key": str(pki.admin_key)},
        "admin",
    )
    kcm_kubeconfig = write_kubeconfig(
        directory / "kube-controller-manager.kubeconfig",
        server,
        pki.ca_file,
        {
            "client-certificate": str(pki.controller_manager_cert),
            "client-key": str(pki.controller_manager_key),
        },
        "kube-controller-manager",
    )
    controller_manager = supervisor.start(
        "kube-controller-manager",
        [
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={kcm_kubeconfig}",
            f"--authentication-kubeconfig={kcm_kubeconfig}",
            f"--authorization-kubeconfig={kcm_kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={kcm_port}",
            f"--cert-dir={directory / 'kcm-certs'}",
            "--leader-elect=false",
            "--use-service-account-credentials=true",  # each controller acts as its own ServiceAccount
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca_file}",
            f"--controllers={','.join(CONTROLLERS)}",
            "--concurrent-gc-syncs=5",
            "--profiling=false",
        ],
        logs / "kube-controller-manager.log",
    )
    plane = ControlPlane(
        directory=directory,
        pki=pki,
        server=server,
        kubeconfig=kubeconfig,
        audit_log=audit_log,
        supervisor=supervisor,
        bin_dir=bin_dir,
        processes={"etcd": etcd, "kube-apiserver": apiserver, "kube-controller-manager": controller_manager},
    )
    # The serviceaccount controller creating `default` proves the controller manager works.
    controller_manager.wait_until(
        lambda: plane.kubectl("get", "serviceaccount", "default", "-n", "default").rc == 0,
        START_TIMEOUT,
        "`default` ServiceAccount",
    )
    return plane


def wait_for(condition: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    """Poll ``condition()`` until true; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


__all__ = ["ControlPlane", "Result", "StartError", "start_control_plane", "wait_for", "write_kubeconfig"]
