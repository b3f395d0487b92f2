"""Camera health: a covered or dark view (camera_obstructed) and a moved camera
(scene_shifted).

Both start once confirmed over ``*_seconds`` and end (ended_at) when the condition clears.
Motion while it happened (the covering hand, the knock) is not an interaction with the
shelf. A view that is dark (mean grey under `OBSTRUCTION_DARK_MEAN`: the lights are off, or
a hand is over the lens) is obstructed with ``details.cause`` ``dark``; a view that is lit
but without detail (a cloth, a lens cap, fog) with cause ``covered``. Either ends when the
view is clear again, e.g. when the light returns. Motion under way as the view went dark
(a hand covering the lens) is dropped; in a view that stays dark, interactions are still
judged (someone walking through a dim room moves), stock is not.

A shift is a translation of the static view against the reference that the frame, shifted
back, explains (``shift_explained``, `shelfcam.vision.health.explained_shift`): a light
switched on or off, items taken or a person in view can move the phase-correlation peak by
a pixel or two, but shifting back explains none of it.
"""

from __future__ import annotations

from typing import Literal

from shelfcam.engine import interactions
from shelfcam.engine.builder import Builder
from shelfcam.engine.decisions import EventEnd, NewEvent, confidence, details
from shelfcam.engine.state import OpenEvent
from shelfcam.vision.health import OBSTRUCTION_DARK_MEAN

View = Literal["clear", "dark", "covered"]


def obstruction(b: Builder) -> View:
    """Handle a covered or dark view. ``covered``: nothing else is judged on this frame;
    ``dark``: only interactions are (motion is still seen in a dark room, stock is not);
    ``clear``: everything is (also while a covered view is being confirmed)."""
    s, st, th, t = b.obs.scores, b.state, b.th, b.t
    covered = s.obstruction >= th.obstruction_threshold
    view: View = "dark" if s.brightness < OBSTRUCTION_DARK_MEAN else "covered"
    if st.obstruction is None:
        if not covered:
            if st.obstructed_since is not None:
                b.state = st.evolve(obstructed_since=None)
            return "clear"
        since = st.obstructed_since or t
        b.state = st = st.evolve(obstructed_since=since)
        if (t - since).total_seconds() < th.obstruction_seconds:
            return "clear"
        key = b.key("camera_obstructed")
        dark = s.brightness < OBSTRUCTION_DARK_MEAN
        # Went dark right after the light changed: the lights went off, nobody covered it.
        lights_off = (
            dark
            and st.lighting_since is not None
            and (since - st.lighting_since).total_seconds() < 5
        )
        first = "lighting_change_ignored" if lights_off else "view_dark" if dark else "view_covered"
        trace = (first, "obstruction_confirmed", "event_emitted")
        b.trace += trace
        b.events.append(
            NewEvent(
                key=key,
                event_type="camera_obstructed",
                started_at=since,
                ended_at=None,
                confidence=confidence(s.obstruction, th.obstruction_threshold / 2),
                details={
                    **details(
                        b.config,
                        b.obs.capture_id,
                        scores=b.scores(brightness=s.brightness),
                        trace=trace,
                    ),
                    "cause": "dark" if dark else "covered",
                },
            )
        )
        interactions.forget(b)  # the hand that covered the lens, the lights going off
        b.state = b.state.evolve(obstruction=OpenEvent(key, since), watch=None, clear_run=0)
        return view
    if covered:
        b.state = st.evolve(clear_run=0, clear_since=None)
        return view
    clear_run, clear_since = st.clear_run + 1, st.clear_since or t
    if clear_run < th.stable_frames:
        b.state = st.evolve(clear_run=clear_run, clear_since=clear_since)
        return view
    b.trace.append("obstruction_cleared")
    b.ended.append(EventEnd(st.obstruction.key, clear_since))
    # The uncovered view is compared with the baseline from before: a change made while
    # the camera was covered is still a stock change.
    b.state = st.evolve(
        obstruction=None,
        obstructed_since=None,
        clear_run=0,
        clear_since=None,
        reference_stale=True,
        watch=None,
    )
    return "clear"


def shift(b: Builder) -> None:
    s, st, th, t = b.obs.scores, b.state, b.th, b.t
    if st.stable_run == 0 or s.obstruction >= th.obstruction_threshold / 2:
        return  # judge the camera's position on still, visible frames only (not in the dark)
    if st.reference_stale and st.shift is None:
        return  # the reference is about to be re-taken (after darkness or a light change)
    sure = s.shift_confidence >= th.shift_min_confidence
    moved = (
        sure and s.shift_px >= th.shift_threshold_px and s.shift_explained >= th.shift_min_explained
    )
    if st.shift is not None:
        # Back in place only when the estimate is confident and small, on a settled view.
        if sure and s.shift_px < th.shift_threshold_px / 2 and b.stable():
            b.trace += ["shift_cleared", "baseline_retaken"]
            b.ended.append(EventEnd(st.shift.key, t))
            b.state = st.evolve(
                shift=None, shifted_since=None, baseline=None, patches=(), watch=None
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
        NewEvent(
            key=key,
            event_type="scene_shifted",
            started_at=since,
            ended_at=None,
            confidence=round(min(1.0, s.shift_confidence), 3),
            details=details(
                b.config,
                b.obs.capture_id,
                scores=b.scores(
                    shift_px=s.shift_px,
                    shift_dx=s.shift_dx,
                    shift_dy=s.shift_dy,
                    shift_confidence=s.shift_confidence,
                    shift_explained=s.shift_explained,
                ),
                trace=trace,
            ),
        )
    )
    # Motion while the camera moved was the knock, not someone at the shelf.
    interactions.forget(b)
    b.state = b.state.evolve(shift=OpenEvent(key, since), baseline=None, patches=(), watch=None)
