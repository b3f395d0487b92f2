"""Motion between consecutive frames: inside the interaction ROI and over the whole view.

Pixel test: the signed difference of the two thumbnails is taken at half precision
(``(cur - prev) / 2 + 128`` in one saturating OpenCV call); its median is the global
brightness offset between the frames (auto-exposure steps, flicker) and is subtracted; a
pixel changed when the rest exceeds ``max(MOTION_MIN_STEP, MOTION_NOISE_K * sigma)`` where
sigma is the robust spread (1.4826 x median absolute deviation) of the difference: the
threshold follows the noise of the pair. A 3x3 opening then removes isolated speckles.

Scores are fractions of pixels that changed: ``motion`` of the ROI, ``frame_change`` of
the whole frame, both in 0..1.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.frame import Frame, as_u8
from shelfcam.vision.roi import RoiMask

MOTION_MIN_STEP = 6.0
"""Smallest pixel change counted, in half grey levels (6 = 12 grey levels)."""
MOTION_NOISE_K = 4.0
"""Changed when |difference - median| > MOTION_NOISE_K robust sigmas (or the floor)."""

_K3 = np.ones((3, 3), np.uint8)
_LEVELS = np.arange(256)


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
    """Median and robust sigma (1.4826 x MAD) of the difference, from every 2nd pixel."""
    hist = np.bincount(diff[::2, ::2].ravel(), minlength=256)
    cum = np.cumsum(hist)
    half = 0.5 * float(cum[-1])
    med = int(np.searchsorted(cum, half))
    dev_hist = np.zeros(257, np.int64)
    dev_hist[: 256 - med] += hist[med:]
    dev_hist[1 : med + 1] += hist[:med][::-1]
    mad = float(np.searchsorted(np.cumsum(dev_hist), half))
    return med, 1.4826 * mad


def motion_scores(prev: Frame, cur: Frame, roi: RoiMask) -> MotionResult:
    """Motion of ``cur`` against ``prev`` in ``roi`` and over the whole frame (see module).

    Works on the half-resolution thumbnails (``Frame.small``, area-averaged, so already
    denoised); ``roi`` is a mask at that resolution.
    """
    if prev.small.shape != cur.small.shape:
        raise ValueError("motion_scores needs two frames of the same analysis size")
    diff = as_u8(cv2.addWeighted(cur.small, 0.5, prev.small, -0.5, 128.0))
    med, sigma = _offset_and_spread(diff)
    thr = max(MOTION_MIN_STEP, MOTION_NOISE_K * sigma)
    # One lookup does "subtract the offset, take the magnitude, threshold".
    lut = np.where(np.abs(_LEVELS - med) > thr, 255, 0).astype(np.uint8)
    changed = as_u8(cv2.morphologyEx(cv2.LUT(diff, lut), cv2.MORPH_OPEN, _K3))
    total = cv2.countNonZero(changed)
    h, w = changed.shape
    frame_change = total / float(h * w)
    if total == 0:
        motion = 0.0
    else:
        sub = changed[roi.y0 : roi.y1, roi.x0 : roi.x1]
        motion = cv2.countNonZero(cv2.bitwise_and(sub, roi.crop)) / float(roi.area)
    return MotionResult(motion, frame_change, 2.0 * thr, 2.0 * sigma, changed)
