"""Queries of the analysis worker: one frame's inputs and its outcome, in one transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from shelfcam.db.types import Conn, Row

_FRAME = """
SELECT c.capture_id, c.device_id, c.received_at, c.captured_at, c.device_seq, c.boot_id,
       c.storage_uri, c.storage_class, c.analysis_status, c.meta,
       s.state, s.kept_captures, s.unlink_pending, s.reference_at, s.empty_ref_at,
       s.last_boot_id, s.last_seq, s.last_engine_at, s.burst_until,
       cfg.roi_version, cfg.interaction_roi, cfg.inventory_roi, cfg.thresholds,
       cfg.privacy_blur
FROM captures c
JOIN device_state s ON s.device_id = c.device_id
JOIN LATERAL (
    SELECT * FROM device_configs c0 WHERE c0.device_id = c.device_id
    ORDER BY c0.roi_version DESC LIMIT 1
) cfg ON true
WHERE c.capture_id = %s
FOR UPDATE OF c, s
"""

_CAPTURE = """
SELECT capture_id, device_id, analysis_status FROM captures WHERE capture_id = %s FOR UPDATE
"""


async def lock_frame(conn: Conn, capture_id: uuid.UUID) -> Row | None:
    """A capture with its device's state and current configuration, both locked until the
    transaction ends (one round trip)."""
    cur = await conn.execute(_FRAME, (capture_id,))
    return await cur.fetchone()


async def lock_capture(conn: Conn, capture_id: uuid.UUID) -> Row | None:
    cur = await conn.execute(_CAPTURE, (capture_id,))
    return await cur.fetchone()


async def reference_image(conn: Conn, device_id: str, kind: str) -> bytes | None:
    """The stored scene ('reference') or empty-shelf ('empty_ref') reference JPEG."""
    column = {"reference": "reference_jpeg", "empty_ref": "empty_ref_jpeg"}[kind]
    cur = await conn.execute(
        f"SELECT {column} AS data FROM device_state WHERE device_id = %s",  # noqa: S608
        (device_id,),
    )
    row = await cur.fetchone()
    return None if row is None or row["data"] is None else bytes(row["data"])


async def storage_uris(conn: Conn, capture_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Where each of these captures' files are (only those that still have one)."""
    if not capture_ids:
        return {}
    cur = await conn.execute(
        "SELECT capture_id, storage_uri FROM captures "
        "WHERE capture_id = ANY(%s) AND storage_uri IS NOT NULL",
        (capture_ids,),
    )
    return {row["capture_id"]: row["storage_uri"] for row in await cur.fetchall()}


async def finish_capture(
    conn: Conn, capture_id: uuid.UUID, status: str, error: str | None, meta: dict[str, Any]
) -> None:
    await conn.execute(
        "UPDATE captures SET analysis_status = %s, analyzed_at = now(), analysis_error = %s, "
        "meta = meta || %s WHERE capture_id = %s",
        (status, error, Jsonb(meta), capture_id),
    )


async def insert_event(
    conn: Conn,
    *,
    event_id: uuid.UUID,
    device_id: str,
    event_type: str,
    started_at: datetime,
    ended_at: datetime | None,
    confidence: float,
    details: dict[str, Any],
) -> bool:
    """Insert an event once; False if it was already there (a retried frame)."""
    cur = await conn.execute(
        "INSERT INTO events (event_id, device_id, event_type, started_at, ended_at, confidence,"
        " details) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (event_id) DO NOTHING"
        " RETURNING event_id",
        (event_id, device_id, event_type, started_at, ended_at, confidence, Jsonb(details)),
    )
    return await cur.fetchone() is not None


async def insert_event_image(
    conn: Conn, event_id: uuid.UUID, role: str, capture_id: uuid.UUID | None, uri: str
) -> None:
    await conn.execute(
        "INSERT INTO event_images (event_id, role, capture_id, derived_storage_uri) "
        "VALUES (%s, %s, %s, %s) ON CONFLICT (event_id, role) DO NOTHING",
        (event_id, role, capture_id, uri),
    )


