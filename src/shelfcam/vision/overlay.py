"""Images derived for stored event frames: the annotated change overlay and privacy blur."""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.roi import Polygon, Region, roi_mask

RGB = tuple[int, int, int]
OVERLAY_COLOUR: RGB = (255, 40, 40)


def draw_regions(
    rgb: NDArray[np.uint8],
    regions: Iterable[Region],
    *,
    colour: RGB = OVERLAY_COLOUR,
    thickness: int | None = None,
) -> NDArray[np.uint8]:
    """A copy of ``rgb`` (h, w, 3) with each normalised region drawn as a rectangle."""
    out = np.array(rgb, dtype=np.uint8, copy=True)
    h, w = out.shape[:2]
    t = thickness if thickness is not None else max(1, round(min(w, h) / 160))
    for r in regions:
        x0 = round(r.x * w)
        y0 = round(r.y * h)
        x1 = round((r.x + r.w) * w) - 1
        y1 = round((r.y + r.h) * h) - 1
        cv2.rectangle(out, (x0, y0), (max(x0, x1), max(y0, y1)), colour, t)
    return out


def blur_outside(rgb: NDArray[np.uint8], poly: Polygon, *, strength: int = 16) -> NDArray[np.uint8]:
    """A copy of ``rgb`` where everything outside ``poly`` is strongly blurred.

    Pixels inside the polygon are untouched. Outside, the image is reduced by ``strength``,
    blurred and scaled back, which removes faces and text at any resolution.
    """
    h, w = rgb.shape[:2]
    sw, sh = max(1, w // strength), max(1, h // strength)
    small = cv2.resize(rgb, (sw, sh), interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (5, 5), 0)
    blurred = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    mask = roi_mask(w, h, poly).mask
    out = np.array(blurred, dtype=np.uint8, copy=True)
    inside = mask > 0
    out[inside] = rgb[inside]
    return out
