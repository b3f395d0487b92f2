"""The deliverer: the loop that makes the outbox's deliveries, in ``shelfcam serve`` and
``shelfcam worker``, supervised like the analysis worker.

One process at a time delivers (the holder of a PostgreSQL advisory lock, on a
connection of its own that also LISTENs for new deliveries); the others stand by and
take over when it goes. Each output has a lane of its own, so a receiver that is down
delays only itself, and analysis never waits for any of them:

* a lane takes its output's deliveries in order; one that fails is tried again after a
  wait that doubles from 1 s to 5 minutes, and the deliveries behind it wait with it
  (a receiver that is down is down for all of them; a retained MQTT state must end as
  the latest);
* a delivery the receiver refuses for good (a 4xx but 408 and 429) is dropped, logged and
  counted; so are deliveries older than SHELFCAM_OUTPUT_MAX_AGE_HOURS and the oldest
  beyond SHELFCAM_OUTPUT_MAX_BACKLOG: the log line names their events;
* a delivery is deleted once its receiver took it, so a crash in between sends it again:
  at least once, and the receiver deduplicates on ``event_id`` with ``type``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import anyio.to_thread
import psycopg

from shelfcam.activity import timeline
from shelfcam.config import Settings
from shelfcam.db import outputs as queries
from shelfcam.db.leadership import Leadership, Role
from shelfcam.db.types import Conn, Pool, Row
from shelfcam.errors import NotFound
from shelfcam.frames.store import FrameStore
from shelfcam.metrics import Metrics
from shelfcam.outputs import setup
from shelfcam.outputs.catalog import redact
from shelfcam.outputs.mqtt import MqttOutput
from shelfcam.outputs.output import DeliveryFailed, DeliveryRefused, Outgoing, Output
from shelfcam.supervisor import PartStatus, Supervised
from shelfcam.vocabulary import FRAMES_BEST_FIRST
from shelfcam.web.schemas import event_out

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0
BATCH = 100
PRUNE_EVERY_S = 60.0
FIRST_WAIT_S = 1.0
MAX_WAIT_S = 300.0
LOGGED_EVENTS = 10


def retry_wait(attempts: int) -> float:
    """Seconds before the next try of a delivery that failed ``attempts`` times."""
    return float(min(FIRST_WAIT_S * 2 ** max(attempts - 1, 0), MAX_WAIT_S))


class Lane:
    """One output's deliveries, in order."""

    def __init__(self, runner: OutputsRunner, output: Output) -> None:
        self.runner = runner
        self.output = output
        self.name = output.spec.name
        self.wake = asyncio.Event()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        pruned_at = -PRUNE_EVERY_S
        while True:
            self.wake.clear()
            if loop.time() - pruned_at >= PRUNE_EVERY_S:
                await self.prune()
                pruned_at = loop.time()
            async with self.runner.pool.connection() as conn:
                rows = await queries.pending(conn, self.name, BATCH)
                waiting = await queries.backlog(conn, self.name)
            self.runner.metrics.output_backlog.labels(self.name).set(waiting)
            if not rows or not rows[0]["due"]:
                await self._sleep(float(rows[0]["wait_s"]) if rows else PRUNE_EVERY_S)
                continue
            for row in rows:
                if not row["due"] or not await self._deliver(row):
                    break

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout=min(seconds, PRUNE_EVERY_S))

    async def _deliver(self, row: Row) -> bool:
        """Make one delivery; False if it failed (the lane waits)."""
        metrics = self.runner.metrics
        item = await self.runner.outgoing(row, with_frame=self.output.wants_frame)
        if item is None:
            await self._drop([int(row["delivery_id"])], "event_missing", "the event is gone")
            return True
        try:
            await self.output.deliver(item)
        except DeliveryRefused as err:
            await self._drop([item.delivery_id], "refused", f"refused: {err}")
            return True
        except Exception as err:
            why = str(err) if isinstance(err, DeliveryFailed) else f"{type(err).__name__}: {err}"
            why = redact(why, [self.output.spec.url])
            wait = retry_wait(int(row["attempts"]) + 1)
            if not isinstance(err, DeliveryFailed):
                log.exception("action=output_error output=%s event_id=%s", self.name, item.event_id)
            async with self.runner.pool.connection() as conn:
                attempts = await queries.mark_failed(conn, self.name, item.delivery_id, wait, why)
            metrics.output_failures.labels(self.name).inc()
            log.warning(
                "action=output_retry output=%s event_id=%s attempts=%d retry_in_s=%.0f error=%s",
                self.name,
                item.event_id,
                attempts,
                wait,
                why,
            )
            return False
        async with self.runner.pool.connection() as conn:
            await queries.mark_delivered(conn, self.name, item.delivery_id)
        metrics.output_deliveries.labels(self.name).inc()
        log.info(
            "action=output_delivered output=%s event_id=%s type=%s",
            self.name,
            item.event_id,
            item.kind,
        )
        return True

    async def prune(self) -> None:
        """Drop what is past the bounds: too old, then beyond the backlog's size."""
        settings = self.runner.settings
        hours = settings.output_max_age_hours
        cutoff = datetime.now(UTC) - timedelta(hours=hours)
        async with self.runner.pool.connection() as conn:
            old = await queries.drop(
                conn, self.name, older_than=cutoff, reason=f"not delivered within {hours} h"
            )
            limit = settings.output_max_backlog
            over = await queries.drop(
                conn,
                self.name,
                keep_newest=limit,
                reason=f"more than {limit} deliveries waiting",
            )
        self._report(old, "too_old", f"not delivered within {hours} h")
        self._report(over, "backlog_full", f"more than {limit} deliveries waiting")

    async def _drop(self, ids: list[int], code: str, reason: str) -> None:
        async with self.runner.pool.connection() as conn:
            rows = await queries.drop(conn, self.name, delivery_ids=ids, reason=reason)
        self._report(rows, code, reason)

    def _report(self, rows: list[Row], code: str, reason: str) -> None:
        if not rows:
            return
        self.runner.metrics.output_dropped.labels(self.name, code).inc(len(rows))
        named = [f"{r['event_id']}:{r['kind']}" for r in rows[:LOGGED_EVENTS]]
        more = len(rows) - len(named)
        log.warning(
            "action=output_dropped output=%s count=%d reason=%s events=%s%s",
            self.name,
            len(rows),
            reason,
            ",".join(named),
            f" and {more} more" if more else "",
        )


