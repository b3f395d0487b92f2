"""The retention run and the disk guard: query candidates, apply the plan, delete files.

Order of work, for each batch: lock the devices' state rows (``device_state ... FOR
UPDATE``, what the analysis worker holds for a whole frame), read the rows again, let
the pure plan decide, mark them (images expired, captures 'discarded'), commit; only then
delete the files. A crash after the commit leaves files whose rows have let them go: the
next run's orphan sweep deletes them. A crash before it changes nothing. One run (or
disk-guard pass) works at a time: a PostgreSQL advisory lock, held for the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta

from shelfcam import logs
from shelfcam.analysis.jobqueue import ANALYSIS_QUEUE
from shelfcam.config import Settings
from shelfcam.db import retention as queries
from shelfcam.db.types import Conn, Pool, Row
from shelfcam.errors import Conflict
from shelfcam.frames.layout import Area
from shelfcam.frames.routing import open_frame_store
from shelfcam.frames.store import FrameStore
from shelfcam.retention.files import Deleter, sweep_orphans
from shelfcam.retention.pace import Pacer
from shelfcam.retention.plan import (
    CaptureChange,
    CaptureRow,
    Deletions,
    EventCaptureRow,
    EventRow,
    GuardCandidate,
    ImageRow,
    Policy,
    PurgeRow,
    Rows,
    disk_guard,
    expire_events,
    plan,
)
from shelfcam.retention.summary import GuardReport, Scope, Summary

log = logging.getLogger(__name__)

MIB = 1024 * 1024
BATCH = 200
PURGE_BATCH = 5000
GUARD_CANDIDATES = 200
GUARD_MAX_EVENTS = 50

FaultHook = Callable[[str], None]
"""Called at named points ("marked": rows committed, files not yet deleted); tests raise
from it to interrupt a run there."""

AREAS: dict[Scope, tuple[Area, ...]] = {
    "full": ("staging", "debug", "events", "thumbs"),
    "sweep": ("staging", "debug"),
}


class RetentionBusy(Conflict):
    """Another retention run (or disk-guard pass) holds the lock."""


def policy_from(settings: Settings) -> Policy:
    days = settings.capture_retention_days
    return Policy(
        event_retention=timedelta(days=settings.event_retention_days),
        staging_retention=timedelta(hours=settings.staging_retention_hours),
        staging_window=timedelta(minutes=settings.staging_window_minutes),
        capture_retention=None if days is None else timedelta(days=days),
    )


class Retention:
    """Built once per process (worker, CLI) with the pool and store it works on."""

    def __init__(
        self,
        settings: Settings,
        pool: Pool,
        store: FrameStore,
        *,
        free_bytes: Callable[[], int] | None = None,
        pacer: Pacer | None = None,
        fault: FaultHook | None = None,
        batch_size: int = BATCH,
    ) -> None:
        self.policy = policy_from(settings)
        self.pool = pool
        self.store = store
        self.guard_floor = settings.disk_guard_floor_mb * MIB
        self.free_bytes = free_bytes or (lambda: store.free_space().free_bytes)
        self.pacer = pacer or Pacer(settings.retention_files_per_second)
        self.fault = fault or (lambda point: None)
        self.batch_size = batch_size

    @contextlib.asynccontextmanager
    async def _exclusive(self, conn: Conn) -> AsyncIterator[None]:
        if not await queries.try_lock_run(conn):
            raise RetentionBusy("another retention run is in progress; try again later")
        try:
            yield
        finally:
            if not await queries.unlock_run(conn):
                log.warning("action=retention_unlock_failed reason=connection_lost")

    async def run(self, now: datetime, *, dry_run: bool = False, scope: Scope = "full") -> Summary:
        """One retention run at ``now``; ``dry_run`` counts what it would delete and
        changes nothing. Raises :class:`RetentionBusy` if another run is working."""
        started = time.monotonic()
        summary = Summary(now=now, dry_run=dry_run, scope=scope)
        deleter = Deleter(self.store, self.pacer, dry_run=dry_run)
        areas = AREAS[scope]
        async with self.pool.connection() as conn:
            lock = contextlib.nullcontext() if dry_run else self._exclusive(conn)
            async with lock:
                if scope == "full":
                    await self._old_events(conn, now, deleter, summary)
                for storage_class in ("debug", "staging"):
                    await self._captures(conn, storage_class, now, deleter, summary)
                await sweep_orphans(conn, self.store, deleter, self.policy, now, areas, summary)
                if scope == "full":
                    await self._purge(conn, now, summary, dry_run=dry_run)
                    summary.jobs = await queries.purge_unsuccessful_jobs(
                        conn, ANALYSIS_QUEUE, self.policy.jobs_before(now), dry_run=dry_run
                    )
                summary.folders = await self._prune(areas, dry_run=dry_run)
        summary.errors = deleter.errors
        summary.seconds = time.monotonic() - started
        log.info("action=retention_done %s", logs.Fields(summary.log_fields()))
        return summary

    # --- event frames ---------------------------------------------------------------------

    async def _old_events(
        self, conn: Conn, now: datetime, deleter: Deleter, summary: Summary
    ) -> None:
        before = self.policy.events_before(now)
        after = None
        while batch := await queries.live_events(conn, before, after, self.batch_size):
            after = (batch[-1]["started_at"], batch[-1]["event_id"])
            await self._expire(conn, batch, now, deleter, summary, by_age=True)

    async def _expire(
        self,
        conn: Conn,
        candidates: Sequence[Row],
        now: datetime,
        deleter: Deleter,
        summary: Summary,
        *,
        by_age: bool,
    ) -> Deletions:
        """Expire the images of these events (by age, or all: the disk guard), then
        delete their folders."""
        ids = [row["event_id"] for row in candidates]
        async with conn.transaction():
            if not deleter.dry_run:
                await queries.lock_devices(conn, [row["device_id"] for row in candidates])
            image_rows = await queries.event_images(conn, ids)
            sources = sorted({r["capture_id"] for r in image_rows if r["capture_id"]}, key=str)
            captures = await queries.event_captures(conn, sources, lock=not deleter.dry_run)
            images = await queries.images_of_captures(conn, [c["capture_id"] for c in captures])
            # Off the event loop (in `serve` it also serves ingest): a batch's rows and
            # plan take tens of milliseconds of Python.
            decided = await asyncio.to_thread(
                self._plan_expiry, image_rows, captures, images, now, by_age
            )
            changes = [c for c in decided.capture_changes if c.from_class == "event"]
            if deleter.dry_run:
                expired = len(decided.expired_images)
                changed = {c.capture_id for c in changes}
            else:
                expired = await queries.expire_images(conn, decided.expired_images, now)
                changed = await queries.change_captures(conn, _change_args(changes))
        self.fault("marked")
        removed = await deleter.folders(decided.event_folders)
        removed += await deleter.files(decided.event_files)
        summary.events += len(decided.expired_events)
        summary.images += expired
        summary.event.captures += sum(
            1 for c in changes if c.capture_id in changed and c.to_class == "discarded"
        )
        summary.event.add(removed.files, removed.bytes)
        return decided

    def _plan_expiry(
        self,
        image_rows: Sequence[Row],
        captures: Sequence[Row],
        images: Sequence[Row],
        now: datetime,
        by_age: bool,
    ) -> Deletions:
        rows = Rows(events=_events(image_rows), event_captures=_event_captures(captures, images))
        if by_age:
            return plan(rows, self.policy, now)
        return expire_events(rows.events, rows.event_captures)

    # --- staging frames and debug snapshots ---------------------------------------------------

    async def _captures(
        self, conn: Conn, storage_class: str, now: datetime, deleter: Deleter, summary: Summary
    ) -> None:
        tally = summary.staging if storage_class == "staging" else summary.debug
        before = (
            self.policy.staging_before(now)
            if storage_class == "staging"
            else self.policy.debug_before(now)
        )
        after = None
        while batch := await queries.capture_candidates(
            conn, storage_class, before, after, self.batch_size
        ):
            after = (batch[-1]["received_at"], batch[-1]["capture_id"])
            by_device: dict[str, list[Row]] = defaultdict(list)
            for row in batch:
                by_device[row["device_id"]].append(row)
            for device_id, rows in sorted(by_device.items()):
                ids = [row["capture_id"] for row in rows]
                async with conn.transaction():
                    if not deleter.dry_run:
                        await queries.lock_devices(conn, [device_id])
                    fresh = await queries.capture_rows(
                        conn, ids, storage_class, lock=not deleter.dry_run
                    )
                    decided = plan(Rows(captures=[_capture(r) for r in fresh]), self.policy, now)
                    changes = decided.capture_changes
                    if deleter.dry_run:
                        changed = {c.capture_id for c in changes}
                    else:
                        changed = await queries.change_captures(conn, _change_args(changes))
                self.fault("marked")
                files = [c.old_file for c in changes if c.capture_id in changed and c.old_file]
                removed = await deleter.files(files)
                tally.captures += len(changed)
                tally.add(removed.files, removed.bytes)

    # --- captures rows -------------------------------------------------------------------------

    async def _purge(self, conn: Conn, now: datetime, summary: Summary, *, dry_run: bool) -> None:
        before = self.policy.captures_before(now)
        if before is None:
            return
        for device_id in await queries.device_ids(conn):
            after = None
            while batch := await queries.purge_rows(conn, device_id, before, after, PURGE_BATCH):
                after = (batch[-1]["received_at"], batch[-1]["capture_id"])
                decided = plan(Rows(purge=[_purge_row(r) for r in batch]), self.policy, now)
                if dry_run:
                    summary.purged += len(decided.purge)
                    continue
                async with conn.transaction():
                    summary.purged += await queries.purge_captures(conn, decided.purge)

    async def _prune(self, areas: Sequence[Area], *, dry_run: bool) -> int:
        total = 0
        for area in areas:
            total += await asyncio.to_thread(self.store.prune, area, dry_run=dry_run)
        return total

    # --- the disk guard --------------------------------------------------------------------------

    async def guard(self, now: datetime) -> GuardReport | None:
        """Delete the oldest event frames, a batch at a time, until free space is back
        above the floor. None when above it already, the guard is off, or a retention
        run is working (it frees space itself; the next pass looks again)."""
        floor = self.guard_floor
        if not floor:
            return None
        free = await asyncio.to_thread(self.free_bytes)
        if free >= floor:
            return None
        report = GuardReport(floor_bytes=floor, free_before=free, free_after=free)
        deleter = Deleter(self.store, self.pacer, dry_run=False)
        async with self.pool.connection() as conn:
            try:
                async with self._exclusive(conn):
                    while free < floor:
                        if not await self._guard_batch(conn, now, free, deleter, report):
                            break
                        free = await asyncio.to_thread(self.free_bytes)
                        report.free_after = free
            except RetentionBusy:
                log.info("action=disk_guard_busy free_mb=%d", free // MIB)
                return None
        return report

    async def _guard_batch(
        self, conn: Conn, now: datetime, free: int, deleter: Deleter, report: GuardReport
    ) -> bool:
        rows = await queries.guard_candidates(conn, GUARD_CANDIDATES)
        candidates = [
            GuardCandidate(r["event_id"], r["started_at"], int(r["estimated_bytes"])) for r in rows
        ]
        chosen = set(disk_guard(candidates, free, report.floor_bytes, GUARD_MAX_EVENTS))
        if not chosen:
            report.exhausted = True
            log.warning(
                "action=disk_guard_exhausted free_mb=%d floor_mb=%d reason=no_event_frames_left",
                free // MIB,
                report.floor_bytes // MIB,
            )
            return False
        batch = [r for r in rows if r["event_id"] in chosen]
        summary = Summary(now=now, dry_run=False, scope="full")
        await self._expire(conn, batch, now, deleter, summary, by_age=False)
        report.batches += 1
        report.events += summary.events
        report.files += summary.event.files
        report.bytes += summary.event.bytes
        log.info(
            "action=disk_guard_deleted events=%d files=%d bytes=%d oldest=%s newest=%s "
            "free_mb=%d floor_mb=%d",
            summary.events,
            summary.event.files,
            summary.event.bytes,
            batch[0]["started_at"].isoformat(),
            batch[-1]["started_at"].isoformat(),
            free // MIB,
            report.floor_bytes // MIB,
        )
        return True


# --- rows -> plan inputs ------------------------------------------------------------------------


def _image(row: Row) -> ImageRow:
    return ImageRow(
        event_id=row["event_id"],
        role=row["role"],
        capture_id=row["capture_id"],
        uri=row["uri"],
        expired=bool(row["expired"]),
        created_at=row["created_at"],
    )


def _events(rows: Sequence[Row]) -> list[EventRow]:
    grouped: dict[object, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[row["event_id"]].append(row)
    return [
        EventRow(
            event_id=images[0]["event_id"],
            device_id=images[0]["device_id"],
            started_at=images[0]["started_at"],
            images=tuple(_image(r) for r in images),
        )
        for images in grouped.values()
    ]


def _event_captures(captures: Sequence[Row], images: Sequence[Row]) -> list[EventCaptureRow]:
    by_capture: dict[object, list[ImageRow]] = defaultdict(list)
    for row in images:
        by_capture[row["capture_id"]].append(_image(row))
    return [
        EventCaptureRow(c["capture_id"], c["storage_uri"], tuple(by_capture[c["capture_id"]]))
        for c in captures
    ]


def _capture(row: Row) -> CaptureRow:
    return CaptureRow(
        capture_id=row["capture_id"],
        device_id=row["device_id"],
        storage_class=row["storage_class"],
        received_at=row["received_at"],
        analysis_status=row["analysis_status"],
        storage_uri=row["storage_uri"],
        kept=bool(row["kept"]),
        event_uri=row["event_uri"],
    )


def _purge_row(row: Row) -> PurgeRow:
    return PurgeRow(
        capture_id=row["capture_id"],
        received_at=row["received_at"],
        storage_class=row["storage_class"],
        analysis_status=row["analysis_status"],
        pinned=bool(row["pinned"]),
    )


def _change_args(
    changes: Sequence[CaptureChange],
) -> list[tuple[uuid.UUID, str, str, str | None, bool]]:
    return [(c.capture_id, c.from_class, c.to_class, c.new_uri, c.fail_analysis) for c in changes]


async def run_once(settings: Settings, database_url: str, *, dry_run: bool) -> Summary:
    """``shelfcam retention run``: one full run now, on a pool of its own."""
    from shelfcam.db.connect import open_pool

    pool = await open_pool(database_url, size=2, name="shelfcam-retention")
    try:
        retention = Retention(settings, pool, open_frame_store(settings))
        return await retention.run(datetime.now(UTC), dry_run=dry_run)
    finally:
        await pool.close()
