"""Stock changes: a change against the baseline, judged in its own place.

Every frame is compared with the baseline in the inventory ROI (the last calm view in
which nothing differed, some of whose places may have been re-taken later: `Patch`). A
change is watched (`Watch`) from the frame it is first seen, its anchor ``since``. On each
frame the changed places that have not changed since the anchor are *settled*
(`shelfcam.vision.persistence`). Once the settled places alone score above
``inventory_change_threshold`` for ``change_persist_seconds``, they are a
``stock_changed``, whatever moves elsewhere in the view (``edge_persist_seconds`` when
they reach the edge of the inventory ROI: an arm resting in view would). Something moving on them or
within `NEAR_MARGIN` of them (the hand still at work, a passer-by over them) restarts the
clock from that frame; motion further away does not. No interaction is needed: an item
that appears or goes between two frames is recorded once it persists, and its event says
no interaction was seen.

A change left alone (nothing moving near it ``change_hold_seconds`` after it settled) and
then approached by something coming up to it from elsewhere (a hand coming
back) is recorded at once: the item was put down (or taken) and is being taken back (or
put back): two stock changes. A resting hand that leaves is not approached: it moves where
it is, and the view goes back.

The baseline follows the calm view while nothing differs from it (exposure and daylight
drift). After a stock change the settled view becomes the baseline; when something else
still differed on every settled frame (a passer-by, a newer change), only the changed
places are re-taken (patches), so the passer-by leaving is not read as a change and the
newer change gets its own clock.

A lighting change is never a stock change: a change first seen while the light was
changing, with no interaction, is re-based once settled (``lighting_change_ignored``); a
hand at work while the light changes still makes a stock change (the comparison is
structural and discounts shading). A view too dark to judge
is not judged (the interaction is still recorded, `shelfcam.engine.interactions`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from shelfcam.engine import emit, interactions
from shelfcam.engine.builder import Builder
from shelfcam.engine.state import Box, Mark, Patch, Watch
from shelfcam.vision.delta import saturate
from shelfcam.vision.persistence import MOVING_MOTION, Change
from shelfcam.vision.roi import Region

SETTLED_MAX_MOVED = 0.25
"""A change is settled when at most this share of it moved since the watch's anchor..."""
STILL_MAX_MOVED = 0.1
"""... and at most this share of its structure since the previous frame ..."""
STILL_MAX_MOTION = MOVING_MOTION
"""... and of its brightness (the motion test is noise-adaptive: a still place shows none,
an arm sliding out along itself keeps its structure but not its brightness)."""
NEAR_MARGIN = 0.03
"""Something moving within this fraction of the frame of a settled change disturbs it."""
ALONE_MARGIN = 0.06
"""A change is left alone when nothing moves within this fraction of the frame of it."""
MAX_PATCHES = 4
"""More re-taken places than this and the settled frame becomes the whole baseline."""
PLACE_MARGIN = 0.08
"""Changed regions this close (fraction of the frame) are parts of one place: a
transparent bottle changes at its cap, its label and its base, not in between."""
PATCH_MARGIN = 0.02
"""A patch covers the changed places grown by this fraction of the frame on each side."""


def track(b: Builder) -> None:
    """Judge this frame against the baseline; watch, confirm or forget a change."""
    st, s, th = b.state, b.obs.scores, b.th
    if st.shifted_since is not None and st.shift is None:
        return  # the camera may have moved: health decides first
    if st.baseline is None or s.inventory_delta is None:
        _rebase(b)
        return
    if b.switching_light() or not b.judgeable():
        return
    if s.inventory_delta < th.inventory_change_threshold:
        if st.watch is not None:
            b.trace.append("change_gone")  # the view went back: no stock change
            b.state = st.evolve(watch=None)
        if b.calm() and (not s.changes or _calm_for(b, th.change_hold_seconds)):
            # The baseline follows the calm view (exposure, daylight); with small changes
            # in it only after a while, so a passer-by pausing is not taken in.
            b.take_baseline()
            emit.judge_empty(b)
        return
    _follow(b)


