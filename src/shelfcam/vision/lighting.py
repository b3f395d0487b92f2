"""Lighting change: much of the view changed brightness while little of its structure did.

Two measurements between frames ``a`` and ``b``:

* ``brightness``: fraction of the half-resolution thumbnail (inside the ROI) whose grey level
  moved by more than ``LIGHT_STEP + LIGHT_RELATIVE * max(a, b)``;
* ``structure``: fraction of judged pixels whose local structure changed (the same test as the
  inventory delta, `shelfcam.vision.delta.structure_map`). Pixels crushed to black or blown
  out in either frame carry no structure and are not judged, so a light switched fully off
  (black frame) counts as "structure unchanged where visible".

``score = brightness * clip(1 - structure / LIGHT_STRUCTURE_LIMIT, 0, 1)`` in 0..1 and
``changed = score >= LIGHTING_THRESHOLD``. A hand or a passer-by changes brightness and
structure together (score near 0); a covered lens replaces the structure with a flat
surface (score near 0); a lamp switched on or off, or a big exposure jump, scores 0.5-1.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.delta import StructureMap

LIGHT_STEP = 10.0
LIGHT_RELATIVE = 0.10
LIGHT_STRUCTURE_LIMIT = 0.4
LIGHTING_THRESHOLD = 0.35
"""Score at or above which a lighting change is reported."""


@dataclass(frozen=True)
class LightingResult:
    score: float
    """0..1 (see module docstring); `LIGHTING_THRESHOLD` decides ``changed``."""
    changed: bool
    brightness: float
    """Fraction of the view whose brightness changed."""
    structure: float
    """Fraction of the judged view whose structure changed."""


def brightness_change(
    a: NDArray[np.uint8], b: NDArray[np.uint8], mask: NDArray[np.uint8] | None = None
) -> float:
    """Fraction of pixels (inside ``mask`` if given) whose brightness moved noticeably."""
    d = cv2.absdiff(a, b).astype(np.float32)
    m = cv2.max(a, b).astype(np.float32)
    moved = d > m * LIGHT_RELATIVE + LIGHT_STEP
    if mask is None:
        return float(np.count_nonzero(moved)) / float(moved.size)
    inside = mask > 0
    n = int(np.count_nonzero(inside))
    return float(np.count_nonzero(moved & inside)) / n if n else 0.0


def lighting_from(brightness: float, structure: float) -> LightingResult:
    """Combine the two measurements into a score and a decision."""
    keep = min(1.0, max(0.0, 1.0 - structure / LIGHT_STRUCTURE_LIMIT))
    score = brightness * keep
    return LightingResult(score, score >= LIGHTING_THRESHOLD, brightness, structure)


def lighting_change(
    a_small: NDArray[np.uint8],
    b_small: NDArray[np.uint8],
    smap: StructureMap,
    small_mask: NDArray[np.uint8] | None = None,
) -> LightingResult:
    """Lighting change between two frames given their thumbnails and their structure map."""
    return lighting_from(brightness_change(a_small, b_small, small_mask), smap.raw_fraction)
