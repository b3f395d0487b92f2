"""What every request handler needs, built once by the app factory and passed in."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request
from psycopg_pool import AsyncConnectionPool

from shelfcam.config import Settings
from shelfcam.metrics import Metrics
from shelfcam.store import FrameStore


@dataclass
class AppContext:
    settings: Settings
    database_url: str
    store: FrameStore
    metrics: Metrics
    pool: AsyncConnectionPool | None = None

    def require_pool(self) -> AsyncConnectionPool:
        if self.pool is None:  # only before the lifespan has started
            raise RuntimeError("the database pool is not open yet")
        return self.pool


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context
