"""The pictures stored with an event: the frames themselves (optionally blurred outside the
inventory ROI), the annotated change overlay and a thumbnail. Bytes in, bytes out."""

from __future__ import annotations

import cv2
import numpy as np
import simplejpeg

from shelfcam.vision import Region, blur_outside, decode_rgb, draw_regions, encode_jpeg
from shelfcam.vision.polygons import Polygon

THUMB_WIDTH = 320


def privacy_copy(jpeg: bytes, inventory_roi: Polygon) -> bytes:
    """The frame with everything outside the inventory ROI blurred (analysis never sees it)."""
    return encode_jpeg(blur_outside(decode_rgb(jpeg), inventory_roi), quality=90)


def annotated(jpeg: bytes, regions: list[dict[str, float]]) -> bytes:
    """The frame with the changed regions drawn as boxes."""
    boxes = [Region(r["x"], r["y"], r["w"], r["h"]) for r in regions]
    return encode_jpeg(draw_regions(decode_rgb(jpeg), boxes), quality=85)


def thumbnail(jpeg: bytes) -> bytes:
    """A small copy (about 320 px wide), decoded at reduced scale."""
    rgb = simplejpeg.decode_jpeg(jpeg, colorspace="RGB", min_width=THUMB_WIDTH)
    h, w = rgb.shape[:2]
    if w > THUMB_WIDTH:
        size = (THUMB_WIDTH, max(1, h * THUMB_WIDTH // w))
        rgb = np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return encode_jpeg(np.ascontiguousarray(rgb), quality=75)


def reference_jpeg(gray: np.ndarray) -> bytes:
    """A grayscale analysis-resolution frame as a small JPEG (kept in the database)."""
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    return encode_jpeg(np.ascontiguousarray(rgb, dtype=np.uint8), quality=95)
