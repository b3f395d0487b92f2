"""One process at a time: a part (the outputs' deliverer, the camera puller) holds a
PostgreSQL session-level advisory lock on a connection of its own while it is active; the
same part in other processes, here or on other machines, stands by and asks again. A lost
connection releases the lock, so another process takes over."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Literal

import psycopg
from psycopg.rows import dict_row

from shelfcam.db.types import Conn, Pool

STANDBY_RETRY_S = 5.0

Role = Literal["starting", "active", "standby"]


async def try_advisory_lock(conn: Conn, key: int) -> bool:
    cur = await conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (key,))
    row = await cur.fetchone()
    return bool(row and row["got"])


class Leadership:
    """The lock ``key`` for the part called ``what``, and this process's role in it."""

    def __init__(self, pool: Pool, what: str, key: int) -> None:
        self.pool = pool
        self.what = what
        self.key = key
        self.role: Role = "starting"

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[Conn]:
        """Wait (standing by) until this process holds the lock; yield the connection that
        holds it, to LISTEN on and to notice its loss. ``role`` is back to "starting" on
        exit."""
        conninfo = self.pool.conninfo
        if not isinstance(conninfo, str):
            raise TypeError(f"the {self.what} needs a pool opened with a connection string")
        try:
            conn: Conn = await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, row_factory=dict_row
            )
            async with conn:
                while not await try_advisory_lock(conn, self.key):
                    self.role = "standby"
                    await asyncio.sleep(STANDBY_RETRY_S)  # another process has it: ask again
                self.role = "active"
                yield conn
        finally:
            self.role = "starting"
