"""Queries for moving frames between stores (`shelfcam frames migrate`)."""

from __future__ import annotations

import uuid
from typing import Literal

from shelfcam.db.types import Conn, Row


async def count_file_images(conn: Conn) -> int:
    """Live event images (frames, overlays, thumbnails) still in the file store."""
    cur = await conn.execute(
        "SELECT count(*) AS n FROM event_images i WHERE i.expired_at IS NULL "
        "AND i.derived_storage_uri IS NOT NULL AND NOT starts_with(i.derived_storage_uri, 's3://')"
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def file_images(conn: Conn, after: tuple[uuid.UUID, str] | None, limit: int) -> list[Row]:
    """The next live event images in the file store, by (event_id, role)."""
    cur = await conn.execute(
        """
        SELECT i.event_id, i.role, i.capture_id, i.derived_storage_uri AS uri, e.device_id
        FROM event_images i JOIN events e ON e.event_id = i.event_id
        WHERE i.expired_at IS NULL AND i.derived_storage_uri IS NOT NULL
          AND NOT starts_with(i.derived_storage_uri, 's3://')
          AND (%(after)s::uuid IS NULL OR (i.event_id, i.role) > (%(after)s::uuid, %(role)s))
        ORDER BY i.event_id, i.role
        LIMIT %(limit)s
        """,
        {"after": after[0] if after else None, "role": after[1] if after else "", "limit": limit},
    )
    return await cur.fetchall()


async def repoint_image(
    conn: Conn, event_id: uuid.UUID, role: str, capture_id: uuid.UUID | None, old: str, new: str
) -> Literal["moved", "already", "gone"]:
    """Point a live image (and its capture, when that names the same frame) at ``new``:
    "moved"; "already" when it names ``new`` (another run moved it); "gone" when it is
    expired (retention) or names neither."""
    cur = await conn.execute(
        "UPDATE event_images SET derived_storage_uri = %s "
        "WHERE event_id = %s AND role = %s AND derived_storage_uri = %s AND expired_at IS NULL",
        (new, event_id, role, old),
    )
    if cur.rowcount != 1:
        cur = await conn.execute(
            "SELECT 1 FROM event_images WHERE event_id = %s AND role = %s "
            "AND derived_storage_uri = %s AND expired_at IS NULL",
            (event_id, role, new),
        )
        return "already" if await cur.fetchone() else "gone"
    if capture_id is not None:
        await conn.execute(
            "UPDATE captures SET storage_uri = %s WHERE capture_id = %s AND storage_uri = %s",
            (new, capture_id, old),
        )
    return "moved"


async def images_under(conn: Conn, root: str) -> list[Row]:
    """Live event images whose URI starts with ``root`` (an object store's)."""
    cur = await conn.execute(
        "SELECT derived_storage_uri AS uri FROM event_images "
        "WHERE expired_at IS NULL AND starts_with(derived_storage_uri, %s)",
        (root,),
    )
    return await cur.fetchall()
