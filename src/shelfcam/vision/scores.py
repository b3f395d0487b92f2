"""`analyze`: every score of one frame, the single entry point the worker calls per frame.

Pure: `Frame` objects and ROIs in, a `FrameScores` value out. The worker keeps the previous
frame, the baseline (last stable frame before an interaction), the reference (the view the
camera was set up with, for scene shift) and the empty-shelf reference as `Frame` objects, so
each JPEG is decoded and featurised once. A reference frame of another analysis size (the
camera's resolution changed) is ignored, as if absent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from shelfcam.vision.brightness import brightness_in, moved_upper_bound
from shelfcam.vision.delta import (
    SHADING_MIN_BRIGHTNESS,
    StructureMap,
    box_slices,
    components_of,
    delta_of,
    dist_threshold,
    judgeable,
    light_changed,
    patched,
    similarity_of,
    structure_map,
)
from shelfcam.vision.frame import Frame
from shelfcam.vision.health import explained_shift, obstruction, scene_shift
from shelfcam.vision.lighting import LIGHT_MIN_BRIGHTNESS, LightingResult, lighting_change
from shelfcam.vision.motion import change_mask, half_difference, motion_in, moving_places
from shelfcam.vision.persistence import Change, changes_of
from shelfcam.vision.roi import FULL_FRAME, Region, RoiMask, Rois, roi_mask

# Vision measures; it decides nothing. The thresholds the scores are judged against are the
# engine's (shelfcam.engine.config.Thresholds, listed in docs/tuning.md): one definition.
SHIFT_CHECK_MAX_CHANGE = 0.01
"""The scene shift is measured on still frames only (frame_change at most this, or no
previous frame): the engine judges the camera's position on still views, and a frame with
motion skips the spectrum, the correlation and the check."""


@dataclass(frozen=True)
class FrameScores:
    """Scores of one frame. All floats are finite; see docs/vision.md for scales."""

    motion: float
    """Interaction ROI vs previous frame: fraction of ROI pixels changed, 0..1 (0 if no
    previous frame). Judged against ``interaction_threshold`` and ``interaction_end_threshold``."""
    frame_change: float
    """Whole frame vs previous frame: fraction of pixels changed, 0..1 (1.0 if no previous
    frame: stability unknown). Still below ``stable_frame_change``."""
    inventory_delta: float | None
    """Inventory ROI vs baseline: structural change score 0..1 (None if no baseline).
    Judged against ``inventory_change_threshold`` (0.2 = about 0.56 % of the ROI changed)."""
    regions: tuple[Region, ...]
    """Changed places vs baseline, boxes normalised to the full frame, largest first."""
    lighting_score: float
    """0..1: how much brightness jumped while structure did not, the larger of the two
    comparisons: vs the previous frame (whole view) and vs the baseline (inventory ROI).
    At or above ``lighting_threshold`` the change is the light's, never stock: re-base."""
    obstruction: float
    """0..1: dark, uniform or detail-less view. Judged against ``obstruction_threshold``."""
    sharpness: float
    """0..1: fine detail relative to contrast (informative)."""
    shift_px: float
    """Magnitude of the translation vs reference, in analysis px (0 if no reference, or on
    a frame with motion: see `SHIFT_CHECK_MAX_CHANGE`)."""
    shift_dx: float
    shift_dy: float
    shift_confidence: float
    """0..1 phase-correlation response (0 if no reference). Trust shifts above ~0.3."""
    empty_similarity: float | None
    """Inventory ROI vs empty reference, 0..1 (None if none, or if the inventory ROI moves:
    emptiness is judged on still views). Empty above ~0.8."""
    inventory_judged: float | None
    """Share of the inventory ROI not clipped black/white in either frame (None if no
    baseline). Below ~0.5 the inventory delta says little."""
    brightness: float
    """Mean grey level of the frame, 0..255."""
    noise: float
    """Robust sigma of the pixel difference to the previous frame, grey levels (0 if no
    previous frame): the noise level the motion threshold adapted to."""
    brightness_gain: float = 1.0
    """Mean brightness against the previous frame's (1.0 without one)."""
    brightness_moved: float = 0.0
    """Share of the view whose brightness moved since the previous frame (0 when under
    half, or without one): with ``brightness_gain`` far from 1, a light switched on or off
    (a hand or a passer-by changes a part of the view only)."""
    inventory_motion: float = 0.0
    """Inventory ROI vs previous frame: fraction of its pixels changed, 0..1 (0 if no
    previous frame). The place where stock is judged is still below ~0.005."""
    moving: tuple[Region, ...] = ()
    """Without a baseline: boxes of the places that moved since the previous frame inside
    the inventory ROI's bounding box, normalised to the full frame, largest first (with a
    baseline, what moves is in ``changes``)."""
    changes: tuple[Change, ...] = ()
    """The changed places against the baseline, largest first, each with its share of the
    judged ROI and whether it is unchanged since each anchor frame (see
    `shelfcam.vision.persistence`)."""
    shift_explained: float = 0.0
    """0..1: share of the mismatch with the reference that the shift estimate explains
    (0 when the estimate is below the shift gate, the frame moves, or nothing differs). A
    moved camera gives 0.7-1.0."""

    def to_dict(self, ndigits: int = 4) -> dict[str, object]:
        """A plain JSON-ready dict: floats rounded, regions as lists of x/y/w/h dicts."""
        out: dict[str, object] = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or v is None:
                out[f.name] = v
            elif isinstance(v, float):
                out[f.name] = round(v, ndigits)
            else:
                out[f.name] = [item.to_dict(ndigits) for item in v]
        return out


