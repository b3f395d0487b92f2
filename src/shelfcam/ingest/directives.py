"""What the ingest response tells the camera to do next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class Directive:
    mode: Literal["idle", "burst"]
    next_interval_ms: int
    burst_until: datetime | None
    snapshot_requested: bool


def directive(
    now: datetime,
    burst_until: datetime | None,
    snapshot_requested_at: datetime | None,
    *,
    idle_interval_ms: int,
    burst_interval_ms: int,
) -> Directive:
    """Burst while the worker says an interaction is open; otherwise idle."""
    bursting = burst_until is not None and burst_until > now
    return Directive(
        mode="burst" if bursting else "idle",
        next_interval_ms=burst_interval_ms if bursting else idle_interval_ms,
        burst_until=burst_until if bursting else None,
        snapshot_requested=snapshot_requested_at is not None,
    )
