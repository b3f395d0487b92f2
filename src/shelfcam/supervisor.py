"""Long-running parts of a process that must outlive their failures.

A part (the analysis worker with its scheduler, the outputs' deliverer; later the camera
puller) is an async function that runs until it fails or ends. :class:`Supervised` runs
it again whenever it does, after a delay that doubles from ``first_delay_s`` up to
``max_delay_s`` and starts again from the bottom once a run has lasted
``settle_after_s``: a database that went away costs a few retries, never the part. Only
cancelling the supervisor stops it. Its :class:`PartStatus` says what /healthz reports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 5.0
SETTLE_AFTER_S = 30.0


@dataclass
class PartStatus:
    name: str
    running: bool = False
    restarts: int = 0
    last_error: str | None = None
    changed_at: float = field(default_factory=time.monotonic)
    """When ``running`` last changed (monotonic seconds)."""
    failing_since: float | None = None
    """When the current run of failures began (monotonic seconds): a part that fails
    again and again within ``settle_after_s`` has been failing since its first failure."""

    def _set(self, running: bool) -> None:
        self.running = running
        self.changed_at = time.monotonic()


class Supervised:
    def __init__(
        self,
        name: str,
        run: Callable[[], Awaitable[None]],
        *,
        first_delay_s: float = FIRST_DELAY_S,
        max_delay_s: float = MAX_DELAY_S,
        settle_after_s: float = SETTLE_AFTER_S,
    ) -> None:
        self.status = PartStatus(name)
        self._run = run
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.settle_after_s = settle_after_s

    async def run_forever(self) -> None:
        """Run the part, again and again, until cancelled."""
        status = self.status
        delay = self.first_delay_s
        while True:
            started = time.monotonic()
            status._set(True)
            try:
                await self._run()
                reason = "stopped on its own"
            except asyncio.CancelledError:
                status._set(False)
                raise
            except Exception as err:
                reason = f"{type(err).__name__}: {' '.join(str(err).split())}"
                if _being_cancelled():  # a failure while stopping (the database is gone)
                    status._set(False)
                    raise asyncio.CancelledError from err
            status._set(False)
            status.restarts += 1
            status.last_error = reason[:300]
            if time.monotonic() - started >= self.settle_after_s:  # it had settled
                delay = self.first_delay_s
                status.failing_since = None
            if status.failing_since is None:
                status.failing_since = time.monotonic()
            log.warning(
                "action=part_restarting part=%s in_s=%.1f restarts=%d error=%s",
                status.name,
                delay,
                status.restarts,
                status.last_error,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.max_delay_s)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
