"""JPEG decoding at analysis scale.

simplejpeg (libjpeg-turbo) can decode at 1/8..8/8 of the stored size in the DCT domain, which
costs far less than a full decode followed by a resize. Every score in this package runs on
the grayscale image decoded with `decode_gray`: the smallest scale whose width is at least
`ANALYSIS_MIN_WIDTH` and height at least `ANALYSIS_MIN_HEIGHT`, i.e. 160x120 for VGA, 200x150
for SVGA and UXGA, 180x240 for a portrait 480x640 stream. Distances reported in "analysis px"
(the scene shift) are pixels of that image.

Checking an upload (size from the header, truncation) is `shelfcam.ingest.jpeg.check_jpeg`'s
job; this module only decodes and encodes.
"""

from __future__ import annotations

import numpy as np
import simplejpeg
from numpy.typing import NDArray

from shelfcam.errors import InvalidInput

ANALYSIS_MIN_WIDTH = 160
"""Smallest analysis width: the decode picks the smallest DCT scale giving at least this."""
ANALYSIS_MIN_HEIGHT = 120
"""Smallest analysis height (a portrait stream is limited by its width instead)."""


def decode_gray(
    data: bytes,
    *,
    min_width: int = ANALYSIS_MIN_WIDTH,
    min_height: int = ANALYSIS_MIN_HEIGHT,
) -> NDArray[np.uint8]:
    """Decode a JPEG to a 2-D uint8 grayscale array at reduced (DCT-domain) scale.

    The scale is the smallest of libjpeg-turbo's M/8 factors giving at least ``min_width`` x
    ``min_height`` (an image already smaller is decoded at full size).
    """
    try:
        img = simplejpeg.decode_jpeg(
            data, colorspace="GRAY", min_width=min_width, min_height=min_height
        )
    except ValueError as err:
        raise InvalidInput(f"not a decodable JPEG: {err}") from err
    gray: NDArray[np.uint8] = img[:, :, 0]
    return gray


def decode_rgb(data: bytes) -> NDArray[np.uint8]:
    """Decode a JPEG at full size to an ``(h, w, 3)`` RGB array (for overlays and privacy)."""
    try:
        img: NDArray[np.uint8] = simplejpeg.decode_jpeg(data, colorspace="RGB")
    except ValueError as err:
        raise InvalidInput(f"not a decodable JPEG: {err}") from err
    return img


def encode_jpeg(rgb: NDArray[np.uint8], *, quality: int = 85) -> bytes:
    """Encode an ``(h, w, 3)`` RGB array (e.g. an overlay) as JPEG bytes."""
    out: bytes = simplejpeg.encode_jpeg(np.ascontiguousarray(rgb), quality=quality)
    return out
