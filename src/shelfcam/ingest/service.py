"""The ingest fast path: one frame in, a staging file + captures row + queued job out.

Order of work: the staging file is written first, then one transaction inserts the row
and enqueues the analysis job. If anything fails after the file is written, the file is
removed: no orphan file, no row without a job, no job without a row. A retry of a frame
already received (same device, boot and seq; or, without seq, the same bytes from the same
device within the staging window) returns the original capture and creates nothing.

When the admin UI has asked for a snapshot (``device_state.snapshot_requested_at``, read
by the same statement that inserts the capture), the response to the camera's next frame
says ``snapshot_requested: true`` (the request is then *announced*); the frame after that
(a full-resolution picture from a camera that follows the directive) is also copied to
``debug/<device>/<date>/<id>.jpg`` as a capture of its own (class ``debug``, analysis
``skipped``) and the request is cleared; the ROI editor draws on it.

Ingest never deletes frames to make room: when free space falls under
SHELFCAM_DISK_GUARD_FREE_MB it queues the disk-guard job (at most every few seconds, in
the background) and a worker frees space; only under SHELFCAM_MIN_FREE_DISK_MB does it
refuse frames with 507.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import psycopg

from shelfcam.analysis import jobqueue
from shelfcam.config import Settings
from shelfcam.db import captures as capture_queries
from shelfcam.db import retention as retention_queries
from shelfcam.db.connect import translate_errors, translate_errors_async
from shelfcam.db.types import Conn, Pool, Row
from shelfcam.errors import InsufficientStorage, RateLimited, ShelfcamError, StoreUnavailable
from shelfcam.frames import layout
from shelfcam.frames.routing import store_call
from shelfcam.frames.store import FrameStore
from shelfcam.ingest.auth import DeviceAuth
from shelfcam.ingest.directives import Directive, directive
from shelfcam.ingest.jpeg import JpegInfo
from shelfcam.ingest.latest import LatestFrames
from shelfcam.ingest.metadata import FrameMeta
from shelfcam.ingest.ratelimit import RateLimiter
from shelfcam.ingest.wakeup import QueueWaker

log = logging.getLogger(__name__)

LAST_SEEN_EVERY_S = 5.0
FREE_SPACE_EVERY_S = 1.0
GUARD_KICK_EVERY_S = 10.0


@dataclass(frozen=True)
class IngestResult:
    capture_id: uuid.UUID
    received_at: datetime
    duplicate: bool
    directive: Directive
    snapshot_requested_at: datetime | None = None
    snapshot_announced_at: datetime | None = None


@dataclass
class _Frame:
    device_id: str
    meta: FrameMeta
    info: JpegInfo
    capture_id: uuid.UUID
    received_at: datetime
    sha256_hex: str
    byte_size: int
    uri: str


class Ingestor:
    """Holds what the fast path needs; built once per process by the app factory."""

    def __init__(
        self,
        settings: Settings,
        pool: Pool,
        store: FrameStore,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.store = store
        self.limiter = RateLimiter(settings.rate_limit_fps, settings.rate_limit_burst)
        self.auth = DeviceAuth(pool)
        self._last_seen: dict[str, float] = {}
        self._free = 0
        self._free_checked = -FREE_SPACE_EVERY_S
        self._guard_floor = settings.disk_guard_floor_mb * 1024 * 1024
        self._guard_kicked = -GUARD_KICK_EVERY_S
        self.guard_kick: asyncio.Task[bool] | None = None
        """The latest background request for a disk-guard pass (tests await it)."""
        self.waker = QueueWaker(pool, jobqueue.ANALYSIS_QUEUE)
        self.latest = LatestFrames()
        """Each camera's newest frame this process took (latest.jpg; memory only)."""

    def admit(self, device_id: str) -> None:
        """Refuse early (before reading the body) on rate limit or a full disk."""
        wait = self.limiter.take(device_id, time.monotonic())
        if wait > 0:
            raise RateLimited(
                f"device {device_id} sends faster than {self.settings.rate_limit_fps:g} frames/s",
                headers={"Retry-After": str(max(1, round(wait + 0.5)))},
            )
        floor = self.settings.min_free_disk_mb * 1024 * 1024
        free = self._free_bytes() if floor or self._guard_floor else 0
        if self._guard_floor and free < self._guard_floor:
            self._kick_disk_guard()
        if floor and free < floor:
            raise InsufficientStorage(
                f"less than {self.settings.min_free_disk_mb} MiB free in the data dir",
                headers={"Retry-After": "60"},
            )

    def _free_bytes(self) -> int:
        """Free space in the data dir, measured at most once a second."""
        tick = time.monotonic()
        if tick - self._free_checked >= FREE_SPACE_EVERY_S:
            self._free = self.store.free_space().free_bytes
            self._free_checked = tick
        return self._free

    async def close(self) -> None:
        """Before the pool closes: drop a disk-guard request still in flight."""
        await self.waker.close()
        kick, self.guard_kick = self.guard_kick, None
        if kick is not None and not kick.done():
            kick.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await kick

    def _kick_disk_guard(self) -> None:
        """Ask a worker for a disk-guard pass now (in the background; the request itself
        only queues a job, and at most every GUARD_KICK_EVERY_S)."""
        tick = time.monotonic()
        if tick - self._guard_kicked < GUARD_KICK_EVERY_S:
            return
        self._guard_kicked = tick
        self.guard_kick = asyncio.get_running_loop().create_task(self._queue_disk_guard())

    async def _queue_disk_guard(self) -> bool:
        try:
            async with self.pool.connection() as conn:
                queued = await retention_queries.defer_disk_guard(
                    conn, jobqueue.MAINTENANCE_QUEUE, jobqueue.DISK_GUARD_TASK
                )
        except psycopg.Error as err:
            log.warning("action=disk_guard_kick_failed error=%s", type(err).__name__)
            return False
        log.info(
            "action=disk_guard_requested free_mb=%d queued=%s",
            self._free // (1024 * 1024),
            str(queued).lower(),
        )
        return queued

    def _directive(self, now: datetime, row: Row | None) -> Directive:
        return directive(
            now,
            row["burst_until"] if row else None,
            row["snapshot_requested_at"] if row else None,
            idle_interval_ms=self.settings.idle_interval_ms,
            burst_interval_ms=self.settings.burst_interval_ms,
        )

    async def ingest(
        self, device_id: str, meta: FrameMeta, jpeg: bytes, info: JpegInfo
    ) -> IngestResult:
        with translate_errors():  # the database is known to be down: 503 before any write
            self.pool.raise_if_down()
        received_at = datetime.now(UTC)
        frame = _Frame(
            device_id=device_id,
            meta=meta,
            info=info,
            capture_id=uuid.uuid4(),
            received_at=received_at,
            sha256_hex=hashlib.sha256(jpeg).hexdigest(),
            byte_size=len(jpeg),
            uri="",
        )
        frame.uri = await store_call(
            self.store,
            self.store.put,
            layout.staging_uri(device_id, received_at.date(), frame.capture_id),
            jpeg,
            durable=False,
        )
        committed = False
        try:
            async with translate_errors_async(), self.pool.connection() as conn:
                if meta.device_seq is None:
                    async with conn.transaction():  # the content check takes a lock
                        result = await self._record(conn, frame)
                else:  # one atomic statement, no BEGIN/COMMIT round trips
                    result = await self._record(conn, frame)
                committed = True
                if not result.duplicate:
                    self.waker.poke()
                if result.snapshot_requested_at is not None and not result.duplicate:
                    result = await self._snapshot(conn, frame, jpeg, result)
                await self._touch(conn, device_id, received_at)
        except BaseException:
            if not committed:  # here even when cancelled: no thread, a brief block
                self._discard(frame.uri)
            raise
        if result.duplicate:
            await store_call(self.store, self._discard, frame.uri)
        else:
            self.latest.keep(device_id, jpeg, received_at)
        return result

    def _discard(self, uri: str) -> None:
        """Delete a frame no row names; if the store fails now, the orphan sweep of
        retention deletes it later (docs/retention.md)."""
        try:
            self.store.delete(uri)
        except StoreUnavailable:
            log.warning("action=frame_discard_failed uri=%s", uri)

    async def _record(self, conn: Conn, frame: _Frame) -> IngestResult:
        meta = frame.meta
        if meta.device_seq is None:
            await capture_queries.lock_content(conn, frame.device_id, frame.sha256_hex)
            window = timedelta(minutes=self.settings.staging_window_minutes)
            existing = await capture_queries.find_recent_same_content(
                conn, frame.device_id, frame.sha256_hex, frame.received_at - window
            )
            if existing is not None:
                return await self._duplicate(conn, frame.device_id, existing, frame.received_at)
        row = await capture_queries.insert_and_enqueue(
            conn,
            queue=jobqueue.ANALYSIS_QUEUE,
            task=jobqueue.ANALYZE_TASK,
            capture_id=frame.capture_id,
            device_id=frame.device_id,
            received_at=frame.received_at,
            device_seq=meta.device_seq,
            boot_id=meta.boot_id,
            captured_at=meta.captured_at,
            storage_uri=frame.uri,
            sha256_hex=frame.sha256_hex,
            byte_size=frame.byte_size,
            width=frame.info.width,
            height=frame.info.height,
            meta=meta.health,
        )
        if row["capture_id"] is None:
            assert meta.device_seq is not None
            existing = await capture_queries.find_by_seq(
                conn, frame.device_id, meta.boot_id, meta.device_seq
            )
            assert existing is not None  # the conflicting row is committed and visible
            return await self._duplicate(conn, frame.device_id, existing, frame.received_at)
        return IngestResult(
            frame.capture_id,
            frame.received_at,
            False,
            self._directive(frame.received_at, row),
            row["snapshot_requested_at"],
            row["snapshot_announced_at"],
        )

    async def _duplicate(
        self, conn: Conn, device_id: str, existing: Row, now: datetime
    ) -> IngestResult:
        columns = await capture_queries.directive_columns(conn, device_id)
        log.info(
            "action=frame_duplicate device=%s capture_id=%s", device_id, existing["capture_id"]
        )
        return IngestResult(
            existing["capture_id"], existing["received_at"], True, self._directive(now, columns)
        )

    async def _snapshot(
        self, conn: Conn, frame: _Frame, jpeg: bytes, result: IngestResult
    ) -> IngestResult:
        """A snapshot is pending: announce it (this response tells the camera to send its
        snapshot next), or, once announced, keep this frame as the snapshot."""
        requested, announced = result.snapshot_requested_at, result.snapshot_announced_at
        assert requested is not None
        if announced is None or announced < requested:
            await capture_queries.announce_snapshot(conn, frame.device_id, requested)
            return result
        if not await self._keep_snapshot(conn, frame, jpeg):
            return result
        return replace(result, directive=replace(result.directive, snapshot_requested=False))

    async def _keep_snapshot(self, conn: Conn, frame: _Frame, jpeg: bytes) -> bool:
        """The admin UI asked for a snapshot: keep a copy of this frame under debug/ as
        its own capture (class debug, analysis skipped) and clear the request. Only on
        request, so the fast path's cost is unchanged otherwise. A failure here leaves
        the request pending (the next frame tries again) and never fails the upload."""
        snapshot_id = uuid.uuid4()
        uri = ""
        try:
            uri = await store_call(
                self.store,
                self.store.put,
                layout.debug_uri(frame.device_id, frame.received_at.date(), snapshot_id),
                jpeg,
                durable=False,
            )
            kept = await capture_queries.insert_snapshot(
                conn,
                capture_id=snapshot_id,
                device_id=frame.device_id,
                received_at=frame.received_at,
                boot_id=frame.meta.boot_id,
                captured_at=frame.meta.captured_at,
                storage_uri=uri,
                byte_size=frame.byte_size,
                width=frame.info.width,
                height=frame.info.height,
                meta={"snapshot_of": str(frame.capture_id)},
            )
        except (ShelfcamError, psycopg.Error) as err:
            if uri:
                await store_call(self.store, self._discard, uri)
            log.warning(
                "action=snapshot_failed device=%s error=%s", frame.device_id, type(err).__name__
            )
            return False
        if not kept:  # another frame of this device took the request first
            await store_call(self.store, self._discard, uri)
            return False
        log.info(
            "action=snapshot_kept device=%s capture_id=%s snapshot_id=%s",
            frame.device_id,
            frame.capture_id,
            snapshot_id,
        )
        return True

    async def _touch(self, conn: Conn, device_id: str, now: datetime) -> None:
        """Record last_seen_at, at most every few seconds per device (not per frame)."""
        tick = time.monotonic()
        if tick - self._last_seen.get(device_id, -LAST_SEEN_EVERY_S) < LAST_SEEN_EVERY_S:
            return
        self._last_seen[device_id] = tick
        try:
            await capture_queries.touch_device(conn, device_id, now)
        except psycopg.Error as err:  # the frame is stored; last_seen_at can wait
            log.warning("action=last_seen_failed device=%s error=%s", device_id, type(err).__name__)
