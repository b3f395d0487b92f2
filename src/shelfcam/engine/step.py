"""``step``: one frame's scores in, the device's next state and decisions out.

Pure: no clock (the frame's engine time comes in), no files, no database. Replaying the
same frames gives the same events, byte for byte.

Modes (``EngineState.mode``):

* ``rebasing``: no trusted baseline; waiting for a stable view to take one.
* ``idle``: a baseline (the last stable view) is kept fresh; motion in the interaction
  ROI starts an episode, and so does a persistent change with no visible motion.
* ``interaction``: motion continues; the peak-motion frame is the ``during`` candidate.
* ``settling``: motion stopped; waiting for a stable view (``post_stable_found``), then
  for the change against ``pre`` to persist for ``change_persist_seconds``.
* ``obstructed``: the view is covered; nothing else is judged until it clears.
* ``shifted``: the camera moved; a new baseline is taken at the new position.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from shelfcam.engine.config import EngineConfig, Thresholds
from shelfcam.engine.events import EventEnd, EventOut, confidence, details, images
from shelfcam.engine.state import EngineState, Episode, Mark, OpenEvent
from shelfcam.vision.roi import Region
from shelfcam.vision.scores import FrameScores


@dataclass(frozen=True)
class Observation:
    capture_id: str
    t: datetime
    scores: FrameScores


@dataclass(frozen=True)
class Step:
    state: EngineState
    events: tuple[EventOut, ...]
    ended: tuple[EventEnd, ...]
    burst: bool
    """True while an interaction is open: the camera should send frames faster."""
    take_reference: bool
    """True when this frame should become the scene-shift reference."""
    trace: tuple[str, ...]


class _Builder:
    """Collects one step's decisions while the mode handlers run."""

    def __init__(self, state: EngineState, obs: Observation, config: EngineConfig) -> None:
        self.state = state
        self.obs = obs
        self.config = config
        self.th: Thresholds = config.thresholds
        self.events: list[EventOut] = []
        self.ended: list[EventEnd] = []
        self.trace: list[str] = []
        self.take_reference = False

    @property
    def here(self) -> Mark:
        return Mark(self.obs.capture_id, self.obs.t)

    def key(self, event_type: str) -> str:
        return f"{self.obs.capture_id}:{event_type}"

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

    def result(self) -> Step:
        return Step(
            state=self.state,
            events=tuple(self.events),
            ended=tuple(self.ended),
            burst=self.state.burst,
            take_reference=self.take_reference,
            trace=tuple(self.trace),
        )


def step(state: EngineState, obs: Observation, config: EngineConfig) -> Step:
    """Advance one device's engine by one frame."""
    b = _Builder(state, obs, config)
    _track_stability(b)
    if _health_obstruction(b):
        return _finish(b)
    _health_shift(b)
    handler = {
        "rebasing": _rebasing,
        "shifted": _rebasing,
        "idle": _idle,
        "interaction": _interaction,
        "settling": _settling,
        "obstructed": _rebasing,
    }[b.state.mode]
    handler(b)
    return _finish(b)


def _finish(b: _Builder) -> Step:
    ep = b.state.episode
    burst = b.state.mode == "interaction" or (
        ep is not None
        and ep.last_motion_at is not None
        and (b.obs.t - ep.last_motion_at).total_seconds() < b.th.burst_hold_seconds
    )
    b.state = b.state.evolve(last_t=b.obs.t, prev_capture_id=b.obs.capture_id, burst=burst)
    return b.result()


def _track_stability(b: _Builder) -> None:
    s, st = b.obs.scores, b.state
    if s.frame_change < b.th.stable_frame_change:
        since = st.stable_since or b.here
        b.state = st.evolve(stable_run=st.stable_run + 1, stable_since=since)
    else:
        b.state = st.evolve(stable_run=0, stable_since=None)


def _stable(b: _Builder) -> bool:
    return b.state.stable_run >= b.th.stable_frames


# --- health -------------------------------------------------------------------------------


