"""Queries of the outputs (docs/integrations.md): the outbox the worker writes in its
transaction, what the deliverer reads and deletes, each output's status, and what the
MQTT output republishes (the open states)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from shelfcam.db.types import Conn, Row

CHANNEL = "shelfcam_outputs"
"""The notification channel the deliverer listens on: ``outbox`` when deliveries were
committed, ``devices`` when a camera was added, revoked or enabled again."""

LEADER_LOCK = 0x5E1F_0A7
"""The advisory lock whose holder delivers every output (one process at a time)."""


async def insert_deliveries(conn: Conn, rows: Sequence[tuple[str, uuid.UUID, str]]) -> None:
    """Record (output, event_id, kind) deliveries, in the caller's transaction, and tell
    the deliverer once it commits."""
    if not rows:
        return
    await conn.execute(
        "INSERT INTO output_outbox (output, event_id, kind)"
        " SELECT * FROM unnest(%s::text[], %s::uuid[], %s::text[])",
        ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
    )
    await conn.execute("SELECT pg_notify(%s, 'outbox')", (CHANNEL,))


async def notify_devices_changed(conn: Conn) -> None:
    """Tell the deliverer the cameras changed (added, revoked, enabled again)."""
    await conn.execute("SELECT pg_notify(%s, 'devices')", (CHANNEL,))


async def listen(conn: Conn) -> None:
    await conn.execute(f"LISTEN {CHANNEL}")


async def pending(conn: Conn, output: str, limit: int) -> list[Row]:
    """The output's oldest deliveries in order, each with whether it is due now and how
    long until it is (the database's clock)."""
    cur = await conn.execute(
        "SELECT delivery_id, event_id, kind, created_at, attempts,"
        " next_attempt_at <= now() AS due,"
        " greatest(0, extract(epoch FROM next_attempt_at - now()))::float8 AS wait_s"
        " FROM output_outbox WHERE output = %s ORDER BY delivery_id LIMIT %s",
        (output, limit),
    )
    return await cur.fetchall()


async def backlog(conn: Conn, output: str) -> int:
    cur = await conn.execute("SELECT count(*) AS n FROM output_outbox WHERE output = %s", (output,))
    row = await cur.fetchone()
    return 0 if row is None else int(row["n"])


_STATUS_ROW = (
    "INSERT INTO output_status (output) VALUES (%(output)s) ON CONFLICT (output) DO NOTHING"
)


async def mark_delivered(conn: Conn, output: str, delivery_id: int) -> None:
    """The output took the delivery: the row goes and the output's count goes up."""
    async with conn.transaction():
        await conn.execute(_STATUS_ROW, {"output": output})
        await conn.execute("DELETE FROM output_outbox WHERE delivery_id = %s", (delivery_id,))
        await conn.execute(
            "UPDATE output_status SET delivered = delivered + 1, last_delivered_at = now(),"
            " updated_at = now() WHERE output = %s",
            (output,),
        )


async def mark_failed(conn: Conn, output: str, delivery_id: int, wait_s: float, error: str) -> int:
    """A delivery that failed and will be tried again in ``wait_s``; returns its attempts."""
    async with conn.transaction():
        await conn.execute(_STATUS_ROW, {"output": output})
        cur = await conn.execute(
            "UPDATE output_outbox SET attempts = attempts + 1, last_error = %s,"
            " next_attempt_at = now() + make_interval(secs => %s)"
            " WHERE delivery_id = %s RETURNING attempts",
            (error, wait_s, delivery_id),
        )
        row = await cur.fetchone()
        await conn.execute(
            "UPDATE output_status SET failed = failed + 1, last_error = %s,"
            " last_error_at = now(), updated_at = now() WHERE output = %s",
            (error, output),
        )
    return 0 if row is None else int(row["attempts"])


async def drop(
    conn: Conn,
    output: str,
    *,
    delivery_ids: Sequence[int] = (),
    older_than: datetime | None = None,
    keep_newest: int | None = None,
    reason: str,
) -> list[Row]:
    """Delete deliveries the output will not make: these ids, those created before
    ``older_than``, and all but the newest ``keep_newest``. Returns what was dropped
    (delivery_id, event_id, kind, created_at) and records it in the output's status."""
    async with conn.transaction():
        await conn.execute(_STATUS_ROW, {"output": output})
        cur = await conn.execute(
            """
            WITH ranked AS (
                SELECT delivery_id, row_number() OVER (ORDER BY delivery_id DESC) AS newer
                FROM output_outbox WHERE output = %(output)s
            )
            DELETE FROM output_outbox o USING ranked r
            WHERE o.delivery_id = r.delivery_id
              AND (o.delivery_id = ANY(%(ids)s)
                   OR o.created_at < %(older_than)s
                   OR r.newer > %(keep)s)
            RETURNING o.delivery_id, o.event_id, o.kind, o.created_at
            """,
            {
                "output": output,
                "ids": list(delivery_ids),
                "older_than": older_than,
                "keep": keep_newest,
            },
        )
        rows = await cur.fetchall()
        if rows:
            await conn.execute(
                "UPDATE output_status SET dropped = dropped + %s, last_dropped_at = now(),"
                " last_dropped = %s, updated_at = now() WHERE output = %s",
                (len(rows), reason, output),
            )
    return sorted(rows, key=lambda r: int(r["delivery_id"]))


async def drop_unconfigured(conn: Conn, outputs: Sequence[str]) -> list[Row]:
    """Delete the deliveries of outputs no longer configured; (output, dropped) each."""
    cur = await conn.execute(
        "WITH gone AS (DELETE FROM output_outbox WHERE output <> ALL(%s::text[])"
        " RETURNING output) SELECT output, count(*) AS dropped FROM gone GROUP BY output",
        (list(outputs),),
    )
    return await cur.fetchall()


async def retry_now(conn: Conn, output: str) -> None:
    """Make the output's deliveries due at once (its receiver is back)."""
    await conn.execute(
        "UPDATE output_outbox SET next_attempt_at = now()"
        " WHERE output = %s AND next_attempt_at > now()",
        (output,),
    )


async def set_connected(conn: Conn, output: str, connected: bool, error: str | None) -> None:
    async with conn.transaction():
        await conn.execute(_STATUS_ROW, {"output": output})
        await conn.execute(
            "UPDATE output_status SET connected = %(connected)s,"
            " connected_changed_at = CASE WHEN connected IS DISTINCT FROM %(connected)s"
            "   THEN now() ELSE connected_changed_at END,"
            " last_error = coalesce(%(error)s, last_error),"
            " last_error_at = CASE WHEN %(error)s::text IS NULL THEN last_error_at ELSE now() END,"
            " updated_at = now() WHERE output = %(output)s",
            {"output": output, "connected": connected, "error": error},
        )


async def statuses(conn: Conn, outputs: Sequence[str]) -> list[Row]:
    """Each of these outputs' status (absent columns null when it never ran) with its
    backlog and the age of its oldest waiting delivery."""
    cur = await conn.execute(
        """
        SELECT o.output, s.connected, s.connected_changed_at, s.last_delivered_at,
               s.last_error, s.last_error_at, coalesce(s.delivered, 0) AS delivered,
               coalesce(s.failed, 0) AS failed, coalesce(s.dropped, 0) AS dropped,
               s.last_dropped_at, s.last_dropped, s.updated_at,
               b.backlog, b.oldest
        FROM unnest(%s::text[]) WITH ORDINALITY AS o (output, n)
        LEFT JOIN output_status s ON s.output = o.output
        LEFT JOIN LATERAL (
            SELECT count(*) AS backlog, min(created_at) AS oldest FROM output_outbox q
            WHERE q.output = o.output
        ) b ON true
        ORDER BY o.n
        """,
        (list(outputs),),
    )
    return await cur.fetchall()


async def open_states(conn: Conn, event_types: Sequence[str]) -> list[Row]:
    """(device_id, event_type) of the open events of these types: the states that are ON."""
    cur = await conn.execute(
        "SELECT DISTINCT device_id, event_type FROM events"
        " WHERE ended_at IS NULL AND event_type = ANY(%s)",
        (list(event_types),),
    )
    return await cur.fetchall()
