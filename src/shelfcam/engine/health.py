"""Camera health: a covered lens (camera_obstructed) and a moved camera (scene_shifted).

Both start once confirmed over ``*_seconds`` and end (ended_at) when the condition clears;
the baseline is re-taken afterwards. Motion while it happened (the covering hand, the knock)
is not an interaction with the shelf.
"""

from __future__ import annotations

from shelfcam.engine.builder import Builder
from shelfcam.engine.events import EventEnd, EventOut, confidence, details
from shelfcam.engine.state import Episode, OpenEvent


def obstruction(b: Builder) -> bool:
    """Handle a covered view; True when nothing else should be judged on this frame."""
    s, st, th, t = b.obs.scores, b.state, b.th, b.t
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
        # Went dark right after the light changed: the lights went off, nobody covered it.
        dark = st.lighting_since is not None and (since - st.lighting_since).total_seconds() < 5
        trace = (
            "lighting_change_ignored" if dark else "view_covered",
            "obstruction_confirmed",
            "event_emitted",
        )
        b.trace += trace
        b.events.append(
            EventOut(
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
        b.state = st.evolve(
            mode="obstructed", obstruction=OpenEvent(key, since), episode=None, clear_run=0
        )
        return True
    if covered:
        b.state = st.evolve(clear_run=0, clear_since=None)
        return True
    clear_run, clear_since = st.clear_run + 1, st.clear_since or t
    if clear_run < th.stable_frames:
        b.state = st.evolve(clear_run=clear_run, clear_since=clear_since)
        return True
    b.trace.append("obstruction_cleared")
    b.ended.append(EventEnd(st.obstruction.key, clear_since))
    # Compare the uncovered view with the baseline from before: a change made while the
    # camera was covered is still a stock change.
    episode = Episode(pre=st.baseline, started_at=t, trace=("obstruction_cleared",))
    b.state = st.evolve(
        obstruction=None,
        obstructed_since=None,
        clear_run=0,
        clear_since=None,
        reference_stale=True,
        mode="settling" if st.baseline else "rebasing",
        episode=episode if st.baseline else None,
    )
    return True


def shift(b: Builder) -> None:
    s, st, th, t = b.obs.scores, b.state, b.th, b.t
    if st.stable_run == 0 or s.obstruction >= th.obstruction_threshold / 2:
        return  # judge the camera's position on still, visible frames only (not in the dark)
    if st.reference_stale and st.shift is None:
        return  # the reference is about to be re-taken (after darkness or a light change)
    sure = s.shift_confidence >= th.shift_min_confidence
    moved = sure and s.shift_px >= th.shift_threshold_px
    if st.shift is not None:
        # Back in place only when the estimate is confident and small, on a settled view.
        if sure and s.shift_px < th.shift_threshold_px / 2 and b.stable():
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
                b.obs.capture_id,
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