def _calm_for(b: Builder, seconds: float) -> bool:
    since = b.state.calm_since
    return since is not None and (b.t - since).total_seconds() >= seconds


def _rebase(b: Builder) -> None:
    """No baseline (or its frame is gone): take one from a calm, judgeable view, or, in a
    busy view, a quiet one whose moving places become holes."""
    if b.state.baseline is not None:
        b.trace.append("baseline_lost")
        b.state = b.state.evolve(baseline=None, patches=(), holes=(), watch=None)
    if not b.judgeable() or b.switching_light():
        return
    if b.calm() and b.state.interaction is None:
        b.trace.append("baseline_retaken")
        b.take_baseline()
    elif b.quiet():
        b.trace.append("baseline_retaken")
        b.take_baseline(holes=_moving(b))


def _follow(b: Builder) -> None:
    st, s, th, t = b.state, b.obs.scores, b.th, b.t
    w = st.watch
    if w is None:
        b.trace.append("change_seen")
        b.state = st.evolve(watch=Watch(seen_at=t, since=b.here, lit=st.lighting_since is not None))
        return
    if w.last is None and _age_seen(w, t) >= th.settle_timeout_seconds:
        # Changing for a minute without ever settling (a curtain, a screen): given up; the
        # view becomes the baseline, with what moves in it as holes.
        b.trace.append("settle_timeout")
        b.take_baseline(holes=tuple(_grown((c.region.to_dict(),)) for c in s.changes))
        return
    # Each change against the anchor (settled), the previous frame (still now) and the
    # younger anchor (settled later).
    settled = [c for c in s.changes if _settled(c, 0)]
    others = [c for c in s.changes if not _settled(c, 0)]
    near = [m for m in others if any(_close(m.region, c.region, NEAR_MARGIN) for c in settled)]
    enough = _scores(sum(c.area for c in settled), th.inventory_change_threshold)
    if not enough or near:
        _disturbed(b, w, reached=w.approached or (enough and _left_alone(b, w)))
        return
    later = [c for c in others if _still(c)]  # came after the anchor, still now
    clean = len(later) == len(others) and s.inventory_motion < th.stable_frame_change
    w = _settled_view(b, w, settled, others, later, clean)
    b.state = st.evolve(watch=w)
    if _in_holes(st.holes, w.regions) and _age(w.since, t) >= th.change_hold_seconds:
        _heal(b, w)  # what passed through when the baseline was taken has gone
        return
    if _age(w.since, t) >= _persist(b, w):
        # Places that settled soon after join the change: one reach, one event (a swap).
        soon = (
            w.fresh is not None
            and w.fresh != b.here
            and _age(w.fresh, t) >= (_persist(b, w) - th.interaction_gap_seconds)
        )
        joined = later if soon else []
        _confirm(b, w, "change_persisted", joined, clean and len(joined) == len(others))
    elif clean and b.calm() and st.empty is None:
        emit.judge_empty(b)  # an emptied shelf is confirmed on its own clock


def _scores(area: float, threshold: float) -> bool:
    return saturate(min(1.0, area)) >= threshold


def _disturbed(b: Builder, w: Watch, reached: bool) -> None:
    """Something moved on the change or right next to it, or most of it did. Left alone
    before and now reached for by something that came up to it (``reached``), it stood;
    else its clock starts again from this frame."""
    if reached and _scores(max(w.area, w.alone_area), b.th.inventory_change_threshold):
        _confirm(b, w, "change_confirmed_by_next_interaction")
        return
    if w.last is not None:
        b.trace.append("change_disturbed")
    b.state = b.state.evolve(watch=Watch(seen_at=w.seen_at, since=b.here, lit=w.lit))


