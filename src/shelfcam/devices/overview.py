"""How each camera is doing, for the devices page and ``GET /api/v1/devices/{id}``:
last seen, frames per minute, analysis queue depth, last analysis error and the health
numbers the camera sends with its frames (``captures.meta``: rssi, heap, uptime,
firmware)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from shelfcam.db import overview as queries
from shelfcam.db.types import Conn, Row
from shelfcam.devices import device_json
from shelfcam.engine.config import Thresholds
from shelfcam.errors import InvalidInput, NotFound
from shelfcam.vocabulary import validate_device_id

RATE_WINDOW = timedelta(minutes=5)
ERROR_WINDOW = timedelta(hours=24)
ONLINE_WITHIN = timedelta(minutes=2)

State = Literal["online", "quiet", "never_seen", "revoked"]


@dataclass(frozen=True)
class Health:
    rssi_dbm: int | None
    heap_bytes: int | None
    uptime_ms: int | None
    firmware: str | None
    reported_at: datetime | None

    @property
    def signal(self) -> str | None:
        """A word for the Wi-Fi signal: good (>= -60 dBm), fair (>= -75), weak."""
        if self.rssi_dbm is None:
            return None
        if self.rssi_dbm >= -60:
            return "good"
        return "fair" if self.rssi_dbm >= -75 else "weak"


@dataclass(frozen=True)
class DeviceStatus:
    device: dict[str, Any]
    """The public view (``devices.device_json``: times as ISO strings)."""
    last_seen_at: datetime | None
    state: State
    frames_per_minute: float
    queue_depth: int
    queue_oldest: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    health: Health
    snapshot_requested_at: datetime | None
    empty_reference_at: datetime | None
    thresholds: Thresholds | None
    thresholds_error: str | None

    @property
    def device_id(self) -> str:
        return str(self.device["device_id"])


def classify(last_seen: datetime | None, revoked: bool, now: datetime) -> State:
    if revoked:
        return "revoked"
    if last_seen is None:
        return "never_seen"
    return "online" if now - last_seen <= ONLINE_WITHIN else "quiet"


def _int(meta: dict[str, Any], key: str) -> int | None:
    value = meta.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _health(row: Row) -> Health:
    meta = row["health_meta"] if isinstance(row["health_meta"], dict) else {}
    firmware = meta.get("firmware")
    return Health(
        rssi_dbm=_int(meta, "rssi"),
        heap_bytes=_int(meta, "heap"),
        uptime_ms=_int(meta, "uptime"),
        firmware=firmware if isinstance(firmware, str) else None,
        reported_at=row["health_at"],
    )


def _status(row: Row, now: datetime) -> DeviceStatus:
    thresholds: Thresholds | None = None
    problem: str | None = None
    try:
        thresholds = Thresholds.from_overrides(row["thresholds"])
    except InvalidInput as err:  # stored by an older version: show it, do not fail
        problem = err.detail
    return DeviceStatus(
        device=device_json(row),
        last_seen_at=row["last_seen_at"],
        state=classify(row["last_seen_at"], row["revoked"], now),
        frames_per_minute=round(int(row["recent_frames"]) / (RATE_WINDOW.total_seconds() / 60), 1),
        queue_depth=int(row["queue_depth"]),
        queue_oldest=row["queue_oldest"],
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        health=_health(row),
        snapshot_requested_at=row["snapshot_requested_at"],
        empty_reference_at=row["empty_ref_at"],
        thresholds=thresholds,
        thresholds_error=problem,
    )


async def all_statuses(conn: Conn, now: datetime) -> list[DeviceStatus]:
    rows = await queries.device_status(
        conn, since=now - RATE_WINDOW, errors_since=now - ERROR_WINDOW
    )
    return [_status(row, now) for row in rows]


async def status_of(conn: Conn, name: str, now: datetime) -> DeviceStatus:
    device_id = validate_device_id(name)
    rows = await queries.device_status(
        conn, since=now - RATE_WINDOW, errors_since=now - ERROR_WINDOW, device_id=device_id
    )
    if not rows:
        raise NotFound(f"no device named {device_id!r}")
    return _status(rows[0], now)
