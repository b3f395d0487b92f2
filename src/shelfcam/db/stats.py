"""Counting queries for the stats page (events per day)."""

from __future__ import annotations

from datetime import datetime

from shelfcam.db.types import Conn, Row

# 15-minute bins in SQL (few rows whatever the number of events); the caller assigns
# them to local days, which works for any time zone offset (they are multiples of 15 min).
_PER_BIN = """
SELECT device_id, event_type,
       date_bin('15 minutes', started_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bin,
       count(*) AS events
FROM events
WHERE started_at >= %(since)s AND started_at < %(until)s
  AND (%(device)s::text IS NULL OR device_id = %(device)s)
GROUP BY 1, 2, 3
"""


async def events_per_bin(
    conn: Conn, since: datetime, until: datetime, device_id: str | None
) -> list[Row]:
    cur = await conn.execute(_PER_BIN, {"since": since, "until": until, "device": device_id})
    return await cur.fetchall()
