"""Brightness change between two frames' thumbnails: the lighting detector's first test, and
the inventory delta's cue that the light changed between baseline and now.

A pixel moved when ``|a - b| > LIGHT_STEP + LIGHT_RELATIVE * max(a, b)`` (grey levels): a
step of a few grey levels is noise or JPEG, and brighter pixels need a bigger step.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.frame import Frame
from shelfcam.vision.roi import RoiMask

LIGHT_STEP = 10.0
LIGHT_RELATIVE = 0.10

# moved when |a - b| > LIGHT_STEP + LIGHT_RELATIVE * max(a, b): the bound per max(a, b).
_BOUND = np.clip(LIGHT_STEP + LIGHT_RELATIVE * np.arange(256), 0, 255).astype(np.uint8)


# |a - b| > LIGHT_STEP, read from the half difference d = round((a - b) / 2 + 128): every
# such pixel has |d - 128| >= 5 (|a - b| >= 11 gives |(a - b) / 2| >= 5.5).
_NEAR_STEP = int(LIGHT_STEP) // 2
_MOVED_HALF = np.where(np.abs(np.arange(256) - 128) >= _NEAR_STEP, 255, 0).astype(np.uint8)


def moved_upper_bound(half_diff: NDArray[np.uint8]) -> float:
    """An upper bound of the whole-view `brightness_change` from the thumbnails' half
    difference (`shelfcam.vision.motion.half_difference`), in two cheap operations."""
    return cv2.countNonZero(cv2.LUT(half_diff, _MOVED_HALF)) / float(half_diff.size)


def brightness_change(
    a: NDArray[np.uint8], b: NDArray[np.uint8], mask: NDArray[np.uint8] | None = None
) -> float:
    """Fraction of pixels (inside ``mask`` if given) whose brightness moved noticeably."""
    moved = cv2.compare(cv2.absdiff(a, b), cv2.LUT(cv2.max(a, b), _BOUND), cv2.CMP_GT)
    if mask is None:
        return cv2.countNonZero(moved) / float(moved.size)
    n = cv2.countNonZero(mask)
    return cv2.countNonZero(cv2.bitwise_and(moved, mask)) / float(n) if n else 0.0


def brightness_in(a: Frame, b: Frame, roi: RoiMask, at_least: float = 0.0) -> float:
    """`brightness_change` of two frames' thumbnails inside ``roi`` (bounding box only).

    With ``at_least`` > 0, a cheaper necessary test (``|a - b| > LIGHT_STEP``) runs first;
    when it already shows less than ``at_least`` of the ROI moved, that upper bound is
    returned instead of the exact fraction.
    """
    ys, xs = slice(roi.y0, roi.y1), slice(roi.x0, roi.x1)
    sa, sb = a.small[ys, xs], b.small[ys, xs]
    crop = None if roi.is_box else roi.crop
    delta = cv2.absdiff(sa, sb)
    if at_least > 0.0:
        bound = cv2.threshold(delta, LIGHT_STEP, 255, cv2.THRESH_BINARY)[1]
        if crop is not None:
            bound = cv2.bitwise_and(bound, crop)
        upper = cv2.countNonZero(bound) / float(roi.area)
        if upper < at_least:
            return upper
    moved = cv2.compare(delta, cv2.LUT(cv2.max(sa, sb), _BOUND), cv2.CMP_GT)
    if crop is not None:
        moved = cv2.bitwise_and(moved, crop)
    return cv2.countNonZero(moved) / float(roi.area)