_NO_LIGHTING = LightingResult(0.0, 0.0, 0.0)


def _same_size(a: Frame | None, b: Frame) -> Frame | None:
    return a if a is not None and a.gray.shape == b.gray.shape else None


def _against_baseline(
    baseline: Frame,
    patches: Sequence[tuple[Frame, Region]],
    cur: Frame,
    roi: RoiMask,
    cur_judgeable: np.ndarray | None,
) -> tuple[StructureMap, float]:
    """The structure map of ``cur`` against the baseline, with each patch's place compared
    with the patch's frame instead; and the `brightness_in` of the baseline against
    ``cur`` (whether the light changed since)."""
    sh, sw = cur.small.shape
    bright = brightness_in(baseline, cur, roi, SHADING_MIN_BRIGHTNESS)
    smap = _compared(baseline, cur, roi, cur_judgeable, light_changed(bright))
    for frame, region in patches:
        where = box_slices(region, roi, sw, sh)
        if where[0].start == where[0].stop or where[1].start == where[1].stop:
            continue
        patch_lit = light_changed(brightness_in(frame, cur, roi, SHADING_MIN_BRIGHTNESS))
        smap = patched(smap, _compared(frame, cur, roi, cur_judgeable, patch_lit), where)
    return smap, bright


def _compared(
    a: Frame, cur: Frame, roi: RoiMask, cur_judgeable: np.ndarray | None, lit: bool
) -> StructureMap:
    """An inventory comparison: the threshold and the judged pixels follow the light."""
    judged = judgeable(cur, roi, lit=True) if lit else cur_judgeable
    return structure_map(a, cur, roi, judged, dist_threshold(lit), lit=lit)


