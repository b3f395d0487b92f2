"""Synthetic images with known answers for the vision tests (pure numpy)."""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

U8 = NDArray[np.uint8]
W, H = 160, 120


def textured(seed: int, w: int = W, h: int = H) -> U8:
    """A shelf-like textured grey image: smooth shading, grain, and a few edges."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w), 120.0, np.float32)
    img += cv2.resize(rng.standard_normal((6, 8)).astype(np.float32), (w, h)) * 15.0
    img += cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (3, 3), 0) * 6.0
    for _ in range(12):
        x, y = int(rng.integers(0, w - 10)), int(rng.integers(0, h - 10))
        cv2.rectangle(
            img, (x, y), (x + int(rng.integers(6, 30)), y + 8), float(rng.uniform(60, 190)), -1
        )
    return np.clip(img, 0, 255).astype(np.uint8)


def with_object(img: U8, box: tuple[int, int, int, int], seed: int = 7) -> U8:
    """``img`` with a textured object (its own colour and label) drawn in ``box`` x, y, w, h."""
    rng = np.random.default_rng(seed)
    x, y, w, h = box
    out = img.copy()
    obj = np.full((h, w), 200.0, np.float32)
    obj[h // 3 : 2 * h // 3, w // 5 : 4 * w // 5] = 70.0
    obj += rng.standard_normal((h, w)).astype(np.float32) * 4.0
    out[y : y + h, x : x + w] = np.clip(obj, 0, 255).astype(np.uint8)
    return out


def noisy(img: U8, sigma: float, seed: int) -> U8:
    rng = np.random.default_rng(seed)
    return np.clip(img + rng.standard_normal(img.shape) * sigma, 0, 255).astype(np.uint8)


def gain_offset(img: U8, gain: float, offset: float) -> U8:
    out: U8 = np.clip(img.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
    return out


def plain(seed: int, w: int = W, h: int = H) -> U8:
    """An untextured board: grey 130 with a faint, smooth shading (a few grey levels)."""
    rng = np.random.default_rng(seed)
    img = np.full((h, w), 130.0, np.float32)
    img += cv2.resize(rng.standard_normal((3, 4)).astype(np.float32), (w, h)) * 3.0
    return np.clip(img, 0, 255).astype(np.uint8)


def with_flat_item(img: U8, box: tuple[int, int, int, int], level: int) -> U8:
    """``img`` with an untextured item of grey ``level`` in ``box`` x, y, w, h: only its
    outline is structure."""
    x, y, w, h = box
    out = img.copy()
    out[y : y + h, x : x + w] = level
    return out
