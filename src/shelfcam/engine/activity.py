"""Activity at the shelf: interactions and the stock changes they leave.

* ``rebasing``: no trusted baseline; a stable, judgeable view becomes one.
* ``idle``: the baseline follows the stable view; motion in the interaction ROI starts an
  episode, and so does a lasting change that appeared with no visible hand.
* ``interaction``: motion continues; the peak-motion frame is the ``during`` candidate.
* ``settling``: motion stopped. On the next stable view (``post_stable_found``) the change
  against ``pre`` is judged; it must persist ``change_persist_seconds`` to count, so a hand
  resting in view is not stock. If someone reaches in again while a change has held for
  ``change_hold_seconds``, that change is *held* aside; the following stable view decides:
  back to ``pre`` (it was a still hand), the held view unchanged (it stands), changes
  elsewhere (two changes), or the same place changed again (one change).
"""

from __future__ import annotations

from dataclasses import replace

from shelfcam.engine import emit
from shelfcam.engine.builder import Builder
from shelfcam.engine.state import Episode, Held, Mark
from shelfcam.vision.roi import Region

NEAR = 0.03
"""Margin (fraction of the frame) around a held change within which a change is 'there'."""
MIN_ELSEWHERE_AREA = 0.002
"""Smallest region (fraction of the frame) that counts as a change somewhere else."""


def start_interaction(b: Builder, episode: Episode | None) -> None:
    """Motion on this frame: open (or continue) the episode's current interaction."""
    s, t = b.obs.scores, b.t
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


def rebasing(b: Builder) -> None:
    if b.obs.scores.motion >= b.th.interaction_threshold and not b.switching_light():
        start_interaction(b, None)
    elif b.stable() and b.judgeable():
        b.trace.append("baseline_retaken")
        b.take_baseline()


def idle(b: Builder) -> None:
    s, th, t = b.obs.scores, b.th, b.t
    if b.switching_light():
        # Never a stock change: keep the baseline (the delta is lighting-robust) but do not
        # refresh it from this frame, and treat the next change without a hand as lighting.
        if b.state.lighting_since is None:
            b.trace.append("lighting_change_ignored")
        b.state = b.state.evolve(lighting_since=b.state.lighting_since or t, reference_stale=True)
        return
    if s.motion >= th.interaction_threshold:
        start_interaction(b, None)
        return
    delta = s.inventory_delta
    changed = delta is not None and delta >= th.inventory_change_threshold and b.judgeable()
    if changed and b.state.change_seen_at is None:
        b.state = b.state.evolve(change_seen_at=t)
    st = b.state
    if not b.stable() or st.baseline is None or not b.judgeable():
        return
    if changed:
        if st.lighting_since is not None:
            b.trace += ["lighting_change_ignored", "baseline_retaken"]
            b.take_baseline()
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
        settling(b)
        return
    b.take_baseline()
    emit.judge_empty(b)


def interaction(b: Builder) -> None:
    s, th, t = b.obs.scores, b.th, b.t
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
                reached_elsewhere=ep.reached_elsewhere or _elsewhere(b, ep),
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
        settling(b)


def _hold(ep: Episode) -> Episode:
    """Put the change left on the settled view aside; a new interaction segment begins."""
    assert ep.post is not None and ep.confirm_from is not None
    held = Held(
        post=ep.post,
        post_delta=ep.post_delta,
        post_regions=ep.post_regions,
        confirm_from=ep.confirm_from,
        interaction_started_at=ep.interaction_started_at,
        interaction_ended_at=ep.last_motion_at,
        during=ep.during,
        interaction_peak=ep.interaction_peak,
        motion_frames=ep.motion_frames if not ep.interaction_emitted else 0,
    )
    return replace(
        ep,
        held=held,
        post=None,
        post_delta=None,
        post_regions=(),
        confirm_from=None,
        post_stale=False,
        interaction_started_at=None,
        during=None,
        interaction_peak=0.0,
        motion_frames=0,
        interaction_emitted=False,
        trace=(*ep.trace, "change_held"),
    )


def _touches_elsewhere(current: tuple[Region, ...], held: tuple[dict[str, float], ...]) -> bool:
    """True if some sizeable changed region lies away from every region of the held change
    (boxes widened by ``NEAR``: a hand leaving sweeps just past where it rested)."""
    for region in current:
        if region.w * region.h < MIN_ELSEWHERE_AREA:
            continue
        near = any(
            region.x < h["x"] + h["w"] + NEAR
            and h["x"] - NEAR < region.x + region.w
            and region.y < h["y"] + h["h"] + NEAR
            and h["y"] - NEAR < region.y + region.h
            for h in held
        )
        if not near:
            return True
    return False


def _elsewhere(b: Builder, ep: Episode) -> bool:
    """While a change is held: does this frame change something away from it (a new hand
    coming in), rather than only where it is (the resting hand leaving)?"""
    return ep.held is not None and _touches_elsewhere(b.obs.scores.regions, ep.held.post_regions)


