"""Queries on the job queue that procrastinate does not make itself, and the measures
/healthz reports (worker heartbeat, the oldest frame waiting)."""

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


async def requeue_jobs_of_workers(conn: Conn, worker_ids: list[int]) -> int:
    """Put the running jobs of these (dead) workers back in the queue at once, forget the
    workers, and return how many jobs went back. For a worker process whose earlier run
    lost its database connection: its jobs would otherwise wait for the stalled-job retry,
    and a camera's later frames (same lock) with them."""
    async with conn.transaction():
        cur = await conn.execute(
            """
            WITH retried AS (
                SELECT id, procrastinate_retry_job_v2(id, now(), NULL, NULL, NULL)
                FROM procrastinate_jobs
                WHERE status = 'doing' AND worker_id = ANY(%s)
            )
            SELECT count(*) AS requeued FROM retried
            """,
            (worker_ids,),
        )
        row = await cur.fetchone()
        await conn.execute("DELETE FROM procrastinate_workers WHERE id = ANY(%s)", (worker_ids,))
    return 0 if row is None else int(row["requeued"])


async def worker_heartbeat_age(conn: Conn, worker_id: int) -> float | None:
    """Seconds since the worker's last heartbeat; None if it is not registered."""
    cur = await conn.execute(
        "SELECT extract(epoch FROM now() - last_heartbeat)::float8 AS age"
        " FROM procrastinate_workers WHERE id = %s",
        (worker_id,),
    )
    row = await cur.fetchone()
    return None if row is None else float(row["age"])


async def oldest_queued_age(conn: Conn) -> float | None:
    """Seconds the oldest frame still waiting for analysis has waited; None if none waits.
    One index probe per camera (captures_pending)."""
    cur = await conn.execute(
        """
        SELECT extract(epoch FROM now() - min(q.received_at))::float8 AS age
        FROM devices d
        CROSS JOIN LATERAL (
            SELECT c.received_at FROM captures c
            WHERE c.device_id = d.device_id AND c.analysis_status = 'queued'
            ORDER BY c.received_at LIMIT 1
        ) q
        """
    )
    row = await cur.fetchone()
    return None if row is None or row["age"] is None else float(row["age"])