def _health_obstruction(b: _Builder) -> bool:
    """Handle a covered view; True when nothing else should be judged on this frame."""
    s, st, th, t = b.obs.scores, b.state, b.th, b.obs.t
    covered = s.obstruction >= th.obstruction_threshold
    if st.obstruction is None:
        if not covered:
            if st.obstructed_since is not None:
                b.state = st.evolve(obstructed_since=None)
            return False
        since = st.obstructed_since or t
        b.state = st = st.evolve(obstructed_since=since)
        if (t - since).total_seconds() < th.obstruction_seconds:
            return False
        key = b.key("camera_obstructed")
        b.trace += ["obstruction_confirmed", "event_emitted"]
        b.events.append(
            EventOut(
                key=key,
                event_type="camera_obstructed",
                started_at=since,
                ended_at=None,
                confidence=confidence(s.obstruction, th.obstruction_threshold / 2),
                details=details(
                    b.config,
                    scores=b.scores(),
                    trace=("obstruction_confirmed", "event_emitted"),
                ),
            )
        )
        # Whatever the covering hand looked like, it was not an interaction with the shelf.
        b.state = st.evolve(
            mode="obstructed", obstruction=OpenEvent(key, since), episode=None, clear_run=0
        )
        return True
    if covered:
        b.state = st.evolve(clear_run=0)
        return True
    clear_run = st.clear_run + 1
    if clear_run < th.stable_frames:
        b.state = st.evolve(clear_run=clear_run)
        return True
    b.trace.append("obstruction_cleared")
    b.ended.append(EventEnd(st.obstruction.key, t))
    # Compare the uncovered view with the baseline from before: a change made while the
    # camera was covered is still a stock change.
    episode = Episode(pre=st.baseline, started_at=t, trace=("obstruction_cleared",))
    b.state = st.evolve(
        obstruction=None,
        obstructed_since=None,
        clear_run=0,
        mode="settling" if st.baseline else "rebasing",
        episode=episode if st.baseline else None,
    )
    return True


def _health_shift(b: _Builder) -> None:
    s, st, th, t = b.obs.scores, b.state, b.th, b.obs.t
    if b.state.stable_run == 0:
        return  # judge the camera's position on still frames only
    moved = s.shift_confidence >= th.shift_min_confidence and s.shift_px >= th.shift_threshold_px
    if st.shift is not None:
        if not moved:
            b.trace += ["shift_cleared", "baseline_retaken"]
            b.ended.append(EventEnd(st.shift.key, t))
            b.state = st.evolve(
                shift=None, shifted_since=None, mode="rebasing", baseline=None, episode=None
            )
        return
    if not moved:
        if st.shifted_since is not None:
            b.state = st.evolve(shifted_since=None)
        return
    since = st.shifted_since or t
    b.state = st = st.evolve(shifted_since=since)
    if (t - since).total_seconds() < th.shift_seconds:
        return
    key = b.key("scene_shifted")
    trace = ("shift_confirmed", "event_emitted", "baseline_retaken")
    b.trace += trace
    b.events.append(
        EventOut(
            key=key,
            event_type="scene_shifted",
            started_at=since,
            ended_at=None,
            confidence=round(min(1.0, s.shift_confidence), 3),
            details=details(
                b.config,
                scores=b.scores(
                    shift_px=s.shift_px,
                    shift_dx=s.shift_dx,
                    shift_dy=s.shift_dy,
                    shift_confidence=s.shift_confidence,
                ),
                trace=trace,
            ),
        )
    )
    # Motion while the camera moved was the knock, not someone at the shelf.
    b.state = st.evolve(shift=OpenEvent(key, since), mode="shifted", baseline=None, episode=None)


# --- activity -----------------------------------------------------------------------------


def _lighting(b: _Builder) -> bool:
    s = b.obs.scores
    return s.lighting_change or s.lighting_score >= b.th.lighting_threshold


def _judgeable(b: _Builder) -> bool:
    """Bright and detailed enough to compare stock (not a dark or covered view)."""
    s, th = b.obs.scores, b.th
    if s.obstruction >= th.obstruction_threshold / 2:
        return False
    return s.inventory_judged is None or s.inventory_judged >= th.min_judged


