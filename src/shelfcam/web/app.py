"""The app factory: settings, pool, store and metrics built once and handed to routes."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shelfcam import __version__
from shelfcam.analysis.tasks import running_worker
from shelfcam.config import Settings
from shelfcam.db.connect import open_pool
from shelfcam.frames.routing import open_frame_store
from shelfcam.ingest.service import Ingestor
from shelfcam.metrics import Metrics
from shelfcam.outputs.delivery import running_outputs
from shelfcam.pull.runner import running_puller
from shelfcam.web import errors, health, ingest, ui
from shelfcam.web.context import AppContext

log = logging.getLogger(__name__)


def create_app(settings: Settings, database_url: str, *, with_worker: bool = False) -> FastAPI:
    """Build the ASGI app. The database must already be migrated. ``with_worker`` runs an
    analysis worker on the same event loop and pool (``shelfcam serve``)."""
    context = AppContext(
        settings=settings,
        database_url=database_url,
        store=open_frame_store(settings),
        metrics=Metrics(),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        size = settings.db_pool_size + (settings.worker_concurrency + 2 if with_worker else 0)
        pool = context.pool = await open_pool(database_url, size=size)
        context.ingestor = Ingestor(settings, pool, context.store)
        log.info("action=api_started")
        try:
            async with contextlib.AsyncExitStack() as stack:
                if with_worker:
                    context.worker = await stack.enter_async_context(
                        running_worker(settings, pool, context.store, context.metrics)
                    )
                    context.outputs = await stack.enter_async_context(
                        running_outputs(settings, pool, context.store, context.metrics)
                    )
                    context.puller = await stack.enter_async_context(
                        running_puller(settings, pool, context.ingestor, context.metrics)
                    )
                yield
        finally:
            if context.ingestor is not None:
                await context.ingestor.close()
            context.ingestor = None
            context.worker = None
            context.outputs = None
            context.puller = None
            await pool.close()
            context.pool = None
            log.info("action=api_stopped")

    app = FastAPI(
        title="shelfcam",
        version=__version__,
        summary="Local-first camera activity log",
        lifespan=lifespan,
        # FastAPI's /docs and /redoc load their scripts from a CDN (nothing for a Pi
        # without internet, and code from elsewhere on this origin): the schema is at
        # /openapi.json for any viewer.
        docs_url=None,
        redoc_url=None,
    )
    app.state.context = context
    errors.install(app)
    app.include_router(health.router)
    app.include_router(ingest.router)
    ui.install(app)
    return app
