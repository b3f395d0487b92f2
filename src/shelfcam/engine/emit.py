"""Building the activity events: interaction_detected, stock_changed, empty_confirmed."""

from __future__ import annotations

from datetime import datetime

from shelfcam.engine.builder import Builder
from shelfcam.engine.decisions import EventEnd, NewEvent, confidence, details, images
from shelfcam.engine.state import Box, Interaction, Mark, OpenEvent
from shelfcam.vocabulary import EventType

TOO_DARK = "the view was too dark (or too bright) to judge stock"
UNSEEN = "no interaction was seen: the change came between two frames"


def _age(pre: Mark | None, started: datetime) -> float | None:
    return None if pre is None else (started - pre.t).total_seconds()


def _record(
    b: Builder,
    event_type: EventType,
    *,
    key: str,
    started: datetime,
    ended: datetime | None,
    score: float,
    threshold: float,
    scores: dict[str, float | None],
    pre: Mark | None,
    post: Mark | None,
    during: Mark | None,
    trace: tuple[str, ...],
    note: str | None = None,
    regions: tuple[Box, ...] = (),
) -> None:
    """Append an activity event with its details: the frames before, after and during,
    the scores, the baseline's age and the trace that led to it."""
    b.trace.append("event_emitted")
    found = details(
        b.config,
        b.obs.capture_id,
        scores=scores,
        pre=pre,
        post=post,
        during=during,
        baseline_age_s=_age(pre, started),
        stability_frames=b.state.baseline_stable_frames,
        trace=(*trace, "event_emitted"),
        regions=regions,
    )
    if note is not None:
        found["note"] = note
    b.events.append(
        NewEvent(
            key=key,
            event_type=event_type,
            started_at=started,
            ended_at=ended,
            confidence=confidence(score, threshold),
            details=found,
            images=images(pre, post, during),
        )
    )


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
    b.trace += notes
    _record(
        b,
        "interaction_detected",
        key=b.key("interaction_detected", ":going" if still_going else ""),
        started=it.started_at,
        ended=None if still_going else max(it.last_motion_at, it.started_at),
        score=it.during.value,
        threshold=b.th.interaction_threshold,
        scores=b.scores(motion_peak=it.during.value),
        pre=it.pre,
        post=b.here,
        during=it.during,
        trace=(*trace, *notes),
        note=f"stock not judged: {TOO_DARK}" if it.dark else None,
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
    _record(
        b,
        "stock_changed",
        key=b.key("stock_changed"),
        started=started,
        ended=max(ended, started),
        score=delta,
        threshold=b.th.inventory_change_threshold,
        scores=b.scores(
            motion_peak=by.during.value if by is not None else None,
            inventory_delta=delta,
            inventory_delta_confirmed=b.obs.scores.inventory_delta,
            persisted_seconds=(b.t - settled_at).total_seconds(),
        ),
        pre=pre,
        post=post,
        during=by.during if by is not None else None,
        trace=trace,
        note=None
        if by is not None
        else "no interaction was seen: the change came between two frames",
        regions=regions,
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
