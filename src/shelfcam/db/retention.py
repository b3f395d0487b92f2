"""Queries of the retention run and the disk guard.

Candidates are read without locks; the rows a transaction then marks are read again in
that transaction after ``lock_devices`` (``device_state ... FOR UPDATE``, the lock the
analysis worker holds for a whole frame), so marking never interleaves with a frame's
processing. Every UPDATE also re-checks the class it expects, so a row that moved on
meanwhile is left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg import sql

from shelfcam.db.types import Conn, Row

RUN_LOCK_KEY = "shelfcam.retention"
EXPIRED_BEFORE_ANALYSIS = "staging frame deleted by retention before it was analyzed"


async def try_lock_run(conn: Conn) -> bool:
    """Take the session lock that lets one retention run (or disk guard) work at a time."""
    cur = await conn.execute(
        "SELECT pg_try_advisory_lock(hashtextextended(%s, 0)) AS ok", (RUN_LOCK_KEY,)
    )
    row = await cur.fetchone()
    return bool(row and row["ok"])


async def unlock_run(conn: Conn) -> bool:
    """Release the run lock; False if the connection is gone (and the lock with it)."""
    try:
        await conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (RUN_LOCK_KEY,))
    except psycopg.Error:
        return False
    return True


async def lock_devices(conn: Conn, device_ids: Sequence[str]) -> None:
    """Lock these devices' state rows until the transaction ends (in a fixed order, so two
    retention transactions cannot deadlock; the worker locks one device at a time)."""
    if device_ids:
        await conn.execute(
            "SELECT device_id FROM device_state WHERE device_id = ANY(%s) "
            "ORDER BY device_id FOR UPDATE",
            (sorted(set(device_ids)),),
        )


# --- event frames -----------------------------------------------------------------------

_LIVE_EVENTS = """
SELECT e.event_id, e.device_id, e.started_at FROM events e
WHERE e.event_id IN (SELECT i.event_id FROM event_images i WHERE i.expired_at IS NULL)
  AND e.started_at < %(before)s
  AND (%(after_t)s::timestamptz IS NULL
       OR (e.started_at, e.event_id) > (%(after_t)s, %(after_id)s::uuid))
ORDER BY e.started_at, e.event_id
LIMIT %(limit)s
"""


async def live_events(
    conn: Conn, before: datetime, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Row]:
    """Events that started before ``before`` and still have an unexpired image, oldest
    first, after the ``after`` (started_at, event_id) key."""
    cur = await conn.execute(
        _LIVE_EVENTS,
        {
            "before": before,
            "after_t": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": limit,
        },
    )
    return await cur.fetchall()


async def guard_candidates(conn: Conn, limit: int) -> list[Row]:
    """The oldest events with unexpired images on local disk (not in an object store:
    deleting those frees no disk here), with the size of their frames (the captures'
    byte_size: thumbnails and overlays are not counted)."""
    cur = await conn.execute(
        """
        SELECT e.event_id, e.device_id, e.started_at,
               coalesce((SELECT sum(c.byte_size) FROM event_images i
                         JOIN captures c ON c.capture_id = i.capture_id
                         WHERE i.event_id = e.event_id AND i.expired_at IS NULL), 0)
                   AS estimated_bytes
        FROM events e
        WHERE e.event_id IN (SELECT i.event_id FROM event_images i
                             WHERE i.expired_at IS NULL
                               AND NOT starts_with(coalesce(i.derived_storage_uri, ''), 's3://'))
        ORDER BY e.started_at, e.event_id
        LIMIT %s
        """,
        (limit,),
    )
    return await cur.fetchall()


async def event_images(conn: Conn, event_ids: Sequence[uuid.UUID]) -> list[Row]:
    cur = await conn.execute(
        """
        SELECT i.event_id, i.role, i.capture_id, i.derived_storage_uri AS uri,
               i.expired_at IS NOT NULL AS expired, i.created_at, e.device_id, e.started_at
        FROM event_images i JOIN events e ON e.event_id = i.event_id
        WHERE i.event_id = ANY(%s)
        """,
        (list(event_ids),),
    )
    return await cur.fetchall()


_EVENT_CAPTURES = (
    "SELECT capture_id, storage_uri FROM captures "
    "WHERE capture_id = ANY(%s) AND storage_class = 'event'"
)


async def event_captures(conn: Conn, capture_ids: Sequence[uuid.UUID], *, lock: bool) -> list[Row]:
    """Captures of class 'event' among these (locked when ``lock``)."""
    if not capture_ids:
        return []
    query = _EVENT_CAPTURES + " FOR UPDATE" if lock else _EVENT_CAPTURES
    cur = await conn.execute(query, (list(capture_ids),))
    return await cur.fetchall()


async def images_of_captures(conn: Conn, capture_ids: Sequence[uuid.UUID]) -> list[Row]:
    if not capture_ids:
        return []
    cur = await conn.execute(
        "SELECT capture_id, event_id, role, derived_storage_uri AS uri, "
        "expired_at IS NOT NULL AS expired, created_at "
        "FROM event_images WHERE capture_id = ANY(%s)",
        (list(capture_ids),),
    )
    return await cur.fetchall()


async def expire_images(conn: Conn, keys: Sequence[tuple[uuid.UUID, str]], at: datetime) -> int:
    """Mark these (event_id, role) images expired; returns how many were still live."""
    if not keys:
        return 0
    cur = await conn.execute(
        """
        UPDATE event_images i SET expired_at = %s
        FROM unnest(%s::uuid[], %s::text[]) AS k(event_id, role)
        WHERE i.event_id = k.event_id AND i.role = k.role AND i.expired_at IS NULL
        """,
        (at, [k[0] for k in keys], [k[1] for k in keys]),
    )
    return cur.rowcount


# --- staging and debug captures -----------------------------------------------------------


async def capture_candidates(
    conn: Conn,
    storage_class: str,
    before: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    cur = await conn.execute(
        """
        SELECT capture_id, device_id, received_at FROM captures
        WHERE storage_class = %(class)s AND received_at < %(before)s
          AND (%(after_t)s::timestamptz IS NULL
               OR (received_at, capture_id) > (%(after_t)s, %(after_id)s::uuid))
        ORDER BY received_at, capture_id
        LIMIT %(limit)s
        """,
        {
            "class": storage_class,
            "before": before,
            "after_t": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": limit,
        },
    )
    return await cur.fetchall()


_CAPTURE_ROWS = """
SELECT c.capture_id, c.device_id, c.storage_class, c.received_at, c.analysis_status,
       c.storage_uri, coalesce(c.capture_id = ANY(s.kept_captures), false) AS kept,
       (SELECT i.derived_storage_uri FROM event_images i
        WHERE i.capture_id = c.capture_id AND i.expired_at IS NULL
          AND i.derived_storage_uri IS NOT NULL
        ORDER BY i.created_at LIMIT 1) AS event_uri
