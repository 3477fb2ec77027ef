"""The reload loop cannot die: hostile rules files are counted and skipped, a dead loop shows in /readyz,
SIGHUP reloads at once, and the same hostile files at start are one line and exit 2."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from server_harness import (
    Pki,
    Running,
    metric_value,
    review_bytes,
    rules_text,
    running_server,
    wait_for,
)
from test_server_reload import served_serial

Start = Callable[..., Running]

# Python refuses to turn more than 4,300 digits into an int; the YAML reader reports it at its line.
HUGE_NUMBER_RULES = rules_text("enforce") + "  require-policy-types:\n    action: " + "9" * 5000 + "\n"


def _reloads(running: Running, kind: str, result: str) -> float:
    return metric_value(running.metrics(), f'netpol_guard_{kind}_reloads_total{{result="{result}"}}') or 0


def _replace(path: Path, text: str) -> None:
    """Change the rules file in one step, as a ConfigMap volume does: a poll that caught a half-written
    file would count a second failure."""
    staging = path.with_name(f".{path.name}.new")
    staging.write_text(text)
    os.replace(staging, path)


def _allowed(running: Running) -> bool:
    allowed: bool = running.post(review_bytes(uid="r")).json()["response"]["allowed"]
    return allowed


def test_a_rules_file_with_a_huge_number_is_logged_counted_and_the_loop_goes_on(
    start_server: Start, pki: Pki, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    running = start_server()
    rules_file = tmp_path / "rules.yaml"
    caplog.set_level(logging.ERROR, logger="app.server.reload")

    _replace(rules_file, HUGE_NUMBER_RULES)

    wait_for(lambda: _reloads(running, "config", "error") == 1, what="the failed reload to be counted")
    assert _allowed(running) is False  # the last good rules (enforce) still judge
    assert httpx.get(f"{running.probe_url}/readyz").status_code == 200
    logged = [r for r in caplog.records if r.name == "app.server.reload"]
    assert logged and str(rules_file) == logged[0].fields["file"]  # type: ignore[attr-defined]
    assert "a number of 5,000 digits cannot be read" in logged[0].fields["error"]  # type: ignore[attr-defined]
    # The loop is still alive: a later rules change and a certificate rotation are both applied.
    _replace(rules_file, rules_text("warn"))
    wait_for(lambda: _reloads(running, "config", "success") == 1, what="the fixed rules file to load")
    assert _allowed(running) is True
    rotated = pki.serving(running.tls_dir)
    wait_for(lambda: served_serial(running) == rotated.certificate.serial_number, what="the rotation")


class _LoopKiller(BaseException):
    """Something no `except Exception` catches, standing in for whatever could still end the loop."""


def test_a_reload_loop_that_stops_anyway_turns_readyz_503_saying_why(start_server: Start) -> None:
    running = start_server()
    assert httpx.get(f"{running.probe_url}/readyz").status_code == 200

    def die(*, force: bool = False) -> None:
        raise _LoopKiller("simulated")

    running.server.reloader._poll_guarded = die  # type: ignore[method-assign]

    wait_for(lambda: httpx.get(f"{running.probe_url}/readyz").status_code == 503, what="/readyz to fail")
    reply = httpx.get(f"{running.probe_url}/readyz")
    assert "reload loop stopped" in reply.text and "_LoopKiller" in reply.text
    assert httpx.get(f"{running.probe_url}/healthz").status_code == 200  # restart is not the fix; alert


def _serve(netpol_guard: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*netpol_guard, "serve", *args], capture_output=True, text=True, timeout=60)


@pytest.fixture
def serving_pair(pki: Pki, tmp_path: Path) -> tuple[Path, Path]:
    pki.serving(tmp_path / "tls")
    return tmp_path / "tls" / "tls.crt", tmp_path / "tls" / "tls.key"


def test_a_rules_file_with_a_huge_number_at_start_is_one_line_naming_it_and_exit_2(
    netpol_guard: list[str], serving_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(HUGE_NUMBER_RULES)
    tls = ("--tls-cert-file", str(serving_pair[0]), "--tls-private-key-file", str(serving_pair[1]))

    result = _serve(
        netpol_guard,
        "--config",
        str(rules),
        *tls,
        "--host",
        "127.0.0.1",
        "--probe-host",
        "127.0.0.1",
        "--port",
        "0",
    )

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(rules) in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def slow_reloading_server(
    netpol_guard: list[str], serving_pair: tuple[Path, Path], tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int, int, Path]]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(rules_text("enforce"))
    # --reload-interval 300: only SIGHUP can make it notice a change within the test.
    with running_server(netpol_guard, *serving_pair, "--config", str(rules), "--reload-interval", "300") as (
        process,
        port,
        probe_port,
    ):
        yield process, port, probe_port, rules


def test_sighup_reloads_the_rules_at_once_and_does_not_exit(
    slow_reloading_server: tuple[subprocess.Popen[bytes], int, int, Path],
) -> None:
    process, _, probe_port, rules = slow_reloading_server
    rules.write_text(rules_text("warn"))

    def reloads(result: str) -> float:
        text = httpx.get(f"http://127.0.0.1:{probe_port}/metrics", timeout=5).text
        return metric_value(text, f'netpol_guard_config_reloads_total{{result="{result}"}}') or 0

    assert reloads("success") == 0
    process.send_signal(signal.SIGHUP)

    wait_for(lambda: reloads("success") == 1, what="the SIGHUP reload")
    time.sleep(0.2)
    assert process.poll() is None
    assert httpx.get(f"http://127.0.0.1:{probe_port}/readyz", timeout=5).status_code == 200
    # TLS files are re-read too (unchanged here, so the same pair is served; it counts as a reload).
    text = httpx.get(f"http://127.0.0.1:{probe_port}/metrics", timeout=5).text
    assert metric_value(text, 'netpol_guard_tls_reloads_total{result="success"}') == 1
