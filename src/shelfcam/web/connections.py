"""What one client may hold of the HTTP server: time and connections.

uvicorn alone waits for ever for a request's headers and body, and accepts connections
until the process runs out of file descriptors: one client sending a header line a
second holds a socket for good, and a thousand of them lock every camera out.
:class:`GuardedProtocol` (uvicorn's httptools protocol) adds:

* a deadline for a request's headers (SHELFCAM_HEADER_TIMEOUT_SECONDS, counted from the
  connection, or from a kept-alive connection's next request) and for its body
  (SHELFCAM_BODY_TIMEOUT_SECONDS after the headers): past it, ``408`` and the connection
  is closed (a body cut short reaches the app as a disconnected client);
* at most SHELFCAM_MAX_CONNECTIONS open connections, and SHELFCAM_MAX_CONNECTIONS_PER_ADDRESS
  from one address: one more is answered ``503`` with ``Retry-After`` and closed at once.

The counts and timeouts are in /metrics (``shelfcam_http_*``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.protocols.utils import get_remote_addr
from uvicorn.server import ServerState

from shelfcam.metrics import Metrics

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
LINGER_S = 2.0
MAX_LINGERING = 256
LOG_EVERY_S = 1.0

Phase = Literal["headers", "body"]

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nretry-after: %d\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s"
)
_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s"
)


def _json(code: str, detail: str) -> bytes:
    return f'{{"error":"{code}","detail":"{detail}"}}'.encode()


@dataclass
class ConnectionLimits:
    """The limits, and the connections open now, shared by every connection of a server."""

    header_timeout_s: float
    body_timeout_s: float
    max_connections: int
    max_per_address: int
    metrics: Metrics | None = None
    open: int = 0
    lingering: int = 0
    per_address: Counter[str] = field(default_factory=Counter)
    _logged: dict[str, float] = field(default_factory=dict)

    def note(self, what: str, message: str, *args: Any) -> None:
        """Log ``message`` at most once a second per kind (a flood must not flood the log)."""
        now = time.monotonic()
        if now - self._logged.get(what, -LOG_EVERY_S) >= LOG_EVERY_S:
            self._logged[what] = now
            log.warning(message, *args)


class GuardedConfig(Config):
    """uvicorn's configuration, carrying the limits to every connection's protocol."""

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        kwargs["http"] = GuardedProtocol
        super().__init__(*args, **kwargs)
        self.limits = limits


class GuardedProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        assert isinstance(config, GuardedConfig)
        self.limits = config.limits
        self._address: str | None = None
        self._refused = False
        self._lingering = False
        self._deadline: asyncio.TimerHandle | None = None
        self._phase: Phase = "headers"

    # The connection: counted, or refused when over a cap.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        limits = self.limits
        peer = get_remote_addr(transport)
        address = peer[0] if peer else "local"
        reason = None
        if limits.open >= limits.max_connections:
            reason = "too_many_connections"
        elif limits.per_address[address] >= limits.max_per_address:
            reason = "too_many_connections_from_address"
        if reason is not None:
            self._refused = True
            self.transport = transport
            body = _json("server_busy", "too many connections; retry later")
            transport.write(_BUSY % (RETRY_AFTER_S, len(body), body))
            # Closing now would make the kernel answer the request still arriving with a
            # reset, which can destroy the 503 before the client reads it: stop writing,
            # drop what arrives, close shortly (at once if many already linger).
            if limits.lingering < MAX_LINGERING and transport.can_write_eof():
                limits.lingering += 1
                self._lingering = True
                transport.write_eof()
                self._deadline = self.loop.call_later(LINGER_S, transport.close)
            else:
                transport.close()
            if limits.metrics is not None:
                limits.metrics.connections_refused.labels(reason).inc()
            limits.note(reason, "action=connection_refused reason=%s addr=%s", reason, address)
            return
        self._address = address
        limits.open += 1
        limits.per_address[address] += 1
        self._gauge()
        super().connection_made(transport)
        self._arm("headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._lingering:
            self._lingering = False
            self.limits.lingering -= 1
        if self._refused:
            return
        if self._address is not None:
            limits = self.limits
            limits.open -= 1
            limits.per_address[self._address] -= 1
            if limits.per_address[self._address] <= 0:
                del limits.per_address[self._address]
            self._address = None
            self._gauge()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    # A request's phases: headers, then body, each with its deadline.
    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a kept-alive connection's next request
            self._arm("headers")

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm("body")

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def _arm(self, phase: Phase) -> None:
        self._disarm()
        self._phase = phase
        limits = self.limits
        delay = limits.header_timeout_s if phase == "headers" else limits.body_timeout_s
        self._deadline = self.loop.call_later(delay, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        limits = self.limits
        cycle = self.cycle if self._phase == "body" else None
        if cycle is None or not cycle.response_started:
            body = _json("request_timeout", f"the request's {self._phase} took too long")
            self.transport.write(_TIMEOUT % (len(body), body))
        if cycle is not None:
            cycle.disconnected = True  # the app stops waiting for the body; its answer is moot
            cycle.message_event.set()
        self.transport.close()
        if limits.metrics is not None:
            limits.metrics.request_timeouts.labels(self._phase).inc()
        limits.note(
            f"timeout_{self._phase}",
            "action=request_timed_out phase=%s addr=%s",
            self._phase,
            self._address,
        )

    def _gauge(self) -> None:
        if self.limits.metrics is not None:
            self.limits.metrics.connections_open.set(self.limits.open)
