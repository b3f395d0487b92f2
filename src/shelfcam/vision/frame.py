"""`Frame`: one decoded frame plus the features every score shares, computed once.

The worker builds a `Frame` per incoming JPEG and keeps the previous one (and the baseline,
reference and empty-reference frames) around, so no feature is ever computed twice. All
arrays are read-only.

Features:

* ``gray``: the scaled grayscale decode (analysis resolution, e.g. 160x120 for VGA).
* ``small``: half-resolution area-averaged thumbnail (80x60 for VGA, so 1/8 of the camera's
  width). Area averaging removes most sensor and JPEG noise; motion, the structural
  comparisons, lighting, health and scene shift all work at this resolution.
* ``lcn``: local contrast normalisation of ``small`` over a 5x5 window,
  ``(I - mean) / sqrt(var + (LCN_RELATIVE * mean)^2 + LCN_MIN_SIGMA^2)``. A local gain and
  offset (a light switched on, exposure and white-balance drift, a soft shadow, daylight)
  leaves it almost unchanged: contrast is measured relative to the local brightness, and
  contrast below a few grey levels counts as flat (noise).
* ``valid``: 255 where the 5x5 neighbourhood is neither dark (below `CLIP_LOW`) nor blown out
  (above `CLIP_HIGH`): there JPEG quantisation and sensor noise leave no trustworthy
  structure, so no structural judgement is made. Consequence: items darker than about grey
  32 under the current light are invisible to the inventory delta.
* ``shift_in``: the quarter-resolution view (40x30 for VGA), mean removed and multiplied by a
  Hann window: the input of the scene-shift phase correlation, ready to use.
* ``mean``, ``std``: brightness statistics of the thumbnail; ``texture``: fraction of
  thumbnail pixels whose local standard deviation exceeds `TEXTURE_SIGMA`; ``sharpness`` in
  0..1 (see `shelfcam.vision.health`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.decode import ANALYSIS_MIN_HEIGHT, ANALYSIS_MIN_WIDTH, decode_gray

LCN_WINDOW = 5
"""Side of the square window (analysis px) of the local statistics."""
LCN_MIN_SIGMA = 4.0
"""Floor of the regularising sigma: local contrast below this is treated as flat."""
LCN_RELATIVE = 0.05
"""Weber term: local contrast is regularised by this fraction of the local mean as well."""
CLIP_LOW = 32
CLIP_HIGH = 247
TEXTURE_SIGMA = 6.0
"""A pixel is 'textured' when its 5x5 standard deviation exceeds this (grey levels)."""
SHARPNESS_SCALE = 0.5
"""sharpness = 1 - exp(-(var(Laplacian) / var(image)) / SHARPNESS_SCALE)."""

_LAPLACE_MEDIAN_PER_SIGMA = 0.6745 * math.sqrt(20.0)
_K3 = np.ones((3, 3), np.uint8)
_KW = np.ones((LCN_WINDOW, LCN_WINDOW), np.uint8)
_HIST_BINS = [256]
_HIST_RANGE = [0.0, 256.0]
_CHANNEL0 = [0]

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]


def as_u8(a: cv2.typing.MatLike) -> U8:
    """Type an OpenCV result known to be uint8 (the stubs return a generic array)."""
    return cast(U8, a)


def as_f32(a: cv2.typing.MatLike) -> F32:
    """Type an OpenCV result known to be float32."""
    return cast(F32, a)


@dataclass(frozen=True, eq=False)
class Frame:
    """A decoded frame and its shared features (see the module docstring)."""

    gray: U8
    small: U8
    lcn: F32
    shift_in: F32
    valid: U8
    mean: float
    std: float
    texture: float
    sharpness: float

    @property
    def width(self) -> int:
        return int(self.gray.shape[1])

    @property
    def height(self) -> int:
        return int(self.gray.shape[0])


@lru_cache(maxsize=8)
def hann_window(width: int, height: int) -> F32:
    """The cached 2-D Hann window of a size (read-only)."""
    win = as_f32(cv2.createHanningWindow((width, height), cv2.CV_32F))
    win.flags.writeable = False
    return win


def _freeze(*arrays: NDArray[np.generic]) -> None:
    for a in arrays:
        a.flags.writeable = False


def make_frame(gray: U8) -> Frame:
    """Build a `Frame` from a 2-D uint8 grayscale image (normally from `decode_gray`).

    The frame takes ownership of ``gray``: it is made read-only.
    """
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError("make_frame needs a 2-D uint8 grayscale image")
    h, w = gray.shape
    small = as_u8(cv2.resize(gray, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA))

    g_mean, g_std = cv2.meanStdDev(small)
    mean = float(g_mean[0, 0])
    std = float(g_std[0, 0])
    _l_mean, l_std = cv2.meanStdDev(cv2.Laplacian(small, cv2.CV_16S))
    sharp = 1.0 - math.exp(-(float(l_std[0, 0]) ** 2 / max(std * std, 1.0)) / SHARPNESS_SCALE)

    th, tw = max(2, small.shape[0] // 2), max(2, small.shape[1] // 2)
    tiny = cv2.resize(small, (tw, th), interpolation=cv2.INTER_AREA).astype(np.float32)
    shift_in = as_f32(cv2.multiply(tiny - np.float32(tiny.mean()), hann_window(tw, th)))

    f = small.astype(np.float32)
    win = (LCN_WINDOW, LCN_WINDOW)
    mu = cv2.boxFilter(f, -1, win, borderType=cv2.BORDER_REFLECT)
    sq = cv2.sqrBoxFilter(f, cv2.CV_32F, win, borderType=cv2.BORDER_REFLECT)
    mu2 = cv2.multiply(mu, mu)
    # Local variance var = sq - mu^2. The regularised denominator adds (LCN_RELATIVE * mu)^2
    # (contrast judged relative to local brightness) and LCN_MIN_SIGMA^2 (noise floor).
    reg = cv2.addWeighted(sq, 1.0, mu2, LCN_RELATIVE * LCN_RELATIVE - 1.0, LCN_MIN_SIGMA**2)
    lcn = as_f32(cv2.divide(cv2.subtract(f, mu), cv2.sqrt(reg)))
    texture_floor = TEXTURE_SIGMA * TEXTURE_SIGMA
    n_small = small.shape[0] * small.shape[1]
    texture = float(np.count_nonzero(cv2.subtract(sq, mu2) > texture_floor)) / float(n_small)
    valid = as_u8(cv2.erode(cv2.inRange(small, CLIP_LOW, CLIP_HIGH), _KW))
    _freeze(gray, small, lcn, valid, shift_in)
    return Frame(
        gray=gray,
        small=small,
        lcn=lcn,
        shift_in=shift_in,
        valid=valid,
        mean=mean,
        std=std,
        texture=texture,
        sharpness=sharp,
    )


def frame_from_jpeg(
    data: bytes,
    *,
    min_width: int = ANALYSIS_MIN_WIDTH,
    min_height: int = ANALYSIS_MIN_HEIGHT,
) -> Frame:
    """Decode a JPEG at analysis scale and build its `Frame`."""
    return make_frame(decode_gray(data, min_width=min_width, min_height=min_height))
