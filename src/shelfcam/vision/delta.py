"""Structural change between two frames inside a ROI: the inventory delta and empty similarity.

Brightness is not compared. Each frame carries its local-contrast-normalised image ``lcn``
(see `shelfcam.vision.frame`), which a local gain and offset leave unchanged: a light switched
on, exposure or white-balance drift, daylight and soft shadows all vary slowly across the
view and so act as a local gain/offset. The per-pixel structural distance is

    dist = min(mean5x5((lcn_a - lcn_b)^2), mean5x5((lcn_a + lcn_b)^2))

which is about 0 for the same structure (the second term tolerates the polarity flip of a
shading edge when a lamp changes side), about 1 where a textured patch became flat or the
reverse, and about 2 for unrelated texture. A pixel is changed when ``dist`` exceeds the
threshold and both frames show structure there (not clipped black or white, see
``Frame.valid``). A lone edge that appears or vanishes (the outline of an untextured item on
an untextured board) peaks at only about 0.45-0.5, one to two pixels wide. So the threshold
depends on the light: `DIST_THRESHOLD` (0.45) when the light changed between the two frames
(below), `STEADY_DIST_THRESHOLD` (0.35) when it did not, where the outline band is 2-4 px
wide and survives the opening below. With steady light no shading can change, and a pure
gain/offset leaves the normalised image as it was, so the lower threshold sees no more noise.

Changed pixels are grouped in connected components; components smaller than
`MIN_REGION_FRACTION` of the ROI are dropped as noise. The changed fraction ``f`` is the
area of the kept components over the judged (valid) ROI area, and the score saturates it:

    score = 1 - exp(-f / DELTA_SCALE)        (DELTA_SCALE = 0.025)

so f = 0.13 % -> 0.05, 0.56 % -> 0.20, 1 % -> 0.33, 3 % -> 0.70, 6 % -> 0.91. A small item
(about 3 % of the ROI) that appears or vanishes scores about 0.5-0.8 (its outline and
texture change; a flat item on a flat board changes only along its outline); JPEG noise,
exposure drift and lights switched on or off stay below 0.05 on the synthetic suite.
Suggested threshold for ``stock_changed``: 0.2.

When the light changed between the two frames (at least `SHADING_MIN_BRIGHTNESS` of the ROI
changed brightness), real lamps do more than a local gain: light from a new side changes the
shading of 3-D structure (a door frame's mouldings, a shelf edge, a hinge), which the local
normalisation cannot undo. Two rules apply then: regions smaller than
`LIT_MIN_REGION_FRACTION` of the ROI are not counted, and regions that are `shading_only`
(one orientation, following structure both frames already had, stretched along it) are not
counted. An item that appears or vanishes at the same time is still seen (its outline has
corners and its own texture); a thin item laid exactly along an existing edge during a light
change would not be.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.brightness import brightness_in
from shelfcam.vision.frame import LCN_WINDOW, Frame, as_f32, as_u8, lit_valid
from shelfcam.vision.roi import Polygon, Region, RoiMask, roi_mask

DIST_THRESHOLD = 0.45
"""Structural distance above which a pixel counts as changed when the light changed between
the two frames (and for the lighting detector)."""
STEADY_DIST_THRESHOLD = 0.35
"""Structural distance above which a pixel counts as changed when the light did not change
between the two frames (see the module docstring)."""
DELTA_SCALE = 0.025
"""Changed fraction that gives score 1 - 1/e (0.63)."""
MIN_REGION_FRACTION = 0.0015
"""Components smaller than this fraction of the ROI are noise."""
MIN_REGION_PX = 4
MIN_VALID_FRACTION = 0.25
"""Below this share of judged ROI pixels the changed fraction uses this share instead."""
MAX_REGIONS = 12
SHADING_MIN_BRIGHTNESS = 0.35
"""When at least this share of the ROI changed brightness between the two frames (a lamp
switched, an exposure jump), the light changed and shading changes are discounted."""
LIT_MIN_REGION_FRACTION = 0.005
"""Under a light change, regions smaller than this fraction of the ROI are not counted."""
SHADING_COHERENCE = 0.8
SHADING_ALIGNMENT = 0.8
SHADING_ELONGATION = 2.0


_K3 = np.ones((3, 3), np.uint8)
_WIN = (LCN_WINDOW, LCN_WINDOW)
_REFLECT = cv2.BORDER_REFLECT


@dataclass(frozen=True, eq=False)
class StructureMap:
    """Per-pixel structural change between two frames over a ROI's bounding box."""

    changed: NDArray[np.uint8]
    """255 where the structure changed (inside the ROI and judged), bbox-sized."""
    judged: NDArray[np.uint8]
    """255 where a judgement was possible: inside the ROI and not clipped in either frame."""
    judged_px: int
    raw_fraction: float
    """Changed pixels over judged pixels, before any grouping (0 if nothing judged)."""


