"""Motion between consecutive frames: inside the interaction ROI and over the whole view.

Pixel test: the signed difference of the two thumbnails is taken at half precision
(``(cur - prev) / 2 + 128`` in one saturating OpenCV call); its median is the global
brightness offset between the frames (auto-exposure steps, flicker) and is subtracted; a
pixel changed when the rest exceeds ``max(MOTION_MIN_STEP * light, MOTION_NOISE_K *
sigma)``, where ``light`` scales the floor down in dim views (`MOTION_FULL_MEAN`) and
sigma is the robust spread (1.4826 x median absolute deviation) of the difference: the
threshold follows the noise of the pair. Median and MAD come from a regular sample of every
4th thumbnail pixel in each direction. A 3x3 opening then removes isolated speckles.

When the frames' brightness differs by more than `GAIN_TOLERANCE` (a lamp fading, an
exposure step), the previous thumbnail is first scaled by the robust gain between them
(the median ratio of the sampled pixels): a multiplicative change is not motion.

Scores are fractions of pixels that changed: ``motion`` of the ROI, ``frame_change`` of
the whole frame, both in 0..1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.frame import Frame, as_u8
from shelfcam.vision.roi import Region, RoiMask

MOTION_MIN_STEP = 6.0
"""Smallest pixel change counted, in half grey levels (6 = 12 grey levels), in a view at
least `MOTION_FULL_MEAN` bright; a dimmer view with steady light scales it down (to half at
most): a person in a room at a fifth of the light changes pixels by a fifth as much."""
MOTION_FULL_MEAN = 100.0
"""Mean grey level from which the whole `MOTION_MIN_STEP` applies."""
GAIN_TOLERANCE = 0.02
"""When the two frames' mean brightness differ by more than this ratio, the exposure or
the light changed between them: the previous frame is scaled by their gain first."""
MOTION_NOISE_K = 4.0
"""Changed when |difference - median| > MOTION_NOISE_K robust sigmas (or the floor)."""

_K3 = np.ones((3, 3), np.uint8)
_LEVELS = np.arange(256)
_ABS_DEV = np.abs(_LEVELS[:, None] - _LEVELS[None, :]).astype(np.uint8)
"""``_ABS_DEV[m][v] = |v - m|`` for grey levels: one lookup per sample."""


@dataclass(frozen=True, eq=False)
class MotionResult:
    """Motion in a ROI and over the whole frame, plus the mask that produced them."""

    motion: float
    """Fraction (0..1) of the ROI's pixels that changed."""
    frame_change: float
    """Fraction (0..1) of all pixels that changed."""
    threshold: float
    """The pixel threshold used, in grey levels (for the trace)."""
    noise: float
    """Robust sigma of the frame difference, grey levels."""
    changed: NDArray[np.uint8]
    """The cleaned change mask (255 = changed) at thumbnail resolution."""


def _offset_and_spread(diff: NDArray[np.uint8]) -> tuple[int, float]:
    """Median and robust sigma (1.4826 x MAD) of the difference, from every 4th pixel in
    both directions (300 samples for VGA: the threshold's floor dominates unless the noise
    is heavy, and a few percent of error on a heavy-noise sigma does not matter)."""
    sample = diff[::4, ::4].flatten()  # always a copy: partitioned in place
    k = sample.size // 2
    sample.partition(k)
    med = int(sample[k])
    dev = _ABS_DEV[med].take(sample)
    dev.partition(k)
    return med, 1.4826 * float(dev[k])


@lru_cache(maxsize=512)
def _change_lut(offset: int, step: int) -> NDArray[np.uint8]:
    """Lookup table: 255 where ``|level - offset| > step`` (levels and step are integers)."""
    lut = np.where(np.abs(_LEVELS - offset) > step, 255, 0).astype(np.uint8)
    lut.flags.writeable = False
    return lut


def half_difference(prev: Frame, cur: Frame) -> NDArray[np.uint8]:
    """``(cur - prev) / 2 + 128`` of the thumbnails, rounded and saturated (uint8)."""
    return as_u8(cv2.addWeighted(cur.small, 0.5, prev.small, -0.5, 128.0))


def _steady(prev: Frame, cur: Frame) -> bool:
    """The two frames' mean brightness agree within `GAIN_TOLERANCE`."""
    return prev.mean > 0.0 and abs(cur.mean / prev.mean - 1.0) <= GAIN_TOLERANCE


