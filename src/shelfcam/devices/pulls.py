"""Pulled cameras, shared by the CLI, the devices page and /healthz: setting and clearing
a camera's pull URL, and each one's state as the puller last reported it. URLs are
shown with their credentials replaced (``shelfcam.pull.urls``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shelfcam.db import pulls as queries
from shelfcam.db.types import Conn, Row
from shelfcam.errors import NotFound
from shelfcam.pull import urls
from shelfcam.vocabulary import validate_device_id


@dataclass(frozen=True)
class PullState:
    device_id: str
    url: str
    """Shown with its credentials replaced."""
    interval_ms: int | None
    connected: bool | None
    """None until the puller has tried the camera."""
    mode: str | None
    frames_per_minute: float | None
    last_frame_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    reported_at: datetime | None

    @property
    def state(self) -> str:
        if self.connected is None:
            return "waiting"
        return "connected" if self.connected else "failing"

    def as_json(self) -> dict[str, Any]:
        def when(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "url": self.url,
            "interval_ms": self.interval_ms,
            "state": self.state,
            "mode": self.mode,
            "frames_per_minute": self.frames_per_minute,
            "last_frame_at": when(self.last_frame_at),
            "last_error": self.last_error,
            "last_error_at": when(self.last_error_at),
        }


def _state(row: Row) -> PullState:
    fpm = row["frames_per_minute"]
    return PullState(
        device_id=row["device_id"],
        url=urls.shown(row["url"]),
        interval_ms=row["interval_ms"],
        connected=row["connected"],
        mode=row["mode"],
        frames_per_minute=None if fpm is None else round(float(fpm), 1),
        last_frame_at=row["last_frame_at"],
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        reported_at=row["reported_at"],
    )


async def set_pull(conn: Conn, name: str, url: str, interval_ms: int | None = None) -> str:
    """Pull the camera from ``url`` from now on; return the URL as shown."""
    device_id = validate_device_id(name)
    checked = urls.parse(url)
    interval = urls.check_interval(interval_ms)
    if not await queries.set_pull(conn, device_id, url.strip(), interval):
        raise NotFound(f"no device named {device_id!r}")
    return checked.shown


async def clear_pull(conn: Conn, name: str) -> bool:
    """Stop pulling the camera (it may push again); False if it was not pulled."""
    device_id = validate_device_id(name)
    return await queries.clear_pull(conn, device_id)


async def states(conn: Conn) -> dict[str, PullState]:
    return {row["device_id"]: _state(row) for row in await queries.states(conn)}
