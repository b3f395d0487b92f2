"""Queries behind the tuning page: recent per-frame scores and recent events with the files
of their retained pre and post frames."""

from __future__ import annotations

from typing import Any

from shelfcam.db.types import Conn, Row


async def recent_frame_scores(conn: Conn, device_id: str, limit: int) -> list[dict[str, Any]]:
    """``captures.meta.scores`` of the device's last ``limit`` analyzed frames."""
    cur = await conn.execute(
        "SELECT meta -> 'scores' AS scores FROM captures"
        " WHERE device_id = %s AND meta ? 'scores'"
        " ORDER BY received_at DESC LIMIT %s",
        (device_id, limit),
    )
    return [row["scores"] for row in await cur.fetchall() if isinstance(row["scores"], dict)]


_FRAME = """
LEFT JOIN LATERAL (
    SELECT coalesce(i.derived_storage_uri, c.storage_uri) AS uri
    FROM event_images i LEFT JOIN captures c ON c.capture_id = i.capture_id
    WHERE i.event_id = e.event_id AND i.role = '{role}' AND i.expired_at IS NULL
) {role} ON true
"""


async def recent_events(conn: Conn, device_id: str, limit: int) -> list[Row]:
    """The device's last ``limit`` events, with their pre and post files (or None)."""
    cur = await conn.execute(
        "SELECT e.event_id, e.event_type, e.started_at, e.details,"  # noqa: S608 - constants
        " pre.uri AS pre_uri, post.uri AS post_uri FROM events e"
        + _FRAME.format(role="pre")
        + _FRAME.format(role="post")
        + " WHERE e.device_id = %s ORDER BY e.started_at DESC LIMIT %s",
        (device_id, limit),
    )
    return await cur.fetchall()
