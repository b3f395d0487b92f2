"""Read queries on events and their images (the analysis worker writes them elsewhere)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from psycopg import sql

from shelfcam.db.types import Conn, Row

_EVENT_COLUMNS = sql.SQL(
    "e.event_id, e.device_id, e.event_type, e.started_at, e.ended_at, e.confidence,"
    " e.details, e.created_at"
)


@dataclass(frozen=True)
class EventFilter:
    """Which events: all fields optional; ``until`` is exclusive."""

    device_id: str | None = None
    event_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _where(
    filters: EventFilter, extra: list[sql.Composable], params: list[object]
) -> sql.Composable:
    clauses = list(extra)
    if filters.device_id is not None:
        clauses.append(sql.SQL("e.device_id = %s"))
        params.append(filters.device_id)
    if filters.event_type is not None:
        clauses.append(sql.SQL("e.event_type = %s"))
        params.append(filters.event_type)
    if filters.since is not None:
        clauses.append(sql.SQL("e.started_at >= %s"))
        params.append(filters.since)
    if filters.until is not None:
        clauses.append(sql.SQL("e.started_at < %s"))
        params.append(filters.until)
    if not clauses:
        return sql.SQL("")
    return sql.SQL("WHERE ") + sql.SQL(" AND ").join(clauses)


async def list_events(
    conn: Conn,
    filters: EventFilter,
    *,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row]:
    """Events newest first by (started_at, event_id), strictly before ``before``."""
    params: list[object] = []
    extra: list[sql.Composable] = []
    if before is not None:
        extra.append(sql.SQL("(e.started_at, e.event_id) < (%s, %s)"))
        params.extend(before)
    query = sql.SQL(
        "SELECT {cols} FROM events e {where} ORDER BY e.started_at DESC, e.event_id DESC LIMIT %s"
    ).format(cols=_EVENT_COLUMNS, where=_where(filters, extra, params))
    params.append(limit)
    cur = await conn.execute(query, params)
    return await cur.fetchall()


async def events_created_after(
    conn: Conn, filters: EventFilter, watermark: datetime, limit: int
) -> list[Row]:
    """Events recorded (created_at) after ``watermark``, newest first by started_at."""
    params: list[object] = [watermark]
    query = sql.SQL(
        "SELECT {cols} FROM events e {where} ORDER BY e.started_at DESC, e.event_id DESC LIMIT %s"
    ).format(
        cols=_EVENT_COLUMNS,
        where=_where(filters, [sql.SQL("e.created_at > %s")], params),
    )
    params.append(limit)
    cur = await conn.execute(query, params)
    return await cur.fetchall()


async def latest_created_at(conn: Conn) -> datetime | None:
    cur = await conn.execute("SELECT max(created_at) AS latest FROM events")
    row = await cur.fetchone()
    return None if row is None else row["latest"]


async def get_event(conn: Conn, event_id: uuid.UUID) -> Row | None:
    query = sql.SQL("SELECT {cols} FROM events e WHERE e.event_id = %s").format(cols=_EVENT_COLUMNS)
    cur = await conn.execute(query, (event_id,))
    return await cur.fetchone()


_IMAGE_COLUMNS = """
    i.event_id, i.role, i.capture_id, i.expired_at, i.created_at,
    coalesce(i.derived_storage_uri, c.storage_uri) AS storage_uri
"""


async def images_of(conn: Conn, event_ids: list[uuid.UUID]) -> list[Row]:
    """The image rows of these events; ``storage_uri`` is the file to serve (or None)."""
    if not event_ids:
        return []
    cur = await conn.execute(
        f"SELECT {_IMAGE_COLUMNS} FROM event_images i"  # noqa: S608 - constant columns
        " LEFT JOIN captures c ON c.capture_id = i.capture_id"
        " WHERE i.event_id = ANY(%s) ORDER BY i.event_id, i.role",
        (event_ids,),
    )
    return await cur.fetchall()


async def image(conn: Conn, event_id: uuid.UUID, role: str) -> Row | None:
    cur = await conn.execute(
        f"SELECT {_IMAGE_COLUMNS} FROM event_images i"  # noqa: S608 - constant columns
        " LEFT JOIN captures c ON c.capture_id = i.capture_id"
        " WHERE i.event_id = %s AND i.role = %s",
        (event_id, role),
    )
    return await cur.fetchone()


async def device_ids(conn: Conn) -> list[str]:
    cur = await conn.execute("SELECT device_id FROM devices ORDER BY device_id")
    return [str(row["device_id"]) for row in await cur.fetchall()]