async def end_event(conn: Conn, event_id: uuid.UUID, ended_at: datetime) -> None:
    await conn.execute(
        "UPDATE events SET ended_at = greatest(%s, started_at) "
        "WHERE event_id = %s AND ended_at IS NULL",
        (ended_at, event_id),
    )


async def release_staging(conn: Conn, capture_ids: list[uuid.UUID]) -> list[str]:
    """Staging captures nothing needs any more: an event frame becomes class 'event'
    (pointing at its copy under events/), any other is 'discarded'. Returns the staging
    files to delete once the transaction has committed."""
    if not capture_ids:
        return []
    cur = await conn.execute(
        """
        WITH old AS (
            SELECT capture_id, storage_uri FROM captures
            WHERE capture_id = ANY(%(ids)s) AND storage_class = 'staging' FOR UPDATE
        ), kept AS (
            SELECT DISTINCT ON (capture_id) capture_id, derived_storage_uri FROM event_images
            WHERE capture_id = ANY(%(ids)s) AND derived_storage_uri IS NOT NULL
              AND expired_at IS NULL  -- a copy retention has deleted is no copy
            ORDER BY capture_id, created_at
        )
        UPDATE captures c SET
            storage_class = CASE WHEN kept.capture_id IS NULL THEN 'discarded' ELSE 'event' END,
            storage_uri = kept.derived_storage_uri
        FROM old LEFT JOIN kept ON kept.capture_id = old.capture_id
        WHERE c.capture_id = old.capture_id
        RETURNING old.storage_uri
        """,
        {"ids": capture_ids},
    )
    return [row["storage_uri"] for row in await cur.fetchall() if row["storage_uri"]]


async def save_device_state(
    conn: Conn,
    device_id: str,
    *,
    state: dict[str, Any],
    kept: list[uuid.UUID],
    burst_until: datetime | None,
    last_boot_id: str,
    last_seq: int | None,
    last_engine_at: datetime,
    reference_jpeg: bytes | None,
    reference_at: datetime | None,
    unlink_pending: list[str],
) -> None:
    await conn.execute(
        """
        UPDATE device_state SET
            state = %(state)s, kept_captures = %(kept)s, burst_until = %(burst_until)s,
            unlink_pending = %(unlink)s,
            last_boot_id = %(boot)s, last_seq = %(seq)s, last_engine_at = %(engine_at)s,
            reference_jpeg = coalesce(%(ref)s, reference_jpeg),
            reference_at = coalesce(%(ref_at)s, reference_at),
            updated_at = now()
        WHERE device_id = %(device)s
        """,
        {
            "state": Jsonb(state),
            "kept": kept,
            "burst_until": burst_until,
            "boot": last_boot_id,
            "seq": last_seq,
            "engine_at": last_engine_at,
            "ref": reference_jpeg,
            "ref_at": reference_at,
            "unlink": unlink_pending,
            "device": device_id,
        },
    )


async def set_unlink_pending(conn: Conn, device_id: str, uris: list[str]) -> None:
    """The staging files this transaction released, to delete once it has committed."""
    await conn.execute(
        "UPDATE device_state SET unlink_pending = %s WHERE device_id = %s", (uris, device_id)
    )


async def set_empty_reference(conn: Conn, device_id: str, jpeg: bytes) -> bool:
    cur = await conn.execute(
        "UPDATE device_state SET empty_ref_jpeg = %s, empty_ref_at = now() "
        "WHERE device_id = %s RETURNING device_id",
        (jpeg, device_id),
    )
    return await cur.fetchone() is not None


async def latest_stable_capture(conn: Conn, device_id: str) -> Row | None:
    """The device's current baseline (its latest stable frame), with its file."""
    cur = await conn.execute(
        """
        SELECT c.capture_id, c.storage_uri FROM device_state s
        JOIN captures c ON c.capture_id = (s.state #>> '{baseline,capture_id}')::uuid
        WHERE s.device_id = %s AND c.storage_uri IS NOT NULL
        """,
        (device_id,),
    )
    return await cur.fetchone()