def _settled_view(
    b: Builder,
    w: Watch,
    settled: list[Change],
    others: list[Change],
    later: list[Change],
    clean: bool,
) -> Watch:
    """The watch after a frame on which its change is settled. ``others``: the changes
    that are not; ``later``: those of them that are still now (they came after the
    anchor); ``clean``: nothing moves in the inventory ROI."""
    fresh = w.fresh
    if not later:
        fresh = None
    elif fresh is None or not all(_settled(c, 2) for c in later):
        fresh = b.here  # they settle from now on
    if w.last is None:
        b.trace.append("post_stable_found")
    movers = [o.region for o in others if not _still(o)]
    # Near the change: near what is settled now, or what was seen of it when alone (a hand
    # on its cap hides the cap from the settled part).
    near_to = [c.region for c in settled] + [Region(**r) for r in w.alone_regions]
    coming = any(_close(m, r, ALONE_MARGIN) for m in movers for r in near_to)
    area = sum(c.area for c in settled)
    regions = tuple(c.region.to_dict() for c in settled)
    return replace(
        w,
        last=b.here,
        post=b.here if clean else w.post,
        alone=w.alone if coming else b.here,
        approached=w.approached or (coming and _left_alone(b, w)),
        whole=not others if clean else w.whole,
        area=area,
        regions=regions,
        # The change as it was with nothing near it: what approaches it later may already
        # hide a part of it on the last settled frame.
        alone_area=w.alone_area if coming else area,
        alone_regions=w.alone_regions if coming else regions,
        edge=any(c.edge for c in settled),
        fresh=fresh,
    )


def _still(c: Change) -> bool:
    """Nothing of the change moves now (against the previous frame, the second anchor)."""
    return len(c.moved) > 1 and c.moved[1] <= STILL_MAX_MOVED and c.motion <= STILL_MAX_MOTION


def _settled(c: Change, anchor: int) -> bool:
    """The change has not moved since the anchor (0: the watch's, 2: the younger one), and
    does not move now."""
    return len(c.moved) > anchor and c.moved[anchor] <= SETTLED_MAX_MOVED and _still(c)


def _persist(b: Builder, w: Watch) -> float:
    """How long the change must stay: longer when it reaches the edge of the inventory
    ROI, where an arm resting in view would."""
    th = b.th
    return (
        max(th.change_persist_seconds, th.edge_persist_seconds)
        if w.edge
        else th.change_persist_seconds
    )


def _age_seen(w: Watch, t: datetime) -> float:
    return (t - w.seen_at).total_seconds()


def _age(anchor: Mark, t: datetime) -> float:
    return (t - anchor.t).total_seconds()


def _left_alone(b: Builder, w: Watch) -> bool:
    """Nothing moved near the change on a frame ``change_hold_seconds`` or more after it
    settled: whatever made it had gone (a hand holding an item that still for that long
    is rare), whatever moves further away."""
    return w.alone is not None and _age(w.since, w.alone.t) >= b.th.change_hold_seconds


def _confirm(
    b: Builder, w: Watch, why: str, joined: list[Change] | None = None, all_in: bool = False
) -> None:
    """Record the watched change (as on its latest settled frame), with the places that
    ``joined`` it. ``all_in``: this frame is calm and shows no other change."""
    st = b.state
    if _in_holes(st.holes, w.regions):
        _heal(b, w)
        return
    post = w.post or w.last
    # Recorded as it was when last seen with nothing near it, when that is more complete.
    base_regions, base_area = w.regions, w.area
    if w.alone_area > w.area:
        base_regions, base_area = w.alone_regions, w.alone_area
    regions = _places((*base_regions, *(c.region.to_dict() for c in joined or ())))
    area = base_area + sum(c.area for c in joined or ())
    by = interactions.by(b, w.seen_at, w.since.t)
    light = w.lit and by is None
    if light:
        # Seen as the light changed, with no hand: the light, never stock.
        b.trace += ["lighting_change_ignored", "baseline_retaken"]
    else:
        how = ("interaction_start", "interaction_end") if by else ("change_without_interaction",)
        b.trace.append(why)
        emit.stock(
            b,
            seen_at=w.seen_at,
            settled_at=w.since.t,
            delta=saturate(min(1.0, area)),
            regions=regions,
            pre=_pre(st.baseline, st.patches, regions),
            post=post,
            by=by,
            trace=(*how, "change_seen", "post_stable_found", "delta_exceeded_threshold", why),
        )
    if all_in:
        b.take_baseline()
    else:
        _rebase_after(b, w, regions)
    if not light:
        emit.judge_empty(b, ended_at=by.last_motion_at if by else w.seen_at)


