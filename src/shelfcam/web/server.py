"""Run the HTTP server (uvicorn) in this process until a signal stops it."""

from __future__ import annotations

import logging

import uvicorn

from shelfcam.config import Settings
from shelfcam.web.app import create_app

log = logging.getLogger(__name__)


def run(settings: Settings, database_url: str, *, with_worker: bool) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn then re-raises the signal for the caller."""
    app = create_app(settings, database_url, with_worker=with_worker)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=10,
    )
    log.info("action=http_listen url=http://%s:%d", settings.host, settings.port)
    uvicorn.Server(config).run()
