"""The picture the ROI editor draws on: the camera's latest snapshot (a debug frame kept by
ingest when the user asked for one), else the latest event frame of that camera.

Snapshots are full, unblurred frames, kept only to draw ROIs: retention deletes them after
an hour, and saving ROIs over one deletes it at once.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import anyio.to_thread

from shelfcam.db import snapshots as queries
from shelfcam.db.types import Conn
from shelfcam.errors import Gone, InvalidInput, NotFound
from shelfcam.frames.routing import store_call
from shelfcam.frames.store import FrameStore
from shelfcam.vocabulary import validate_device_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Backdrop:
    kind: Literal["snapshot", "event", "latest"]
    url: str
    taken_at: datetime
    capture_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    role: str | None = None


def _exists(store: FrameStore, uri: str | None) -> bool:
    if not uri:
        return False
    try:
        return store.exists(uri)
    except InvalidInput:
        return False


async def backdrop(conn: Conn, store: FrameStore, name: str) -> Backdrop | None:
    """The newest snapshot with its file on disk, else the newest event frame; or None."""
    device_id = validate_device_id(name)
    for row in await queries.latest_snapshots(conn, device_id):
        if await store_call(store, _exists, store, row["storage_uri"]):
            return Backdrop(
                "snapshot",
                f"/snapshots/{row['capture_id']}",
                row["received_at"],
                capture_id=row["capture_id"],
            )
    for row in await queries.recent_event_frames(conn, device_id):
        if await store_call(store, _exists, store, row["storage_uri"]):
            return Backdrop(
                "event",
                f"/images/{row['event_id']}/{row['role']}",
                row["started_at"],
                event_id=row["event_id"],
                role=row["role"],
            )
    return None


async def snapshot_bytes(conn: Conn, store: FrameStore, capture_id: uuid.UUID) -> bytes:
    row = await queries.snapshot(conn, capture_id)
    if row is None:
        raise NotFound(f"no snapshot {capture_id}")
    if row["storage_class"] != "debug" or row["storage_uri"] is None:
        raise Gone(f"snapshot {capture_id} was deleted")
    try:
        return await anyio.to_thread.run_sync(store.get, row["storage_uri"])
    except FileNotFoundError as err:
        raise Gone(f"snapshot {capture_id} was deleted") from err


async def arrived_after(conn: Conn, name: str, after: datetime) -> bool:
    """True once a snapshot newer than ``after`` is there."""
    return await queries.snapshot_after(conn, validate_device_id(name), after)


async def discard(conn: Conn, store: FrameStore, name: str, capture_id: uuid.UUID) -> bool:
    """Delete a snapshot of this device (row kept as discarded); False if there was none."""
    uri = await queries.discard_snapshot(conn, validate_device_id(name), capture_id)
    if uri is None:
        return False
    await store_call(store, store.delete, uri)
    log.info("action=snapshot_deleted device=%s capture_id=%s", name, capture_id)
    return True