@dataclass(frozen=True)
class DeltaResult:
    """Inventory delta of two frames in a ROI (see the module docstring for the scale)."""

    score: float
    """0..1, saturating function of the changed fraction; 0.2 = about 0.56 % changed."""
    changed_fraction: float
    """Area of the kept changed regions over the judged ROI area."""
    regions: tuple[Region, ...]
    """Boxes around the changed places, normalised to the full frame, largest first."""
    judged_fraction: float
    """Share of the ROI that could be judged (not clipped in either frame)."""


_LT = cv2.CMP_LT


@lru_cache(maxsize=64)
def _margin(
    y0: int, y1: int, x0: int, x1: int, height: int, width: int
) -> tuple[slice, slice, slice, slice]:
    """A ROI's bounding box grown by half a window (clipped to the frame), and where the box
    sits inside it: a box filter over the grown box sees true neighbours at the ROI's edge,
    like the per-frame energy maps."""
    r = LCN_WINDOW // 2
    gy0, gx0 = max(0, y0 - r), max(0, x0 - r)
    gy1, gx1 = min(height, y1 + r), min(width, x1 + r)
    return slice(gy0, gy1), slice(gx0, gx1), slice(y0 - gy0, y1 - gy0), slice(x0 - gx0, x1 - gx0)


def judgeable(frame: Frame, roi: RoiMask, lit: bool = False) -> NDArray[np.uint8]:
    """255 where ``frame`` can be judged inside ``roi`` (its ``valid`` over the ROI's box;
    `lit_valid` when the light changed between the frames compared)."""
    ys, xs = slice(roi.y0, roi.y1), slice(roi.x0, roi.x1)
    valid = lit_valid(frame, ys, xs) if lit else frame.valid[ys, xs]
    return valid if roi.is_box else as_u8(cv2.bitwise_and(valid, roi.crop))


def structure_map(
    a: Frame,
    b: Frame,
    roi: RoiMask,
    b_judgeable: NDArray[np.uint8] | None = None,
    threshold: float = DIST_THRESHOLD,
    lit: bool = False,
) -> StructureMap:
    """Structural distance test of ``a`` against ``b`` inside ``roi`` (same analysis size).

    ``dist = min(mean((za - zb)^2), mean((za + zb)^2))`` over the window, computed as
    ``Ea + Eb - 2 |mean(za zb)|`` from the frames' cached energies ``E = mean(z^2)``
    (``Frame.lcn_energy``): one box filter per pair. A pixel changed when ``dist >
    DIST_THRESHOLD``, i.e. ``|mean(za zb)| < (Ea + Eb - DIST_THRESHOLD) / 2``.
    ``b_judgeable`` is `judgeable` (b, roi) when already computed (``b`` compared twice).
    ``threshold``: the distance above which a pixel changed (`dist_threshold` picks it for
    an inventory comparison). ``lit``: the light changed between the frames (dark pixels
    are judged by the stricter `shelfcam.vision.frame.lit_valid`; ``b_judgeable`` must then
    be computed the same way).
    """
    if a.lcn.shape != b.lcn.shape:
        raise ValueError("structure_map needs two frames of the same analysis size")
    ys, xs = slice(roi.y0, roi.y1), slice(roi.x0, roi.x1)
    if b_judgeable is None:
        b_judgeable = judgeable(b, roi, lit)
    a_valid = lit_valid(a, ys, xs) if lit else a.valid[ys, xs]
    judged = as_u8(cv2.bitwise_and(a_valid, b_judgeable))
    changed = changed_in(a, b, ys, xs, judged, threshold)
    judged_px = cv2.countNonZero(judged)
    raw = cv2.countNonZero(changed) / judged_px if judged_px else 0.0
    return StructureMap(changed, judged, judged_px, raw)


