"""Queries on the job queue that procrastinate does not make itself."""

from __future__ import annotations

import json

from shelfcam.db.types import Conn

# The channels and payload procrastinate's own insert trigger uses (see migration 11).
_WAKE = """
SELECT pg_notify('procrastinate_queue_v1#' || %(queue)s, %(payload)s),
       pg_notify('procrastinate_any_queue_v1', %(payload)s)
"""


async def wake_workers(conn: Conn, queue: str) -> None:
    """Tell listening workers that ``queue`` has new jobs (its own short transaction)."""
    payload = json.dumps({"type": "job_inserted", "job_id": None})
    await conn.execute(_WAKE, {"queue": queue, "payload": payload})