def _gain(prev: Frame, cur: Frame) -> float:
    """The robust brightness gain from ``prev`` to ``cur`` (1.0 when `_steady`): the
    median ratio of sampled pixels bright enough to tell."""
    if prev.mean <= 0.0 or _steady(prev, cur):
        return 1.0
    a = prev.small[::4, ::4].astype(np.float32)
    b = cur.small[::4, ::4].astype(np.float32)
    lit = (a > 8.0) & (b > 8.0)
    if int(lit.sum()) < 16:
        return 1.0
    return float(min(2.0, max(0.5, np.median(b[lit] / a[lit]))))


def change_mask(
    prev: Frame, cur: Frame, diff: NDArray[np.uint8] | None = None
) -> tuple[NDArray[np.uint8], float, float]:
    """The cleaned change mask of ``cur`` against ``prev`` (thumbnails), with the threshold
    and the noise sigma used (in half grey levels, the difference's unit). ``diff`` is their
    `half_difference` when already computed."""
    gain = _gain(prev, cur)
    if gain != 1.0:
        diff = as_u8(cv2.addWeighted(cur.small, 0.5, prev.small, -0.5 * gain, 128.0))
    elif diff is None:
        diff = half_difference(prev, cur)
    med, sigma = _offset_and_spread(diff)
    # A dim view lowers the floor, unless its light is changing (a lamp fading out is not
    # a uniform gain: what is left of the difference is the light, not motion).
    light = min(1.0, max(0.5, min(prev.mean, cur.mean) / MOTION_FULL_MEAN))
    floor = MOTION_MIN_STEP * (light if _steady(prev, cur) else 1.0)
    thr = max(floor, MOTION_NOISE_K * sigma)
    # One lookup does "subtract the offset, take the magnitude, threshold": differences are
    # integers, so "> thr" is "> floor(thr)" and the table is cached per (offset, floor).
    lut = _change_lut(med, math.floor(thr))
    changed = as_u8(cv2.morphologyEx(cv2.LUT(diff, lut), cv2.MORPH_OPEN, _K3))
    return changed, thr, sigma


def motion_in(changed: NDArray[np.uint8], roi: RoiMask) -> tuple[float, float]:
    """(motion in ``roi``, frame_change) of a change mask."""
    total = cv2.countNonZero(changed)
    if total == 0:
        return 0.0, 0.0
    frame_change = total / float(changed.size)
    if roi.area == changed.size:
        return frame_change, frame_change
    sub = changed[roi.y0 : roi.y1, roi.x0 : roi.x1]
    inside = cv2.countNonZero(sub if roi.is_box else cv2.bitwise_and(sub, roi.crop))
    return inside / float(roi.area), frame_change


def motion_scores(prev: Frame, cur: Frame, roi: RoiMask) -> MotionResult:
    """Motion of ``cur`` against ``prev`` in ``roi`` and over the whole frame (see module).

    Works on the half-resolution thumbnails (``Frame.small``, area-averaged, so already
    denoised); ``roi`` is a mask at that resolution.
    """
    if prev.small.shape != cur.small.shape:
        raise ValueError("motion_scores needs two frames of the same analysis size")
    changed, thr, sigma = change_mask(prev, cur)
    motion, frame_change = motion_in(changed, roi)
    return MotionResult(motion, frame_change, 2.0 * thr, 2.0 * sigma, changed)


MAX_MOVING = 8
"""At most this many moving places are reported (the largest)."""


def moving_places(changed: NDArray[np.uint8], roi: RoiMask) -> tuple[Region, ...]:
    """Boxes (normalised to the frame) of the connected moving places of a change mask
    inside ``roi``'s bounding box, largest first."""
    sub = changed[roi.y0 : roi.y1, roi.x0 : roi.x1]
    if not roi.is_box:
        sub = as_u8(cv2.bitwise_and(sub, roi.crop))
    count, _labels, stats, _c = cv2.connectedComponentsWithStats(sub, connectivity=8)
    if count <= 1:
        return ()
    h, w = changed.shape
    rows = sorted(stats.tolist()[1:], key=lambda r: r[4], reverse=True)[:MAX_MOVING]
    return tuple(
        Region((x + roi.x0) / w, (y + roi.y0) / h, bw / w, bh / h) for x, y, bw, bh, _a in rows
    )
