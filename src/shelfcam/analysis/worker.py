"""The analysis worker: load a frame -> vision -> engine -> persist. The only glue.

One procrastinate job per capture, ``lock=device_id``: a camera's frames are analyzed one
at a time and in order, on any number of workers and machines. Everything a frame changes
in the database happens in one transaction, after the event files are written (fsynced):

* events and their ``event_images`` (ids derived from the engine's deterministic keys, so a
  retried frame inserts nothing twice), event captures re-classed ``event``;
* open events closed, the capture marked processed (or skipped/failed) with a few scores;
* the device's engine state, the frames it still needs, the camera directive;
* staging captures nobody needs any more marked ``discarded``; their files are deleted
  after the commit (a crash in between leaves only orphan files, which retention sweeps).

A crash at any point followed by a retry gives the same final result.
"""

from __future__ import annotations

import logging
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg

from shelfcam.analysis import clocks, eventframes
from shelfcam.analysis.outputs import Committed, EndedEvent, EventLog, Outputs, RecordedEvent
from shelfcam.analysis.pipeline import decide
from shelfcam.config import Settings
from shelfcam.db import analysis as queries
from shelfcam.db.types import Conn, Pool, Row
from shelfcam.engine import EngineConfig, EngineState, NewEvent, Step, Thresholds
from shelfcam.errors import InvalidInput, StoreUnavailable
from shelfcam.frames import layout
from shelfcam.frames.routing import store_call
from shelfcam.frames.store import FrameStore
from shelfcam.metrics import Metrics
from shelfcam.outputs.outbox import Outbox
from shelfcam.vision import Frame, Rois, frame_from_jpeg, polygons
from shelfcam.vocabulary import FRAMES_BEST_FIRST, AnalysisStatus, ImageRole

log = logging.getLogger(__name__)

EVENT_NAMESPACE = uuid.UUID("4f0e7d0c-5d2a-4a8e-9c39-5b1d2f6a8e11")
FRAME_CACHE_SIZE = 256

FaultHook = Callable[[str], None]
"""Called at named points of a frame's processing; tests raise from it to stop the worker
there ("event_files_written", "before_commit", "after_commit")."""


def event_id_for(device_id: str, key: str) -> uuid.UUID:
    return uuid.uuid5(EVENT_NAMESPACE, f"{device_id}:{key}")


class FrameCache:
    """Decoded frames by capture id (the previous frame and the baseline are reused)."""

    def __init__(self, size: int = FRAME_CACHE_SIZE) -> None:
        self.size = size
        self._frames: OrderedDict[str, Frame] = OrderedDict()

    def get(self, key: str) -> Frame | None:
        frame = self._frames.get(key)
        if frame is not None:
            self._frames.move_to_end(key)
        return frame

    def put(self, key: str, frame: Frame) -> None:
        self._frames[key] = frame
        self._frames.move_to_end(key)
        while len(self._frames) > self.size:
            self._frames.popitem(last=False)


