"""Building the activity events: interaction_detected, stock_changed, empty_confirmed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shelfcam.engine.builder import Builder
from shelfcam.engine.events import EventEnd, EventOut, confidence, details, images
from shelfcam.engine.state import Episode, Held, Mark, OpenEvent


def _age(pre: Mark | None, started: datetime) -> float | None:
    return None if pre is None else (started - pre.t).total_seconds()


def interaction(
    b: Builder,
    *,
    started: datetime,
    ended: datetime | None,
    peak: float,
    motion_frames: int,
    pre: Mark | None,
    post: Mark | None,
    during: Mark | None,
    trace: tuple[str, ...],
    key_suffix: str = "",
) -> None:
    """Emit interaction_detected, unless the motion was a single changed frame."""
    if motion_frames < b.th.min_motion_frames:
        # One changed frame is a fast change (or a dropped frame), not a visible hand.
        b.trace.append("motion_blip_not_interaction")
        return
    full = (*trace, "event_emitted")
    b.trace.append("event_emitted")
    b.events.append(
        EventOut(
            key=b.key("interaction_detected", key_suffix),
            event_type="interaction_detected",
            started_at=started,
            ended_at=max(ended or started, started),
            confidence=confidence(peak, b.th.interaction_threshold),
            details=details(
                b.config,
                b.obs.capture_id,
                scores=b.scores(motion_peak=peak),
                pre=pre,
                post=post,
                during=during,
                baseline_age_s=_age(pre, started),
                stability_frames=b.state.baseline_stable_frames,
                trace=full,
            ),
            images=images(pre, post, during),
        )
    )


def episode_interaction(b: Builder, ep: Episode) -> Episode:
    """Emit the episode's current interaction (once); return the episode marked emitted."""
    if ep.interaction_started_at is None or ep.interaction_emitted:
        return ep
    interaction(
        b,
        started=ep.interaction_started_at,
        ended=ep.last_motion_at,
        peak=ep.interaction_peak,
        motion_frames=ep.motion_frames,
        pre=ep.pre,
        post=ep.post,
        during=ep.during,
        trace=ep.trace,
    )
    done = replace(ep, interaction_emitted=True)
    b.state = b.state.evolve(episode=done)
    return done


def stock(
    b: Builder,
    *,
    pre: Mark | None,
    post: Mark | None,
    during: Mark | None,
    started: datetime,
    ended: datetime,
    delta: float | None,
    delta_now: float | None,
    peak: float,
    regions: tuple[dict[str, float], ...],
    trace: tuple[str, ...],
    key_suffix: str = "",
) -> None:
    full = (*trace, "event_emitted")
    b.trace.append("event_emitted")
    b.events.append(
        EventOut(
            key=b.key("stock_changed", key_suffix),
            event_type="stock_changed",
            started_at=started,
            ended_at=max(ended, started),
            confidence=confidence(delta or 0.0, b.th.inventory_change_threshold),
            details=details(
                b.config,
                b.obs.capture_id,
                scores=b.scores(
                    motion_peak=peak or None,
                    inventory_delta=delta,
                    inventory_delta_confirmed=delta_now,
                ),
                pre=pre,
                post=post,
                during=during,
                baseline_age_s=_age(pre, started),
                stability_frames=b.state.baseline_stable_frames,
                trace=full,
                regions=regions,
            ),
            images=images(pre, post, during),
        )
    )


def episode_stock(b: Builder, ep: Episode, delta_now: float | None, why: str) -> None:
    """Emit the episode's interaction (if any) and its stock change: pre -> post."""
    ep = episode_interaction(b, ep)
    started = ep.interaction_started_at or ep.started_at
    b.trace.append(why)
    stock(
        b,
        pre=ep.pre,
        post=ep.post,
        during=ep.during,
        started=started,
        ended=ep.last_motion_at or started,
        delta=ep.post_delta,
        delta_now=delta_now,
        peak=ep.interaction_peak,
        regions=ep.post_regions,
        trace=(*ep.trace, why),
    )


def held_change(b: Builder, ep: Episode, held: Held, why: str) -> None:
    """Emit the held change (and the interaction that left it): pre -> held view."""
    started = held.interaction_started_at or ep.started_at
    trace = (*ep.trace, why)
    if held.interaction_started_at is not None:
        interaction(
            b,
            started=held.interaction_started_at,
            ended=held.interaction_ended_at,
            peak=held.interaction_peak,
            motion_frames=held.motion_frames,
            pre=ep.pre,
            post=held.post,
            during=held.during,
            trace=trace,
            key_suffix=":held",
        )
    b.trace.append(why)
    stock(
        b,
        pre=ep.pre,
        post=held.post,
        during=held.during,
        started=started,
        ended=held.interaction_ended_at or started,
        delta=held.post_delta,
        delta_now=None,
        peak=held.interaction_peak,
        regions=held.post_regions,
        trace=trace,
        key_suffix=":held",
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
            EventOut(
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