def changed_in(
    a: Frame, b: Frame, ys: slice, xs: slice, judged: NDArray[np.uint8], threshold: float
) -> NDArray[np.uint8]:
    """The core of `structure_map` over the thumbnail box (``ys``, ``xs``): 255 where the
    structure changed and ``judged`` (box-sized) allows a judgement."""
    h, w = a.lcn.shape
    gy, gx, iy, ix = _margin(ys.start, ys.stop, xs.start, xs.stop, h, w)
    cross = cv2.boxFilter(cv2.multiply(a.lcn[gy, gx], b.lcn[gy, gx]), -1, _WIN, borderType=_REFLECT)
    limit = cv2.addWeighted(a.lcn_energy[gy, gx], 0.5, b.lcn_energy[gy, gx], 0.5, -0.5 * threshold)
    # np.abs is exact like cv2.absdiff against zeros, at half the call's overhead.
    over = cv2.compare(np.abs(cross), limit, _LT)
    return as_u8(cv2.bitwise_and(over[iy, ix], judged))


def box_slices(region: Region, roi: RoiMask, width: int, height: int) -> tuple[slice, slice]:
    """Where a normalised ``region`` lies in the ROI's bounding box (thumbnail pixels at
    ``width`` x ``height``; empty slices when they do not meet)."""
    x0 = min(max(int(region.x * width) - roi.x0, 0), roi.x1 - roi.x0)
    y0 = min(max(int(region.y * height) - roi.y0, 0), roi.y1 - roi.y0)
    x1 = min(max(math.ceil((region.x + region.w) * width) - roi.x0, x0), roi.x1 - roi.x0)
    y1 = min(max(math.ceil((region.y + region.h) * height) - roi.y0, y0), roi.y1 - roi.y0)
    return slice(y0, y1), slice(x0, x1)


def patched(base: StructureMap, patch: StructureMap, where: tuple[slice, slice]) -> StructureMap:
    """``base`` with ``patch`` (a map of the same ROI against another frame) inside
    ``where``: the comparison with a baseline some of whose places were re-taken later."""
    changed = base.changed.copy()
    judged = base.judged.copy()
    changed[where] = patch.changed[where]
    judged[where] = patch.judged[where]
    judged_px = cv2.countNonZero(judged)
    raw = cv2.countNonZero(changed) / judged_px if judged_px else 0.0
    return StructureMap(changed, judged, judged_px, raw)


def saturate(fraction: float) -> float:
    """The score scale shared by inventory delta and empty similarity."""
    return 1.0 - math.exp(-fraction / DELTA_SCALE)


_NO_CHANGE: tuple[Region, ...] = ()
_by_area = itemgetter(5)


def _tensor(z: NDArray[np.float32]) -> tuple[float, float, float]:
    """Structure tensor of ``z`` summed over it, as (Jxx - Jyy, 2 Jxy, Jxx + Jyy): the
    double-angle orientation vector of its gradients and their energy."""
    gx = cv2.Sobel(z, cv2.CV_32F, 1, 0, borderType=_REFLECT)[1:-1, 1:-1]
    gy = cv2.Sobel(z, cv2.CV_32F, 0, 1, borderType=_REFLECT)[1:-1, 1:-1]
    jxx, jyy, jxy = float(np.vdot(gx, gx)), float(np.vdot(gy, gy)), float(np.vdot(gx, gy))
    return jxx - jyy, 2.0 * jxy, jxx + jyy


