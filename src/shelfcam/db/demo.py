"""Queries of ``shelfcam demo``: how far the replayed scenes have got."""

from __future__ import annotations

from collections.abc import Sequence

from shelfcam.db.types import Conn


async def event_counts(conn: Conn, device_ids: Sequence[str]) -> dict[str, int]:
    """Events of these cameras per event type."""
    cur = await conn.execute(
        "SELECT event_type, count(*) AS n FROM events WHERE device_id = ANY(%s) "
        "GROUP BY event_type ORDER BY event_type",
        (list(device_ids),),
    )
    return {str(row["event_type"]): int(row["n"]) for row in await cur.fetchall()}


async def queued_frames(conn: Conn, device_ids: Sequence[str]) -> int:
    """Frames of these cameras still waiting for the worker."""
    cur = await conn.execute(
        "SELECT count(*) AS n FROM captures WHERE analysis_status = 'queued' "
        "AND device_id = ANY(%s)",
        (list(device_ids),),
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0
