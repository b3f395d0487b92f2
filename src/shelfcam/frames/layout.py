"""Where each frame lives in a frame store: the layout, as URIs (keys)
(docs/architecture.md, "Interfaces").

    staging/<device_id>/<YYYY-MM-DD>/<capture_id>.jpg
    events/<device_id>/<YYYY-MM-DD>/<event_id>/{pre,post,during,annotated}.jpg
    thumbs/<device_id>/<YYYY-MM-DD>/<event_id>/thumb.jpg
    debug/<device_id>/<YYYY-MM-DD>/<capture_id>.jpg

The database stores each frame's URI (``storage_uri``, ``derived_storage_uri``): the path
relative to the store's root, with forward slashes, the same for every store. Every URI is
built from checked parts (a device slug, a date, a UUID, a known role) and every URI read
back is parsed against the same rules (`check_uri`), so nothing from outside can name a
frame outside the store.

Pure: strings in, strings out.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Literal

from shelfcam.errors import InvalidInput
from shelfcam.vocabulary import IMAGE_ROLES, ImageRole, validate_device_id

Area = Literal["staging", "events", "thumbs", "debug"]
AREAS: tuple[Area, ...] = ("staging", "events", "thumbs", "debug")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TEMP = re.compile(r"\.(.+\.jpg)\.[0-9a-f]{8}\.tmp")


def _check_uuid(value: uuid.UUID | str) -> str:
    text = str(value)
    if not _UUID.fullmatch(text):
        raise InvalidInput(f"{text!r} is not a UUID")
    return text


def staging_uri(device_id: str, day: date, capture_id: uuid.UUID) -> str:
    return (
        f"staging/{validate_device_id(device_id)}/{day.isoformat()}/{_check_uuid(capture_id)}.jpg"
    )


def debug_uri(device_id: str, day: date, capture_id: uuid.UUID) -> str:
    return f"debug/{validate_device_id(device_id)}/{day.isoformat()}/{_check_uuid(capture_id)}.jpg"


def event_uri(device_id: str, day: date, event_id: uuid.UUID, role: ImageRole) -> str:
    if role not in IMAGE_ROLES:
        raise InvalidInput(f"{role!r} is not an event image role")
    folder = event_folder_uri("thumbs" if role == "thumb" else "events", device_id, day, event_id)
    return f"{folder}/{role}.jpg"


def event_folder_uri(
    area: Literal["events", "thumbs"], device_id: str, day: date, event_id: uuid.UUID
) -> str:
    return f"{area}/{validate_device_id(device_id)}/{day.isoformat()}/{_check_uuid(event_id)}"


def check_uri(uri: str) -> str:
    """Return ``uri`` if it is a URI this layout could have made, else raise."""
    parts = uri.split("/")
    ok = len(parts) >= 3 and parts[0] in AREAS
    if ok:
        try:
            validate_device_id(parts[1])
        except InvalidInput:
            ok = False
    if ok and parts[0] in ("staging", "debug"):
        ok = (
            len(parts) == 4
            and bool(_DATE.fullmatch(parts[2]))
            and parts[3].endswith(".jpg")
            and bool(_UUID.fullmatch(parts[3][:-4]))
        )
    elif ok:
        ok = (
            3 <= len(parts) <= 5
            and bool(_DATE.fullmatch(parts[2]))
            and (len(parts) < 4 or bool(_UUID.fullmatch(parts[3])))
            and (len(parts) < 5 or parts[4] in {f"{r}.jpg" for r in IMAGE_ROLES})
        )
    if not ok:
        raise InvalidInput(f"{uri!r} is not a frame store path")
    return uri


def final_of_temp(uri: str) -> str | None:
    """The URI an atomic write's temporary file (``.<name>.<8 hex>.tmp`` beside it) was to
    become, or None when ``uri`` names no such file."""
    folder, _, name = uri.rpartition("/")
    match = _TEMP.fullmatch(name)
    return f"{folder}/{match.group(1)}" if match else None


@dataclass(frozen=True)
class Named:
    """What a stored key names: its area, device and owner."""

    area: Area
    device_id: str
    owner_id: uuid.UUID | None
    """The capture (staging/, debug/) or event (events/, thumbs/); None for a temporary
    file an interrupted write left."""


def identify(uri: str) -> Named | None:
    """What the file ``uri`` names, or None when no frame of the layout (nor a temporary
    file beside one) has that key: a foreign file."""
    final = final_of_temp(uri)
    try:
        parts = check_uri(final or uri).split("/")
    except InvalidInput:
        return None
    area = next(a for a in AREAS if a == parts[0])
    if len(parts) != (4 if area in ("staging", "debug") else 5):
        return None  # a folder's name given to a file
    owner: uuid.UUID | None = None
    if final is None:
        owner = uuid.UUID(parts[3][:-4] if area in ("staging", "debug") else parts[3])
    return Named(area, parts[1], owner)