class Analyzer:
    """Processes one capture at a time (per device); built once per worker process."""

    def __init__(
        self,
        settings: Settings,
        pool: Pool,
        store: FrameStore,
        metrics: Metrics | None = None,
        fault: FaultHook | None = None,
        outputs: Outputs | None = None,
        outbox: Outbox | None = None,
    ) -> None:
        self.settings = settings
        self.pool = pool
        self.store = store
        self.metrics = metrics or Metrics()
        self.outputs = outputs or Outputs([EventLog(self.metrics)])
        self.outbox = outbox or Outbox.from_settings(settings)
        self.fault = fault or (lambda point: None)
        self.frames = FrameCache()
        self._refs: dict[tuple[str, str], tuple[datetime, Frame]] = {}

    async def process(self, capture_id: uuid.UUID) -> str:
        """Analyze one capture; return its final analysis_status.

        Database trouble propagates (the queue retries the job). Any other error marks the
        capture failed, like a dropped frame; files written for its events are removed.
        """
        to_delete: list[str] = []
        written: list[str] = []
        device_id = "?"
        status: str
        committed: Committed | None = None
        try:
            async with self.pool.connection() as conn, conn.transaction():
                frame = await queries.lock_frame(conn, capture_id)
                if frame is None:
                    return "missing"
                device_id = str(frame["device_id"])
                # Files the previous frame released: deleted after its commit, and again
                # here in case that process died in between (deleting twice is harmless).
                await store_call(self.store, self._unlink, frame["unlink_pending"])
                if frame["analysis_status"] != "queued":
                    await queries.set_unlink_pending(conn, device_id, [])
                    return str(frame["analysis_status"])
                status, committed = await self._analyze(conn, frame, to_delete, written)
                if committed is not None:  # what each output is owed, in this transaction
                    await self.outbox.record(conn, committed)
                self.fault("before_commit")
        except (psycopg.OperationalError, StoreUnavailable):  # the queue retries the job
            await store_call(self.store, self._remove_folders, written)
            raise
        except Exception as err:
            await store_call(self.store, self._remove_folders, written)
            log.exception(
                "action=frame_failed device=%s capture_id=%s error=%s",
                device_id,
                capture_id,
                type(err).__name__,
            )
            status = await self._mark_failed(capture_id, f"{type(err).__name__}: {err}")
            committed = None
        self.fault("after_commit")
        await store_call(self.store, self._unlink, to_delete)
        if committed is not None:
            self.outputs.hand_over(committed)
        self.metrics.frames_analyzed.labels(device_id, status).inc()
        return status

    def _unlink(self, uris: list[str]) -> None:
        for uri in uris:
            try:
                self.store.delete(uri)
            except StoreUnavailable:  # the next frame tries again (unlink_pending), or retention
                log.warning("action=frame_unlink_failed uri=%s", uri)

    async def _mark_failed(self, capture_id: uuid.UUID, reason: str) -> str:
        to_delete: list[str] = []
        async with self.pool.connection() as conn, conn.transaction():
            capture = await queries.lock_capture(conn, capture_id)
            if capture is None or capture["analysis_status"] != "queued":
                return "missing" if capture is None else str(capture["analysis_status"])
            await _close_unscored(
                conn, capture_id, str(capture["device_id"]), "failed", reason[:500], to_delete
            )
        await store_call(self.store, self._unlink, to_delete)
        return "failed"

    def _remove_folders(self, folders: list[str]) -> None:
        for folder in folders:
            try:
                self.store.delete_folder(folder)
            except StoreUnavailable:  # the orphan sweep of retention deletes them later
                log.warning("action=event_folder_kept uri=%s", folder)

    async def _analyze(
        self, conn: Conn, frame: Row, to_delete: list[str], written: list[str]
    ) -> tuple[AnalysisStatus, Committed | None]:
        """Analyze one locked capture; return its status and what it recorded for the
        outputs (handed over after the commit)."""
        capture = device = frame  # one row: the capture, its device's state and config
        capture_id: uuid.UUID = capture["capture_id"]
        device_id = str(capture["device_id"])
        if clocks.is_late(
            capture["boot_id"], capture["device_seq"], device["last_boot_id"], device["last_seq"]
        ):
            reason = "late frame: an older seq than one already analyzed"
            status = await _close_unscored(
                conn, capture_id, device_id, "skipped", reason, to_delete
            )
            return status, None
        try:
            data = await store_call(self.store, self.store.get, capture["storage_uri"])
            cur = frame_from_jpeg(data)
        except (FileNotFoundError, InvalidInput) as err:
            reason = "staging frame missing" if isinstance(err, FileNotFoundError) else str(err)
            log.warning(
                "action=frame_failed device=%s capture_id=%s reason=%s",
                device_id,
                capture_id,
                reason,
            )
            failed = await _close_unscored(conn, capture_id, device_id, "failed", reason, to_delete)
            return failed, None
        when = clocks.engine_time(
            capture["captured_at"],
            capture["received_at"],
            device["last_engine_at"],
            timedelta(minutes=self.settings.staging_window_minutes),
        )
        state = EngineState.from_json(device["state"])
        config = EngineConfig(
            roi_version=int(device["roi_version"]),
            thresholds=Thresholds.from_overrides(device["thresholds"]),
        )
        rois = Rois(
            interaction=polygons.from_json(device["interaction_roi"]),
            inventory=polygons.from_json(device["inventory_roi"]),
            version=config.roi_version,
        )
        kept = await self._kept_frames(conn, state)
        scores, result = decide(
            cur,
            str(capture_id),
            when.t,
            state,
            kept,
            reference=await self._reference(conn, device_id, device, "reference"),
            empty_ref=await self._reference(conn, device_id, device, "empty_ref"),
            rois=rois,
            config=config,
        )
        self.frames.put(str(capture_id), cur)
        recorded = await self._record_events(conn, device_id, device, result, written)
        ended = tuple(EndedEvent(event_id_for(device_id, e.key), e.ended_at) for e in result.ended)
        for end in ended:
            await queries.end_event(conn, end.event_id, end.ended_at)
        await queries.finish_capture(
            conn,
            capture_id,
            "processed",
            None,
            {
                "scores": _minimal_scores(scores.to_dict(3)),
                "clock": when.reason,
                "trace": list(result.trace),
            },
        )
        needed = result.state.referenced_captures()
        released = (set(device["kept_captures"]) | {capture_id}) - {uuid.UUID(c) for c in needed}
        to_delete += await queries.release_staging(conn, sorted(released))
        now = datetime.now(UTC)
        await queries.save_device_state(
            conn,
            device_id,
            state=result.state.to_json(),
            kept=[uuid.UUID(c) for c in sorted(needed)],
            burst_until=now + timedelta(seconds=config.thresholds.burst_hold_seconds)
            if result.burst
            else None,
            last_boot_id=capture["boot_id"],
            last_seq=capture["device_seq"],
            last_engine_at=when.t,
            reference_jpeg=eventframes.reference_jpeg(cur.gray) if result.take_reference else None,
            reference_at=now if result.take_reference else None,
            unlink_pending=to_delete,
        )
        return "processed", Committed(device_id, capture_id, recorded, ended)

    async def _kept_frames(self, conn: Conn, state: EngineState) -> dict[str, Frame]:
        """Decoded frames the engine refers to: from the cache, else from their files."""
        wanted = state.referenced_captures()
        found: dict[str, Frame] = {}
        missing = []
        for key in wanted:
            frame = self.frames.get(key)
            if frame is None:
                missing.append(uuid.UUID(key))
            else:
                found[key] = frame
        for capture_id, uri in (await queries.storage_uris(conn, missing)).items():
            try:
                frame = frame_from_jpeg(await store_call(self.store, self.store.get, uri))
            except (FileNotFoundError, InvalidInput):
                continue  # gone (retention, a crash): the engine re-bases without it
            self.frames.put(str(capture_id), frame)
            found[str(capture_id)] = frame
        return found

    async def _reference(self, conn: Conn, device_id: str, device: Row, kind: str) -> Frame | None:
        """A device's scene or empty-shelf reference, decoded once per version."""
        stamp = device[f"{kind}_at"]
        if stamp is None:
            return None
        key = (device_id, kind)
        cached = self._refs.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        data = await queries.reference_image(conn, device_id, kind)
        if data is None:
            return None
        frame = frame_from_jpeg(data)
        self._refs[key] = (stamp, frame)
        return frame

    async def _record_events(
        self, conn: Conn, device_id: str, device: Row, result: Step, written: list[str]
    ) -> tuple[RecordedEvent, ...]:
        if not result.events:
            return ()
        recorded = []
        needed = [uuid.UUID(c) for e in result.events for c in e.images.values()]
        uris = await queries.storage_uris(conn, needed)
        inventory = polygons.from_json(device["inventory_roi"])
        for event in result.events:
            event_id = event_id_for(device_id, event.key)
            day = event.started_at.astimezone(UTC).date()
            written += [
                layout.event_folder_uri("events", device_id, day, event_id),
                layout.event_folder_uri("thumbs", device_id, day, event_id),
            ]
            files = await store_call(
                self.store,
                self._write_event_files,
                device_id,
                event,
                event_id,
                uris,
                inventory if device["privacy_blur"] else None,
            )
            self.fault("event_files_written")
            await queries.insert_event(
                conn,
                event_id=event_id,
                device_id=device_id,
                event_type=event.event_type,
                started_at=event.started_at,
                ended_at=event.ended_at,
                confidence=event.confidence,
                details=event.details,
            )
            for role, (source, uri) in files.items():
                await queries.insert_event_image(conn, event_id, role, source, uri)
            recorded.append(
                RecordedEvent(
                    event_id=event_id,
                    event_type=event.event_type,
                    started_at=event.started_at,
                    ended_at=event.ended_at,
                    confidence=event.confidence,
                    details=event.details,
                    images={role: uri for role, (_, uri) in files.items()},
                )
            )
        return tuple(recorded)

    def _write_event_files(
        self,
        device_id: str,
        event: NewEvent,
        event_id: uuid.UUID,
        uris: dict[uuid.UUID, str],
        privacy_roi: polygons.Polygon | None,
    ) -> dict[ImageRole, tuple[uuid.UUID | None, str]]:
        """Write the event's frames (durably) under events/ and thumbs/; return
        role -> (source capture, file uri). Roles whose frame is gone are left out."""
        day = event.started_at.astimezone(UTC).date()
        written: dict[ImageRole, tuple[uuid.UUID | None, str]] = {}
        for role, capture in event.images.items():
            source = uuid.UUID(capture)
            uri = uris.get(source)
            if uri is None:
                continue
            try:
                if privacy_roi is None:  # a hard link to the staging file: no copy
                    stored = self.store.link(uri, layout.event_uri(device_id, day, event_id, role))
                else:  # the stored frame is blurred outside the shelf; analysis saw it sharp
                    blurred = eventframes.privacy_copy(self.store.get(uri), privacy_roi)
                    stored = self.store.put(
                        layout.event_uri(device_id, day, event_id, role), blurred, durable=True
                    )
            except FileNotFoundError:
                continue
            written[role] = (source, stored)
        shown = next((written[role] for role in FRAMES_BEST_FIRST if role in written), None)
        if shown is not None:
            picture = self.store.get(shown[1])
            regions = event.details.get("regions") or []
            if regions and "post" in written:
                written["annotated"] = (
                    None,
                    self.store.put(
                        layout.event_uri(device_id, day, event_id, "annotated"),
                        eventframes.annotated(picture, regions),
                        durable=True,
                    ),
                )
            written["thumb"] = (
                None,
                self.store.put(
                    layout.event_uri(device_id, day, event_id, "thumb"),
                    eventframes.thumbnail(picture),
                    durable=True,
                ),
            )
        return written


