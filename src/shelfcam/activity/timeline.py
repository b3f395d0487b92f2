"""Reading the activity log: events with their images, cursors, and image files.

The analysis worker writes events and event_images; this module only reads them, for the
JSON API, the admin UI and the CLI. An image counts as expired when retention marked it
(``expired_at``) or its file is gone.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread

from shelfcam.db import events as queries
from shelfcam.db.events import EventFilter
from shelfcam.db.types import Conn, Row
from shelfcam.errors import Gone, InvalidInput, NotFound, StoreUnavailable
from shelfcam.frames.routing import store_call
from shelfcam.frames.store import FrameStore
from shelfcam.vocabulary import EVENT_TYPES, FRAMES_BEST_FIRST, IMAGE_ROLES

log = logging.getLogger(__name__)

MAX_PAGE = 200
DEFAULT_PAGE = 50

__all__ = ["Event", "EventFilter", "EventImage", "EventPage"]


@dataclass(frozen=True)
class EventImage:
    role: str
    capture_id: uuid.UUID | None
    storage_uri: str | None
    expired: bool
    expired_at: datetime | None


@dataclass(frozen=True)
class Event:
    event_id: uuid.UUID
    device_id: str
    event_type: str
    started_at: datetime
    ended_at: datetime | None
    confidence: float | None
    details: dict[str, Any]
    created_at: datetime
    images: dict[str, EventImage] = field(default_factory=dict)

    @property
    def thumbnail(self) -> EventImage | None:
        """The picture for a list: the thumbnail, else the frame that best shows the event."""
        for role in ("thumb", *FRAMES_BEST_FIRST):
            if role in self.images:
                return self.images[role]
        return None


@dataclass(frozen=True)
class EventPage:
    events: list[Event]
    next_cursor: str | None


def encode_cursor(started_at: datetime, event_id: uuid.UUID) -> str:
    raw = f"{started_at.isoformat()}|{event_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        started, event_id = base64.urlsafe_b64decode(padded).decode().split("|")
        when = datetime.fromisoformat(started)
        if when.tzinfo is None:
            raise ValueError("naive time")
        return when, uuid.UUID(event_id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as err:
        raise InvalidInput("cursor is not valid: use the next_cursor of a previous page") from err


def validate_filter(filters: EventFilter) -> EventFilter:
    if filters.event_type is not None and filters.event_type not in EVENT_TYPES:
        raise InvalidInput(f"type must be one of {', '.join(EVENT_TYPES)}")
    if filters.since and filters.until and filters.since >= filters.until:
        raise InvalidInput("since must be before until")
    return filters


def _image(row: Row, store: FrameStore) -> EventImage:
    uri = row["storage_uri"]
    expired = row["expired_at"] is not None or uri is None
    if not expired:
        try:
            expired = not store.exists(uri)
        except InvalidInput:
            log.warning("action=bad_storage_uri event=%s role=%s", row["event_id"], row["role"])
            expired = True
        except StoreUnavailable:  # the page still shows; the image says it is missing
            expired = True
    return EventImage(row["role"], row["capture_id"], uri, expired, row["expired_at"])


def _event(row: Row, images: dict[str, EventImage]) -> Event:
    details = row["details"] if isinstance(row["details"], dict) else {}
    confidence = None if row["confidence"] is None else float(row["confidence"])
    return Event(
        row["event_id"],
        row["device_id"],
        row["event_type"],
        row["started_at"],
        row["ended_at"],
        confidence,
        details,
        row["created_at"],
        images,
    )


async def _with_images(conn: Conn, store: FrameStore, rows: list[Row]) -> list[Event]:
    ids = [row["event_id"] for row in rows]
    by_event: dict[uuid.UUID, dict[str, EventImage]] = {i: {} for i in ids}
    image_rows = await queries.images_of(conn, ids)
    images = await store_call(store, lambda: [_image(r, store) for r in image_rows])
    for image_row, image in zip(image_rows, images, strict=True):
        by_event[image_row["event_id"]][image_row["role"]] = image
    return [_event(row, by_event[row["event_id"]]) for row in rows]


async def list_events(
    conn: Conn,
    store: FrameStore,
    filters: EventFilter,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE,
) -> EventPage:
    """One page, newest first; ``next_cursor`` is None on the last page."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}")
    validate_filter(filters)
    before = decode_cursor(cursor) if cursor else None
    rows = await queries.list_events(conn, filters, before=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    events = await _with_images(conn, store, rows)
    last = rows[-1] if more else None
    next_cursor = encode_cursor(last["started_at"], last["event_id"]) if last else None
    return EventPage(events, next_cursor)


async def events_since(
    conn: Conn, store: FrameStore, filters: EventFilter, watermark: datetime
) -> list[Event]:
    """Events recorded after ``watermark`` (for a page that shows new events live)."""
    validate_filter(filters)
    rows = await queries.events_created_after(conn, filters, watermark, MAX_PAGE)
    return await _with_images(conn, store, rows)


async def watermark(conn: Conn) -> datetime | None:
    """When the newest event was recorded (None: no events yet)."""
    return await queries.latest_created_at(conn)


async def get_event(conn: Conn, store: FrameStore, event_id: uuid.UUID) -> Event:
    row = await queries.get_event(conn, event_id)
    if row is None:
        raise NotFound(f"no event {event_id}")
    return (await _with_images(conn, store, [row]))[0]


async def image_bytes(conn: Conn, store: FrameStore, event_id: uuid.UUID, role: str) -> bytes:
    """The JPEG of one event image, looked up in event_images and read from the store."""
    if role not in IMAGE_ROLES:
        raise NotFound(f"no image role {role!r}")
    row = await queries.image(conn, event_id, role)
    if row is None:
        raise NotFound(f"event {event_id} has no {role} image")
    if row["expired_at"] is not None or row["storage_uri"] is None:
        raise Gone(f"the {role} image of event {event_id} has expired")
    try:
        return await anyio.to_thread.run_sync(store.get, row["storage_uri"])
    except FileNotFoundError as err:
        raise Gone(f"the {role} image of event {event_id} has expired") from err
    except InvalidInput as err:  # a stored URI the frame store refuses: never serve it
        log.warning("action=bad_storage_uri event=%s role=%s", event_id, role)
        raise NotFound(f"event {event_id} has no readable {role} image") from err


async def device_ids(conn: Conn) -> list[str]:
    return await queries.device_ids(conn)


async def all_events(conn: Conn, store: FrameStore, filters: EventFilter) -> list[Event]:
    """Every matching event, newest first (page by page)."""
    found: list[Event] = []
    cursor: str | None = None
    while True:
        page = await list_events(conn, store, filters, cursor=cursor, limit=MAX_PAGE)
        found.extend(page.events)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


_AGE = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """An RFC 3339 time, a date (UTC midnight), or an age such as ``30m``, ``2h``, ``7d``."""
    now = now or datetime.now(UTC)
    age = _AGE.fullmatch(text.strip())
    if age:
        return now - timedelta(seconds=int(age.group(1)) * _UNITS[age.group(2)])
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise InvalidInput(
            f"--since {text!r}: give an RFC 3339 time, a date (2026-11-26) or an age (2h, 7d)"
        ) from err
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event_line(event: Event) -> dict[str, Any]:
    """The JSON Lines form of ``shelfcam events --json`` (docs/architecture.md, "Interfaces")."""
    return {
        "event_id": str(event.event_id),
        "device_id": event.device_id,
        "event_type": event.event_type,
        "started_at": event.started_at.isoformat(),
        "ended_at": event.ended_at.isoformat() if event.ended_at else None,
        "confidence": event.confidence,
        "details": event.details,
    }


def event_text(event: Event) -> str:
    ended = event.ended_at.isoformat(timespec="seconds") if event.ended_at else "open"
    confidence = "-" if event.confidence is None else f"{event.confidence:.2f}"
    return (
        f"{event.started_at.isoformat(timespec='seconds')}  {event.device_id:<16} "
        f"{event.event_type:<22} confidence={confidence} ended={ended}  {event.event_id}"
    )