def _in_holes(holes: tuple[Box, ...], regions: tuple[Box, ...]) -> bool:
    """Every region of a change lies where the baseline's frame showed something passing."""
    return (
        bool(holes) and bool(regions) and all(any(_overlap(r, h) for h in holes) for r in regions)
    )


def _heal(b: Builder, w: Watch) -> None:
    """The change lies where something was passing through when the baseline was taken:
    the baseline is mended there from this frame (no stock change)."""
    st = b.state
    b.trace.append("baseline_healed")
    holes = tuple(h for h in st.holes if not any(_overlap(r, h) for r in w.regions))
    patch = Patch(b.here, _grown(w.regions))
    if len(st.patches) >= MAX_PATCHES:
        b.take_baseline(holes=_moving(b))
        return
    b.state = st.evolve(patches=(*st.patches, patch), holes=holes, watch=None)


def _moving(b: Builder) -> tuple[Box, ...]:
    """The places moving on this frame, grown: the holes of a baseline taken from it."""
    return tuple(_grown((r.to_dict(),)) for r in b.obs.scores.moving)


def _pre(
    baseline: Mark | None, patches: tuple[Patch, ...], regions: tuple[Box, ...]
) -> Mark | None:
    """The frame the change is judged against: the latest patch under it, else the baseline."""
    for patch in reversed(patches):
        if any(_overlap(patch.box, r) for r in regions):
            return patch.mark
    return baseline


def _rebase_after(b: Builder, w: Watch, regions: tuple[Box, ...]) -> None:
    """After a stock change: the settled view becomes the baseline, or, when something
    else differed on every settled frame, the changed places are re-taken from it."""
    st = b.state
    if (w.post is not None and w.whole) or w.last is None or len(st.patches) >= MAX_PATCHES:
        b.take_baseline(w.post or w.last or b.here)
        return
    patch = Patch(w.post or w.last, _grown(regions))
    b.state = st.evolve(patches=(*st.patches, patch), watch=None)


def _close(a: Region, c: Region, margin: float) -> bool:
    """The boxes lie within ``margin`` of each other (overlap when 0)."""
    return (
        a.x < c.x + c.w + margin
        and c.x - margin < a.x + a.w
        and a.y < c.y + c.h + margin
        and c.y - margin < a.y + a.h
    )


def _overlap(a: Box, c: Box) -> bool:
    return _close(Region(**a), Region(**c), 0.0)


def _places(regions: tuple[Box, ...]) -> tuple[Box, ...]:
    """The changed regions grouped into places (regions within `PLACE_MARGIN` of each other
    merged into their bounding box), largest first."""
    places = [Region(**r) for r in regions]
    merged = True
    while merged:
        merged = False
        for i, a in enumerate(places):
            j = next(
                (j for j in range(i + 1, len(places)) if _close(a, places[j], PLACE_MARGIN)), None
            )
            if j is not None:
                c = places.pop(j)
                x0, y0 = min(a.x, c.x), min(a.y, c.y)
                x1, y1 = max(a.x + a.w, c.x + c.w), max(a.y + a.h, c.y + c.h)
                places[i] = Region(x0, y0, x1 - x0, y1 - y0)
                merged = True
                break
    places.sort(key=lambda r: r.w * r.h, reverse=True)
    return tuple(r.to_dict() for r in places)


def _grown(regions: tuple[Box, ...]) -> Box:
    m = PATCH_MARGIN
    x0 = max(0.0, min(r["x"] for r in regions) - m)
    y0 = max(0.0, min(r["y"] for r in regions) - m)
    x1 = min(1.0, max(r["x"] + r["w"] for r in regions) + m)
    y1 = min(1.0, max(r["y"] + r["h"] for r in regions) + m)
    return {"x": round(x0, 4), "y": round(y0, 4), "w": round(x1 - x0, 4), "h": round(y1 - y0, 4)}
