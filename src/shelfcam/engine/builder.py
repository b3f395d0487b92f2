"""One step's working context: the state being evolved and the decisions collected."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shelfcam.engine.config import EngineConfig, Thresholds
from shelfcam.engine.decisions import EventEnd, NewEvent
from shelfcam.engine.state import Box, EngineState, Mark
from shelfcam.vision.scores import FrameScores

LIGHT_JUMP = 1.3
"""The view's mean brightness changing by this factor between two frames ..."""
LIGHT_JUMP_SHARE = 0.5
"""... with at least this share of the view moving brightness is the light (or the
exposure), not a hand."""


@dataclass(frozen=True)
class Observation:
    capture_id: str
    t: datetime
    scores: FrameScores


@dataclass(frozen=True)
class Step:
    state: EngineState
    events: tuple[NewEvent, ...]
    ended: tuple[EventEnd, ...]
    burst: bool
    """True while an interaction is open: the camera should send frames faster."""
    take_reference: bool
    """True when this frame should become the scene-shift reference."""
    trace: tuple[str, ...]


@dataclass
class Builder:
    """Collects one step's decisions while the handlers run."""

    state: EngineState
    obs: Observation
    config: EngineConfig
    events: list[NewEvent] = field(default_factory=list)
    ended: list[EventEnd] = field(default_factory=list)
    trace: list[str] = field(default_factory=list)
    take_reference: bool = False

    @property
    def th(self) -> Thresholds:
        return self.config.thresholds

    @property
    def t(self) -> datetime:
        return self.obs.t

    @property
    def here(self) -> Mark:
        return Mark(self.obs.capture_id, self.obs.t)

    def key(self, event_type: str, suffix: str = "") -> str:
        return f"{self.obs.capture_id}:{event_type}{suffix}"

    def scores(self, **extra: float | None) -> dict[str, float | None]:
        s = self.obs.scores
        found: dict[str, float | None] = {
            "motion": round(s.motion, 4),
            "frame_change": round(s.frame_change, 4),
            "lighting_score": round(s.lighting_score, 4),
            "obstruction": round(s.obstruction, 4),
        }
        found.update({k: None if v is None else round(v, 4) for k, v in extra.items()})
        return found

    # --- judgements shared by the handlers ---------------------------------------------------

    def stable(self) -> bool:
        """The whole view has been still for ``stable_frames`` frames."""
        return self.state.stable_run >= self.th.stable_frames

    def calm(self) -> bool:
        """The inventory ROI has been still for ``stable_frames`` frames."""
        return self.state.calm_run >= self.th.stable_frames

    def quiet(self) -> bool:
        """Little of the inventory ROI has moved for ``stable_frames`` frames."""
        return self.state.quiet_run >= self.th.stable_frames

    def light_jump(self) -> bool:
        """The whole view's brightness jumped since the previous frame: a light switched
        right now (also from dark, where no structure was visible to compare)."""
        s = self.obs.scores
        far = s.brightness_gain > LIGHT_JUMP or s.brightness_gain * LIGHT_JUMP < 1.0
        return far and s.brightness_moved >= LIGHT_JUMP_SHARE

    def lighting(self) -> bool:
        """The light changed: brightness moved over much of the view while structure did
        not (against the previous frame or the baseline), or it jumped."""
        s = self.obs.scores
        return s.lighting_score >= self.th.lighting_threshold or self.light_jump()

    def switching_light(self) -> bool:
        """A lighting change is under way: the frame it was first seen, and the exposure
        settling for ``lighting_settle_seconds`` after it. Motion then is the light."""
        if self.light_jump():
            return True
        if not self.lighting():
            return False
        since = self.state.lighting_since
        return since is None or (self.t - since).total_seconds() < self.th.lighting_settle_seconds

    def judgeable(self) -> bool:
        """Bright and detailed enough to compare stock (not a dark or covered view)."""
        s, th = self.obs.scores, self.th
        if s.obstruction >= th.obstruction_threshold / 2:
            return False
        return s.inventory_judged is None or s.inventory_judged >= th.min_judged

    def take_baseline(self, mark: Mark | None = None, holes: tuple[Box, ...] = ()) -> None:
        """This frame (or ``mark``) becomes the whole baseline; no change is watched.
        ``holes``: places that moved on it (see `EngineState.holes`)."""
        self.state = self.state.evolve(
            baseline=mark or self.here,
            baseline_stable_frames=self.state.calm_run,
            patches=(),
            holes=holes,
            watch=None,
            lighting_since=None,
        )
        st, th, t = self.state, self.th, self.t
        calm = st.shift is None and self.obs.scores.shift_px < th.shift_threshold_px / 2
        due = st.reference_at is None or (
            (t - st.reference_at).total_seconds() >= th.reference_refresh_seconds
        )
        # After the view was covered or dark, the first calm view is the new reference
        # (light falls differently; a camera moved while covered is not detected).
        if (
            mark is None
            and st.shift is None
            and self.stable()
            and (st.reference_stale or (calm and due))
        ):
            self.take_reference = True
            self.state = st.evolve(reference_at=t, reference_stale=False)

    def result(self) -> Step:
        return Step(
            state=self.state,
            events=tuple(self.events),
            ended=tuple(self.ended),
            burst=self.state.burst,
            take_reference=self.take_reference,
            trace=tuple(self.trace),
        )
