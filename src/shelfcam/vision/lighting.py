"""Lighting change: much of the view changed brightness while little of its structure did.

Two measurements between frames ``a`` and ``b``:

* ``brightness``: fraction of the half-resolution thumbnail (inside the ROI) whose grey level
  moved by more than ``LIGHT_STEP + LIGHT_RELATIVE * max(a, b)``;
* ``structure``: fraction of judged pixels whose local structure changed (the same test as the
  inventory delta, `shelfcam.vision.delta.structure_map`). Pixels crushed to black or blown
  out in either frame carry no structure and are not judged, so a light switched fully off
  (black frame) counts as "structure unchanged where visible".

``score = brightness * clip(1 - structure / LIGHT_STRUCTURE_LIMIT, 0, 1)`` in 0..1 when at
least half the view (`LIGHT_MIN_BRIGHTNESS`) changed brightness, else 0 (the engine's
``lighting_threshold`` judges it). A hand or a passer-by changes brightness and
structure together (score near 0); a covered lens replaces the structure with a flat
surface (score near 0); a lamp switched on or off, or a big exposure jump, scores 0.5-1.
"""

from __future__ import annotations

from dataclasses import dataclass

from shelfcam.vision.brightness import LIGHT_RELATIVE, LIGHT_STEP, brightness_change, brightness_in
from shelfcam.vision.delta import StructureMap, structure_map
from shelfcam.vision.frame import Frame
from shelfcam.vision.roi import RoiMask

__all__ = [
    "LIGHT_MIN_BRIGHTNESS",
    "LIGHT_RELATIVE",
    "LIGHT_STEP",
    "LIGHT_STRUCTURE_LIMIT",
    "LightingResult",
    "brightness_change",
    "brightness_in",
    "lighting_change",
    "lighting_from",
]

LIGHT_STRUCTURE_LIMIT = 0.25
LIGHT_MIN_BRIGHTNESS = 0.5
"""Below this fraction of the view changing brightness, structure is not examined."""


@dataclass(frozen=True)
class LightingResult:
    score: float
    """0..1 (see module docstring); the engine's ``lighting_threshold`` judges it."""
    brightness: float
    """Fraction of the view whose brightness changed."""
    structure: float
    """Fraction of the judged view whose structure changed."""


def lighting_from(brightness: float, structure: float) -> LightingResult:
    """Combine the two measurements into a score."""
    keep = min(1.0, max(0.0, 1.0 - structure / LIGHT_STRUCTURE_LIMIT))
    score = brightness * keep
    return LightingResult(score, brightness, structure)


_UNCHANGED = LightingResult(0.0, 0.0, 0.0)


def lighting_change(
    a: Frame,
    b: Frame,
    roi: RoiMask,
    smap: StructureMap | None = None,
    bright: float | None = None,
) -> LightingResult:
    """Lighting change from ``a`` to ``b`` inside ``roi`` (a mask at thumbnail resolution).

    The structure is examined only when at least `LIGHT_MIN_BRIGHTNESS` of the ROI changed
    brightness (pass ``smap`` and ``bright``, a `brightness_in` result, when already
    computed); below that the score is 0 (and ``brightness`` may be an upper bound of the
    fraction, from a cheaper test).
    """
    if bright is None:
        bright = brightness_in(a, b, roi, LIGHT_MIN_BRIGHTNESS)
    if bright < LIGHT_MIN_BRIGHTNESS:
        return LightingResult(0.0, bright, 0.0) if bright else _UNCHANGED
    if smap is None:
        smap = structure_map(a, b, roi, lit=True)
    return lighting_from(bright, smap.raw_fraction)
