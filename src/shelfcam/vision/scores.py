"""`analyze`: every score of one frame, the single entry point the worker calls per frame.

Pure: `Frame` objects and ROIs in, a `FrameScores` value out. The worker keeps the previous
frame, the baseline (last stable frame before an interaction), the reference (the view the
camera was set up with, for scene shift) and the empty-shelf reference as `Frame` objects, so
each JPEG is decoded and featurised once. A reference frame of another analysis size (the
camera's resolution changed) is ignored, as if absent.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from shelfcam.vision.brightness import brightness_in, moved_upper_bound
from shelfcam.vision.delta import (
    SHADING_MIN_BRIGHTNESS,
    dist_threshold,
    judgeable,
    light_changed,
    regions_of,
    similarity_of,
    structure_map,
)
from shelfcam.vision.frame import Frame
from shelfcam.vision.health import obstruction, scene_shift
from shelfcam.vision.lighting import LIGHT_MIN_BRIGHTNESS, LightingResult, lighting_change
from shelfcam.vision.motion import change_mask, half_difference, motion_in
from shelfcam.vision.roi import FULL_FRAME, Region, Rois, roi_mask

# Suggested defaults for the rule engine (documented in docs/vision.md).
MOTION_START = 0.015
MOTION_END = 0.005
STABLE_FRAME_CHANGE = 0.005
INVENTORY_DELTA_THRESHOLD = 0.2
LIGHTING_THRESHOLD = 0.35
OBSTRUCTION_THRESHOLD = 0.7
SHIFT_THRESHOLD_PX = 1.0
SHIFT_MIN_CONFIDENCE = 0.3
EMPTY_SIMILARITY_THRESHOLD = 0.8


@dataclass(frozen=True)
class FrameScores:
    """Scores of one frame. All floats are finite; see docs/vision.md for scales."""

    motion: float
    """Interaction ROI vs previous frame: fraction of ROI pixels changed, 0..1 (0 if no
    previous frame). Start an interaction above ~0.015, end below ~0.005."""
    frame_change: float
    """Whole frame vs previous frame: fraction of pixels changed, 0..1 (1.0 if no previous
    frame: stability unknown). Stable below ~0.005."""
    inventory_delta: float | None
    """Inventory ROI vs baseline: structural change score 0..1 (None if no baseline).
    stock_changed above ~0.2 (0.2 = about 0.56 % of the ROI changed)."""
    regions: tuple[Region, ...]
    """Changed places vs baseline, boxes normalised to the full frame, largest first."""
    lighting_change: bool
    """Brightness jumped while structure did not, vs the previous frame (whole view) or vs
    the baseline (inventory ROI). Never a stock change: re-base."""
    lighting_score: float
    """0..1, the larger of the two comparisons; lighting_change = score >= 0.35."""
    obstruction: float
    """0..1: dark, uniform or detail-less view. Obstructed above ~0.7."""
    sharpness: float
    """0..1: fine detail relative to contrast (informative)."""
    shift_px: float
    """Magnitude of the translation vs reference, in analysis px (0 if no reference)."""
    shift_dx: float
    shift_dy: float
    shift_confidence: float
    """0..1 phase-correlation response (0 if no reference). Trust shifts above ~0.3."""
    empty_similarity: float | None
    """Inventory ROI vs empty reference, 0..1 (None if none). Empty above ~0.8."""
    inventory_judged: float | None
    """Share of the inventory ROI not clipped black/white in either frame (None if no
    baseline). Below ~0.5 the inventory delta says little."""
    brightness: float
    """Mean grey level of the frame, 0..255."""
    noise: float
    """Robust sigma of the pixel difference to the previous frame, grey levels (0 if no
    previous frame): the noise level the motion threshold adapted to."""

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
                out[f.name] = [r.to_dict(ndigits) for r in v]
        return out


_NO_LIGHTING = LightingResult(0.0, False, 0.0, 0.0)


def _same_size(a: Frame | None, b: Frame) -> Frame | None:
    return a if a is not None and a.gray.shape == b.gray.shape else None


def analyze(
    cur: Frame,
    *,
    prev: Frame | None,
    baseline: Frame | None,
    reference: Frame | None,
    empty_ref: Frame | None,
    rois: Rois,
) -> FrameScores:
    """Every score of ``cur`` (see `FrameScores` for each field's meaning and scale)."""
    prev = _same_size(prev, cur)
    baseline = _same_size(baseline, cur)
    reference = _same_size(reference, cur)
    empty_ref = _same_size(empty_ref, cur)

    sh, sw = cur.small.shape
    motion, frame_change, noise = 0.0, 1.0, 0.0
    light = _NO_LIGHTING
    if prev is not None:
        diff = half_difference(prev, cur)
        changed, _thr, sigma = change_mask(prev, cur, diff)
        motion, frame_change = motion_in(changed, roi_mask(sw, sh, rois.interaction))
        noise = 2.0 * sigma
        # Lighting is only examined when at least half the view may have moved brightness.
        if moved_upper_bound(diff) >= LIGHT_MIN_BRIGHTNESS:
            light = lighting_change(prev, cur, roi_mask(sw, sh, FULL_FRAME))

    delta: float | None = None
    judged: float | None = None
    regions: tuple[Region, ...] = ()
    inv_small = roi_mask(sw, sh, rois.inventory)
    # cur is judged against the baseline and the empty reference: its part once.
    cur_judgeable = (
        judgeable(cur, inv_small) if baseline is not None or empty_ref is not None else None
    )
    if baseline is not None:
        bright = brightness_in(baseline, cur, inv_small, SHADING_MIN_BRIGHTNESS)
        lit = light_changed(bright)
        smap = structure_map(baseline, cur, inv_small, cur_judgeable, dist_threshold(lit))
        res = regions_of(smap, inv_small, sw, sh, (baseline, cur) if lit else None)
        delta, judged, regions = res.score, res.judged_fraction, res.regions
        base_light = lighting_change(baseline, cur, inv_small, smap, bright)
        if base_light.score > light.score:
            light = base_light

    shift_dx = shift_dy = shift_conf = 0.0
    if reference is not None:
        s = scene_shift(reference, cur)
        shift_dx, shift_dy, shift_conf = s.dx, s.dy, s.confidence

    empty: float | None = None
    if empty_ref is not None:
        empty = similarity_of(structure_map(empty_ref, cur, inv_small, cur_judgeable), inv_small)
    return FrameScores(
        motion=motion,
        frame_change=frame_change,
        inventory_delta=delta,
        regions=regions,
        lighting_change=light.changed,
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
    )
