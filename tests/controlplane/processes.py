"""Child processes that cannot outlive their owner.

Every server is started in its own session (a Ctrl-C in the terminal reaches only the owner, which then
stops them in order) with the kernel told to SIGKILL it when the owner dies (PR_SET_PDEATHSIG), so not even
a SIGKILLed pytest leaves an API server behind. SIGKILL, not SIGTERM: the API server's graceful shutdown
waits for an etcd that died at the same moment. `Supervisor.stop_all` stops them newest first, gracefully.
Short commands (kubectl, helm) go through `run`, with the same guard.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

_PR_SET_PDEATHSIG: Final = 1
_LIBC: Final = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port() -> int:
    """A currently free loopback port (servers started as processes must be told theirs)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Result:
    """What a command did: exit code and both streams, as text."""

    rc: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(
    command: Sequence[str],
    input: str | None = None,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Result:
    """Run a command to completion (killed after ``timeout`` seconds, or when its owner dies)."""
    with subprocess.Popen(
        list(command),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env) if env is not None else None,
        cwd=cwd,
        preexec_fn=_die_with_parent,
    ) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except BaseException:  # a timeout or Ctrl-C: the command must not outlive this call
            process.kill()
            process.wait()
            raise
    return Result(process.returncode, stdout, stderr)


class StartError(Exception):
    """A process exited or did not become ready; the message carries the end of its log."""


@dataclass
class Process:
    """One child, its command line and its log file (stdout and stderr together)."""

    name: str
    argv: Sequence[str]
    log_file: Path
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.popen = subprocess.Popen(
                list(self.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(self.env) if self.env is not None else None,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout`` seconds; always reaps the child."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll ``ready()`` until it holds; fail with the log's end when the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                code = self.popen.returncode if self.popen else None
                raise StartError(f"{self.name} exited ({code}) before {what}:\n{self.log_tail()}")
            if ready():
                return
            time.sleep(0.2)
        raise StartError(f"{self.name}: no {what} after {timeout:.0f} s:\n{self.log_tail()}")


@dataclass
class Supervisor:
    """Starts processes and stops every one of them, newest first, exactly once."""

    processes: list[Process] = field(default_factory=list)

    def __post_init__(self) -> None:
        atexit.register(self.stop_all)  # an exception or sys.exit in the owner still cleans up

    def start(
        self,
        name: str,
        argv: Sequence[str],
        log_file: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Process:
        process = Process(name, argv, log_file, env, cwd)
        process.start()
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        while self.processes:
            self.processes.pop().stop()


def pids_alive(pids: Sequence[int]) -> list[int]:
    """Which of ``pids`` still exist as processes that are not zombies."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (read from /proc; Linux only)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