def _take_baseline(b: _Builder, mark: Mark | None = None) -> None:
    b.state = b.state.evolve(
        baseline=mark or b.here,
        baseline_stable_frames=b.state.stable_run,
        mode="idle",
        episode=None,
        change_seen_at=None,
        lighting_since=None,
    )
    st, th, t = b.state, b.th, b.obs.t
    calm = st.shift is None and b.obs.scores.shift_px < th.shift_threshold_px / 2
    due = st.reference_at is None or (
        (t - st.reference_at).total_seconds() >= th.reference_refresh_seconds
    )
    if calm and due and mark is None:
        b.take_reference = True
        b.state = st.evolve(reference_at=t)


def _start_interaction(b: _Builder, episode: Episode | None) -> None:
    s, t = b.obs.scores, b.obs.t
    here = Mark(b.obs.capture_id, t, s.motion)
    if episode is None:
        episode = Episode(
            pre=b.state.baseline, started_at=t, lighting=b.state.lighting_since is not None
        )
    fresh = episode.interaction_started_at is None or episode.interaction_emitted
    episode = replace(
        episode,
        last_motion_at=t,
        during=here if fresh or episode.during is None else episode.during,
        interactions=episode.interactions + (1 if fresh else 0),
        interaction_open=True,
        interaction_started_at=t if fresh else episode.interaction_started_at,
        interaction_peak=s.motion if fresh else max(s.motion, episode.interaction_peak),
        interaction_emitted=False if fresh else episode.interaction_emitted,
        motion_frames=1 if fresh else episode.motion_frames + 1,
        trace=(*episode.trace, "interaction_start", "burst_requested"),
    )
    b.trace += ["interaction_start", "burst_requested"]
    b.state = b.state.evolve(mode="interaction", episode=episode)


def _rebasing(b: _Builder) -> None:
    if b.obs.scores.motion >= b.th.interaction_threshold and not _lighting(b):
        _start_interaction(b, None)
    elif _stable(b) and _judgeable(b):
        b.trace.append("baseline_retaken")
        _take_baseline(b)


def _idle(b: _Builder) -> None:
    s, th, t = b.obs.scores, b.th, b.obs.t
    if _lighting(b):
        # Never a stock change: keep the baseline (the delta is lighting-robust) but do not
        # refresh it from this frame, and treat the next change without a hand as lighting.
        b.trace.append("lighting_change_ignored")
        b.state = b.state.evolve(lighting_since=b.state.lighting_since or t)
        return
    if s.motion >= th.interaction_threshold:
        _start_interaction(b, None)
        return
    delta = s.inventory_delta
    changed = delta is not None and delta >= th.inventory_change_threshold and _judgeable(b)
    if changed and b.state.change_seen_at is None:
        b.state = b.state.evolve(change_seen_at=t)
    st = b.state
    if not _stable(b) or st.baseline is None or not _judgeable(b):
        return
    if changed:
        if st.lighting_since is not None:
            b.trace += ["lighting_change_ignored", "baseline_retaken"]
            _take_baseline(b)
            return
        # Changed with no visible hand (faster than the frame rate, or a dropped frame).
        b.trace.append("change_without_interaction")
        b.state = st.evolve(
            mode="settling",
            episode=Episode(
                pre=st.baseline,
                started_at=st.change_seen_at or t,
                trace=("change_without_interaction",),
            ),
        )
        _settling(b)
        return
    _take_baseline(b)
    _judge_empty(b)


def _interaction(b: _Builder) -> None:
    s, th, t = b.obs.scores, b.th, b.obs.t
    ep = b.state.episode
    assert ep is not None
    if s.motion >= th.interaction_end_threshold:
        during = ep.during
        if during is None or s.motion > during.value:
            during = Mark(b.obs.capture_id, t, s.motion)
        b.state = b.state.evolve(
            episode=replace(
                ep,
                last_motion_at=t,
                during=during,
                motion_frames=ep.motion_frames + 1,
                interaction_peak=max(ep.interaction_peak, s.motion),
            )
        )
        return
    last = ep.last_motion_at or ep.started_at
    if (t - last).total_seconds() >= th.interaction_gap_seconds:
        b.trace.append("interaction_end")
        b.state = b.state.evolve(
            mode="settling",
            episode=replace(ep, interaction_open=False, trace=(*ep.trace, "interaction_end")),
        )
        _settling(b)


