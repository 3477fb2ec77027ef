"""Run the webhook (TLS) and probe (plain HTTP) servers in one process and one event loop.

Start-up checks everything a user can get wrong (rules file, certificate, key, ports) before listening, so
a mistake is one line and exit code 2. On SIGTERM (or SIGINT) ``/readyz`` turns unready first, the webhook
keeps answering for ``shutdown_delay`` seconds while Kubernetes removes the pod from the Service, then
uvicorn stops accepting, lets in-flight reviews finish, and the probe server stops last. A second signal
skips the delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import signal
import socket
import ssl
from collections.abc import Coroutine, Iterator
from typing import Any, Final, cast

import uvicorn

from app import __version__
from app.admission.handler import AdmissionHandler
from app.errors import SettingsError
from app.logs import FIELDS
from app.server.connections import ConnectionGate, ConnectionLimits, Listener
from app.server.metrics import Metrics
from app.server.probes import build_probe_app
from app.server.reload import Reloader, describe, read_client_cas, read_pair, read_rules
from app.server.state import Readiness
from app.server.tls import ServingTLS
from app.server.webhook import VALIDATE_PATH, build_webhook_app
from app.settings import ServerSettings

logger = logging.getLogger(__name__)

# Longer than the API server's idle-connection timeout (90 s): the client, not us, closes idle
# connections, so a review is never sent on a connection we are closing at that moment.
KEEP_ALIVE_SECONDS: Final = 120
GC_INTERVAL_SECONDS: Final = 2.0


def pause_automatic_gc() -> None:
    """Freeze start-up objects and stop the automatic cyclic collector; `collect_garbage` replaces it.

    A review's objects are freed by reference counting; the automatic collector would only rescan them
    (a 1.4 MB review allocates hundreds of thousands), which doubled its answer time in measurements.
    """
    gc.collect()
    gc.freeze()
    gc.disable()


async def collect_garbage(interval: float = GC_INTERVAL_SECONDS) -> None:
    """Collect reference cycles (connections, exceptions) between requests, every ``interval`` seconds."""
    while True:
        await asyncio.sleep(interval)
        gc.collect()


class _Server(uvicorn.Server):
    """A uvicorn server whose sockets accept through a `ConnectionGate` (TLS included)."""

    def __init__(
        self, config: uvicorn.Config, limits: ConnectionLimits, tls: ssl.SSLContext | None, name: str
    ) -> None:
        super().__init__(config)
        self.gate = ConnectionGate(limits, config, self.server_state, {}, tls, name)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Signals are handled once for both servers by `WebhookServer`, in order.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's own startup hands the TLS context to create_server (no handshake timeout, and a
        # handshake per connection before anything can be counted); the gate accepts by itself.
        assert sockets is not None
        await self.lifespan.startup()
        self.gate.app_state = self.lifespan.state
        self.servers = [self.gate.listen(sock) for sock in sockets]  # type: ignore[misc]
        self.started = True

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # uvicorn's shutdown only calls close() on its servers, never wait_closed(): without this the
        # accept loop's cancellation is never awaited, the listening socket stays open with new clients
        # queueing in its backlog unanswered, and handshakes under way are cut off.
        listeners = cast(list[Listener], self.servers)
        for listener in listeners:
            listener.close()
        await asyncio.gather(*(listener.stopped() for listener in listeners))
        await super().shutdown(sockets)


def _bind(host: str, port: int, flag: str, host_flag: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        # Listening now, not when uvicorn starts: SO_REUSEADDR lets two sockets bind one port until one
        # listens, and uvloop does not report a failed listen (--probe-port equal to --port served probes
        # only, and reported ready).
        sock.listen()
    except OSError as exc:
        sock.close()
        if isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL:
            flag = host_flag  # the address is wrong, not the port
        raise SettingsError(f"{flag}: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: Any) -> uvicorn.Config:
    """uvicorn settings shared by both ports (and by the benchmark's bare ceiling app)."""
    config = uvicorn.Config(
        app,
        http="httptools",
        ws="none",
        lifespan="off",
        access_log=False,
        log_config=None,
        server_header=False,
        # The API server and kubelet connect directly; no proxy headers to trust, one ASGI layer less.
        proxy_headers=False,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
    config.load()
    return config


class WebhookServer:
    """Everything `netpol-guard serve` runs, checked and bound at construction, served by `serve`."""

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        ruleset = read_rules(settings.config)
        pair = read_pair(settings.tls_cert_file, settings.tls_private_key_file)
        client_ca_file = settings.client_ca_file
        self.tls = ServingTLS(pair, read_client_cas(client_ca_file) if client_ca_file is not None else None)
        self.tls_context = self.tls.context
        self.metrics = Metrics()
        self.metrics.tls_expiry.set(pair.not_after)
        self.readiness = Readiness()
        self.handler = AdmissionHandler(ruleset)
        self.reloader = Reloader(
            handler=self.handler,
            metrics=self.metrics,
            rules_file=settings.config,
            tls=self.tls,
            cert_file=settings.tls_cert_file,
            key_file=settings.tls_private_key_file,
            client_ca_file=client_ca_file,
            interval=settings.reload_interval,
        )
        self.webhook_socket = _bind(
            settings.host, settings.port, "--port / NETPOL_GUARD_PORT", "--host / NETPOL_GUARD_HOST"
        )
        try:
            self.probe_socket = _bind(
                settings.probe_host,
                settings.probe_port,
                "--probe-port / NETPOL_GUARD_PROBE_PORT",
                "--probe-host / NETPOL_GUARD_PROBE_HOST",
            )
        except SettingsError:
            self.webhook_socket.close()
            raise
        self.port: int = self.webhook_socket.getsockname()[1]
        self.probe_port: int = self.probe_socket.getsockname()[1]
        webhook_config = uvicorn_config(
            build_webhook_app(self.handler, self.metrics, settings.max_request_bytes)
        )
        limits = ConnectionLimits(
            max_connections=settings.max_connections,
            max_header_bytes=settings.max_header_bytes,
            request_timeout=settings.request_timeout,
        )
        webhook_config.timeout_graceful_shutdown = settings.graceful_timeout
        self._webhook = _Server(webhook_config, limits, self.tls_context, "webhook")
        probe_config = uvicorn_config(build_probe_app(self.readiness, self.metrics))
        self._probes = _Server(probe_config, limits, None, "probes")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._hurry: asyncio.Event | None = None

    def request_stop(self) -> None:
        """Begin the graceful stop (thread-safe; what SIGTERM does). A second call skips the delay."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._signalled)

    def _signalled(self) -> None:
        assert self._stop is not None and self._hurry is not None
        if self._stop.is_set():
            self._hurry.set()
        self._stop.set()

    def request_reload(self) -> None:
        """Re-read the rules and TLS files now (thread-safe; what SIGHUP does)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._reload_requested)

    def _reload_requested(self) -> None:
        logger.info("reload requested: re-reading the rules and TLS files now")
        self.reloader.reload_now()

    def _reloads_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return  # the shutdown cancels it
        error = task.exception()
        self.readiness.reloads_stopped = (
            f"the reload loop stopped ({describe(error)})" if error is not None else "the reload loop stopped"
        )

    async def serve(self, *, handle_signals: bool = True) -> None:
        """Serve until a stop is requested, then shut down gracefully."""
        self._loop = asyncio.get_running_loop()
        self._stop, self._hurry = asyncio.Event(), asyncio.Event()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._loop.add_signal_handler(sig, self._signalled)
            # SIGHUP's default action ends the process; here it means "re-read the files now".
            self._loop.add_signal_handler(signal.SIGHUP, self._reload_requested)
        probes = asyncio.create_task(self._probes.serve(sockets=[self.probe_socket]))
        webhook = asyncio.create_task(self._webhook.serve(sockets=[self.webhook_socket]))
        reloads = asyncio.create_task(self.reloader.run())
        reloads.add_done_callback(self._reloads_ended)
        collector = asyncio.create_task(collect_garbage())
        while not (self._webhook.started and self._probes.started) and not (webhook.done() or probes.done()):
            await asyncio.sleep(0.01)
        self.readiness.serving = self._webhook.started
        self._log_started()
        pause_automatic_gc()

        stop = asyncio.create_task(self._stop.wait())
        await asyncio.wait({stop, webhook, probes}, return_when=asyncio.FIRST_COMPLETED)
        self.readiness.shutting_down = True
        self._webhook.gate.drain()
        if self._stop.is_set() and self.settings.shutdown_delay > 0:
            logger.info(
                "stop requested: unready now, still answering reviews while endpoints drop this pod",
                extra={FIELDS: {"shutdown_delay_s": self.settings.shutdown_delay}},
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), self.settings.shutdown_delay)
        # Idle keep-alive connections go first, while the listener still accepts: a client whose idle
        # connection closes reconnects (and is answered) instead of meeting a refused port.
        closed = self._webhook.gate.close_idle()
        await asyncio.sleep(0)
        logger.info(
            "stopping: no new connections, finishing in-flight reviews",
            extra={
                FIELDS: {
                    "closed_idle_connections": closed,
                    "graceful_timeout_s": self.settings.graceful_timeout,
                }
            },
        )
        self._webhook.should_exit = True
        await asyncio.gather(webhook, return_exceptions=True)
        for task in (reloads, stop, collector):
            task.cancel()
        self._probes.should_exit = True
        await asyncio.gather(probes, reloads, stop, collector, return_exceptions=True)
        gc.enable()
        logger.info("stopped")

    def _log_started(self) -> None:
        def shown(host: str) -> str:
            return f"[{host}]" if ":" in host else host

        ruleset = self.handler.ruleset
        logger.info(
            "netpol-guard serving",
            extra={
                FIELDS: {
                    "version": __version__,
                    "webhook": f"https://{shown(self.settings.host)}:{self.port}{VALIDATE_PATH}",
                    "probes": f"http://{shown(self.settings.probe_host)}:{self.probe_port}",
                    "rules": str(self.settings.config)
                    if self.settings.config
                    else "<embedded default rules>",
                    "mode": ruleset.mode.value,
                    "client_certificates": "required" if self.settings.client_ca_file else "not required",
                }
            },
        )


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run ``main`` on uvloop when it is installed (it is a dependency; the fallback keeps tests portable)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        asyncio.run(main)
    else:
        uvloop.run(main)
