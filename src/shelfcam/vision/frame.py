"""`Frame`: one decoded frame plus the features every score shares, computed once.

The worker builds a `Frame` per incoming JPEG and keeps the previous one (and the baseline,
reference and empty-reference frames) around, so no feature is ever computed twice. All
arrays are read-only.

Features (all at analysis resolution unless said otherwise):

* ``gray``: the scaled grayscale decode.
* ``blur``: 3x3 box blur of ``gray`` (motion works on it: less JPEG and sensor noise).
* ``small``: half-resolution area-averaged thumbnail (lighting, scene shift).
* ``lcn``: local contrast normalisation of ``blur``: ``(I - mean5x5) / sqrt(var5x5 + C)``.
  Any local gain and offset (a light switched on, exposure and white-balance drift, a soft
  shadow, daylight) leaves it unchanged; it is what the structural comparisons use.
  ``C`` grows with the frame's noise so that noise on a flat surface stays small.
* ``valid``: 255 where the 5x5 neighbourhood is neither crushed black nor blown out: outside
  it the sensor shows no structure, so no structural judgement is made there.
* ``noise``: robust estimate of the sensor/JPEG noise sigma in grey levels (median absolute
  Laplacian, Immerkaer-style).
* ``mean``, ``std``: brightness statistics; ``texture``: fraction of pixels whose local
  standard deviation exceeds `TEXTURE_SIGMA`; ``sharpness`` in 0..1 (see `sharpness_of`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np
from numpy.typing import NDArray

from shelfcam.vision.decode import ANALYSIS_MIN_HEIGHT, ANALYSIS_MIN_WIDTH, decode_gray

LCN_WINDOW = 5
"""Side of the square window (analysis px) of the local statistics."""
LCN_MIN_SIGMA = 4.0
"""Floor of the regularising sigma: local contrast below this is treated as flat."""
LCN_NOISE_FACTOR = 2.0
"""Regularising sigma = max(LCN_MIN_SIGMA, LCN_NOISE_FACTOR * noise)."""
LCN_RELATIVE = 0.1
"""Weber term: local contrast is regularised by this fraction of the local mean as well."""
CLIP_LOW = 8
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
    blur: U8
    small: U8
    lcn: F32
    valid: U8
    noise: float
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


def hist_median(hist: cv2.typing.MatLike, fraction: float = 0.5) -> float:
    """The value below which ``fraction`` of a 256-bin histogram's mass lies."""
    cum = np.cumsum(hist.ravel())
    target = fraction * float(cum[-1])
    return float(np.searchsorted(cum, target, side="left"))


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
    blur = as_u8(cv2.blur(gray, (3, 3)))
    small = as_u8(cv2.resize(gray, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA))

    lap = cv2.Laplacian(gray, cv2.CV_16S)
    lap_abs = cv2.convertScaleAbs(lap)
    hist = cv2.calcHist([lap_abs], _CHANNEL0, None, _HIST_BINS, _HIST_RANGE)
    noise = hist_median(hist) / _LAPLACE_MEDIAN_PER_SIGMA
    g_mean, g_std = cv2.meanStdDev(gray)
    _l_mean, l_std = cv2.meanStdDev(lap)
    mean = float(g_mean[0, 0])
    std = float(g_std[0, 0])
    sharp = 1.0 - math.exp(-(float(l_std[0, 0]) ** 2 / max(std * std, 1.0)) / SHARPNESS_SCALE)

    f = blur.astype(np.float32)
    win = (LCN_WINDOW, LCN_WINDOW)
    mu = cv2.boxFilter(f, -1, win, borderType=cv2.BORDER_REFLECT)
    sq = cv2.sqrBoxFilter(f, -1, win, borderType=cv2.BORDER_REFLECT)
    var = sq - mu * mu
    texture = float(np.count_nonzero(var > TEXTURE_SIGMA * TEXTURE_SIGMA)) / float(h * w)
    reg = max(LCN_MIN_SIGMA, LCN_NOISE_FACTOR * noise)
    # var + (LCN_RELATIVE * mu)^2 + reg^2: contrast is judged relative to local brightness.
    var = sq - (1.0 - LCN_RELATIVE * LCN_RELATIVE) * (mu * mu) + reg * reg
    lcn = as_f32((f - mu) / cv2.sqrt(var))

    valid = as_u8(cv2.erode(cv2.inRange(blur, CLIP_LOW, CLIP_HIGH), _KW))
    _freeze(gray, blur, small, lcn, valid)
    return Frame(
        gray=gray,
        blur=blur,
        small=small,
        lcn=lcn,
        valid=valid,
        noise=noise,
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
