"""`make cluster [CONFIG=rules.yaml]`: a real API server with netpol-guard enforcing, in the foreground.

Starts etcd, kube-apiserver and kube-controller-manager on 127.0.0.1, serves netpol-guard from this checkout
with CONFIG (default: the embedded rules), installs the chart with its webhook pointed at that server, and
prints how to use it. Ctrl-C or SIGTERM stops everything and removes .dev/cluster.
"""

from __future__ import annotations

import argparse
import fcntl
import shutil
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Final

from controlplane.cluster import start_control_plane
from controlplane.kubetools import BIN_DIR, ROOT, KubeToolsError, build
from controlplane.processes import StartError, Supervisor
from controlplane.webhook import LocalWebhook, NonLoopbackWebhook, install_chart, wait_until_answering

DIRECTORY: Final = ROOT / ".dev" / "cluster"
BAD_EXAMPLE: Final = Path("deploy/examples/policies/bad/forbid-allow-all.yaml")
EXAMPLE_NAMESPACES: Final = ("shop",)  # where deploy/examples/policies put their objects


class Stop(Exception):
    """SIGTERM or SIGINT arrived."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def _check_config(config: Path | None) -> str | None:
    if config is None:
        return None
    from app.errors import NetpolGuardError
    from app.ruleset import load_ruleset

    try:
        load_ruleset(config)
    except NetpolGuardError as exc:
        return str(exc)
    return None


def run(directory: Path, config: Path | None) -> int:
    started = time.monotonic()
    supervisor = Supervisor()
    try:
        build()
        plane = start_control_plane(directory, BIN_DIR, supervisor)
        webhook = LocalWebhook(directory / "webhook", supervisor, config=config)
        webhook.start()
        for namespace in EXAMPLE_NAMESPACES:
            plane.kubectl("create", "namespace", namespace)
        install_chart(plane, webhook)
        print(f"export KUBECONFIG={plane.kubeconfig}", flush=True)
        print(f"export PATH={BIN_DIR}:$PATH", flush=True)
        print(f"kubectl apply -f {BAD_EXAMPLE}    # try it: netpol-guard refuses it", flush=True)
        print(f"audit log: {plane.audit_log}; webhook log: {webhook.log_file}", flush=True)
        wait_until_answering(plane, webhook)
        print(
            f"ready after {time.monotonic() - started:.1f} s; Ctrl-C stops it and removes {directory}",
            flush=True,
        )
        print("cluster ready", flush=True)
        while all(process.alive() for process in supervisor.processes):
            time.sleep(1)
        dead = [process for process in supervisor.processes if not process.alive()]
        for process in dead:
            print(f"make cluster: {process.name} exited:\n{process.log_tail()}", file=sys.stderr)
        return 1
    except Stop as why:
        print(f"make cluster: {why}: stopping", flush=True)
        return 0
    except (KubeToolsError, StartError, NonLoopbackWebhook, AssertionError) as exc:
        print(f"make cluster: {exc}", file=sys.stderr)
        return 1
    finally:
        # Signals during cleanup would leave half of it undone.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        supervisor.stop_all()
        shutil.rmtree(directory, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="rules file to serve (default: the embedded rules)")
    args = parser.parse_args(argv)
    problem = _check_config(args.config)
    if problem is not None:
        print(f"make cluster: CONFIG: {problem}", file=sys.stderr)
        return 2
    config = args.config.resolve() if args.config else None
    DIRECTORY.parent.mkdir(parents=True, exist_ok=True)
    with (DIRECTORY.parent / "cluster.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"make cluster: another `make cluster` is using {DIRECTORY}; stop it first", file=sys.stderr
            )
            return 1
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        shutil.rmtree(DIRECTORY, ignore_errors=True)  # what a killed run left behind
        return run(DIRECTORY, config)


if __name__ == "__main__":
    sys.exit(main())
