"""Queries of the pulled cameras (docs/cameras.md): where each is fetched from, the lock
whose holder pulls them all, and the state the puller reports."""

from __future__ import annotations

from datetime import datetime

from shelfcam.db.types import Conn, Row

CHANNEL = "shelfcam_pulls"
"""The notification channel the puller listens on: a pull URL was set or cleared."""

PULLER_LOCK = 0x5E1F_0B8
"""The advisory lock whose holder pulls every pulled camera (one process at a time)."""


async def set_pull(conn: Conn, device_id: str, url: str, interval_ms: int | None) -> bool:
    """Pull the device from ``url`` (a new URL forgets the old state); False if no device."""
    cur = await conn.execute(
        """
        INSERT INTO device_pulls (device_id, url, interval_ms)
        SELECT device_id, %(url)s, %(interval)s FROM devices WHERE device_id = %(device)s
        ON CONFLICT (device_id) DO UPDATE SET
            url = excluded.url, interval_ms = excluded.interval_ms, updated_at = now(),
            connected = NULL, mode = NULL, frames_per_minute = NULL, last_error = NULL,
            last_error_at = NULL, reported_at = NULL
        RETURNING device_id
        """,
        {"device": device_id, "url": url, "interval": interval_ms},
    )
    found = await cur.fetchone() is not None
    await conn.execute("SELECT pg_notify(%s, 'pulls')", (CHANNEL,))
    return found


async def clear_pull(conn: Conn, device_id: str) -> bool:
    """Stop pulling the device; False if it was not pulled."""
    cur = await conn.execute(
        "DELETE FROM device_pulls WHERE device_id = %s RETURNING device_id", (device_id,)
    )
    found = await cur.fetchone() is not None
    await conn.execute("SELECT pg_notify(%s, 'pulls')", (CHANNEL,))
    return found


async def targets(conn: Conn) -> list[Row]:
    """What the puller pulls: every pulled camera that is not revoked, with its URL."""
    cur = await conn.execute(
        "SELECT p.device_id, p.url, p.interval_ms, p.updated_at FROM device_pulls p"
        " JOIN devices d USING (device_id) WHERE NOT d.revoked ORDER BY p.device_id"
    )
    return await cur.fetchall()


async def states(conn: Conn, device_id: str | None = None) -> list[Row]:
    """Each pulled camera's URL, interval and last reported state (the URL with its
    credentials: the caller shows it redacted)."""
    cur = await conn.execute(
        "SELECT p.*, d.revoked FROM device_pulls p JOIN devices d USING (device_id)"
        " WHERE %(device)s::text IS NULL OR p.device_id = %(device)s ORDER BY p.device_id",
        {"device": device_id},
    )
    return await cur.fetchall()


async def report(
    conn: Conn,
    device_id: str,
    *,
    url: str,
    connected: bool,
    mode: str | None,
    frames_per_minute: float,
    last_frame_at: datetime | None,
    last_error: str | None,
    last_error_at: datetime | None,
) -> None:
    """Store the puller's view of a camera (only while the camera still has that URL)."""
    await conn.execute(
        """
        UPDATE device_pulls SET connected = %(connected)s, mode = %(mode)s,
            frames_per_minute = %(fpm)s, last_frame_at = %(frame_at)s,
            last_error = %(error)s, last_error_at = %(error_at)s, reported_at = now()
        WHERE device_id = %(device)s AND url = %(url)s
        """,
        {
            "device": device_id,
            "url": url,
            "connected": connected,
            "mode": mode,
            "fpm": frames_per_minute,
            "frame_at": last_frame_at,
            "error": last_error,
            "error_at": last_error_at,
        },
    )


async def listen(conn: Conn) -> None:
    await conn.execute(f"LISTEN {CHANNEL}")
