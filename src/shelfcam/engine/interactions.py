"""Interactions: motion in the interaction ROI, from the first moving frame to the last.

An interaction starts when motion reaches ``interaction_threshold`` (not while a light is
being switched: that motion is the light), continues while it stays above
``interaction_end_threshold`` or something changed in the inventory ROI still stirs (a hand
placing an item moves too little to change brightness, but its outline changes), and ends
after ``interaction_gap_seconds`` without either, unless a change still reaches the edge of
the inventory ROI (an arm resting in view; for at most ``edge_persist_seconds``).
It is recorded (``interaction_detected``) when it ends (or, open, once it has gone on for
``interaction_max_seconds``: someone standing at the shelf), whatever the stock judgement:
in a view too dark to judge stock it is still recorded, and says so. It waits while the
camera's health is in doubt (a view going dark or a shift being confirmed): the motion of
a hand covering the lens or of a knock is not someone at the shelf, and is dropped when
`shelfcam.engine.health` confirms either.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shelfcam.engine import emit, stock
from shelfcam.engine.builder import Builder
from shelfcam.engine.config import Thresholds
from shelfcam.engine.decisions import EventEnd
from shelfcam.engine.state import Interaction, Mark


def track(b: Builder) -> None:
    """Open, extend or close this device's interaction on this frame."""
    s, th, t = b.obs.scores, b.th, b.t
    it = b.state.interaction
    needed = th.interaction_threshold if it is None else th.interaction_end_threshold
    moving = s.motion >= needed and not b.switching_light()
    if it is None and moving:
        b.trace += ["interaction_start", "burst_requested"]
        it = Interaction(
            started_at=t,
            last_motion_at=t,
            during=Mark(b.obs.capture_id, t, s.motion),
            motion_frames=1,
            pre=b.state.baseline,
        )
    elif it is not None and moving:
        during = it.during if it.during.value >= s.motion else Mark(b.obs.capture_id, t, s.motion)
        it = replace(it, last_motion_at=t, during=during, motion_frames=it.motion_frames + 1)
    elif it is not None and _stirring(b):
        it = replace(it, last_motion_at=t)  # a hand holding still, placing an item
    elif (
        it is not None
        and (t - it.last_motion_at).total_seconds() >= _gap(it, th)
        and not _reaching(b, it)
    ):
        b.trace.append("interaction_end")
        b.state = b.state.evolve(interaction=None, ended=it)
        it = None
    if it is not None and not b.judgeable():
        it = replace(it, dark=True)
    b.state = b.state.evolve(interaction=it)
    _record_long(b)
    _record_ended(b)
    _forget_recent(b)


def _stirring(b: Builder) -> bool:
    """A change against the baseline changed structure since the previous frame."""
    return any(
        len(c.moved) > 1 and c.moved[1] > stock.STILL_MAX_MOVED for c in b.obs.scores.changes
    )


def _reaching(b: Builder, it: Interaction) -> bool:
    """A change reaches the edge of the inventory ROI, where an arm comes in, not longer
    than ``edge_persist_seconds`` after the last motion (then it is what stays)."""
    if (b.t - it.last_motion_at).total_seconds() >= b.th.edge_persist_seconds:
        return False
    return any(c.edge for c in b.obs.scores.changes)


def _gap(it: Interaction, th: Thresholds) -> float:
    """How long without motion ends ``it``: ``interaction_gap_seconds``, or, after a single
    moving frame, up to ``change_persist_seconds`` for the frame on which it leaves again
    (at 1-2 frames/s a hand can come in between two frames, rest, and leave between two)."""
    if it.motion_frames >= th.min_motion_frames:
        return th.interaction_gap_seconds
    return max(th.interaction_gap_seconds, th.change_persist_seconds)


def _link_slack(th: Thresholds) -> float:
    """How soon after an interaction's last motion the change it made is first seen."""
    return th.interaction_gap_seconds + 1.0


def _forget_recent(b: Builder) -> None:
    """Drop the last recorded interaction once no change can belong to it any more (its
    frames then leave staging)."""
    st, slack = b.state, _link_slack(b.th)
    recent = st.recent
    if recent is None or (b.t - recent.last_motion_at).total_seconds() <= slack:
        return
    w = st.watch
    if w is None or (w.seen_at - recent.last_motion_at).total_seconds() > slack:
        b.state = st.evolve(recent=None)


def _health_clear(b: Builder) -> bool:
    """No covered view or moved camera is being confirmed."""
    st = b.state
    pending_cover = st.obstructed_since is not None and st.obstruction is None
    pending_shift = st.shifted_since is not None and st.shift is None
    return not pending_cover and not pending_shift


def _record_long(b: Builder) -> None:
    """Record an interaction that has gone on for ``interaction_max_seconds``, open."""
    it, th = b.state.interaction, b.th
    if it is None or it.key is not None or it.motion_frames < th.min_motion_frames:
        return
    if (b.t - it.started_at).total_seconds() < th.interaction_max_seconds or not _health_clear(b):
        return
    emit.interaction(b, it, ("interaction_start", "interaction_still_going"), still_going=True)
    b.state = b.state.evolve(interaction=replace(it, key=b.key("interaction_detected", ":going")))


def _record_ended(b: Builder) -> None:
    """Record the interaction that ended once the camera's health is clear (or close it,
    when it was recorded while going on)."""
    st = b.state
    it = st.ended
    if it is None or not _health_clear(b):
        return
    if it.key is not None:
        b.ended.append(EventEnd(it.key, it.last_motion_at))
        b.state = b.state.evolve(ended=None, recent=replace(it, pre=None))
    elif emit.interaction(b, it, ("interaction_start", "interaction_end")):
        b.state = b.state.evolve(ended=None, recent=replace(it, pre=None))
    else:
        b.state = b.state.evolve(ended=None)


def forget(b: Builder) -> None:
    """Drop the interaction under way or waiting (a hand covering the lens, a knock)."""
    b.state = b.state.evolve(interaction=None, ended=None)


def by(b: Builder, seen_at: datetime, settled_at: datetime) -> Interaction | None:
    """The interaction that made a change first seen at ``seen_at`` and unchanged since
    ``settled_at``: one under way, waiting or recently recorded that began before the
    change settled and still moved shortly before it was first seen."""
    st, slack = b.state, _link_slack(b.th)
    for it in (st.interaction, st.ended, st.recent):
        if it is None or it.started_at > settled_at:
            continue
        if (seen_at - it.last_motion_at).total_seconds() <= slack:
            return it
    return None
