"""The demo's cameras and login, created on the first run and reused on the next ones.

Cameras: added with the scene's ROIs on the first run; on a later run the existing camera
keeps its ROIs (the user may have edited them) and gets a new token, so no token is ever
stored on disk. Both runs take the scene's empty shelf as the empty reference.

Login: an admin user ``demo`` with a random password, created once and printed once (the
database keeps only its argon2 hash). A later run leaves it alone.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from shelfcam import devices
from shelfcam.accounts import admins
from shelfcam.db import admin as admin_queries
from shelfcam.db.types import Conn
from shelfcam.demo.stories import DemoCamera
from shelfcam.devices.references import mark_empty
from shelfcam.errors import Conflict
from shelfcam.frames.store import FrameStore

log = logging.getLogger(__name__)

DEMO_USER = "demo"
PASSWORD_BYTES = 12  # 16 URL-safe characters


@dataclass(frozen=True)
class Login:
    username: str
    password: str | None
    """The new password, or None when the user existed already (its password unchanged)."""


async def ensure_cameras(
    conn: Conn, store: FrameStore, cameras: Sequence[DemoCamera]
) -> dict[str, str]:
    """Each demo camera with a usable token (device_id -> token) and its empty reference."""
    tokens = {}
    for camera in cameras:
        try:
            new = await devices.add_device(
                conn, camera.device_id, camera.interaction_roi, camera.inventory_roi
            )
            log.info("action=demo_camera_added device=%s", camera.device_id)
        except Conflict:
            new = await devices.rotate_token(conn, camera.device_id)
            log.info("action=demo_camera_reused device=%s token=rotated", camera.device_id)
        tokens[camera.device_id] = new.token
        await mark_empty(conn, store, camera.device_id, camera.empty_reference, "the demo scene")
    return tokens


async def ensure_login(conn: Conn) -> Login:
    """The ``demo`` admin user: created with a random password if it does not exist."""
    if await admin_queries.password_hash(conn, DEMO_USER) is not None:
        return Login(DEMO_USER, None)
    password = secrets.token_urlsafe(PASSWORD_BYTES)
    await admins.set_password(conn, DEMO_USER, password)
    return Login(DEMO_USER, password)