def shading_only(a: Frame, b: Frame, component: NDArray[np.bool_], x: int, y: int) -> bool:
    """True when a changed region looks like the light falling differently on an unchanged
    1-D structure (a door frame, a shelf edge, a moulding lit from a new side) rather than
    an object: (1) the change itself has one orientation (the LCN difference's gradients
    are coherent, >= `SHADING_COHERENCE`); (2) both frames already have structure of that
    orientation there (>= `SHADING_ALIGNMENT` of each frame's gradient energy along it);
    (3) the region stretches along that structure (>= `SHADING_ELONGATION` times longer
    than wide). An item that appears or vanishes brings a closed outline, corners and
    texture and fails (1) or (3); a new edge on a flat surface fails (2).

    ``component`` is the region's mask over its bounding box, whose top-left corner is
    (``x``, ``y``) in thumbnail pixels.
    """
    h, w = a.lcn.shape
    bh, bw = component.shape
    # The box grown by 1 px of context, plus 1 px for the Sobel kernel.
    x0, y0 = max(0, x - 2), max(0, y - 2)
    x1, y1 = min(w, x + bw + 2), min(h, y + bh + 2)
    za, zb = a.lcn[y0:y1, x0:x1], b.lcn[y0:y1, x0:x1]
    if za.shape[0] < 3 or za.shape[1] < 3:
        return False
    ca, sa, ea = _tensor(za)
    cb, sb, eb = _tensor(zb)
    cd, sd, ed = _tensor(as_f32(cv2.subtract(zb, za)))
    norm_d = math.hypot(cd, sd)
    if ed <= 0.0 or ea <= 0.0 or eb <= 0.0 or norm_d < SHADING_COHERENCE * ed:
        return False
    ux, uy = cd / norm_d, sd / norm_d  # the change's orientation (double angle)
    if (ea + ca * ux + sa * uy) < 2.0 * SHADING_ALIGNMENT * ea:
        return False
    if (eb + cb * ux + sb * uy) < 2.0 * SHADING_ALIGNMENT * eb:
        return False
    # Spread of the region's pixels along the edges (across the gradient) and across them.
    m = cv2.moments(component.view(np.uint8), binaryImage=True)
    if m["m00"] <= 0.0:
        return False
    cxx, cyy, cxy = m["mu20"] / m["m00"], m["mu02"] / m["m00"], m["mu11"] / m["m00"]
    # Gradient direction (cos t, sin t) from the double angle; edges run perpendicular.
    t = 0.5 * math.atan2(uy, ux)
    gxd, gyd = math.cos(t), math.sin(t)
    across = gxd * gxd * cxx + 2.0 * gxd * gyd * cxy + gyd * gyd * cyy
    along = gyd * gyd * cxx - 2.0 * gxd * gyd * cxy + gxd * gxd * cyy
    return along >= SHADING_ELONGATION**2 * max(across, 1.0 / 12.0)


@dataclass(frozen=True, eq=False)
class Components:
    """The changed places of a structure map, grouped: what `regions_of` scores and what
    `shelfcam.vision.persistence` judges one by one."""

    labels: NDArray[np.uint16] | None
    """Component label of each pixel of the ROI's bounding box (None when nothing changed)."""
    rows: tuple[tuple[int, int, int, int, int, int], ...]
    """The kept components as (label, x, y, w, h, area) in bounding-box pixels, largest
    first (noise and, under a light change, shading discounted)."""
    judged_fraction: float
    """Share of the ROI that could be judged."""
    denominator: float
    """The area a changed fraction is taken of (the judged area, at least
    `MIN_VALID_FRACTION` of the ROI)."""


def components_of(
    smap: StructureMap, roi: RoiMask, shading: tuple[Frame, Frame] | None = None
) -> Components:
    """Group a structure map's changed pixels (3x3 opening, 8-connected components) and keep
    the components that count (see `regions_of`)."""
    judged_fraction = smap.judged_px / float(roi.area)
    denom = max(float(smap.judged_px), MIN_VALID_FRACTION * roi.area)
    if smap.raw_fraction == 0.0:
        return Components(None, (), judged_fraction, denom)
    mask = cv2.morphologyEx(smap.changed, cv2.MORPH_OPEN, _K3)
    if cv2.countNonZero(mask) == 0:
        return Components(None, (), judged_fraction, denom)
    _n, labels, stats, _centroids = cv2.connectedComponentsWithStats(
        mask, connectivity=8, ltype=cv2.CV_16U
    )
    min_area = max(MIN_REGION_PX, MIN_REGION_FRACTION * roi.area)
    if shading is not None:
        min_area = max(min_area, LIT_MIN_REGION_FRACTION * roi.area)
    # Rows of stats: x, y, w, h, area; label 0 is the background.
    kept = [
        (label, *row) for label, row in enumerate(stats.tolist()) if label and row[4] >= min_area
    ]
    if shading is not None and kept:
        a, b = shading
        kept = [
            row
            for row in kept
            if not shading_only(
                a,
                b,
                labels[row[2] : row[2] + row[4], row[1] : row[1] + row[3]] == row[0],
                row[1] + roi.x0,
                row[2] + roi.y0,
            )
        ]
    if len(kept) > 1:
        kept.sort(key=_by_area, reverse=True)
    return Components(cast(NDArray[np.uint16], labels), tuple(kept), judged_fraction, denom)


