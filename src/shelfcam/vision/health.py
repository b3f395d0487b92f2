"""Camera health: obstruction, sharpness and scene shift.

* ``obstruction`` in 0..1 is the larger of ``dark`` (mean grey from `OBSTRUCTION_DARK_MEAN`
  down to `OBSTRUCTION_BLACK_MEAN` maps 0 -> 1) and ``flat`` (share of textured pixels, see
  ``Frame.texture``, from `OBSTRUCTION_MIN_TEXTURE` down to 0 maps 0 -> 1). A hand over the
  lens, a cloth, a lens cap or a black room all score near 1; a normal shelf scores 0.
  Suggested threshold 0.7 (held for a few seconds). A naturally bare view (a white wall)
  also scores high: compare against the reference frame's own score if that happens.
* ``sharpness`` in 0..1 is ``Frame.sharpness``: ``1 - exp(-(var(Laplacian)/var(image))/0.5)``,
  a scale-free ratio of fine detail to overall contrast (defocus, fog, a smeared lens lower
  it). Informative only; it also rises with strong noise.
* ``scene_shift`` measures the translation of the view against a reference by phase
  correlation on the half-resolution thumbnails, with a Hann window multiplied by a feathered
  mask of the view outside both ROIs (the static part of the scene; the whole view when
  less than `SHIFT_MIN_OUTSIDE` of it lies outside). The translation is reported in analysis
  px with the correlation peak's response as confidence (about 0.3-1 for a clear match, below
  0.1 when the views do not match). Suggested: shifted when ``shift_px >= 1.5`` (about 6 px of
  a VGA frame) with ``confidence >= 0.2``, held for a few frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.frame import Frame, as_f32, as_u8
from shelfcam.vision.roi import Polygon, roi_mask

OBSTRUCTION_DARK_MEAN = 40.0
OBSTRUCTION_BLACK_MEAN = 10.0
OBSTRUCTION_MIN_TEXTURE = 0.08
SHIFT_MIN_OUTSIDE = 0.15


@dataclass(frozen=True)
class Shift:
    """Translation of the current view against the reference, in analysis px."""

    dx: float
    dy: float
    confidence: float

    @property
    def magnitude(self) -> float:
        return math.hypot(self.dx, self.dy)


def obstruction(frame: Frame) -> float:
    """How much the view looks blocked: dark, uniform or without detail (0..1)."""
    dark_span = OBSTRUCTION_DARK_MEAN - OBSTRUCTION_BLACK_MEAN
    dark = min(1.0, max(0.0, (OBSTRUCTION_DARK_MEAN - frame.mean) / dark_span))
    flat = min(1.0, max(0.0, 1.0 - frame.texture / OBSTRUCTION_MIN_TEXTURE))
    return max(dark, flat)


def sharpness(frame: Frame) -> float:
    """Normalised sharpness, 0..1 (see module docstring)."""
    return frame.sharpness


@lru_cache(maxsize=32)
def shift_window(width: int, height: int, rois: tuple[Polygon, ...]) -> NDArray[np.float32]:
    """Hann window times a feathered mask of the view outside ``rois`` (cached, read-only)."""
    win = as_f32(cv2.createHanningWindow((width, height), cv2.CV_32F))
    if rois:
        inside = np.zeros((height, width), np.uint8)
        for poly in rois:
            inside = as_u8(cv2.bitwise_or(inside, roi_mask(width, height, poly).mask))
        outside = cv2.bitwise_not(inside)
        if cv2.countNonZero(outside) >= SHIFT_MIN_OUTSIDE * width * height:
            k = max(3, (min(width, height) // 10) | 1)
            soft = cv2.GaussianBlur(outside.astype(np.float32) / 255.0, (k, k), 0)
            win = as_f32(cv2.multiply(win, soft))
    win.flags.writeable = False
    return win


def _prepare(small: NDArray[np.uint8], win: NDArray[np.float32]) -> NDArray[np.float32]:
    f = small.astype(np.float32)
    total = float(win.sum())
    mean = float(cv2.sumElems(cv2.multiply(f, win))[0]) / total if total > 0 else 0.0
    return as_f32(cv2.multiply(f - np.float32(mean), win))


def scene_shift(reference: Frame, cur: Frame, static: tuple[Polygon, ...] = ()) -> Shift:
    """Translation (dx, dy) of ``cur`` against ``reference`` in analysis px, and confidence.

    ``static`` lists the polygons to exclude (the ROIs, where things are expected to move).
    A positive dx means the content moved right in ``cur``.
    """
    if reference.small.shape != cur.small.shape:
        raise ValueError("scene_shift needs two frames of the same analysis size")
    h, w = cur.small.shape
    win = shift_window(w, h, static)
    (dx, dy), response = cv2.phaseCorrelate(
        _prepare(reference.small, win), _prepare(cur.small, win)
    )
    scale_x = cur.width / float(w)
    scale_y = cur.height / float(h)
    conf = float(response) if math.isfinite(response) else 0.0
    return Shift(float(dx) * scale_x, float(dy) * scale_y, min(1.0, max(0.0, conf)))
