"""Queries of ``shelfcam eval``: progress of the analysis and the events of a camera."""

from __future__ import annotations

from shelfcam.db.types import Conn, Row


async def queued_frames(conn: Conn) -> int:
    cur = await conn.execute("SELECT count(*) AS n FROM captures WHERE analysis_status = 'queued'")
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def events_of(conn: Conn, device_id: str) -> list[Row]:
    cur = await conn.execute(
        "SELECT event_type, started_at, ended_at, details FROM events WHERE device_id = %s "
        "ORDER BY started_at",
        (device_id,),
    )
    return await cur.fetchall()


async def frame_numbers(conn: Conn, device_id: str) -> dict[str, int]:
    """Capture id -> the frame number (device_seq) the camera sent it with."""
    cur = await conn.execute(
        "SELECT capture_id, device_seq FROM captures "
        "WHERE device_id = %s AND device_seq IS NOT NULL",
        (device_id,),
    )
    return {str(row["capture_id"]): int(row["device_seq"]) for row in await cur.fetchall()}
