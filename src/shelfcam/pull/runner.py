"""The puller: the supervised part (in ``shelfcam serve`` and ``shelfcam puller``) that
pulls every pulled camera, one task per camera.

One process at a time pulls (the holder of a PostgreSQL advisory lock, on a connection of
its own that also LISTENs for changed pull URLs); the others stand by and take over when
it goes, so a camera is never pulled twice. The cameras are read again when a URL is set
or cleared and every few seconds; a camera whose URL or interval changed starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from shelfcam.config import Settings
from shelfcam.db import pulls as queries
from shelfcam.db.connect import open_pool
from shelfcam.db.leadership import Leadership, Role
from shelfcam.db.types import Conn, Pool
from shelfcam.frames.routing import open_frame_store
from shelfcam.ingest.service import Ingestor
from shelfcam.metrics import Metrics
from shelfcam.pull.camera import CameraPuller, Target
from shelfcam.supervisor import PartStatus, Supervised

log = logging.getLogger(__name__)

RELOAD_S = 10.0
STOP_REPORT_S = 2.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class PullRunner:
    """The puller of this process: active while it holds the lock, else standing by."""

    def __init__(self, settings: Settings, pool: Pool, ingestor: Ingestor, metrics: Metrics):
        self.settings = settings
        self.pool = pool
        self.ingestor = ingestor
        self.metrics = metrics
        self.leadership = Leadership(pool, "puller", queries.PULLER_LOCK)
        self.cameras: dict[str, tuple[CameraPuller, asyncio.Task[None]]] = {}
        self.supervised = Supervised("puller", self.run_once)

    @property
    def status(self) -> PartStatus:
        return self.supervised.status

    @property
    def role(self) -> Role:
        return self.leadership.role

    async def run_once(self) -> None:
        try:
            async with self.leadership.held() as conn:
                await self._lead(conn)
        finally:
            await self._stop_all()

    async def _lead(self, conn: Conn) -> None:
        await queries.listen(conn)
        log.info("action=puller_active")
        while True:
            await self._reload()
            async for _notice in conn.notifies(timeout=RELOAD_S, stop_after=1):
                pass
            await conn.execute("SELECT 1")  # a lost connection loses the lock: start again

    async def _reload(self) -> None:
        async with self.pool.connection() as conn:
            rows = await queries.targets(conn)
        wanted = {
            row["device_id"]: Target(
                row["device_id"], row["url"], row["interval_ms"], row["updated_at"]
            )
            for row in rows
        }
        for device_id in list(self.cameras):
            camera, task = self.cameras[device_id]
            if wanted.get(device_id) != camera.target or task.done():
                if task.done() and not task.cancelled() and task.exception() is not None:
                    log.error(
                        "action=pull_task_failed device=%s error=%r", device_id, task.exception()
                    )
                await self._stop(device_id)
        for device_id, target in wanted.items():
            if device_id not in self.cameras:
                camera = CameraPuller(target, self.settings, self.pool, self.ingestor, self.metrics)
                task = asyncio.create_task(camera.run(), name=f"shelfcam-pull-{device_id}")
                self.cameras[device_id] = (camera, task)

    async def _stop(self, device_id: str) -> None:
        camera, task = self.cameras.pop(device_id)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        self.metrics.pull_connected.labels(device_id).set(0)
        log.info("action=pull_stopped device=%s", device_id)
        with contextlib.suppress(Exception):  # best effort: the database may be gone
            await asyncio.wait_for(camera.stopped(), timeout=STOP_REPORT_S)

    async def _stop_all(self) -> None:
        """Stop every camera at once (each says so within STOP_REPORT_S, if it can)."""
        await asyncio.gather(*(self._stop(device_id) for device_id in list(self.cameras)))


@contextlib.asynccontextmanager
async def running_puller(
    settings: Settings, pool: Pool, ingestor: Ingestor, metrics: Metrics
) -> AsyncIterator[PullRunner]:
    """The supervised puller as a task on this event loop, stopped on exit."""
    runner = PullRunner(settings, pool, ingestor, metrics)
    task = asyncio.create_task(runner.supervised.run_forever(), name="shelfcam-puller")
    try:
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def run_puller(settings: Settings, database_url: str) -> None:
    """``shelfcam puller``: pull the cameras until SIGINT/SIGTERM. Its state reaches the
    devices page and /healthz of every process through the database."""
    pool = await open_pool(database_url, size=4)
    ingestor = Ingestor(settings, pool, open_frame_store(settings))
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stopping.set)
    try:
        async with running_puller(settings, pool, ingestor, Metrics()):
            await stopping.wait()
            log.info("action=puller_stopping reason=signal")
    finally:
        for sig, handler in previous.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, handler)
        await ingestor.close()
        await pool.close()
