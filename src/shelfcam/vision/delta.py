"""Structural change between two frames inside a ROI: the inventory delta and empty similarity.

Brightness is not compared. Each frame carries its local-contrast-normalised image ``lcn``
(see `shelfcam.vision.frame`), which a local gain and offset leave unchanged: a light switched
on, exposure or white-balance drift, daylight and soft shadows all vary slowly across the
view and so act as a local gain/offset. The per-pixel structural distance is

    dist = min(mean5x5((lcn_a - lcn_b)^2), mean5x5((lcn_a + lcn_b)^2))

which is about 0 for the same structure (the second term tolerates the polarity flip of a
shading edge when a lamp changes side), about 1 where a textured patch became flat or the
reverse, and about 2 for unrelated texture. A pixel is changed when ``dist > DIST_THRESHOLD``
and both frames show structure there (not clipped black or white, see ``Frame.valid``).

Changed pixels are grouped in connected components; components smaller than
`MIN_REGION_FRACTION` of the ROI are dropped as noise. The changed fraction ``f`` is the
area of the kept components over the judged (valid) ROI area, and the score saturates it:

    score = 1 - exp(-f / DELTA_SCALE)        (DELTA_SCALE = 0.025)

so f = 0.13 % -> 0.05, 0.56 % -> 0.20, 1 % -> 0.33, 3 % -> 0.70, 6 % -> 0.91. A small item
(about 3 % of the ROI) that appears or vanishes scores about 0.5-0.8 (its outline and
texture change; a flat item on a flat board changes only along its outline); JPEG noise,
exposure drift and lights switched on or off stay below 0.05 on the synthetic suite.
Suggested threshold for ``stock_changed``: 0.2.

"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.frame import LCN_WINDOW, Frame, as_u8
from shelfcam.vision.roi import Polygon, Region, RoiMask, roi_mask

DIST_THRESHOLD = 0.45
"""Structural distance above which a pixel counts as changed."""
DELTA_SCALE = 0.025
"""Changed fraction that gives score 1 - 1/e (0.63)."""
MIN_REGION_FRACTION = 0.0015
"""Components smaller than this fraction of the ROI are noise."""
MIN_REGION_PX = 4
MIN_VALID_FRACTION = 0.25
"""Below this share of judged ROI pixels the changed fraction uses this share instead."""
MAX_REGIONS = 12


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


@lru_cache(maxsize=16)
def _zeros(height: int, width: int) -> NDArray[np.float32]:
    """A cached read-only float32 zero image (``absdiff`` against it is ``abs``)."""
    z = np.zeros((height, width), np.float32)
    z.flags.writeable = False
    return z


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


def structure_map(a: Frame, b: Frame, roi: RoiMask) -> StructureMap:
    """Structural distance test of ``a`` against ``b`` inside ``roi`` (same analysis size).

    ``dist = min(mean((za - zb)^2), mean((za + zb)^2))`` over the window, computed as
    ``Ea + Eb - 2 |mean(za zb)|`` from the frames' cached energies ``E = mean(z^2)``
    (``Frame.lcn_energy``): one box filter per pair. A pixel changed when ``dist >
    DIST_THRESHOLD``, i.e. ``|mean(za zb)| < (Ea + Eb - DIST_THRESHOLD) / 2``.
    """
    if a.lcn.shape != b.lcn.shape:
        raise ValueError("structure_map needs two frames of the same analysis size")
    h, w = a.lcn.shape
    gy, gx, iy, ix = _margin(roi.y0, roi.y1, roi.x0, roi.x1, h, w)
    cross = cv2.boxFilter(cv2.multiply(a.lcn[gy, gx], b.lcn[gy, gx]), -1, _WIN, borderType=_REFLECT)
    limit = cv2.addWeighted(
        a.lcn_energy[gy, gx], 0.5, b.lcn_energy[gy, gx], 0.5, -0.5 * DIST_THRESHOLD
    )
    over = cv2.compare(cv2.absdiff(cross, _zeros(cross.shape[0], cross.shape[1])), limit, _LT)
    ys, xs = slice(roi.y0, roi.y1), slice(roi.x0, roi.x1)
    judged = as_u8(cv2.bitwise_and(cv2.bitwise_and(a.valid[ys, xs], b.valid[ys, xs]), roi.crop))
    changed = as_u8(cv2.bitwise_and(over[iy, ix], judged))
    judged_px = cv2.countNonZero(judged)
    raw = cv2.countNonZero(changed) / judged_px if judged_px else 0.0
    return StructureMap(changed, judged, judged_px, raw)


def saturate(fraction: float) -> float:
    """The score scale shared by inventory delta and empty similarity."""
    return 1.0 - math.exp(-fraction / DELTA_SCALE)


_NO_CHANGE: tuple[Region, ...] = ()


def regions_of(smap: StructureMap, roi: RoiMask, width: int, height: int) -> DeltaResult:
    """Group a structure map into regions and score it."""
    judged_fraction = smap.judged_px / float(roi.area)
    if smap.raw_fraction == 0.0:
        return DeltaResult(0.0, 0.0, _NO_CHANGE, judged_fraction)
    mask = cv2.morphologyEx(smap.changed, cv2.MORPH_OPEN, _K3)
    if cv2.countNonZero(mask) == 0:
        return DeltaResult(0.0, 0.0, _NO_CHANGE, judged_fraction)
    _n, _labels, stats, _centroids = cv2.connectedComponentsWithStats(
        mask, connectivity=8, ltype=cv2.CV_16U
    )
    min_area = max(MIN_REGION_PX, MIN_REGION_FRACTION * roi.area)
    # Rows of stats: x, y, w, h, area; row 0 is the background.
    kept = [row for row in stats.tolist()[1:] if row[4] >= min_area]
    if not kept:
        return DeltaResult(0.0, 0.0, _NO_CHANGE, judged_fraction)
    kept.sort(key=lambda row: -row[4])
    changed_px = float(sum(row[4] for row in kept))
    denom = max(float(smap.judged_px), MIN_VALID_FRACTION * roi.area)
    fraction = min(1.0, changed_px / denom)
    x0, y0 = roi.x0, roi.y0
    regions = tuple(
        Region((x + x0) / width, (y + y0) / height, w / width, h / height)
        for x, y, w, h, _area in kept[:MAX_REGIONS]
    )
    return DeltaResult(saturate(fraction), fraction, regions, judged_fraction)


def lcn_roi(frame: Frame, poly: Polygon) -> RoiMask:
    """The mask of ``poly`` at the resolution of the structural features."""
    h, w = frame.lcn.shape
    return roi_mask(w, h, poly)


def inventory_delta(baseline: Frame, cur: Frame, poly: Polygon) -> DeltaResult:
    """Structural change of ``cur`` against ``baseline`` inside ``poly``."""
    roi = lcn_roi(cur, poly)
    smap = structure_map(baseline, cur, roi)
    h, w = cur.lcn.shape
    return regions_of(smap, roi, w, h)


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
