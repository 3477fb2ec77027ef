"""Bounded connections: how many, how large a request head, how long a request may take to arrive.

uvicorn bounds none of this (h11's ``h11_max_incomplete_event_size`` exists, httptools has no header
limit at all and concatenates header fragments as they arrive; nothing closes a connection that never
sends a request; ``limit_concurrency`` answers 503 only after a connection's TLS handshake and headers).
So each listening socket accepts through a `ConnectionGate`:

- past ``max_connections`` open connections a new one is reset at once, before any TLS handshake;
- the TLS handshake runs with ``request_timeout`` as its timeout (``loop.connect_accepted_socket``),
  the accepted socket counting against the limit from its first moment;
- `GuardedProtocol` (uvicorn's httptools protocol) feeds the parser at most ``max_header_bytes`` of a
  request head and answers 431 and closes past it, and answers 408 and closes a request whose head and
  body did not all arrive within ``request_timeout`` seconds of its first byte (or of the connection's
  start, for its first request);
- while the server drains (`ConnectionGate.drain`), every answer carries ``Connection: close``;
  `ConnectionGate.close_idle` closes the keep-alive connections that wait for no answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import time
from asyncio import TimerHandle
from dataclasses import dataclass
from typing import Any, Final

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from app.logs import FIELDS

logger = logging.getLogger(__name__)

_REFUSAL_LOG_INTERVAL: Final = 10.0  # seconds between two "connection refused" lines (a flood is one line)
_RESET: Final = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, no FIN handshake


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """The bounds every accepted connection is held to."""

    max_connections: int
    max_header_bytes: int
    request_timeout: float


def _plain_answer(status: int, reason: str, message: str) -> bytes:
    body = message.encode() + b"\n"
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a request-head limit, a request timeout and drain awareness."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        gate: ConnectionGate,
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.gate = gate
        self._head_bytes = 0
        self._reading_head = True
        self._request_timer: TimerHandle | None = None
        self.served = False  # a request of this connection was received whole (it is a keep-alive one)

    # The connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_request_timer()  # a connection that never sends a request is closed too

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_request_timer()
        self.gate.released()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return
        if not self._reading_head:
            super().data_received(data)
            return
        room = self.gate.limits.max_header_bytes - self._head_bytes
        if len(data) <= room:
            self._head_bytes += len(data)
            super().data_received(data)
            return
        # Only what fits the limit reaches the parser; if the head did not end within it, refuse.
        self._head_bytes += room
        if room > 0:
            super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self._reading_head:
            self._refuse(
                431,
                "Request Header Fields Too Large",
                f"the request line and headers are over the {self.gate.limits.max_header_bytes}-byte "
                "limit (--max-header-bytes)",
            )
            return
        self.data_received(data[room:])

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._request_timer is None:
            self._arm_request_timer()

    def on_headers_complete(self) -> None:
        self._reading_head = False
        super().on_headers_complete()
        if self.gate.draining and self.cycle is not None:
            self.cycle.keep_alive = False  # the answer says Connection: close

    def on_message_complete(self) -> None:
        self.served = True
        super().on_message_complete()
        self._disarm_request_timer()
        self._reading_head = True
        self._head_bytes = 0

    # Draining

    @property
    def idle(self) -> bool:
        """Waiting for a request, with none of it received."""
        return (self.cycle is None or self.cycle.response_complete) and self._head_bytes == 0

    def shutdown(self) -> None:
        """uvicorn's stop: close a keep-alive connection between requests; let any other finish.

        A connection that has not sent its first request yet is not closed: its client dialled a moment
        ago and is sending it now. The request timeout bounds the wait.
        """
        if self.idle and self.served:
            self.transport.close()
        else:
            self.drain()

    def drain(self) -> None:
        """Answer the request in progress with ``Connection: close`` (new ones see `gate.draining`)."""
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False

    # Bounds

    def _arm_request_timer(self) -> None:
        self._disarm_request_timer()
        self._request_timer = self.loop.call_later(self.gate.limits.request_timeout, self._request_timed_out)

    def _disarm_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _request_timed_out(self) -> None:
        self._request_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # answered early (an oversized body); stop waiting for the rest
            return
        if self.idle:
            self.transport.close()  # never sent a byte of a request: nothing to answer
            return
        self._refuse(
            408,
            "Request Timeout",
            f"the request did not arrive within {self.gate.limits.request_timeout:g} s (--request-timeout)",
        )

    def _refuse(self, status: int, reason: str, message: str) -> None:
        client = f"{self.client[0]}:{self.client[1]}" if self.client else "unknown"
        logger.warning(message, extra={FIELDS: {"client": client, "status": status}})
        self.transport.write(_plain_answer(status, reason, message))
        self.transport.close()


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # a socket that cannot linger is closed normally
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
    sock.close()


class Listener:
    """What uvicorn's shutdown expects of a server in ``Server.servers``: ``close`` and ``wait_closed``.

    Closing stops the accept loop, closes the listening socket (so connections still in its backlog are
    reset, not left to time out) and waits for the TLS handshakes under way and their requests.
    """

    def __init__(self, gate: ConnectionGate, sock: socket.socket) -> None:
        self.gate = gate
        self.sock = sock
        self.task = asyncio.get_running_loop().create_task(gate.accept(sock))

    def close(self) -> None:
        self.task.cancel()

    async def stopped(self) -> None:
        """Wait until the accept loop has ended, the listening socket is closed and the handshakes under
        way are done (each is bounded by ``request_timeout``)."""
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        self.sock.close()
        # A client whose TLS 1.3 handshake ended on its side has sent its request already: finish those
        # handshakes and answer (with Connection: close) instead of dropping a request that was sent.
        if self.gate.handshakes:
            await asyncio.wait(list(self.gate.handshakes))

    async def wait_closed(self) -> None:
        await self.stopped()
        while self.gate.server_state.connections:
            await asyncio.sleep(0.05)


class ConnectionGate:
    """Accepts a listening socket's connections within `ConnectionLimits`; one per uvicorn server."""

    def __init__(
        self,
        limits: ConnectionLimits,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        tls: ssl.SSLContext | None,
        name: str,
    ) -> None:
        self.limits = limits
        self.config = config
        self.server_state = server_state
        self.app_state = app_state
        self.tls = tls
        self.name = name
        self.open = 0
        self.draining = False
        self.handshakes: set[asyncio.Task[None]] = set()
        self._last_refusal_log = 0.0
        self._refused_since_log = 0

    def listen(self, sock: socket.socket) -> Listener:
        """Accept on ``sock`` until the returned listener is closed."""
        return Listener(self, sock)

    async def accept(self, sock: socket.socket) -> None:
        """Accept connections on ``sock`` within the limits, forever (cancel to stop)."""
        # Our own accept loop, not create_server: a socket over the limit is reset before any TLS
        # handshake, and each handshake runs with a timeout (connect_accepted_socket) and is counted.
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        while True:
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError as exc:  # out of file descriptors, for one: wait, do not spin
                logger.error(
                    "cannot accept a connection", extra={FIELDS: {"port": self.name, "error": str(exc)}}
                )
                await asyncio.sleep(0.1)
                continue
            if not self.admit():
                _reset(conn)
                continue
            conn.setblocking(False)
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(self._start(conn))
            self.handshakes.add(task)
            task.add_done_callback(self.handshakes.discard)

    async def _start(self, conn: socket.socket) -> None:
        """TLS within ``request_timeout``, then HTTP; a failed or slow handshake only closes the socket."""
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(
                self._protocol,
                conn,
                ssl=self.tls,
                ssl_handshake_timeout=self.limits.request_timeout if self.tls is not None else None,
            )
        except BaseException as exc:
            # Port scanners, wrong CAs, plain HTTP on the TLS port, slow handshakes, a non-ASCII server
            # name: debug, not an error, and never a traceback. (The loop has detached the socket.)
            logger.debug("TLS handshake failed", extra={FIELDS: {"port": self.name, "error": repr(exc)}})
            conn.close()
            self.released()
            if not isinstance(exc, Exception):
                raise

    def _protocol(self) -> GuardedProtocol:
        return GuardedProtocol(self.config, self.server_state, self.app_state, self)

    def admit(self) -> bool:
        """Count a new connection, or refuse it when ``max_connections`` are open."""
        if self.open >= self.limits.max_connections:
            self._refused()
            return False
        self.open += 1
        return True

    def released(self) -> None:
        """One counted connection is gone."""
        self.open -= 1

    def drain(self) -> None:
        """From now on every answer says ``Connection: close``, including those being written now."""
        self.draining = True
        for connection in list(self.server_state.connections):
            if isinstance(connection, GuardedProtocol):
                connection.drain()

    def close_idle(self) -> int:
        """Close the keep-alive connections that are waiting for a request; how many were closed."""
        closed = 0
        for connection in list(self.server_state.connections):
            if isinstance(connection, GuardedProtocol) and connection.idle and connection.served:
                connection.transport.close()
                closed += 1
        return closed

    def _refused(self) -> None:
        self._refused_since_log += 1
        now = time.monotonic()
        if now - self._last_refusal_log >= _REFUSAL_LOG_INTERVAL:
            logger.warning(
                "refused new connections: the connection limit is reached (--max-connections)",
                extra={
                    FIELDS: {
                        "port": self.name,
                        "open": self.open,
                        "max_connections": self.limits.max_connections,
                        "refused": self._refused_since_log,
                    }
                },
            )
            self._last_refusal_log = now
            self._refused_since_log = 0
