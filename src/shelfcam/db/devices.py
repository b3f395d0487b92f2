"""Queries on devices, their versioned configuration and their engine state."""

from __future__ import annotations

from typing import Any

from psycopg.types.json import Jsonb

from shelfcam.db.types import Conn, Row

_DEVICE_COLUMNS = """
    d.device_id, d.created_at, d.last_seen_at, d.revoked,
    c.roi_version, c.interaction_roi, c.inventory_roi, c.thresholds, c.privacy_blur,
    c.created_at AS config_created_at
"""

_CURRENT_CONFIG = """
    LEFT JOIN LATERAL (
        SELECT * FROM device_configs c0
        WHERE c0.device_id = d.device_id
        ORDER BY c0.roi_version DESC LIMIT 1
    ) c ON true
"""


async def insert_device(
    conn: Conn,
    device_id: str,
    token_hash: bytes,
    interaction_roi: list[list[float]],
    inventory_roi: list[list[float]],
) -> bool:
    """Create a device with configuration version 1; False if the id is taken."""
    async with conn.transaction():
        cur = await conn.execute(
            "INSERT INTO devices (device_id, token_hash) VALUES (%s, %s) "
            "ON CONFLICT (device_id) DO NOTHING RETURNING device_id",
            (device_id, token_hash),
        )
        if await cur.fetchone() is None:
            return False
        await conn.execute(
            "INSERT INTO device_configs (device_id, roi_version, interaction_roi, inventory_roi)"
            " VALUES (%s, 1, %s, %s)",
            (device_id, Jsonb(interaction_roi), Jsonb(inventory_roi)),
        )
        await conn.execute("INSERT INTO device_state (device_id) VALUES (%s)", (device_id,))
    return True


_SELECT_DEVICES = f"SELECT {_DEVICE_COLUMNS} FROM devices d {_CURRENT_CONFIG}"  # noqa: S608


async def get_device(conn: Conn, device_id: str) -> Row | None:
    cur = await conn.execute(_SELECT_DEVICES + " WHERE d.device_id = %s", (device_id,))
    return await cur.fetchone()


async def list_devices(conn: Conn) -> list[Row]:
    cur = await conn.execute(_SELECT_DEVICES + " ORDER BY d.device_id")
    return await cur.fetchall()


async def insert_config(
    conn: Conn,
    device_id: str,
    *,
    interaction_roi: list[list[float]] | None = None,
    inventory_roi: list[list[float]] | None = None,
    thresholds: dict[str, Any] | None = None,
    privacy_blur: bool | None = None,
) -> int | None:
    """Add the next configuration version, copying what is not given; None if no device."""
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT 1 FROM devices WHERE device_id = %s FOR UPDATE", (device_id,)
        )
        if await cur.fetchone() is None:
            return None
        cur = await conn.execute(
            """
            INSERT INTO device_configs
                (device_id, roi_version, interaction_roi, inventory_roi, thresholds, privacy_blur)
            SELECT device_id, roi_version + 1,
                   coalesce(%(interaction)s, interaction_roi),
                   coalesce(%(inventory)s, inventory_roi),
                   coalesce(%(thresholds)s, thresholds),
                   coalesce(%(privacy)s, privacy_blur)
            FROM device_configs
            WHERE device_id = %(device)s
            ORDER BY roi_version DESC LIMIT 1
            RETURNING roi_version
            """,
            {
                "device": device_id,
                "interaction": None if interaction_roi is None else Jsonb(interaction_roi),
                "inventory": None if inventory_roi is None else Jsonb(inventory_roi),
                "thresholds": None if thresholds is None else Jsonb(thresholds),
                "privacy": privacy_blur,
            },
        )
        row = await cur.fetchone()
    return None if row is None else int(row["roi_version"])


async def device_for_token(conn: Conn, token_hash: bytes) -> Row | None:
    cur = await conn.execute(
        "SELECT device_id, revoked FROM devices WHERE token_hash = %s", (token_hash,)
    )
    return await cur.fetchone()


async def replace_token(conn: Conn, device_id: str, token_hash: bytes) -> bool:
    """Store a new token hash (and enable the device); False if there is no such device."""
    cur = await conn.execute(
        "UPDATE devices SET token_hash = %s, revoked = false WHERE device_id = %s "
        "RETURNING device_id",
        (token_hash, device_id),
    )
    return await cur.fetchone() is not None


async def set_revoked(conn: Conn, device_id: str) -> bool | None:
    """Revoke the device; True if it was active, False if already revoked, None if unknown."""
    cur = await conn.execute(
        "UPDATE devices d SET revoked = true FROM devices old "
        "WHERE d.device_id = %s AND old.device_id = d.device_id "
        "RETURNING NOT old.revoked AS changed",
        (device_id,),
    )
    row = await cur.fetchone()
    return None if row is None else bool(row["changed"])


async def request_snapshot(conn: Conn, device_id: str) -> bool:
    """Set device_state.snapshot_requested_at (kept if already set); False if no device."""
    cur = await conn.execute(
        "UPDATE device_state SET snapshot_requested_at = coalesce(snapshot_requested_at, now())"
        " WHERE device_id = %s RETURNING device_id",
        (device_id,),
    )
    return await cur.fetchone() is not None
