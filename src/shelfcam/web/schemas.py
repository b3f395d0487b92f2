"""Response models of the JSON API (they are its OpenAPI schema)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from shelfcam.activity import timeline
from shelfcam.engine.config import Thresholds
from shelfcam.vocabulary import EventType, ImageRole


class ErrorBody(BaseModel):
    error: str = Field(description="A short machine-readable code, e.g. `unauthorized`")
    detail: str = Field(description="What went wrong, for people")


class EventImageOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: ImageRole
    capture_id: uuid.UUID | None = Field(description="The capture this frame came from, if any")
    url: str = Field(description="Where to GET the JPEG (same authentication as the API)")
    expired: bool = Field(description="True once retention removed the file")
    expired_at: datetime | None


class EventOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: uuid.UUID
    device_id: str
    event_type: EventType
    started_at: datetime = Field(description="Engine time (the camera's clock when sane)")
    ended_at: datetime | None
    confidence: float | None = Field(ge=0, le=1)
    details: dict[str, Any] = Field(
        description="roi_version, thresholds, scores, captures, baseline, decision_trace, "
        "regions (boxes normalised to the frame)"
    )
    created_at: datetime = Field(description="When the event was recorded")
    images: list[EventImageOut]


class EventPageOut(BaseModel):
    events: list[EventOut] = Field(description="Newest first by (started_at, event_id)")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null on the last page"
    )


class DeviceOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: str
    created_at: datetime
    last_seen_at: datetime | None
    revoked: bool
    roi_version: int | None
    interaction_roi: list[list[float]] | None = Field(
        description="Polygon [[x, y], ...] in normalised image coordinates (0..1)"
    )
    inventory_roi: list[list[float]] | None
    thresholds: dict[str, Any] | None
    privacy_blur: bool | None


class DeviceListOut(BaseModel):
    devices: list[DeviceOut]


def image_url(event_id: uuid.UUID, role: str) -> str:
    return f"/images/{event_id}/{role}"


def event_out(event: timeline.Event) -> EventOut:
    images = [
        EventImageOut(
            role=image.role,
            capture_id=image.capture_id,
            url=image_url(event.event_id, image.role),
            expired=image.expired,
            expired_at=image.expired_at,
        )
        for image in sorted(event.images.values(), key=lambda i: i.role)
    ]
    return EventOut(
        event_id=event.event_id,
        device_id=event.device_id,
        event_type=event.event_type,
        started_at=event.started_at,
        ended_at=event.ended_at,
        confidence=event.confidence,
        details=event.details,
        created_at=event.created_at,
        images=images,
    )


Polygon = list[list[float]]
MAX_ROI_POINTS = 64

# Request bodies are checked by the same services as the CLI (polygons.from_json,
# Thresholds.from_overrides: 400 with the reason); their schemas say exactly what those
# accept, so a client (or a fuzzer) reading the OpenAPI schema knows the rules.
PolygonIn = Annotated[
    Polygon,
    WithJsonSchema(
        {
            "type": "array",
            "description": "[[x, y], ...]: 3-64 distinct points in normalised image "
            "coordinates (0..1), with an area and an outline that does not cross itself",
            "minItems": 3,
            "maxItems": MAX_ROI_POINTS,
            "items": {
                "type": "array",
                "minItems": 2,
                "maxItems": 2,
                "items": {"type": "number", "minimum": 0, "maximum": 1},
            },
        }
    ),
]
ThresholdsIn = Annotated[
    dict[str, float],
    WithJsonSchema(
        {
            "type": "object",
            "description": "Threshold overrides by name: non-negative numbers (whole numbers "
            "for counts); interaction_end_threshold at most interaction_threshold, "
            "empty_exit_threshold at most empty_threshold",
            "propertyNames": {"enum": Thresholds.names()},
            "additionalProperties": {"type": "number", "minimum": 0},
        }
    ),
]


class HealthOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rssi_dbm: int | None = Field(description="Wi-Fi signal the camera last reported")
    heap_bytes: int | None = Field(description="Free heap the camera last reported")
    uptime_ms: int | None
    firmware: str | None
    reported_at: datetime | None = Field(description="When the camera last reported any of these")


class DeviceStatusOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["online", "quiet", "never_seen", "revoked"] = Field(
        description="online: seen in the last 2 minutes"
    )
    frames_per_minute: float = Field(description="Frames received, averaged over 5 minutes")
    queue_depth: int = Field(description="Frames waiting for analysis")
    queue_oldest: datetime | None
    last_error: str | None = Field(description="The latest analysis error of the last 24 h")
    last_error_at: datetime | None
    health: HealthOut
    snapshot_requested_at: datetime | None = Field(
        description="Set while a snapshot for the ROI editor is pending"
    )
    empty_reference_at: datetime | None = Field(description="When 'mark empty' was last used")


class DeviceDetailOut(DeviceOut):
    status: DeviceStatusOut
    effective_thresholds: dict[str, float] | None = Field(
        description="Every threshold in force: the defaults with this device's overrides"
    )


class NewDeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: str = Field(
        description="The camera's name: 1-63 of a-z 0-9 - _", min_length=1, max_length=63
    )
    interaction_roi: PolygonIn | None = Field(
        default=None, description="Default: the whole frame", max_length=MAX_ROI_POINTS
    )
    inventory_roi: PolygonIn | None = Field(
        default=None, description="Default: the whole frame", max_length=MAX_ROI_POINTS
    )


class DeviceTokenOut(BaseModel):
    device_id: str
    token: str = Field(description="The device token, shown only in this answer")


class ConfigIn(BaseModel):
    """A new configuration version: only the fields given change (at least one)."""

    model_config = ConfigDict(extra="forbid")

    interaction_roi: PolygonIn | None = Field(
        default=None, description="[[x, y], ...] in 0..1", max_length=MAX_ROI_POINTS
    )
    inventory_roi: PolygonIn | None = Field(default=None, max_length=MAX_ROI_POINTS)
    thresholds: ThresholdsIn | None = Field(
        default=None,
        description="All of the device's threshold overrides, replacing the previous ones "
        "({} = the defaults); the names are those of effective_thresholds",
    )
    privacy_blur: bool | None = Field(
        default=None, description="Blur stored frames outside the inventory ROI"
    )


class SnapshotOut(BaseModel):
    device_id: str
    snapshot_requested_at: datetime | None


class MarkEmptyOut(BaseModel):
    device_id: str
    source: str = Field(description="Where the empty-shelf reference came from")


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thresholds: ThresholdsIn = Field(
        description="The proposed overrides, all of them ({} = the defaults)"
    )


class ThresholdChangeOut(BaseModel):
    name: str
    current: float
    proposed: float


class OutcomeOut(BaseModel):
    event_id: str
    event_type: EventType
    started_at: datetime
    question: str = Field(description="What is judged, e.g. 'Also a stock change'")
    score_name: str
    score: float | None
    rescored: bool = Field(description="Computed again from the retained pre/post frames")
    threshold_name: str
    current: float
    proposed: float
    change: Literal["kept", "dropped", "added", "still_off"]


class CrossingOut(BaseModel):
    score: str
    threshold: str
    frames: int = Field(description="Recent frames that have this score")
    current: float
    proposed: float
    at_or_above_now: int
    at_or_above_then: int
    newly_firing: int = Field(description="Near misses that would reach the proposed value")
    no_longer_firing: int
    near_misses: int = Field(description="Frames within 50-100 % of the current threshold")


class PreviewOut(BaseModel):
    current: dict[str, float]
    proposed: dict[str, float]
    changed_thresholds: list[ThresholdChangeOut]
    changes: list[OutcomeOut] = Field(description="Recent events whose outcome would change")
    frames: list[CrossingOut]
    events_considered: int
    events_rescored: int
