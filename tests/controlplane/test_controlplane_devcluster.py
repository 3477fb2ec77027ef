"""`make cluster`: up with netpol-guard enforcing, a real kubectl refused, and nothing left after SIGTERM."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from controlplane.kubetools import BIN_DIR, ROOT
from controlplane.processes import descendants, pids_alive

DIRECTORY = ROOT / ".dev" / "cluster"
READY_TIMEOUT = 300.0


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def test_make_cluster_enforces_with_real_kubectl_and_leaves_nothing_after_sigterm(kube_tools: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    if DIRECTORY.exists():
        pytest.skip(f"{DIRECTORY} exists: a `make cluster` may be running here; stop it to run this test")
    started = time.monotonic()
    make = subprocess.Popen(
        ["make", "--no-print-directory", "cluster"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(make.stdout, lines), daemon=True).start()
    output: list[str] = []
    try:
        while "cluster ready\n" not in output:
            assert time.monotonic() - started < READY_TIMEOUT, "no `cluster ready`:\n" + "".join(output)
            exited = make.poll() is not None
            try:
                output.append(lines.get(timeout=1))
            except queue.Empty:
                assert not exited, "make cluster exited:\n" + "".join(output)
        text = "".join(output)
        exported = re.search(r"^export KUBECONFIG=(\S+)$", text, re.MULTILINE)
        assert exported is not None, text
        assert Path(exported.group(1)) == DIRECTORY / "kubeconfig"
        command = re.search(r"^kubectl apply -f (\S+)", text, re.MULTILINE)
        assert command is not None, text
        env = dict(os.environ, KUBECONFIG=exported.group(1), PATH=f"{BIN_DIR}:{os.environ['PATH']}")
        applied = subprocess.run(
            ["kubectl", "apply", "-f", command.group(1)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert applied.returncode == 1
        assert 'admission webhook "validate.netpol-guard.io" denied the request' in applied.stderr
        assert (DIRECTORY / "audit.log").stat().st_size > 0
        children = descendants(make.pid)
        assert (
            len(children) >= 5
        )  # the Python runner, etcd, kube-apiserver, kube-controller-manager, netpol-guard
        make.send_signal(signal.SIGTERM)
        make.wait(timeout=90)
        deadline = time.monotonic() + 10
        while pids_alive(children) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pids_alive(children) == []
        assert not DIRECTORY.exists()
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait(timeout=30)