class OutputsRunner:
    """The deliverer of this process: active while it holds the lock, else standing by."""

    def __init__(self, settings: Settings, pool: Pool, store: FrameStore, metrics: Metrics):
        self.settings = settings
        self.pool = pool
        self.store = store
        self.metrics = metrics
        self.specs = setup.configured(settings)
        self.leadership = Leadership(pool, "deliverer", queries.LEADER_LOCK)
        self.lanes: dict[str, Lane] = {}
        self.supervised = Supervised("outputs", self.run_once)

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
        except BaseExceptionGroup as group:  # the first failure says what went wrong
            first = group.exceptions[0]
            raise first from group
        finally:
            self.lanes = {}

    async def _lead(self, conn: Conn) -> None:
        await queries.listen(conn)
        async with self.pool.connection() as work:
            for row in await queries.drop_unconfigured(work, [s.name for s in self.specs]):
                log.warning(
                    "action=output_dropped output=%s count=%d reason=%s",
                    row["output"],
                    row["dropped"],
                    "the output is no longer configured",
                )
        outputs = setup.build(self.settings, self.pool, self._mqtt_state)
        self.lanes = {o.spec.name: Lane(self, o) for o in outputs}
        log.info("action=outputs_active outputs=%s", ",".join(self.lanes))
        try:
            async with asyncio.TaskGroup() as group:
                for output in outputs:
                    group.create_task(output.run(), name=f"output-{output.spec.name}")
                    group.create_task(self.lanes[output.spec.name].run())
                group.create_task(self._listen(conn, outputs))
        finally:
            for output in outputs:
                await output.aclose()

    async def _listen(self, conn: Conn, outputs: list[Output]) -> None:
        """New deliveries and changed cameras, as notified; a heartbeat meanwhile (a lost
        connection loses the lock: the part then starts again)."""
        while True:
            async for notice in conn.notifies(timeout=HEARTBEAT_S):
                if notice.payload == "devices":
                    for output in outputs:
                        if isinstance(output, MqttOutput):
                            output.devices_changed()
                else:
                    for lane in self.lanes.values():
                        lane.wake.set()
            await conn.execute("SELECT 1")

    async def _mqtt_state(self, connected: bool, why: str | None) -> None:
        self.metrics.output_connected.labels("mqtt").set(1 if connected else 0)
        try:
            async with self.pool.connection() as conn:
                await queries.set_connected(conn, "mqtt", connected, why)
                if connected:
                    await queries.retry_now(conn, "mqtt")
        except psycopg.Error as err:
            log.warning("action=output_status_unsaved output=mqtt error=%s", type(err).__name__)
        lane = self.lanes.get("mqtt")
        if connected and lane is not None:
            lane.wake.set()

    async def outgoing(self, row: Row, *, with_frame: bool) -> Outgoing | None:
        """A delivery with its event as the API shows it (None if the event is gone)."""
        try:
            async with self.pool.connection() as conn:
                event = await timeline.get_event(conn, self.store, row["event_id"])
        except NotFound:
            return None
        frame = None
        if with_frame and row["kind"] == "new":
            frame = await self._frame(event)
        shown = event_out(event)
        return Outgoing(
            delivery_id=int(row["delivery_id"]),
            event_id=shown.event_id,
            device_id=shown.device_id,
            event_type=shown.event_type,
            kind=row["kind"],
            event=shown.model_dump(mode="json"),
            frame=frame,
        )

    async def _frame(self, event: timeline.Event) -> bytes | None:
        """The frame that best shows the event, as stored (blurred where blur is on)."""
        for role in FRAMES_BEST_FIRST:
            image = event.images.get(role)
            if image is None or image.expired or image.storage_uri is None:
                continue
            try:
                return await anyio.to_thread.run_sync(self.store.get, image.storage_uri)
            except FileNotFoundError:
                continue
        return None


@contextlib.asynccontextmanager
async def running_outputs(
    settings: Settings, pool: Pool, store: FrameStore, metrics: Metrics
) -> AsyncIterator[OutputsRunner | None]:
    """The supervised deliverer as a task on this event loop (None when no output is
    configured), stopped on exit (MQTT says ``offline`` first)."""
    runner = OutputsRunner(settings, pool, store, metrics)
    if not runner.specs:
        yield None
        return
    task = asyncio.create_task(runner.supervised.run_forever(), name="shelfcam-outputs")
    try:
        yield runner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
