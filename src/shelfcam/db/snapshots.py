"""Queries for the ROI editor's pictures: snapshot (debug) captures and recent event frames."""

from __future__ import annotations

import uuid
from datetime import datetime

from shelfcam.db.types import Conn, Row


async def latest_snapshots(conn: Conn, device_id: str, limit: int = 5) -> list[Row]:
    """The device's newest debug captures that still have a file, newest first."""
    cur = await conn.execute(
        "SELECT capture_id, storage_uri, received_at, width, height FROM captures"
        " WHERE storage_class = 'debug' AND device_id = %s AND storage_uri IS NOT NULL"
        " ORDER BY received_at DESC LIMIT %s",
        (device_id, limit),
    )
    return await cur.fetchall()


async def snapshot(conn: Conn, capture_id: uuid.UUID) -> Row | None:
    """A snapshot's capture, also once deleted (class discarded, meta.snapshot_of kept)."""
    cur = await conn.execute(
        "SELECT capture_id, device_id, storage_uri, storage_class, received_at FROM captures"
        " WHERE capture_id = %s AND (storage_class = 'debug' OR meta ? 'snapshot_of')",
        (capture_id,),
    )
    return await cur.fetchone()


async def snapshot_after(conn: Conn, device_id: str, after: datetime) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM captures WHERE storage_class = 'debug' AND device_id = %s"
        " AND received_at > %s AND storage_uri IS NOT NULL LIMIT 1",
        (device_id, after),
    )
    return await cur.fetchone() is not None


async def discard_snapshot(conn: Conn, device_id: str, capture_id: uuid.UUID) -> str | None:
    """Mark a debug capture discarded; return its file to delete after the commit."""
    cur = await conn.execute(
        """
        WITH old AS (
            SELECT capture_id, storage_uri FROM captures
            WHERE capture_id = %s AND device_id = %s AND storage_class = 'debug' FOR UPDATE
        )
        UPDATE captures c SET storage_class = 'discarded', storage_uri = NULL
        FROM old WHERE c.capture_id = old.capture_id
        RETURNING old.storage_uri
        """,
        (capture_id, device_id),
    )
    row = await cur.fetchone()
    return None if row is None else row["storage_uri"]


async def recent_event_frames(conn: Conn, device_id: str, limit: int = 20) -> list[Row]:
    """Frames of the device's latest events (post, then pre, then during), newest first."""
    cur = await conn.execute(
        """
        SELECT e.event_id, e.started_at, i.role,
               coalesce(i.derived_storage_uri, c.storage_uri) AS storage_uri
        FROM events e
        JOIN event_images i ON i.event_id = e.event_id
        LEFT JOIN captures c ON c.capture_id = i.capture_id
        WHERE e.device_id = %s AND i.role IN ('post', 'pre', 'during') AND i.expired_at IS NULL
        ORDER BY e.started_at DESC, array_position(ARRAY['post', 'pre', 'during'], i.role)
        LIMIT %s
        """,
        (device_id, limit),
    )
    return await cur.fetchall()
