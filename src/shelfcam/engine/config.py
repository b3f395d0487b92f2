"""The rule engine's thresholds: what a user tunes, with the defaults and their bounds.

Every event's ``details.thresholds`` records the exact values it was decided with.
A device stores only the values it overrides (``device_configs.thresholds``); the rest
come from the defaults here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from shelfcam.errors import InvalidInput


@dataclass(frozen=True)
class Thresholds:
    """The one definition of every threshold and its default (docs/tuning.md lists them,
    checked by tests/unit/test_docs.py; the scores' scales are in docs/vision.md)."""

    interaction_threshold: float = 0.01
    """Motion in the interaction ROI that starts an interaction (share of ROI pixels)."""
    interaction_end_threshold: float = 0.005
    """Motion below this counts as no motion (hysteresis with the start threshold)."""
    interaction_gap_seconds: float = 1.0
    """An interaction ends after this long without motion."""
    interaction_max_seconds: float = 10.0
    """An interaction still going after this long (someone standing at the shelf, a busy
    view) is recorded then, open, and closed when it ends."""
    stable_frame_change: float = 0.005
    """A frame is stable when less than this share of the whole view changed."""
    stable_frames: int = 2
    """Consecutive stable frames needed for a stable view (post_stable_found, baseline)."""
    inventory_change_threshold: float = 0.15
    """Inventory delta (pre vs post) above which stock changed."""
    change_persist_seconds: float = 3.0
    """A change must stay unchanged in its own place this long to count (a still hand
    does not), whatever moves elsewhere in the view."""
    edge_persist_seconds: float = 6.0
    """A change reaching the edge of the inventory ROI, where an arm comes in, must stay
    this long instead (a hand resting in view is not stock)."""
    change_hold_seconds: float = 1.5
    """How long a change must have held before the next interaction can confirm it."""
    min_motion_frames: int = 2
    """Frames with motion an interaction needs; a single changed frame is a fast change."""
    min_judged: float = 0.5
    """Share of the inventory ROI that must be judgeable (not too dark or bright) for a
    frame to become the baseline or to judge stock and emptiness."""
    lighting_threshold: float = 0.35
    """Lighting score above which a change is a light switch, never stock."""
    lighting_settle_seconds: float = 1.0
    """After a light switch, motion is taken for the light (exposure settling) this long."""
    obstruction_threshold: float = 0.7
    """Obstruction score above which the view counts as covered."""
    obstruction_seconds: float = 2.0
    """How long the view must stay covered before camera_obstructed."""
    shift_threshold_px: float = 1.2
    """Translation against the reference (analysis pixels) that counts as moved."""
    shift_min_confidence: float = 0.5
    """Phase-correlation confidence below which a shift estimate is ignored."""
    shift_min_explained: float = 0.5
    """Share of the view's difference to the reference that the shift must explain (the
    frame shifted back matches the reference): a light switch or a changed shelf moves the
    estimate too, but explains nothing."""
    shift_seconds: float = 2.0
    """How long a shift must persist before scene_shifted."""
    empty_threshold: float = 0.8
    """Similarity to the empty reference above which the shelf looks empty."""
    empty_exit_threshold: float = 0.6
    """Similarity below which an empty shelf counts as stocked again (hysteresis)."""
    empty_frames: int = 3
    """Consecutive stable frames needed to confirm (or clear) an empty shelf."""
    settle_timeout_seconds: float = 60.0
    """Give up waiting for a stable view after this long (re-take the baseline)."""
    reference_refresh_seconds: float = 3600.0
    """Re-take the scene-shift reference from a calm view at most this often."""
    burst_hold_seconds: float = 3.0
    """Keep the camera in burst mode this long after the last motion."""

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any] | None) -> Thresholds:
        """Defaults with a device's overrides applied; unknown or bad values refused."""
        if not overrides:
            return cls()
        defaults = cls()
        values: dict[str, Any] = {}
        for name, value in overrides.items():
            if name not in cls.names():
                raise InvalidInput(f"unknown threshold {name!r}; known: {', '.join(cls.names())}")
            kind = type(getattr(defaults, name))
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise InvalidInput(f"threshold {name} must be a number, got {value!r}")
            if value < 0 or (kind is int and int(value) != value):
                raise InvalidInput(f"threshold {name} must be a non-negative {kind.__name__}")
            values[name] = kind(value)
        result = cls(**values)
        if result.interaction_end_threshold > result.interaction_threshold:
            raise InvalidInput("interaction_end_threshold must not exceed interaction_threshold")
        if result.empty_exit_threshold > result.empty_threshold:
            raise InvalidInput("empty_exit_threshold must not exceed empty_threshold")
        return result


@dataclass(frozen=True)
class EngineConfig:
    """One device's configuration as the engine sees it."""

    roi_version: int
    thresholds: Thresholds = Thresholds()
