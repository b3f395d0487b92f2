"""A bounded deletion pace: at most N files a second, so a big cleanup leaves the disk
(and, in ``shelfcam serve``, the event loop) to ingest."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

MAX_CHUNK = 500
BURST_SECONDS = 1.0


class Pacer:
    """Spends a budget of ``per_second`` files; ``spend(n)`` waits until n more are due."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep
        self._due: float | None = None

    @property
    def chunk(self) -> int:
        """Files to delete between two waits: about a tenth of a second's budget."""
        return max(1, min(MAX_CHUNK, int(self.per_second // 10)))

    async def spend(self, files: int) -> None:
        """Account for ``files`` just deleted; wait until the budget allows more. Time
        spent elsewhere (the database work between two batches) earns credit, up to one
        second's budget, so the pace holds over any second and the deletes overlap the
        database work instead of adding to it."""
        now = self._clock()
        earliest = now - BURST_SECONDS
        self._due = max(self._due if self._due is not None else earliest, earliest)
        self._due += files / self.per_second
        wait = self._due - now
        if wait > 0:
            await self._sleep(wait)