def _touches_elsewhere(current: tuple[Region, ...], held: tuple[dict[str, float], ...]) -> bool:
    """True if some changed region does not overlap any region of the held change."""
    for region in current:
        if region.w * region.h < 0.001:
            continue
        overlaps = any(
            region.x < h["x"] + h["w"]
            and h["x"] < region.x + region.w
            and region.y < h["y"] + h["h"]
            and h["y"] < region.y + region.h
            for h in held
        )
        if not overlaps:
            return True
    return False


def _settling(b: _Builder) -> None:
    s, th, t = b.obs.scores, b.th, b.obs.t
    ep = b.state.episode
    assert ep is not None
    held = ep.confirm_from is not None and (
        (t - ep.confirm_from).total_seconds() >= th.change_hold_seconds
    )
    if s.motion >= th.interaction_threshold and not _lighting(b):
        if held and ep.post is not None and _touches_elsewhere(s.regions, ep.post_regions):
            # Someone reaches for something else: the change they left has held; it counts.
            b.trace.append("change_confirmed_by_next_interaction")
            _emit_stock_change(
                b, ep, ep.post_delta or 0.0, extra=("change_confirmed_by_next_interaction",)
            )
            _take_baseline(b, ep.post)
            _start_interaction(b, None)
            return
        _start_interaction(b, replace(ep, post=None, post_delta=None, confirm_from=None))
        return
    if not _stable(b):
        if ep.post is not None and s.motion >= th.interaction_end_threshold:
            # Something moved on the settled view (a still hand leaving?): judge afresh.
            b.trace.append("change_disturbed")
            b.state = b.state.evolve(episode=replace(ep, post=None, confirm_from=None))
        elif (t - ep.started_at).total_seconds() > th.settle_timeout_seconds:
            b.trace.append("settle_timeout")
            _emit_interaction(b, post=None)
            b.state = b.state.evolve(mode="rebasing", baseline=None, episode=None)
        return
    if b.state.shifted_since is not None or not _judgeable(b):
        return  # wait: a possible camera shift, or a view too dark to judge
    if ep.post is None:
        ep = replace(
            ep,
            post=b.here,
            post_delta=s.inventory_delta,
            post_regions=tuple(r.to_dict() for r in s.regions),
            trace=(*ep.trace, "post_stable_found"),
        )
        b.trace.append("post_stable_found")
        b.state = b.state.evolve(episode=ep)
        _emit_interaction(b, post=ep.post)
        ep = b.state.episode
        assert ep is not None
    delta = s.inventory_delta
    if ep.pre is None or delta is None:
        b.trace.append("no_baseline_to_compare")
        _take_baseline(b)
        return
    if delta < th.inventory_change_threshold:
        b.trace.append("delta_below_threshold")
        _take_baseline(b)
        _judge_empty(b)
        return
    if ep.confirm_from is None:
        b.trace.append("delta_exceeded_threshold")
        ep = replace(ep, confirm_from=t, trace=(*ep.trace, "delta_exceeded_threshold"))
        b.state = b.state.evolve(episode=ep)
    assert ep.confirm_from is not None
    if (t - ep.confirm_from).total_seconds() < th.change_persist_seconds:
        return
    _emit_stock_change(b, ep, delta, extra=("change_persisted",))
    _take_baseline(b)
    _judge_empty(b, ended_at=ep.last_motion_at or ep.started_at)


