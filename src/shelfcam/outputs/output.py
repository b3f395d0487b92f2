"""What every output implements, what it is handed, and how it says a delivery failed.
Pure (the protocol and values only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from shelfcam.outputs.catalog import OutputSpec
from shelfcam.vocabulary import DeliveryKind, EventType


@dataclass(frozen=True)
class Outgoing:
    """One delivery, ready to send."""

    delivery_id: int
    event_id: uuid.UUID
    device_id: str
    event_type: EventType
    kind: DeliveryKind
    event: dict[str, Any]
    """The event as ``GET /api/v1/events/{event_id}`` returns it (JSON values)."""
    frame: bytes | None = field(default=None, repr=False)
    """The event's frame after (else during, else before) as stored: blurred outside the
    inventory ROI where the camera's privacy blur is on. Only for outputs that want it."""


class DeliveryFailed(Exception):
    """The receiver could not take it now (down, timed out, 408, 429, 5xx): try again."""


class DeliveryRefused(Exception):
    """The receiver refused it for good (another 4xx): drop it and say so."""


class Output(Protocol):
    spec: OutputSpec
    wants_frame: bool

    async def run(self) -> None:
        """What the output keeps running while it is active (a broker connection); returns
        at once when it needs nothing."""
        ...

    async def deliver(self, item: Outgoing) -> None:
        """Send one delivery; raise :class:`DeliveryFailed` or :class:`DeliveryRefused`."""
        ...

    async def check(self) -> str:
        """Send a test message (``shelfcam outputs test``); return what the receiver
        answered, or raise :class:`DeliveryFailed` saying why not."""
        ...

    async def aclose(self) -> None: ...
