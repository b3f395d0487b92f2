"""Devices: names, tokens and configuration, shared by the CLI and the API.

A device's name is its ``device_id`` everywhere (tables, file paths, queue lock), so it is
a strict ASCII slug. Its token is 256 random bits shown once; only a SHA-256 of it is
stored. A slow password hash would add nothing against guessing a 256-bit secret and
would cost every upload milliseconds (docs/decisions.md).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from shelfcam.db import devices as queries
from shelfcam.db.outputs import notify_devices_changed
from shelfcam.db.types import Conn, Row
from shelfcam.errors import Conflict, InvalidInput, NotFound
from shelfcam.vision import polygons
from shelfcam.vocabulary import validate_device_id

TOKEN_PREFIX = "shc_"  # noqa: S105 - a prefix that makes tokens recognisable, not a secret


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(b"shelfcam-device-token:" + token.encode()).digest()


@dataclass(frozen=True)
class NewDevice:
    device_id: str
    token: str


def device_json(row: Row) -> dict[str, Any]:
    """The public view of a device row (no token hash)."""
    return {
        "device_id": row["device_id"],
        "created_at": row["created_at"].isoformat(),
        "last_seen_at": row["last_seen_at"].isoformat() if row["last_seen_at"] else None,
        "revoked": row["revoked"],
        "roi_version": row["roi_version"],
        "interaction_roi": row["interaction_roi"],
        "inventory_roi": row["inventory_roi"],
        "thresholds": row["thresholds"],
        "privacy_blur": row["privacy_blur"],
    }


async def add_device(
    conn: Conn,
    name: str,
    interaction_roi: polygons.Polygon = polygons.FULL_FRAME,
    inventory_roi: polygons.Polygon = polygons.FULL_FRAME,
) -> NewDevice:
    device_id = validate_device_id(name)
    token = new_token()
    created = await queries.insert_device(
        conn,
        device_id,
        hash_token(token),
        polygons.to_json(interaction_roi),
        polygons.to_json(inventory_roi),
    )
    if not created:
        raise Conflict(f"device {device_id!r} already exists")
    await notify_devices_changed(conn)  # the outputs announce it (Home Assistant)
    return NewDevice(device_id, token)


async def set_config(
    conn: Conn,
    name: str,
    *,
    interaction_roi: polygons.Polygon | None = None,
    inventory_roi: polygons.Polygon | None = None,
    thresholds: dict[str, Any] | None = None,
    privacy_blur: bool | None = None,
) -> int:
    """Store a new configuration version for the device; return its roi_version.

    ``thresholds`` are the device's overrides of the defaults (``engine.config``), all of
    them (an empty dict goes back to the defaults); invalid ones are refused."""
    device_id = validate_device_id(name)
    if thresholds is not None:
        # Imported here: the engine package loads the vision code (OpenCV), which the
        # other commands that use this module do not need.
        from shelfcam.engine.config import Thresholds

        checked = Thresholds.from_overrides(thresholds)
        thresholds = {key: getattr(checked, key) for key in thresholds}
    if (
        interaction_roi is None
        and inventory_roi is None
        and thresholds is None
        and (privacy_blur is None)
    ):
        raise InvalidInput("nothing to change: give a ROI, thresholds or the privacy option")
    version = await queries.insert_config(
        conn,
        device_id,
        interaction_roi=None if interaction_roi is None else polygons.to_json(interaction_roi),
        inventory_roi=None if inventory_roi is None else polygons.to_json(inventory_roi),
        thresholds=thresholds,
        privacy_blur=privacy_blur,
    )
    if version is None:
        raise NotFound(f"no device named {device_id!r}")
    return version


async def list_devices(conn: Conn) -> list[dict[str, Any]]:
    return [device_json(row) for row in await queries.list_devices(conn)]


async def get_device(conn: Conn, name: str) -> dict[str, Any]:
    """One device's public view; :class:`NotFound` if there is no such device."""
    device_id = validate_device_id(name)
    row = await queries.get_device(conn, device_id)
    if row is None:
        raise NotFound(f"no device named {device_id!r}")
    return device_json(row)


async def rotate_token(conn: Conn, name: str) -> NewDevice:
    """Give the device a new token (shown once); the old one stops working.

    A revoked device is enabled again: rotating is how a camera comes back after a
    revocation, with a token the old holder never saw. Ingest processes cache a token
    for a few seconds (``shelfcam.ingest.auth``), so the old one may work that long.
    """
    device_id = validate_device_id(name)
    token = new_token()
    if not await queries.replace_token(conn, device_id, hash_token(token)):
        raise NotFound(f"no device named {device_id!r}")
    await notify_devices_changed(conn)
    return NewDevice(device_id, token)


async def revoke(conn: Conn, name: str) -> bool:
    """Refuse the device's token from now on; True if it was active until now."""
    device_id = validate_device_id(name)
    changed = await queries.set_revoked(conn, device_id)
    if changed is None:
        raise NotFound(f"no device named {device_id!r}")
    await notify_devices_changed(conn)  # the outputs withdraw it (Home Assistant)
    return changed


async def request_snapshot(conn: Conn, name: str) -> None:
    """Ask the camera for a snapshot: its next frame is also kept as a debug frame."""
    device_id = validate_device_id(name)
    if not await queries.request_snapshot(conn, device_id):
        raise NotFound(f"no device named {device_id!r}")
