"""Camera health: obstruction, sharpness and scene shift.

* ``obstruction`` in 0..1 is the larger of ``dark`` (mean grey from `OBSTRUCTION_DARK_MEAN`
  down to `OBSTRUCTION_BLACK_MEAN` maps 0 -> 1) and ``flat`` (share of textured pixels, see
  ``Frame.texture``, from `OBSTRUCTION_MIN_TEXTURE` down to 0 maps 0 -> 1). A hand over the
  lens, a cloth, a lens cap or a black room all score near 1; a normal shelf scores 0.
  Suggested threshold 0.7 (held for a few seconds). A naturally bare view (a white wall)
  also scores high: compare against the reference frame's own score if that happens.
* ``sharpness`` in 0..1 is ``Frame.sharpness``: ``1 - exp(-(var(I - mean5x5(I)) / var(I)) /
  0.1)`` on the thumbnail, a scale-free ratio of fine detail to overall contrast (defocus,
  fog, a smeared lens lower it). Informative only; it also rises with strong noise.
* ``scene_shift`` measures the translation of the view against a reference by phase
  correlation of the Hann-windowed small views (``Frame.shift_in``, 32x24 for VGA): the
  product of the two frames' whitened spectra (``Frame.shift_spectrum``, computed once per
  frame) is transformed back, the peak located, and its sub-pixel offset estimated from the
  larger neighbour on each axis (Foroosh et al. 2002; OpenCV's ``phaseCorrelate`` centroid
  reads a 1.6 px shift of its grid as about 1). It is reported in analysis px with the sum
  of the 3x3 correlation around the peak as confidence (near 1 for the same static view,
  lower when much of the view differs). The whole view is used, not only the part outside
  the ROIs: masking the ROIs out puts the mask's own (static) edges into both images, which
  pulls the estimate towards zero (measured: a 12 px shift read as 3 px). The static
  majority of the view dominates the peak; a hand in view lowers the confidence more than
  it moves the peak.
  Suggested: shifted when ``shift_px >= 1.0`` (4 px of a VGA frame) with
  ``confidence >= 0.3``, held for several frames with the view stable.
* ``explained_shift`` checks an estimate: a camera that moved displaced the whole static
  view, so the view shifted back by the estimate matches the reference far better than as
  it is. Matching is the normalised correlation ``r`` of the two frames' local-contrast
  images (``Frame.lcn``, so brightness and exposure do not count), without a border of
  `SHIFT_BORDER` px; the score is ``(r1 - r0) / (1 - r0)``, the share of the mismatch at
  zero (``r0``) that shifting back removes (``r1``); 0 when ``r0`` is within
  `SHIFT_MIN_MISMATCH` of 1 (nothing to explain). Measured: real frames shifted by 4-32 VGA
  px explain 0.68-0.99, the synthetic knocks 0.83; light switched on or off, items taken
  and a hand in view, whose peaks read 1-2 px off, explain nothing (below 0.1). Without
  this check those peaks read as a moved camera.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from shelfcam.vision.frame import Frame, as_f32

OBSTRUCTION_DARK_MEAN = 40.0
OBSTRUCTION_BLACK_MEAN = 10.0
OBSTRUCTION_MIN_TEXTURE = 0.08
SHIFT_MIN_MISMATCH = 0.02
"""When the unshifted views correlate within this of 1, a shift has nothing to explain."""
SHIFT_BORDER = 4
"""Thumbnail px left out at each side when matching (a shifted view brings in new edges)."""


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


def _subpixel(before: float, peak: float, after: float) -> float:
    """Offset of the true peak from the sampled one, from its larger neighbour (Foroosh et
    al. 2002: for a phase-correlation peak, ``n / (n + peak)`` is the fractional shift)."""
    if after >= before:
        return after / (after + peak) if after > 0.0 else 0.0
    return -before / (before + peak) if before > 0.0 else 0.0


def scene_shift(reference: Frame, cur: Frame) -> Shift:
    """Translation (dx, dy) of ``cur`` against ``reference`` in analysis px, and confidence.

    A positive dx means the content moved right in ``cur`` (the camera turned left).
    """
    if reference.shift_spectrum.shape != cur.shift_spectrum.shape:
        raise ValueError("scene_shift needs two frames of the same analysis size")
    h, w = cur.shift_in.shape
    cross = cv2.mulSpectrums(cur.shift_spectrum, reference.shift_spectrum, 0, conjB=True)
    corr = cv2.idft(cross, flags=cv2.DFT_REAL_OUTPUT | cv2.DFT_SCALE)
    _low, peak, _low_at, (px, py) = cv2.minMaxLoc(corr)
    # The 3x3 neighbourhood of the peak (the correlation is cyclic).
    up, down = (py - 1) % h, (py + 1) % h
    left, right = (px - 1) % w, (px + 1) % w
    at = corr.item
    w_, e_, n_, s_ = at(py, left), at(py, right), at(up, px), at(down, px)
    dx = px + _subpixel(w_, peak, e_)
    dy = py + _subpixel(n_, peak, s_)
    if dx > w / 2.0:  # the far half of the cyclic correlation is a negative shift
        dx -= w
    if dy > h / 2.0:
        dy -= h
    corners = at(up, left) + at(up, right) + at(down, left) + at(down, right)
    response = float(peak + w_ + e_ + n_ + s_ + corners)
    conf = response if math.isfinite(response) else 0.0
    return Shift(
        dx * cur.width / float(w),
        dy * cur.height / float(h),
        min(1.0, max(0.0, conf)),
    )


_INNER = (slice(SHIFT_BORDER, -SHIFT_BORDER), slice(SHIFT_BORDER, -SHIFT_BORDER))


def _correlation(x: np.ndarray, y: np.ndarray, xx: float) -> float:
    """Normalised correlation of two images' inner parts; ``xx`` is ``x``'s squared norm.
    ``x . y`` comes from ``|x - y|^2`` (one OpenCV call each, no copies)."""
    yy = cv2.norm(y[_INNER], cv2.NORM_L2SQR)
    cross = 0.5 * (xx + yy - cv2.norm(x[_INNER], y[_INNER], cv2.NORM_L2SQR))
    norm = math.sqrt(xx * yy)
    return cross / norm if norm > 0.0 else 0.0


def explained_shift(reference: Frame, cur: Frame, dx: float, dy: float) -> float:
    """How much of the mismatch between ``reference`` and ``cur`` the translation (``dx``,
    ``dy``, analysis px) explains, 0..1 (see the module docstring)."""
    h, w = cur.lcn.shape
    if min(h, w) <= 4 * SHIFT_BORDER:
        return 0.0
    xx = cv2.norm(reference.lcn[_INNER], cv2.NORM_L2SQR)
    before = _correlation(reference.lcn, cur.lcn, xx)
    if before >= 1.0 - SHIFT_MIN_MISMATCH:
        return 0.0
    # The LCN image is at thumbnail resolution: half the analysis px.
    back = np.array([[1.0, 0.0, -dx / 2.0], [0.0, 1.0, -dy / 2.0]], np.float32)
    moved = as_f32(
        cv2.warpAffine(
            cur.lcn, back, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
    )
    after = _correlation(reference.lcn, moved, xx)
    return min(1.0, max(0.0, (after - before) / (1.0 - before)))