def settling(b: Builder) -> None:
    s, th, t = b.obs.scores, b.th, b.t
    ep = b.state.episode
    assert ep is not None
    if s.motion >= th.interaction_threshold and not b.switching_light():
        held_long = ep.confirm_from is not None and (
            (t - ep.confirm_from).total_seconds() >= th.change_hold_seconds
        )
        if held_long and ep.held is None and ep.post is not None:
            b.trace.append("change_held")
            held = _hold(ep)
            start_interaction(b, replace(held, reached_elsewhere=_elsewhere(b, held)))
        else:
            start_interaction(b, replace(ep, post=None, post_delta=None, confirm_from=None))
        return
    if not b.stable():
        if ep.post is not None and not ep.post_stale and s.motion >= th.interaction_end_threshold:
            # Something moved on the settled view (a still hand leaving?): the next stable
            # view is judged afresh against pre; the change's clock keeps running.
            b.trace.append("change_disturbed")
            b.state = b.state.evolve(episode=replace(ep, post_stale=True))
        elif (t - ep.started_at).total_seconds() > th.settle_timeout_seconds:
            b.trace.append("settle_timeout")
            if ep.held is not None:
                emit.held_change(b, ep, ep.held, "held_change_kept")
            emit.episode_interaction(b, ep)
            b.state = b.state.evolve(mode="rebasing", baseline=None, episode=None)
        return
    pending_shift = b.state.shifted_since is not None and b.state.shift is None
    if pending_shift or not b.judgeable():
        return  # wait: a possible camera shift, or a view too dark to judge
    if ep.post is None or ep.post_stale:
        first = ep.post is None
        ep = replace(
            ep,
            post=b.here,
            post_stale=False,
            post_delta=s.inventory_delta,
            post_regions=tuple(r.to_dict() for r in s.regions),
            trace=(*ep.trace, "post_stable_found") if first else ep.trace,
        )
        if first:
            b.trace.append("post_stable_found")
        b.state = b.state.evolve(episode=ep)
    if ep.held is not None:
        _settle_held(b, ep)
    else:
        _settle(b, ep)


def _settle(b: Builder, ep: Episode) -> None:
    """A stable view after activity, with no held change: judge it against pre."""
    th, t = b.th, b.t
    delta = b.obs.scores.inventory_delta
    if ep.pre is None or delta is None:
        b.trace.append("no_baseline_to_compare")
        emit.episode_interaction(b, ep)
        b.take_baseline()
        return
    if delta < th.inventory_change_threshold:
        b.trace.append("delta_below_threshold")
        emit.episode_interaction(b, replace(ep, trace=(*ep.trace, "delta_below_threshold")))
        b.take_baseline()
        emit.judge_empty(b)
        return
    if ep.confirm_from is None:
        b.trace.append("delta_exceeded_threshold")
        ep = replace(ep, confirm_from=t, trace=(*ep.trace, "delta_exceeded_threshold"))
        b.state = b.state.evolve(episode=ep)
    assert ep.confirm_from is not None
    if (t - ep.confirm_from).total_seconds() < th.change_persist_seconds:
        # An emptied shelf is confirmed on its own clock, while the change still persists.
        if b.state.empty is None:
            emit.judge_empty(b)
        return
    emit.episode_stock(b, ep, delta, "change_persisted")
    b.take_baseline()
    emit.judge_empty(b, ended_at=ep.last_motion_at or ep.started_at)


def _settle_held(b: Builder, ep: Episode) -> None:
    """A stable view after someone reached in again while a change was held."""
    assert ep.held is not None
    held, th = ep.held, b.th
    delta = b.obs.scores.inventory_delta
    compared = b.obs.held
    elsewhere = ep.reached_elsewhere or _touches_elsewhere(b.obs.scores.regions, held.post_regions)
    if delta is not None and delta < th.inventory_change_threshold and not elsewhere:
        # Back to how it was before, touched only where the change was: what was held was
        # a hand at rest, not stock.
        b.trace.append("held_change_reverted")
        merged = replace(
            ep,
            held=None,
            interaction_started_at=held.interaction_started_at or ep.interaction_started_at,
            during=held.during if held.interaction_peak >= ep.interaction_peak else ep.during,
            interaction_peak=max(held.interaction_peak, ep.interaction_peak),
            motion_frames=held.motion_frames + ep.motion_frames,
            trace=(*ep.trace, "held_change_reverted", "delta_below_threshold"),
        )
        emit.episode_interaction(b, merged)
        b.take_baseline()
        emit.judge_empty(b)
        return
    if compared is not None and compared.delta < th.inventory_change_threshold:
        # The later reach changed nothing: the held change stands as it was.
        emit.held_change(b, ep, held, "held_change_kept")
        emit.episode_interaction(b, replace(ep, pre=held.post, held=None))
        b.take_baseline()
        emit.judge_empty(b)
        return
    if compared is not None and elsewhere:
        # Someone else reached in: two changes, each with its interaction (the second one
        # is judged against the held view and must persist like any change).
        emit.held_change(b, ep, held, "change_confirmed_by_next_interaction")
        nxt = replace(
            ep,
            pre=held.post,
            held=None,
            reached_elsewhere=False,
            post_delta=compared.delta,
            post_regions=tuple(r.to_dict() for r in compared.regions),
            confirm_from=b.t,
            trace=("change_confirmed_by_next_interaction", "delta_exceeded_threshold"),
        )
        b.state = b.state.evolve(baseline=held.post, episode=nxt)
        return
    # The same place changed again (a hand that rested, then took the item): one change.
    b.trace.append("held_change_merged")
    merged = replace(
        ep,
        held=None,
        interaction_started_at=held.interaction_started_at or ep.interaction_started_at,
        during=held.during if held.interaction_peak >= ep.interaction_peak else ep.during,
        interaction_peak=max(held.interaction_peak, ep.interaction_peak),
        motion_frames=held.motion_frames + ep.motion_frames,
        confirm_from=b.t,
        trace=(*ep.trace, "held_change_merged", "delta_exceeded_threshold"),
    )
    b.state = b.state.evolve(episode=merged)
