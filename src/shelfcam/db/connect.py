"""Connections to PostgreSQL and the translation of driver errors at the boundary."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import psycopg
from psycopg.rows import dict_row

from shelfcam.db.pool import WatchedPool
from shelfcam.db.types import Pool, Row
from shelfcam.errors import DatabaseUnavailable

RETRY_AFTER_S = 5


def _unavailable(err: Exception) -> DatabaseUnavailable:
    return DatabaseUnavailable(
        f"the database is unavailable: {type(err).__name__}",
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Turn 'cannot reach the server' driver errors into :class:`DatabaseUnavailable`."""
    try:
        yield
    except (psycopg.OperationalError, psycopg.errors.AdminShutdown) as err:
        raise _unavailable(err) from err


@contextlib.asynccontextmanager
async def translate_errors_async() -> AsyncIterator[None]:
    try:
        yield
    except (psycopg.OperationalError, psycopg.errors.AdminShutdown) as err:
        raise _unavailable(err) from err


async def _autocommit(conn: psycopg.AsyncConnection[Row]) -> None:
    # Set here, not in the pool's kwargs: procrastinate opens its LISTEN connection with
    # the pool's kwargs plus its own autocommit=True, and the two would clash.
    await conn.set_autocommit(True)


async def open_pool(url: str, *, size: int, name: str = "shelfcam") -> Pool:
    """An open async pool whose connections return rows as dicts, and which fails fast
    while the database is unreachable (:class:`shelfcam.db.pool.WatchedPool`)."""
    pool: Pool = WatchedPool(
        url,
        connection_class=psycopg.AsyncConnection[Row],
        min_size=min(2, size),
        max_size=size,
        kwargs={"row_factory": dict_row},
        configure=_autocommit,
        open=False,
        name=name,
    )
    async with translate_errors_async():
        await pool.open(wait=True, timeout=15)
    return pool


@contextlib.asynccontextmanager
async def connection(url: str) -> AsyncIterator[psycopg.AsyncConnection[dict[str, object]]]:
    """One autocommit connection for a short-lived command."""
    async with translate_errors_async():
        conn = await psycopg.AsyncConnection.connect(url, autocommit=True, row_factory=dict_row)
    try:
        yield conn
    finally:
        await conn.close()
