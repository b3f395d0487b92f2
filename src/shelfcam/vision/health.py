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
  correlation of the Hann-windowed quarter-resolution views (``Frame.shift_in``, 40x30 for
  VGA), with sub-pixel peak location. It is reported in analysis px with the correlation
  peak's response as confidence (near 1 for the same static view, lower when much of the
  view differs). The whole view is used, not only the part outside the ROIs: masking the
  ROIs out puts the mask's own (static) edges into both images, which pulls the estimate
  towards zero (measured: a 12 px shift read as 3 px). The static majority of the view
  dominates the peak; a hand in view lowers the confidence more than it moves the peak.
  Suggested: shifted when ``shift_px >= 1.0`` (4 px of a VGA frame) with
  ``confidence >= 0.3``, held for several frames with the view stable.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2

from shelfcam.vision.frame import Frame

OBSTRUCTION_DARK_MEAN = 40.0
OBSTRUCTION_BLACK_MEAN = 10.0
OBSTRUCTION_MIN_TEXTURE = 0.08


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


def scene_shift(reference: Frame, cur: Frame) -> Shift:
    """Translation (dx, dy) of ``cur`` against ``reference`` in analysis px, and confidence.

    A positive dx means the content moved right in ``cur`` (the camera turned left).
    """
    if reference.shift_in.shape != cur.shift_in.shape:
        raise ValueError("scene_shift needs two frames of the same analysis size")
    h, w = cur.shift_in.shape
    (dx, dy), response = cv2.phaseCorrelate(reference.shift_in, cur.shift_in)
    conf = float(response) if math.isfinite(response) else 0.0
    return Shift(
        float(dx) * cur.width / float(w),
        float(dy) * cur.height / float(h),
        min(1.0, max(0.0, conf)),
    )
