"""The words every layer shares, each defined once: device names, event types, the images an
event keeps, a capture's storage class and analysis status.

The engine's output, the API's schema, the UI's labels, the frame store's layout and the
retention rule all take these from here. The database holds the same lists as CHECK
constraints (migration 0002); ``tests/unit/test_vocabulary.py`` derives every other list
from this module and ``tests/integration/test_vocabulary_checks.py`` compares it with the
live database's constraints, so a new event type is added here and in a migration, and a
test fails until both agree (docs/architecture.md, "Where a change goes").

Pure: no I/O, importable from the lint-guarded core.
"""

from __future__ import annotations

import re
from typing import Final, Literal, get_args

from shelfcam.errors import InvalidInput

EventType = Literal[
    "interaction_detected",
    "stock_changed",
    "empty_confirmed",
    "camera_obstructed",
    "scene_shifted",
]
EVENT_TYPES: Final[tuple[EventType, ...]] = get_args(EventType)

EVENT_TYPE_LABELS: Final[dict[EventType, str]] = {
    "interaction_detected": "interaction",
    "stock_changed": "stock changed",
    "empty_confirmed": "empty",
    "camera_obstructed": "obstructed",
    "scene_shifted": "scene shifted",
}
"""How the admin UI names each type."""

FrameRole = Literal["pre", "during", "post"]
"""An event's pictures taken from its captures: before, during and after (time order)."""
FRAME_ROLES: Final[tuple[FrameRole, ...]] = get_args(FrameRole)

FRAMES_BEST_FIRST: Final[tuple[FrameRole, ...]] = ("post", "during", "pre")
"""Which frame best shows an event: the one after, else during, else before. An event's
thumbnail is made from the first it has."""

ImageRole = Literal[FrameRole, "annotated", "thumb"]
"""Every image an event keeps: its frames, the change overlay and the thumbnail."""
IMAGE_ROLES: Final[tuple[ImageRole, ...]] = get_args(ImageRole)

IMAGE_ROLE_LABELS: Final[dict[ImageRole, str]] = {
    "pre": "before",
    "during": "during",
    "post": "after",
    "annotated": "annotated",
    "thumb": "thumbnail",
}
"""How the admin UI names each image."""

StorageClass = Literal["staging", "event", "debug", "discarded"]
"""What a capture's file is: a staging frame waiting for analysis, an event frame, a
snapshot the ROI editor asked for, or gone."""
STORAGE_CLASSES: Final[tuple[StorageClass, ...]] = get_args(StorageClass)

AnalysisStatus = Literal["queued", "processed", "failed", "skipped"]
"""Where a capture is in analysis (the schema's ``analysis_status``)."""
ANALYSIS_STATUSES: Final[tuple[AnalysisStatus, ...]] = get_args(AnalysisStatus)

DeliveryKind = Literal["new", "end"]
"""What an output is told about an event: it was recorded (``new``), or the state it opened
(obstructed, shifted, empty) ended (``end``). The payloads' ``"type"`` and the outbox's
``kind`` (its CHECK, migration 0015)."""
DELIVERY_KINDS: Final[tuple[DeliveryKind, ...]] = get_args(DeliveryKind)

DEVICE_ID_PATTERN: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
"""A device's name, its ``device_id`` everywhere (tables, file paths, the queue lock): a
strict ASCII slug (the devices table's CHECK holds the same pattern)."""
_RESERVED: Final = (
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
"""Names that some file systems treat specially; refused so a data dir can move anywhere."""


def validate_device_id(name: str) -> str:
    """Return ``name`` if it is a valid device id, else raise :class:`InvalidInput`."""
    if not isinstance(name, str) or not DEVICE_ID_PATTERN.fullmatch(name) or not name.isascii():
        raise InvalidInput(
            f"device name {name!r} is not valid: use 1-63 characters a-z, 0-9, '-' or '_', "
            "starting with a letter or digit"
        )
    if name in _RESERVED:
        raise InvalidInput(f"device name {name!r} is reserved; choose another")
    return name
