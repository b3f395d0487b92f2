"""Checking an uploaded JPEG without decoding it."""

from __future__ import annotations

from dataclasses import dataclass

import simplejpeg

from shelfcam.errors import InvalidJpeg, NotAJpeg

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"
MAX_SIDE = 10_000
MAX_PIXELS = 40_000_000  # far above any ESP32 sensor; a decompression-bomb guard
_TRAILER_SLACK = 64  # some firmwares pad the buffer after the end-of-image marker


@dataclass(frozen=True)
class JpegInfo:
    width: int
    height: int


def check_jpeg(data: bytes) -> JpegInfo:
    """Return the JPEG's size, or raise 415 (not a JPEG) / 422 (broken, truncated, absurd)."""
    if not data.startswith(SOI):
        raise NotAJpeg("the image does not start with a JPEG start-of-image marker (FF D8)")
    try:
        height, width, _colorspace, _subsampling = simplejpeg.decode_jpeg_header(data)
    except ValueError as err:
        raise InvalidJpeg(f"the JPEG header is invalid: {err}") from err
    if EOI not in data[-_TRAILER_SLACK:] and not data.rstrip(b"\x00").endswith(EOI):
        raise InvalidJpeg("the JPEG is truncated: no end-of-image marker (FF D9)")
    if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise InvalidJpeg(f"the JPEG's size {width}x{height} is out of range")
    return JpegInfo(width=int(width), height=int(height))