FROM captures c LEFT JOIN device_state s ON s.device_id = c.device_id
WHERE c.capture_id = ANY(%s) AND c.storage_class = %s
"""


async def capture_rows(
    conn: Conn, capture_ids: Sequence[uuid.UUID], storage_class: str, *, lock: bool
) -> list[Row]:
    """These captures as they are now, if still of ``storage_class``. With ``lock``, the
    rows are locked, skipping any a worker holds (it is analyzing that frame)."""
    query = _CAPTURE_ROWS + (" FOR UPDATE OF c SKIP LOCKED" if lock else "")
    cur = await conn.execute(query, (list(capture_ids), storage_class))
    return await cur.fetchall()


async def change_captures(
    conn: Conn,
    changes: Sequence[tuple[uuid.UUID, str, str, str | None, bool]],
) -> set[uuid.UUID]:
    """Apply (capture_id, from_class, to_class, new_uri, fail_analysis) to rows still of
    from_class; returns the ids changed. fail_analysis marks a still-queued frame failed."""
    if not changes:
        return set()
    cur = await conn.execute(
        """
        UPDATE captures c SET
            storage_class = u.to_class,
            storage_uri = u.new_uri,
            analysis_status = CASE WHEN u.fail AND c.analysis_status = 'queued'
                                   THEN 'failed' ELSE c.analysis_status END,
            analysis_error = CASE WHEN u.fail AND c.analysis_status = 'queued'
                                  THEN %(error)s ELSE c.analysis_error END,
            analyzed_at = CASE WHEN u.fail AND c.analysis_status = 'queued'
                               THEN now() ELSE c.analyzed_at END
        FROM unnest(%(ids)s::uuid[], %(from)s::text[], %(to)s::text[], %(uri)s::text[],
                    %(fail)s::boolean[]) AS u(capture_id, from_class, to_class, new_uri, fail)
        WHERE c.capture_id = u.capture_id AND c.storage_class = u.from_class
        RETURNING c.capture_id
        """,
        {
            "error": EXPIRED_BEFORE_ANALYSIS,
            "ids": [c[0] for c in changes],
            "from": [c[1] for c in changes],
            "to": [c[2] for c in changes],
            "uri": [c[3] for c in changes],
            "fail": [c[4] for c in changes],
        },
    )
    return {row["capture_id"] for row in await cur.fetchall()}


# --- what rows say about files found on disk ---------------------------------------------


async def capture_owners(conn: Conn, capture_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Row]:
    if not capture_ids:
        return {}
    cur = await conn.execute(
        "SELECT capture_id, storage_class, storage_uri FROM captures WHERE capture_id = ANY(%s)",
        (list(capture_ids),),
    )
    return {row["capture_id"]: row for row in await cur.fetchall()}


async def event_owners(
    conn: Conn, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[tuple[str, bool]]]:
    """For each event that exists: its images' (path, expired)."""
    if not event_ids:
        return {}
    cur = await conn.execute(
        """
        SELECT e.event_id, i.derived_storage_uri AS uri, i.expired_at IS NOT NULL AS expired
        FROM events e LEFT JOIN event_images i ON i.event_id = e.event_id
        WHERE e.event_id = ANY(%s)
        """,
        (list(event_ids),),
    )
    found: dict[uuid.UUID, list[tuple[str, bool]]] = {}
    for row in await cur.fetchall():
        images = found.setdefault(row["event_id"], [])
        if row["uri"] is not None:
            images.append((row["uri"], row["expired"]))
    return found


