"""What the engine decides: events to record, open events to close, and their details."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shelfcam.engine.config import EngineConfig
from shelfcam.engine.state import Mark
from shelfcam.vocabulary import EventType, FrameRole

JUDGED_AGAINST: dict[str, str] = {
    "motion": "interaction_threshold",
    "motion_peak": "interaction_threshold",
    "frame_change": "stable_frame_change",
    "inventory_delta": "inventory_change_threshold",
    "inventory_delta_confirmed": "inventory_change_threshold",
    "persisted_seconds": "change_persist_seconds",
    "lighting_score": "lighting_threshold",
    "obstruction": "obstruction_threshold",
    "empty_similarity": "empty_threshold",
    "shift_px": "shift_threshold_px",
    "shift_confidence": "shift_min_confidence",
    "shift_explained": "shift_min_explained",
}
"""Each score an event's ``details.scores`` can hold -> the threshold the engine compares
it with. Scores not listed (``brightness``, ``shift_dx``...) are judged against none: they
are shown alone. The event page and the tuning page pair scores with thresholds from here
only."""


@dataclass(frozen=True)
class NewEvent:
    """A new event. ``key`` is deterministic (the emitting capture and the type), so a
    retried frame produces the same key and the worker stores the event once."""

    key: str
    event_type: EventType
    started_at: datetime
    ended_at: datetime | None
    confidence: float
    details: dict[str, Any]
    images: dict[FrameRole, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EventEnd:
    """An open event (ended_at null) whose condition cleared at ``ended_at``."""

    key: str
    ended_at: datetime


def confidence(score: float, threshold: float) -> float:
    """0.5 at the threshold, 1.0 at twice the threshold (and beyond)."""
    if threshold <= 0:
        return 1.0
    return round(max(0.0, min(1.0, score / (2 * threshold))), 3)


def details(
    config: EngineConfig,
    decided: str,
    *,
    scores: dict[str, Any],
    pre: Mark | None = None,
    post: Mark | None = None,
    during: Mark | None = None,
    baseline_age_s: float | None = None,
    stability_frames: int = 0,
    trace: tuple[str, ...] | list[str] = (),
    regions: tuple[dict[str, float], ...] | list[dict[str, float]] = (),
) -> dict[str, Any]:
    """An event's ``details`` (docs/architecture.md, "Interfaces"): the documented shape
    plus ``regions`` (normalised boxes); ``captures`` also names the frame on which the
    decision was taken (``decided_capture_id``)."""
    return {
        "roi_version": config.roi_version,
        "thresholds": config.thresholds.to_dict(),
        "scores": scores,
        "captures": {
            "pre_capture_id": pre.capture_id if pre else None,
            "post_capture_id": post.capture_id if post else None,
            "during_capture_id": during.capture_id if during else None,
            "decided_capture_id": decided,
        },
        "baseline": {
            "age_seconds": None if baseline_age_s is None else round(baseline_age_s, 1),
            "stability_frames": stability_frames,
        },
        "decision_trace": list(trace),
        "regions": list(regions),
    }


def images(pre: Mark | None, post: Mark | None, during: Mark | None) -> dict[FrameRole, str]:
    found: dict[FrameRole, str] = {}
    if pre is not None:
        found["pre"] = pre.capture_id
    if post is not None:
        found["post"] = post.capture_id
    if during is not None:
        found["during"] = during.capture_id
    return found
