"""Building the activity events: interaction_detected, stock_changed, empty_confirmed."""

from __future__ import annotations

from datetime import datetime

from shelfcam.engine.builder import Builder
from shelfcam.engine.decisions import EventEnd, NewEvent, confidence, details, images
from shelfcam.engine.state import Box, Interaction, Mark, OpenEvent

TOO_DARK = "the view was too dark (or too bright) to judge stock"


def _age(pre: Mark | None, started: datetime) -> float | None:
    return None if pre is None else (started - pre.t).total_seconds()


def interaction(
    b: Builder, it: Interaction, trace: tuple[str, ...], still_going: bool = False
) -> bool:
    """Emit interaction_detected for ``it``, unless its motion was a single changed frame.
    The post frame is this one, the first after it ended (or, ``still_going``, the latest:
    the event is open until it ends)."""
    if it.motion_frames < b.th.min_motion_frames:
        # One changed frame is a fast change (or a dropped frame), not a visible hand.
        b.trace.append("motion_blip_not_interaction")
        return False
    notes = ("stock_not_judged_too_dark",) if it.dark else ()
    full = (*trace, *notes, "event_emitted")
    b.trace += [*notes, "event_emitted"]
    found = details(
        b.config,
        b.obs.capture_id,
        scores=b.scores(motion_peak=it.during.value),
        pre=it.pre,
        post=b.here,
        during=it.during,
        baseline_age_s=_age(it.pre, it.started_at),
        stability_frames=b.state.baseline_stable_frames,
        trace=full,
    )
    if it.dark:
        found["note"] = f"stock not judged: {TOO_DARK}"
    b.events.append(
        NewEvent(
            key=b.key("interaction_detected", ":going" if still_going else ""),
            event_type="interaction_detected",
            started_at=it.started_at,
            ended_at=None if still_going else max(it.last_motion_at, it.started_at),
            confidence=confidence(it.during.value, b.th.interaction_threshold),
            details=found,
            images=images(it.pre, b.here, it.during),
        )
    )
    return True


def stock(
    b: Builder,
    *,
    seen_at: datetime,
    settled_at: datetime,
    delta: float,
    regions: tuple[Box, ...],
    pre: Mark | None,
    post: Mark | None,
    by: Interaction | None,
    trace: tuple[str, ...],
) -> None:
    """Emit stock_changed for places first seen at ``seen_at`` and unchanged since
    ``settled_at``: ``pre`` (the baseline there) against ``post`` (the settled view), with
    the interaction that made the change, if one was seen."""
    started = by.started_at if by is not None else seen_at
    ended = by.last_motion_at if by is not None else settled_at
    full = (*trace, "event_emitted")
    b.trace.append("event_emitted")
    found = details(
        b.config,
        b.obs.capture_id,
        scores=b.scores(
            motion_peak=by.during.value if by is not None else None,
            inventory_delta=delta,
            inventory_delta_confirmed=b.obs.scores.inventory_delta,
            persisted_seconds=(b.t - settled_at).total_seconds(),
        ),
        pre=pre,
        post=post,
        during=by.during if by is not None else None,
        baseline_age_s=_age(pre, started),
        stability_frames=b.state.baseline_stable_frames,
        trace=full,
        regions=regions,
    )
    if by is None:
        found["note"] = "no interaction was seen: the change came between two frames"
    b.events.append(
        NewEvent(
            key=b.key("stock_changed"),
            event_type="stock_changed",
            started_at=started,
            ended_at=max(ended, started),
            confidence=confidence(delta, b.th.inventory_change_threshold),
            details=found,
            images=images(pre, post, by.during if by is not None else None),
        )
    )


def judge_empty(b: Builder, ended_at: datetime | None = None) -> None:
    """Empty shelf: confirmed over several stable frames, once per transition."""
    s, st, th, t = b.obs.scores, b.state, b.th, b.t
    sim = s.empty_similarity
    if sim is None or not b.judgeable():
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
            NewEvent(
                key=key,
                event_type="empty_confirmed",
                started_at=since,
                ended_at=None,
                confidence=round(sim, 3),
                details=details(
                    b.config,
                    b.obs.capture_id,
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
