"""The connection pool, and what it knows about the database being reachable.

psycopg's pool, left alone, handles an outage badly for a service: every idle connection
a restart or a terminated backend left dead is handed out once more (a failure each), a
caller waits the whole checkout timeout for a connection that cannot be made, and the
pool's own reconnection backs off exponentially, so service came back minutes after the
database did. :class:`WatchedPool` adds a gate:

* a connection returned broken, or a checkout that timed out, marks the database
  *unavailable*; from then on a checkout fails at once with :class:`DatabaseDown`
  (callers answer 503 with ``Retry-After``) instead of waiting;
* a probe opens a connection of its own every 0.1 s, doubling up to
  ``PROBE_MAX_DELAY_S``; when one works, the pool's idle connections are checked (the dead
  ones replaced) and the gate opens again. A database that is back is used again within
  about ``PROBE_MAX_DELAY_S`` seconds;
* the pool's own reconnection gives up after ``RECONNECT_TIMEOUT_S`` (and grows again on
  demand), so it never sleeps through the database's return.

Terminated backends with the database up close the gate only for the probe's first
connection: a few milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

log = logging.getLogger(__name__)

Conn = psycopg.AsyncConnection[dict[str, Any]]

CHECKOUT_TIMEOUT_S = 5.0
RECONNECT_TIMEOUT_S = 5.0
PROBE_FIRST_DELAY_S = 0.1
PROBE_MAX_DELAY_S = 1.0
PROBE_CONNECT_TIMEOUT_S = 2


class DatabaseDown(psycopg.OperationalError):
    """The pool knows the database is unreachable; raised without waiting."""


class WatchedPool(AsyncConnectionPool[Conn]):
    """An async pool that notices the database going away and coming back."""

    def __init__(self, conninfo: str, **kwargs: Any) -> None:
        kwargs.setdefault("timeout", CHECKOUT_TIMEOUT_S)
        kwargs.setdefault("reconnect_timeout", RECONNECT_TIMEOUT_S)
        super().__init__(conninfo, **kwargs)
        self.reason = ""
        self.unavailable_since: float | None = None
        self.outages = 0
        self._probe: asyncio.Task[None] | None = None

    @property
    def available(self) -> bool:
        return self.unavailable_since is None

    def raise_if_down(self) -> None:
        """Fail now (:class:`DatabaseDown`) when the database is known to be unreachable."""
        if self.unavailable_since is not None:
            raise DatabaseDown(f"the database is unreachable ({self.reason})")

    async def getconn(self, timeout: float | None = None) -> Conn:  # noqa: ASYNC109 - the override keeps its signature
        self.raise_if_down()
        try:
            return await super().getconn(timeout)
        except PoolTimeout:
            self.mark_unavailable("no connection within the checkout timeout")
            raise

    async def putconn(self, conn: Conn) -> None:
        if conn.broken:
            self.mark_unavailable("a connection was lost")
        await super().putconn(conn)

    def mark_unavailable(self, reason: str) -> None:
        """Close the gate (if open) and start probing for the database's return."""
        if self.closed or self.unavailable_since is not None:
            return
        self.unavailable_since = time.monotonic()
        self.reason = reason
        self.outages += 1
        log.warning("action=database_unavailable pool=%s reason=%s", self.name, reason)
        self._probe = asyncio.get_running_loop().create_task(
            self._wait_for_database(), name=f"{self.name}-probe"
        )

    async def _wait_for_database(self) -> None:
        delay = PROBE_FIRST_DELAY_S
        while not await self._answers():
            await asyncio.sleep(delay)
            delay = min(delay * 2, PROBE_MAX_DELAY_S)
        with contextlib.suppress(psycopg.Error):
            await self.check()  # replace idle connections the outage left dead
        since, self.unavailable_since = self.unavailable_since, None
        self.reason = ""
        down_for = time.monotonic() - since if since is not None else 0.0
        log.info("action=database_available pool=%s down_s=%.1f", self.name, down_for)

    async def _answers(self) -> bool:
        conninfo = self.conninfo if isinstance(self.conninfo, str) else ""
        try:
            conn = await psycopg.AsyncConnection.connect(
                conninfo, autocommit=True, connect_timeout=PROBE_CONNECT_TIMEOUT_S
            )
            async with conn:
                await conn.execute("SELECT 1")
        except (psycopg.Error, OSError):
            return False
        return True

    async def close(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - as overridden
        probe, self._probe = self._probe, None
        if probe is not None and not probe.done():
            probe.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probe
        await super().close(timeout)
