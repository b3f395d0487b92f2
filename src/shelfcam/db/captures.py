"""Queries on captures for the ingest fast path."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from shelfcam.db.types import Conn, Row

# One statement, so one round trip and atomic without BEGIN/COMMIT: insert the capture
# and, only if it was new, queue its analysis job (procrastinate's versioned defer
# function, as procrastinate's own defer query calls it); then read the directive columns.
_INSERT_AND_ENQUEUE = """
WITH ins AS (
    INSERT INTO captures (
        capture_id, device_id, received_at, device_seq, boot_id, captured_at, storage_uri,
        storage_class, analysis_status, sha256_hex, byte_size, width, height, meta)
    VALUES (
        %(capture_id)s, %(device_id)s, %(received_at)s, %(device_seq)s, %(boot_id)s,
        %(captured_at)s, %(storage_uri)s, 'staging', 'queued', %(sha256_hex)s, %(byte_size)s,
        %(width)s, %(height)s, %(meta)s)
    ON CONFLICT (device_id, boot_id, device_seq) WHERE device_seq IS NOT NULL DO NOTHING
    RETURNING capture_id
),
job AS (
    SELECT procrastinate_defer_jobs_v1(ARRAY(
        SELECT ROW(%(queue)s, %(task)s, 0, %(device_id)s, NULL,
                   jsonb_build_object('capture_id', ins.capture_id::text),
                   NULL)::procrastinate_job_to_defer_v1
        FROM ins
    )) AS ids
)
SELECT (SELECT capture_id FROM ins) AS capture_id, (SELECT ids FROM job) AS job_ids,
       s.burst_until, s.snapshot_requested_at, s.snapshot_announced_at
FROM (SELECT 1) AS one
LEFT JOIN device_state s ON s.device_id = %(device_id)s
"""

_BY_SEQ = """
SELECT capture_id, received_at FROM captures
WHERE device_id = %s AND boot_id = %s AND device_seq = %s
"""

_RECENT_SAME_CONTENT = """
SELECT capture_id, received_at FROM captures
WHERE device_id = %s AND sha256_hex = %s AND device_seq IS NULL AND received_at > %s
ORDER BY received_at DESC LIMIT 1
"""

# A requested snapshot: clear the request and record the debug copy in one statement, so
# of two frames arriving together only one becomes the snapshot. sha256_hex stays NULL:
# the copy must never be mistaken for the original by the retry-by-content check.
_KEEP_SNAPSHOT = """
WITH taken AS (
    UPDATE device_state SET snapshot_requested_at = NULL, snapshot_announced_at = NULL
    WHERE device_id = %(device_id)s AND snapshot_requested_at IS NOT NULL
      AND snapshot_announced_at >= snapshot_requested_at
    RETURNING device_id
)
INSERT INTO captures (
    capture_id, device_id, received_at, boot_id, captured_at, storage_uri, storage_class,
    analysis_status, byte_size, width, height, meta)
SELECT %(capture_id)s, taken.device_id, %(received_at)s, %(boot_id)s, %(captured_at)s,
       %(storage_uri)s, 'debug', 'skipped', %(byte_size)s, %(width)s, %(height)s, %(meta)s
FROM taken
RETURNING capture_id
"""

_DIRECTIVE = """
SELECT burst_until, snapshot_requested_at, snapshot_announced_at
FROM device_state WHERE device_id = %s
"""


async def insert_and_enqueue(
    conn: Conn,
    *,
    queue: str,
    task: str,
    capture_id: uuid.UUID,
    device_id: str,
    received_at: datetime,
    device_seq: int | None,
    boot_id: str,
    captured_at: datetime | None,
    storage_uri: str,
    sha256_hex: str,
    byte_size: int,
    width: int,
    height: int,
    meta: dict[str, Any],
) -> Row:
    """Insert a queued staging capture and its analysis job (``lock`` = device id).

    ``capture_id`` is None in the result if the device already sent this (boot, seq);
    then no job is queued either. Also returns the device's directive columns."""
    cur = await conn.execute(
        _INSERT_AND_ENQUEUE,
        {
            "queue": queue,
            "task": task,
            "capture_id": capture_id,
            "device_id": device_id,
            "received_at": received_at,
            "device_seq": device_seq,
            "boot_id": boot_id,
            "captured_at": captured_at,
            "storage_uri": storage_uri,
            "sha256_hex": sha256_hex,
            "byte_size": byte_size,
            "width": width,
            "height": height,
            "meta": Jsonb(meta),
        },
    )
    row = await cur.fetchone()
    assert row is not None  # the SELECT always yields one row
    return row


async def announce_snapshot(conn: Conn, device_id: str, requested_at: datetime) -> None:
    """The camera has been told (in this response) to send its snapshot next."""
    await conn.execute(
        "UPDATE device_state SET snapshot_announced_at = now() "
        "WHERE device_id = %s AND snapshot_requested_at = %s",
        (device_id, requested_at),
    )


async def insert_snapshot(
    conn: Conn,
    *,
    capture_id: uuid.UUID,
    device_id: str,
    received_at: datetime,
    boot_id: str,
    captured_at: datetime | None,
    storage_uri: str,
    byte_size: int,
    width: int,
    height: int,
    meta: dict[str, Any],
) -> bool:
    """Record a debug capture and clear the device's snapshot request, if one is still
    pending; False (nothing written) if another frame took it first."""
    cur = await conn.execute(
        _KEEP_SNAPSHOT,
        {
            "capture_id": capture_id,
            "device_id": device_id,
            "received_at": received_at,
            "boot_id": boot_id,
            "captured_at": captured_at,
            "storage_uri": storage_uri,
            "byte_size": byte_size,
            "width": width,
            "height": height,
            "meta": Jsonb(meta),
        },
    )
    return await cur.fetchone() is not None


async def find_by_seq(conn: Conn, device_id: str, boot_id: str, device_seq: int) -> Row | None:
    cur = await conn.execute(_BY_SEQ, (device_id, boot_id, device_seq))
    return await cur.fetchone()


async def lock_content(conn: Conn, device_id: str, sha256_hex: str) -> None:
    """Serialise uploads of the same content from one device (until the transaction ends)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{device_id}:{sha256_hex}",)
    )


async def find_recent_same_content(
    conn: Conn, device_id: str, sha256_hex: str, since: datetime
) -> Row | None:
    cur = await conn.execute(_RECENT_SAME_CONTENT, (device_id, sha256_hex, since))
    return await cur.fetchone()


async def directive_columns(conn: Conn, device_id: str) -> Row | None:
    cur = await conn.execute(_DIRECTIVE, (device_id,))
    return await cur.fetchone()


async def touch_device(conn: Conn, device_id: str, seen_at: datetime) -> None:
    await conn.execute(
        "UPDATE devices SET last_seen_at = %s WHERE device_id = %s "
        "AND (last_seen_at IS NULL OR last_seen_at < %s)",
        (seen_at, device_id, seen_at),
    )
