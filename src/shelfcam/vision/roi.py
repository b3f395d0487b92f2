"""Regions of interest: normalised polygons, their raster masks, and changed-region boxes.

A polygon (`shelfcam.vision.polygons.Polygon`, validated by `polygons.validate` / ``parse``)
is a tuple of ``(x, y)`` points in normalised image coordinates (0..1, origin top left), so a
ROI survives a change of camera resolution; `FULL_FRAME` is the whole view, the default of both
ROIs. Masks are rasterised per analysis resolution and cached (bounded LRU keyed on the
resolution and the polygon itself, so a new ROI version with new points is a new key).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.polygons import FULL_FRAME, Point, Polygon

__all__ = [
    "FULL_FRAME",
    "Point",
    "Polygon",
    "Region",
    "RoiMask",
    "Rois",
    "polygon_bbox",
    "roi_mask",
]

_SUBPIXEL_BITS = 4
_K3 = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class Rois:
    """The two ROIs of a device. ``version`` is the device's ROI version (for the trace)."""

    interaction: Polygon = FULL_FRAME
    inventory: Polygon = FULL_FRAME
    version: int = 0


@dataclass(frozen=True)
class Region:
    """An axis-aligned box normalised to the full frame: x, y of the top-left corner, w, h."""

    x: float
    y: float
    w: float
    h: float

    def to_dict(self, ndigits: int = 4) -> dict[str, float]:
        """Plain JSON-ready form ``{"x": .., "y": .., "w": .., "h": ..}``."""
        return {
            "x": round(self.x, ndigits),
            "y": round(self.y, ndigits),
            "w": round(self.w, ndigits),
            "h": round(self.h, ndigits),
        }

    def iou(self, other: Region) -> float:
        """Intersection over union of two boxes (0 when disjoint)."""
        ix = max(0.0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0.0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True, eq=False)
class RoiMask:
    """A rasterised ROI: full-size mask, its bounding box and the mask cropped to that box."""

    mask: NDArray[np.uint8]
    """(h, w) uint8, 255 inside the polygon."""
    x0: int
    y0: int
    x1: int
    y1: int
    crop: NDArray[np.uint8]
    """``mask[y0:y1, x0:x1]``, contiguous."""
    area: int
    """Pixels inside the polygon (at least 1)."""
    is_box: bool = False
    """The polygon fills its bounding box (an axis-aligned rectangle): ``crop`` is all 255,
    so masking with it can be skipped."""
    rim_index: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    """Flat indices (into the ``crop``-sized box) of the ROI's outermost pixels, next to
    the outside of the ROI or of the frame: where an arm reaching in crosses into it."""

    @property
    def fraction(self) -> float:
        """Share of the frame the ROI covers."""
        h, w = self.mask.shape
        return self.area / float(w * h)


def _rasterise(width: int, height: int, poly: Polygon) -> NDArray[np.uint8]:
    mask = np.zeros((height, width), np.uint8)
    scale = float(1 << _SUBPIXEL_BITS)
    pts = np.array([[x * width * scale, y * height * scale] for x, y in poly], np.float64)
    cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 255, cv2.LINE_8, _SUBPIXEL_BITS)
    return mask


@lru_cache(maxsize=64)
def roi_mask(width: int, height: int, poly: Polygon) -> RoiMask:
    """The cached raster of ``poly`` at ``width`` x ``height`` (arrays are read-only)."""
    mask = _rasterise(width, height, poly)
    area = int(cv2.countNonZero(mask))
    if area == 0:
        # A degenerate polygon still covers the pixel under its first point.
        px = min(width - 1, int(poly[0][0] * width))
        py = min(height - 1, int(poly[0][1] * height))
        mask[py, px] = 255
        area = 1
    x, y, w, h = cv2.boundingRect(mask)
    crop = np.ascontiguousarray(mask[y : y + h, x : x + w])
    inner = cv2.erode(crop, _K3, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    rim_index = np.flatnonzero(cv2.subtract(crop, inner))
    for a in (mask, crop, rim_index):
        a.flags.writeable = False
    return RoiMask(
        mask=mask,
        x0=x,
        y0=y,
        x1=x + w,
        y1=y + h,
        crop=crop,
        area=area,
        is_box=area == w * h,
        rim_index=rim_index,
    )


def polygon_bbox(poly: Polygon) -> Region:
    """The normalised bounding box of a polygon."""
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    return Region(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