async def _close_unscored(
    conn: Conn,
    capture_id: uuid.UUID,
    device_id: str,
    status: AnalysisStatus,
    reason: str,
    to_delete: list[str],
) -> AnalysisStatus:
    """Finish a capture the engine never saw (a late frame, an unreadable or missing file,
    an error): its staging frame is released, and its file joins ``to_delete`` (deleted
    after the commit, and again by the device's next frame should this process die)."""
    await queries.finish_capture(conn, capture_id, status, reason, {})
    to_delete += await queries.release_staging(conn, [capture_id])
    await queries.set_unlink_pending(conn, device_id, to_delete)
    return status


def _minimal_scores(scores: dict[str, object]) -> dict[str, object]:
    """The few numbers kept per frame in captures.meta, for tuning near misses."""
    keep = (
        "motion",
        "frame_change",
        "inventory_delta",
        "lighting_score",
        "obstruction",
        "shift_px",
        "empty_similarity",
    )
    return {k: scores[k] for k in keep if k in scores}


class TransientError(Exception):
    """A failure worth retrying (the database went away mid-frame)."""


async def process_with_retry_semantics(analyzer: Analyzer, capture_id: uuid.UUID) -> str:
    """Run one job: database or object store trouble is retried by the queue; bad frames
    are not."""
    try:
        return await analyzer.process(capture_id)
    except (psycopg.OperationalError, StoreUnavailable) as err:
        raise TransientError(str(err)) from err
