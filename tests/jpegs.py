"""Real JPEG files for tests: textured synthetic scenes, encoded with libjpeg-turbo."""

from __future__ import annotations

import numpy as np
import simplejpeg


def scene(width: int = 640, height: int = 480, seed: int = 0) -> np.ndarray:
    """An RGB image with gradients, blocks and noise (compresses like a real photo)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack(
        [(x * 255 // max(1, width - 1)), (y * 255 // max(1, height - 1)), (x + y) % 256], axis=-1
    ).astype(np.int16)
    for _ in range(12):
        x0, y0 = int(rng.integers(0, width - 20)), int(rng.integers(0, height - 20))
        w, h = int(rng.integers(10, width // 4)), int(rng.integers(10, height // 4))
        base[y0 : y0 + h, x0 : x0 + w] = rng.integers(0, 256, size=3)
    base += rng.integers(-9, 10, size=base.shape, dtype=np.int16)
    return np.clip(base, 0, 255).astype(np.uint8)


def jpeg(width: int = 640, height: int = 480, seed: int = 0, quality: int = 85) -> bytes:
    return simplejpeg.encode_jpeg(
        scene(width, height, seed), quality=quality, colorsubsampling="420"
    )


def with_size_in_header(data: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its SOF marker claiming another size (for bomb-guard tests)."""
    for marker in (b"\xff\xc0", b"\xff\xc2", b"\xff\xc1"):
        at = data.find(marker)
        if at != -1:
            patched = bytearray(data)
            patched[at + 5 : at + 7] = height.to_bytes(2, "big")
            patched[at + 7 : at + 9] = width.to_bytes(2, "big")
            return bytes(patched)
    raise ValueError("no SOF marker found")