def boxes_of(
    rows: Iterable[tuple[int, int, int, int, int, int]],
    roi: RoiMask,
    width: int,
    height: int,
    limit: int = MAX_REGIONS,
) -> tuple[Region, ...]:
    """Component rows as boxes normalised to the full frame (at most ``limit``)."""
    x0, y0 = roi.x0, roi.y0
    return tuple(
        [
            Region((x + x0) / width, (y + y0) / height, w / width, h / height)
            for _label, x, y, w, h, _area in list(rows)[:limit]
        ]
    )


def regions_of(
    smap: StructureMap,
    roi: RoiMask,
    width: int,
    height: int,
    shading: tuple[Frame, Frame] | None = None,
) -> DeltaResult:
    """Group a structure map into regions and score it.

    ``shading``: the two frames compared, when the light changed between them (see
    `light_changed`): regions smaller than `LIT_MIN_REGION_FRACTION` of the ROI and regions
    that are `shading_only` are then not counted.
    """
    return delta_of(components_of(smap, roi, shading), roi, width, height)


def delta_of(comps: Components, roi: RoiMask, width: int, height: int) -> DeltaResult:
    """The `DeltaResult` of grouped components."""
    if not comps.rows:
        return DeltaResult(0.0, 0.0, _NO_CHANGE, comps.judged_fraction)
    changed_px = float(sum([row[5] for row in comps.rows]))
    fraction = min(1.0, changed_px / comps.denominator)
    regions = boxes_of(comps.rows, roi, width, height)
    return DeltaResult(saturate(fraction), fraction, regions, comps.judged_fraction)


def light_changed(brightness: float) -> bool:
    """Whether a `brightness_in` fraction says the light changed between two frames."""
    return brightness >= SHADING_MIN_BRIGHTNESS


def dist_threshold(lit: bool) -> float:
    """The structural distance threshold of an inventory comparison: `DIST_THRESHOLD` when
    the light changed between the two frames (`light_changed`), else the more sensitive
    `STEADY_DIST_THRESHOLD`."""
    return DIST_THRESHOLD if lit else STEADY_DIST_THRESHOLD


def lcn_roi(frame: Frame, poly: Polygon) -> RoiMask:
    """The mask of ``poly`` at the resolution of the structural features."""
    h, w = frame.lcn.shape
    return roi_mask(w, h, poly)


def inventory_delta(baseline: Frame, cur: Frame, poly: Polygon) -> DeltaResult:
    """Structural change of ``cur`` against ``baseline`` inside ``poly``."""
    roi = lcn_roi(cur, poly)
    lit = light_changed(brightness_in(baseline, cur, roi, SHADING_MIN_BRIGHTNESS))
    smap = structure_map(baseline, cur, roi, threshold=dist_threshold(lit), lit=lit)
    h, w = cur.lcn.shape
    return regions_of(smap, roi, w, h, (baseline, cur) if lit else None)


def similarity_of(smap: StructureMap, roi: RoiMask) -> float:
    """Empty similarity from the structure map of the empty reference against a frame."""
    if smap.raw_fraction == 0.0:
        return 1.0
    opened = cv2.morphologyEx(smap.changed, cv2.MORPH_OPEN, _K3)
    denom = max(float(smap.judged_px), MIN_VALID_FRACTION * roi.area)
    return 1.0 - saturate(min(1.0, cv2.countNonZero(opened) / denom))


def empty_similarity(cur: Frame, empty_ref: Frame, poly: Polygon) -> float:
    """How much ``cur`` looks like the empty-shelf reference inside ``roi``, in 0..1.

    ``1 - score`` of the same structural test as the inventory delta, with the opening as
    the only grouping (no minimum region size): 1 when the structure is the same, below
    0.8 as soon as anything of about half a percent of the ROI differs (one small item left
    gives about 0.3-0.5). Suggested ``empty_confirmed`` threshold: >= 0.8.
    """
    roi = lcn_roi(cur, poly)
    return similarity_of(structure_map(empty_ref, cur, roi), roi)