# --- captures rows (SHELFCAM_CAPTURE_RETENTION_DAYS) ----------------------------------------


async def device_ids(conn: Conn) -> list[str]:
    cur = await conn.execute("SELECT device_id FROM devices ORDER BY device_id")
    return [str(row["device_id"]) for row in await cur.fetchall()]


async def purge_rows(
    conn: Conn,
    device_id: str,
    before: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    cur = await conn.execute(
        """
        SELECT c.capture_id, c.received_at, c.storage_class, c.analysis_status,
               EXISTS (SELECT 1 FROM event_images i
                       WHERE i.capture_id = c.capture_id AND i.derived_storage_uri IS NULL)
                   AS pinned
        FROM captures c
        WHERE c.device_id = %(device)s AND c.received_at < %(before)s
          AND (%(after_t)s::timestamptz IS NULL
               OR (c.received_at, c.capture_id) > (%(after_t)s, %(after_id)s::uuid))
        ORDER BY c.received_at, c.capture_id
        LIMIT %(limit)s
        """,
        {
            "device": device_id,
            "before": before,
            "after_t": after[0] if after else None,
            "after_id": after[1] if after else None,
            "limit": limit,
        },
    )
    return await cur.fetchall()


async def purge_captures(conn: Conn, capture_ids: Sequence[uuid.UUID]) -> int:
    """Delete these captures rows if still discarded and not queued; event images that
    named them keep their own path and lose the link. Run inside a transaction."""
    if not capture_ids:
        return 0
    ids = list(capture_ids)
    await conn.execute(
        """
        UPDATE event_images SET capture_id = NULL
        WHERE capture_id IN (SELECT capture_id FROM captures WHERE capture_id = ANY(%s)
                             AND storage_class = 'discarded' AND analysis_status <> 'queued')
          AND derived_storage_uri IS NOT NULL
        """,
        (ids,),
    )
    cur = await conn.execute(
        """
        DELETE FROM captures c
        WHERE c.capture_id = ANY(%s) AND c.storage_class = 'discarded'
          AND c.analysis_status <> 'queued'
          AND NOT EXISTS (SELECT 1 FROM event_images i WHERE i.capture_id = c.capture_id)
        """,
        (ids,),
    )
    return cur.rowcount


_UUID = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

_UNSUCCESSFUL_JOBS = sql.SQL("""
WITH ended AS (
    SELECT j.id FROM procrastinate_jobs j
    LEFT JOIN captures c ON c.capture_id = CASE
        WHEN j.args->>'capture_id' ~ %(uuid)s THEN (j.args->>'capture_id')::uuid END
    WHERE j.queue_name = %(queue)s
      AND j.status IN ('failed', 'cancelled', 'aborted')
      AND (c.capture_id IS NULL OR c.received_at < %(before)s)
)
{}
""")
_COUNT_ENDED = sql.SQL("SELECT count(*) AS n FROM ended")
_DELETE_ENDED = sql.SQL("DELETE FROM procrastinate_jobs WHERE id IN (SELECT id FROM ended)")


async def purge_unsuccessful_jobs(
    conn: Conn, queue: str, before: datetime, *, dry_run: bool
) -> int:
    """Delete (or, with ``dry_run``, count) the jobs of ``queue`` that ended without
    success and whose capture is gone or was received before ``before``. A succeeded job
    is deleted as it succeeds; these would otherwise stay for good."""
    params = {"queue": queue, "before": before, "uuid": _UUID}
    if dry_run:
        cur = await conn.execute(_UNSUCCESSFUL_JOBS.format(_COUNT_ENDED), params)
        row = await cur.fetchone()
        return int(row["n"]) if row else 0
    cur = await conn.execute(_UNSUCCESSFUL_JOBS.format(_DELETE_ENDED), params)
    return cur.rowcount


# --- the disk guard's kick from ingest -------------------------------------------------------


async def defer_disk_guard(conn: Conn, queue: str, task: str) -> bool:
    """Queue one disk-guard job now unless one is already waiting (its queueing lock);
    True if this call queued it."""
    try:
        async with conn.transaction():
            await conn.execute(
                """
                SELECT procrastinate_defer_jobs_v1(ARRAY[
                    ROW(%(queue)s::varchar, %(task)s::varchar, 0, NULL::text, %(task)s::text,
                        '{}'::jsonb, NULL::timestamptz)
                        ::procrastinate_job_to_defer_v1])
                """,
                {"queue": queue, "task": task},
            )
    except psycopg.errors.UniqueViolation:
        return False
    return True
