"""What the outputs send, as values: the event payload (MQTT and webhooks), its signature,
and the notification a person reads. Pure: times and zones come in as arguments.

The payload is the object ``GET /api/v1/events/{event_id}`` returns for the event
(``web.schemas.event_out``, as JSON) plus ``"type"``: ``"new"`` when it was recorded,
``"end"`` when the state it opened (obstructed, shifted, empty) ended. A receiver
deduplicates on ``event_id`` with ``type``: delivery is at least once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from shelfcam.vocabulary import EVENT_TYPE_LABELS, DeliveryKind, EventType

SIGNATURE_HEADER = "X-Shelfcam-Signature-256"
EVENT_ID_HEADER = "X-Shelfcam-Event-Id"
MAX_PLACES = 4

PHRASES: dict[EventType, str] = {
    **EVENT_TYPE_LABELS,
    "interaction_detected": "someone reached in",
    "empty_confirmed": "shelf empty",
    "camera_obstructed": "camera covered",
    "scene_shifted": "camera moved",
}
"""How a notification says what happened."""

ENDED_PHRASES: dict[EventType, str] = {
    "empty_confirmed": "shelf stocked again",
    "camera_obstructed": "camera clear again",
    "scene_shifted": "camera view back",
}


def event_message(event: dict[str, Any], kind: DeliveryKind) -> dict[str, Any]:
    """The payload: the API's event object plus ``type``."""
    return {**event, "type": kind}


def encode(message: dict[str, Any]) -> bytes:
    """JSON bytes, compact and in a stable key order (what is signed is what is sent)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    """The ``X-Shelfcam-Signature-256`` value: ``sha256=`` and the hex HMAC-SHA256 of the
    body keyed with the secret."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def camera_name(device_id: str) -> str:
    """A camera as people call it: ``fridge-top`` -> ``Fridge top``."""
    words = device_id.replace("_", " ").replace("-", " ").split()
    text = " ".join(words) or device_id
    return text[:1].upper() + text[1:]


def place(box: dict[str, Any]) -> str:
    """Where a changed box sits in the picture, in words (``upper left``, ``middle``)."""
    x = float(box.get("x", 0)) + float(box.get("w", 0)) / 2
    y = float(box.get("y", 0)) + float(box.get("h", 0)) / 2
    row = "upper" if y < 1 / 3 else "lower" if y > 2 / 3 else "middle"
    column = "left" if x < 1 / 3 else "right" if x > 2 / 3 else ""
    if row == "middle" and column:
        return f"middle {column}"
    return f"{row} {column}".strip()


def places(regions: list[Any]) -> str:
    """The changed places of an event, in words, for a notification."""
    named = [place(r) for r in regions if isinstance(r, dict)]
    if not named:
        return ""
    shown = ", ".join(named[:MAX_PLACES])
    more = len(named) - MAX_PLACES
    return shown + (f" and {more} more" if more > 0 else "")


@dataclass(frozen=True)
class Notification:
    title: str
    body: str


def notification(
    event: dict[str, Any], kind: DeliveryKind, zone: tzinfo, link: str | None
) -> Notification:
    """Title and body of an event's notification: ``Fridge: stock changed at 14:02``,
    then when, the changed places and a link to the event's page."""
    event_type: EventType = event["event_type"]
    started = datetime.fromisoformat(str(event["started_at"])).astimezone(zone)
    when = started
    phrase = PHRASES[event_type]
    if kind == "end" and event.get("ended_at"):
        when = datetime.fromisoformat(str(event["ended_at"])).astimezone(zone)
        phrase = ENDED_PHRASES.get(event_type, f"{phrase} ended")
    camera = camera_name(str(event["device_id"]))
    title = f"{camera}: {phrase} at {when:%H:%M}"
    lines = [f"{phrase[:1].upper()}{phrase[1:]} on {camera} at {when:%H:%M:%S} ({when:%a %d %b})."]
    details = event.get("details") if isinstance(event.get("details"), dict) else {}
    changed = places(list((details or {}).get("regions") or []))
    if changed and kind == "new":
        lines.append(f"Changed places: {changed}.")
    cause = (details or {}).get("cause")
    if event_type == "camera_obstructed" and cause == "dark" and kind == "new":
        lines.append("The view is too dark to see.")
    if link:
        lines.append(f"See it: {link}")
    return Notification(title, "\n".join(lines))


def event_link(public_url: str, event_id: str) -> str:
    return f"{public_url.rstrip('/')}/events/{event_id}"
