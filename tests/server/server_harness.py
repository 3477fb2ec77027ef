"""Real-server harness (its fixtures are re-exported by conftest.py).

A session CA, certificate files, a running server on a free loopback port, and httpx clients that trust
only that CA.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from controlplane.pki import issue_client as issue_client  # shared with the control plane's PKI
from controlplane.processes import free_port as free_port

from app.certs.authority import KeyPair, issue_ca, issue_serving
from app.server.runner import WebhookServer, run_loop
from app.settings import ServerSettings

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "deploy" / "examples"
VALIDATE = "/validate/networkpolicies"
DAY = dt.timedelta(days=1)

# require-labels denies, require-annotations warns (see tests/admission for the same shape).
RULES = """
apiVersion: netpol-guard.io/v1alpha1
kind: RuleSet
mode: {mode}
rules:
  require-labels:
    action: deny
    labels: [{{key: team}}, {{key: tier}}]
  require-annotations:
    action: warn
    annotations: [{{key: netpol-guard.io/owner}}]
"""


def rules_text(mode: str = "enforce") -> str:
    return RULES.format(mode=mode)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / f"admissionreview-{name}.json").read_text())
    return data


def review_bytes(name: str = "good", uid: str | None = None) -> bytes:
    """An example review as bytes, optionally with another uid."""
    review = example(name)
    if uid is not None:
        review["request"]["uid"] = uid
    return json.dumps(review).encode()


@dataclass
class Pki:
    """The session CA and where its files are."""

    ca: KeyPair
    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.crt"

    def serving(self, directory: Path, names: tuple[str, ...] = ("localhost", "127.0.0.1")) -> KeyPair:
        """Issue a serving pair and write it as tls.crt / tls.key into ``directory``."""
        pair = issue_serving(self.ca, list(names), DAY)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "tls.crt").write_bytes(pair.cert_pem)
        (directory / "tls.key").write_bytes(pair.key_pem)
        return pair


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = issue_ca("netpol-guard test CA", DAY)
    (directory / "ca.crt").write_bytes(ca.cert_pem)
    return Pki(ca, directory)


def trusting(ca_file: Path, cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    """A client context that trusts only ``ca_file`` (optionally presenting a client certificate)."""
    context = ssl.create_default_context(cafile=str(ca_file))
    if cert is not None:
        context.load_cert_chain(cert[0], cert[1])
    return context


@dataclass
class Running:
    """A server running in a background thread with its own event loop."""

    server: WebhookServer
    thread: threading.Thread
    ca_file: Path
    tls_dir: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.port}"

    @property
    def probe_url(self) -> str:
        return f"http://127.0.0.1:{self.server.probe_port}"

    def client(self, **kwargs: Any) -> httpx.Client:
        kwargs.setdefault("verify", trusting(self.ca_file))
        return httpx.Client(base_url=self.url, timeout=10, **kwargs)

    def post(self, body: bytes, client: httpx.Client | None = None, **headers: str) -> httpx.Response:
        sent_headers = {"content-type": "application/json", **headers}
        if client is not None:
            return client.post(VALIDATE, content=body, headers=sent_headers)
        with self.client() as fresh:
            return fresh.post(VALIDATE, content=body, headers=sent_headers)

    def metrics(self) -> str:
        return httpx.get(f"{self.probe_url}/metrics", timeout=5).text

    def stop(self) -> None:
        self.server.request_stop()
        self.server.request_stop()  # skip the drain delay
        self.thread.join(timeout=30)


def wait_for(condition: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    """Poll until ``condition()`` holds (a readiness wait, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def metric_value(text: str, sample: str) -> float | None:
    """The value of one exposition line, e.g. ``name{label="x"}``; None when absent."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.fixture
def start_server(pki: Pki, tmp_path: Path) -> Iterator[Callable[..., Running]]:
    """Start servers with RULES (in a file, so it can be reloaded) and a fresh serving pair."""
    started: list[Running] = []

    def start(mode: str = "enforce", **overrides: Any) -> Running:
        rules_file = tmp_path / "rules.yaml"
        if not rules_file.exists():
            rules_file.write_text(rules_text(mode))
        tls_dir = tmp_path / "tls"
        if not (tls_dir / "tls.crt").exists():
            pki.serving(tls_dir)
        settings = {
            "config": rules_file,
            "tls_cert_file": tls_dir / "tls.crt",
            "tls_private_key_file": tls_dir / "tls.key",
            "host": "127.0.0.1",
            "probe_host": "127.0.0.1",
            "port": 0,
            "probe_port": 0,
            "reload_interval": 0.05,
            "shutdown_delay": 0,
            **overrides,
        }
        server = WebhookServer(ServerSettings(**settings))
        thread = threading.Thread(target=run_loop, args=(server.serve(handle_signals=False),), daemon=True)
        thread.start()
        running = Running(server, thread, pki.ca_file, tls_dir)
        started.append(running)
        wait_for(lambda: server.readiness.serving, what="the server to listen")
        return running

    yield start
    for running in started:
        running.stop()


def spawn_server(
    netpol_guard: list[str], cert: Path, key: Path, *args: str, probe_host: str = "127.0.0.1"
) -> tuple[subprocess.Popen[bytes], int, int]:
    """`netpol-guard serve` as a process on free loopback ports, once /readyz says ready:
    (process, webhook port, probe port). The caller stops it (kill on failure)."""
    port, probe_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            *netpol_guard,
            "serve",
            "--tls-cert-file",
            str(cert),
            "--tls-private-key-file",
            str(key),
            "--host",
            "127.0.0.1",
            "--probe-host",
            probe_host,
            "--port",
            str(port),
            "--probe-port",
            str(probe_port),
            *args,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )

    def ready() -> bool:
        try:
            return httpx.get(f"http://{probe_host}:{probe_port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, timeout=30, what="the server process to be ready")
    except BaseException:
        process.kill()
        process.communicate(timeout=30)
        raise
    return process, port, probe_port


@contextlib.contextmanager
def running_server(
    netpol_guard: list[str], cert: Path, key: Path, *args: str
) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    """`spawn_server` for the length of a ``with`` block; a server still running after it is killed."""
    process, port, probe_port = spawn_server(netpol_guard, cert, key, *args)
    try:
        yield process, port, probe_port
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)


@pytest.fixture
def netpol_guard() -> list[str]:
    """The command line that runs the CLI from this virtual environment."""
    executable = shutil.which("netpol-guard", path=str(Path(sys.executable).parent))
    assert executable is not None, "netpol-guard is not installed in this environment"
    return [executable]