def analyze(
    cur: Frame,
    *,
    prev: Frame | None,
    baseline: Frame | None,
    reference: Frame | None,
    empty_ref: Frame | None,
    rois: Rois,
    patches: Sequence[tuple[Frame, Region]] = (),
    anchors: Sequence[Frame | None] = (),
    shift_gate: tuple[float, float] = (0.0, 0.0),
    still: float = 1.0,
) -> FrameScores:
    """Every score of ``cur`` (see `FrameScores` for each field's meaning and scale).

    ``patches``: places of the baseline re-taken from later frames (frame, normalised box),
    compared with those frames instead. ``anchors``: the frames since which changed places
    are watched; each change says whether it is unchanged since each of them
    (`shelfcam.vision.persistence`); nothing is settled against a missing anchor (None)
    or one of another size. ``shift_gate``: the size (analysis px) and confidence from
    which a shift estimate may be a moved camera, and is checked (`explained_shift`).
    ``still``: below this share of the inventory ROI moving, the frame is still and the
    empty-shelf reference is compared (emptiness is judged on still views only). The
    engine passes its thresholds (``shift_threshold_px``, ``shift_min_confidence``,
    ``stable_frame_change``); by default nothing is gated: every shift is checked and every
    frame compared.
    """
    prev = _same_size(prev, cur)
    baseline = _same_size(baseline, cur)
    reference = _same_size(reference, cur)
    empty_ref = _same_size(empty_ref, cur)
    patches = [(f, r) for f, r in patches if f.gray.shape == cur.gray.shape]

    sh, sw = cur.small.shape
    motion, frame_change, noise, inv_motion = 0.0, 1.0, 0.0, 0.0
    changed = None
    moving: tuple[Region, ...] = ()
    light = prev_light = _NO_LIGHTING
    inv_small = roi_mask(sw, sh, rois.inventory)
    if prev is not None:
        diff = half_difference(prev, cur)
        changed, _thr, sigma = change_mask(prev, cur, diff)
        motion, frame_change = motion_in(changed, roi_mask(sw, sh, rois.interaction))
        inv_motion = motion_in(changed, inv_small)[0] if frame_change else 0.0
        if inv_motion and baseline is None:
            moving = moving_places(changed, inv_small)
        noise = 2.0 * sigma
        # Lighting is only examined when at least half the view may have moved brightness.
        if moved_upper_bound(diff) >= LIGHT_MIN_BRIGHTNESS:
            light = prev_light = lighting_change(prev, cur, roi_mask(sw, sh, FULL_FRAME))

    delta: float | None = None
    judged: float | None = None
    regions: tuple[Region, ...] = ()
    """Boxes of the places that moved since the previous frame inside the inventory ROI's
    bounding box, normalised to the full frame, largest first."""
    changes: tuple[Change, ...] = ()
    # cur is judged against the baseline and the empty reference: its part once.
    cur_judgeable = (
        judgeable(cur, inv_small) if baseline is not None or empty_ref is not None else None
    )
    if baseline is not None:
        smap, bright = _against_baseline(baseline, patches, cur, inv_small, cur_judgeable)
        comps = components_of(smap, inv_small, (baseline, cur) if light_changed(bright) else None)
        res = delta_of(comps, inv_small, sw, sh)
        delta, judged, regions = res.score, res.judged_fraction, res.regions
        usable = [_same_size(a, cur) for a in anchors]
        changes = changes_of(comps, usable, cur, inv_small, sw, sh, cur_judgeable, changed)
        base_light = lighting_change(baseline, cur, inv_small, smap, bright)
        if base_light.score > light.score:
            light = base_light

    shift_dx = shift_dy = shift_conf = explained = 0.0
    if reference is not None and frame_change <= SHIFT_CHECK_MAX_CHANGE:
        s = scene_shift(reference, cur)
        shift_dx, shift_dy, shift_conf = s.dx, s.dy, s.confidence
        if s.magnitude >= shift_gate[0] and s.confidence >= shift_gate[1]:
            explained = explained_shift(reference, cur, s.dx, s.dy)

    empty: float | None = None
    if empty_ref is not None and inv_motion < still and prev is not None:
        empty = similarity_of(structure_map(empty_ref, cur, inv_small, cur_judgeable), inv_small)
    return FrameScores(
        motion=motion,
        frame_change=frame_change,
        inventory_delta=delta,
        regions=regions,
        lighting_score=light.score,
        obstruction=obstruction(cur),
        sharpness=cur.sharpness,
        shift_px=(shift_dx * shift_dx + shift_dy * shift_dy) ** 0.5,
        shift_dx=shift_dx,
        shift_dy=shift_dy,
        shift_confidence=shift_conf,
        empty_similarity=empty,
        inventory_judged=judged,
        brightness=cur.mean,
        noise=noise,
        brightness_gain=cur.mean / max(prev.mean, 1.0) if prev is not None else 1.0,
        brightness_moved=prev_light.brightness,
        inventory_motion=inv_motion,
        moving=moving,
        changes=changes,
        shift_explained=explained,
    )
