"""Run the HTTP server (uvicorn) in this process until a signal stops it."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator

import uvicorn
from fastapi import FastAPI

from shelfcam.config import Settings
from shelfcam.metrics import Metrics
from shelfcam.runtime import raise_open_files_limit, settle_heap
from shelfcam.web.app import create_app
from shelfcam.web.connections import ConnectionLimits, GuardedConfig

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn's server, calling ``on_started`` once it listens (and its lifespan ran);
    its start-up heap is then frozen (:func:`shelfcam.runtime.settle_heap`)."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        frozen = settle_heap()
        log.debug("action=heap_frozen objects=%d", frozen)
        if self._on_started is not None:
            self._on_started()


FD_RESERVE = 256
"""Open files kept back from HTTP connections: database connections, frames being
written, logs, the embedded PostgreSQL's pipes."""


def connection_limits(settings: Settings, metrics: Metrics | None) -> ConnectionLimits:
    """The settings' limits, with the open-files limit raised to fit them (or the
    connection cap lowered to fit the open-files limit: EMFILE must not come first)."""
    soft = raise_open_files_limit(settings.max_connections + FD_RESERVE)
    cap = min(settings.max_connections, max(1, soft - FD_RESERVE))
    if cap < settings.max_connections:
        log.warning(
            "action=connections_capped max_connections=%d open_files_limit=%d "
            "hint=raise_LimitNOFILE",
            cap,
            soft,
        )
    return ConnectionLimits(
        header_timeout_s=settings.header_timeout_seconds,
        body_timeout_s=settings.body_timeout_seconds,
        max_connections=cap,
        max_per_address=min(cap, settings.max_connections_per_address),
        metrics=metrics,
    )


def uvicorn_config(app: FastAPI, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """The HTTP server's configuration: shelfcam's logging, no access log, no server header,
    proxy headers believed only from SHELFCAM_TRUSTED_PROXIES, and the time and
    connections one client may hold (:mod:`shelfcam.web.connections`)."""
    proxies = settings.trusted_proxies
    context = getattr(app.state, "context", None)
    return GuardedConfig(
        app,
        limits=connection_limits(settings, getattr(context, "metrics", None)),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=proxies is not None,
        forwarded_allow_ips=proxies or "",
        timeout_graceful_shutdown=10,
    )


def run(
    settings: Settings,
    database_url: str,
    *,
    with_worker: bool,
    on_started: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn then re-raises the signal for the caller.

    ``on_started`` is called (on the server's event loop: keep it short) once the server
    listens and its worker runs."""
    app = create_app(settings, database_url, with_worker=with_worker)
    config = uvicorn_config(app, settings, settings.host, settings.port)
    log.info("action=http_listen url=http://%s:%d", settings.host, settings.port)
    _Server(config, on_started).run()


@contextlib.contextmanager
def serving_in_background(
    settings: Settings, database_url: str, *, with_worker: bool
) -> Iterator[str]:
    """Serve on a free port of 127.0.0.1 from a background thread; yield the base URL.

    For tools that drive shelfcam over real HTTP from the same process (``shelfcam eval``,
    the demo's camera simulator, tests). Stops the server (and its worker) on exit.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    app = create_app(settings, database_url, with_worker=with_worker)
    config = uvicorn_config(app, settings, "127.0.0.1", port)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="shelfcam-http", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the HTTP server did not start")
            threading.Event().wait(0.02)  # condition poll until uvicorn reports started
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
