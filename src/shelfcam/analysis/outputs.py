"""The outputs seam: what a frame's commit recorded, for the outputs.

The worker builds one `Committed` per frame it analyzed. Inside the frame's transaction it
hands it to the outbox (`shelfcam.outputs.outbox`), which records what each configured
output (MQTT, webhooks, notifications) is owed: an event is never committed without its
deliveries, nor a delivery without its event, and the deliverer
(`shelfcam.outputs.delivery`) makes them after the commit, in a loop of its own, so
analysis never waits for a receiver. After the commit, `Outputs.hand_over` gives it to
the in-process deliverers, which must not block: today `EventLog` (a log line and a
metrics count per event), which never sees an event that was rolled back
(docs/architecture.md, "Seams").
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shelfcam.metrics import Metrics
from shelfcam.vocabulary import EventType

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedEvent:
    """A new event as committed (its images by role, as the database holds them)."""

    event_id: uuid.UUID
    event_type: EventType
    started_at: datetime
    ended_at: datetime | None
    confidence: float
    details: dict[str, Any]
    images: dict[str, str] = field(default_factory=dict)
    """Role -> frame store URI."""


@dataclass(frozen=True)
class EndedEvent:
    """An open event whose condition cleared."""

    event_id: uuid.UUID
    ended_at: datetime


@dataclass(frozen=True)
class Committed:
    """What one frame's commit recorded for one camera."""

    device_id: str
    capture_id: uuid.UUID
    events: tuple[RecordedEvent, ...] = ()
    ended: tuple[EndedEvent, ...] = ()


class Deliverer(Protocol):
    name: str

    def deliver(self, committed: Committed) -> None:
        """Take the events of one commit; must return at once (no network wait)."""
        ...


class EventLog:
    """One log line and one metrics count per event: the record every install has."""

    name = "log"

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def deliver(self, committed: Committed) -> None:
        for event in committed.events:
            self.metrics.events.labels(committed.device_id, event.event_type).inc()
            log.info(
                "action=event_emitted device=%s event_type=%s event_id=%s",
                committed.device_id,
                event.event_type,
                event.event_id,
            )


class Outputs:
    """The deliverers of one worker process."""

    def __init__(self, deliverers: Sequence[Deliverer]) -> None:
        self.deliverers = tuple(deliverers)

    def hand_over(self, committed: Committed) -> None:
        """Give each deliverer the commit; one that fails is logged and the others go on."""
        if not committed.events and not committed.ended:
            return
        for deliverer in self.deliverers:
            try:
                deliverer.deliver(committed)
            except Exception as err:
                log.exception(
                    "action=output_failed output=%s device=%s error=%s",
                    deliverer.name,
                    committed.device_id,
                    type(err).__name__,
                )