def _emit_interaction(b: _Builder, post: Mark | None) -> None:
    ep = b.state.episode
    if ep is None or ep.interaction_started_at is None or ep.interaction_emitted:
        return
    if ep.motion_frames < b.th.min_motion_frames:
        # One changed frame is a fast change (or a dropped frame), not a visible hand.
        b.trace.append("motion_blip_not_interaction")
        b.state = b.state.evolve(episode=replace(ep, interaction_emitted=True))
        return
    trace = (*ep.trace, "event_emitted")
    b.events.append(
        EventOut(
            key=b.key("interaction_detected"),
            event_type="interaction_detected",
            started_at=ep.interaction_started_at,
            ended_at=max(ep.last_motion_at or ep.interaction_started_at, ep.interaction_started_at),
            confidence=confidence(ep.interaction_peak, b.th.interaction_threshold),
            details=details(
                b.config,
                scores=b.scores(motion_peak=ep.interaction_peak),
                pre=ep.pre,
                post=post,
                during=ep.during,
                baseline_age_s=_age(ep),
                stability_frames=b.state.baseline_stable_frames,
                trace=trace,
            ),
            images=images(ep.pre, post, ep.during),
        )
    )
    b.trace.append("event_emitted")
    b.state = b.state.evolve(episode=replace(ep, interaction_emitted=True))


def _emit_stock_change(b: _Builder, ep: Episode, delta: float, extra: tuple[str, ...]) -> None:
    trace = (*ep.trace, *extra, "event_emitted")
    started = ep.interaction_started_at or ep.started_at
    ended = ep.last_motion_at or started
    b.trace += [*extra, "event_emitted"]
    b.events.append(
        EventOut(
            key=b.key("stock_changed"),
            event_type="stock_changed",
            started_at=started,
            ended_at=max(ended, started),
            confidence=confidence(ep.post_delta or delta, b.th.inventory_change_threshold),
            details=details(
                b.config,
                scores=b.scores(
                    motion_peak=ep.interaction_peak or None,
                    inventory_delta=ep.post_delta,
                    inventory_delta_confirmed=delta,
                    lighting_score=b.obs.scores.lighting_score,
                ),
                pre=ep.pre,
                post=ep.post,
                during=ep.during,
                baseline_age_s=_age(ep),
                stability_frames=b.state.baseline_stable_frames,
                trace=trace,
                regions=ep.post_regions,
            ),
            images=images(ep.pre, ep.post, ep.during),
        )
    )


def _judge_empty(b: _Builder, ended_at: datetime | None = None) -> None:
    """Empty shelf: confirmed over several stable frames, once per transition."""
    s, st, th, t = b.obs.scores, b.state, b.th, b.obs.t
    sim = s.empty_similarity
    if sim is None or not _judgeable(b):
        return
    if st.empty is None:
        if sim < th.empty_threshold:
            b.state = st.evolve(empty_run=0, empty_since=None)
            return
        run, since = st.empty_run + 1, st.empty_since or t
        if run < th.empty_frames:
            b.state = st.evolve(empty_run=run, empty_since=since)
            return
        key = b.key("empty_confirmed")
        trace = ("empty_confirmed", "event_emitted")
        b.trace += trace
        b.events.append(
            EventOut(
                key=key,
                event_type="empty_confirmed",
                started_at=since,
                ended_at=None,
                confidence=round(sim, 3),
                details=details(
                    b.config,
                    scores=b.scores(empty_similarity=sim),
                    trace=trace,
                    stability_frames=run,
                ),
            )
        )
        b.state = st.evolve(empty=OpenEvent(key, since), empty_run=0, empty_since=None)
        return
    if sim >= th.empty_exit_threshold:
        b.state = st.evolve(empty_run=0, empty_since=None)
        return
    run, since = st.empty_run + 1, st.empty_since or t
    if ended_at is None and run < th.empty_frames:
        b.state = st.evolve(empty_run=run, empty_since=since)
        return
    b.trace.append("empty_cleared")
    b.ended.append(EventEnd(st.empty.key, max(ended_at or since, st.empty.since)))
    b.state = st.evolve(empty=None, empty_run=0, empty_since=None)


def _age(ep: Episode) -> float | None:
    if ep.pre is None:
        return None
    return (ep.started_at - ep.pre.t).total_seconds()
