"""A connection from the app's pool, typed as the query modules expect (dict rows)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import cast

from shelfcam.db.types import Conn
from shelfcam.web.context import AppContext


@contextlib.asynccontextmanager
async def connection(context: AppContext) -> AsyncIterator[Conn]:
    """One pooled connection (autocommit, dict rows: see db.connect.open_pool)."""
    async with context.require_pool().connection() as conn:
        yield cast(Conn, conn)
