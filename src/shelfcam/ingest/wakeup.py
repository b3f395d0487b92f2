"""Waking the analysis workers after ingest, outside the frames' transactions.

A transaction that sends a NOTIFY commits only after every earlier notifying one has
(migration 11 says why that halved ingest). So the frame's statement queues its job
silently, and this sends one wake-up for all the frames the process took in the last
``every_s`` seconds: at most 1/every_s small transactions a second, whatever the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

from shelfcam.db import jobs
from shelfcam.db.types import Pool

log = logging.getLogger(__name__)

WAKE_EVERY_S = 0.01


class QueueWaker:
    def __init__(self, pool: Pool, queue: str, every_s: float = WAKE_EVERY_S) -> None:
        self.pool = pool
        self.queue = queue
        self.every_s = every_s
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """A job was queued: wake the workers soon (once for many pokes)."""
        self._due.set()
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="queue-waker")

    async def _run(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            await self._send()
            await asyncio.sleep(self.every_s)

    async def _send(self) -> None:
        try:
            async with self.pool.connection() as conn:
                await jobs.wake_workers(conn, self.queue)
        except psycopg.Error as err:  # the workers' polling finds the jobs anyway
            log.warning("action=wake_workers_failed error=%s", type(err).__name__)

    async def close(self) -> None:
        """Stop; a wake-up still due is sent first."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._due.is_set():
            self._due.clear()
            await self._send()
