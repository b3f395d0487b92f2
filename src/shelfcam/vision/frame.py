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
* ``lcn_energy``: the 5x5 mean of ``lcn^2``, so that comparing two frames' structure needs a
  single box filter per pair (see `shelfcam.vision.delta.structure_map`).
* ``valid``: 255 where the 5x5 neighbourhood is neither dark (below `CLIP_LOW`) nor blown out
  (above `CLIP_HIGH`): there JPEG quantisation and sensor noise leave no trustworthy
  structure, so no structural judgement is made. Consequence: items darker than about grey
  16 are invisible to the inventory delta. Across a light change the bar is higher
  (`lit_valid`, `LIT_CLIP_LOW`): a lamp changes the shading of dark corners most.
* ``shift_in``: a small view of about a quarter of the analysis resolution, at sides the DFT
  handles fast (32x24 for VGA, 48x32 for UXGA; `shift_size`), mean removed and multiplied by
  a Hann window; ``shift_spectrum``: its DFT (complex, ``(h, w, 2)``) whitened to unit
  magnitude. Scene shift against a reference is then one spectrum product and one inverse
  DFT (`shelfcam.vision.health.scene_shift`). Both are computed on first use: the camera's
  position is judged on still frames only, so a frame with motion never needs them.
* ``mean``, ``std``: brightness statistics of the thumbnail; ``texture``: fraction of
  thumbnail pixels whose local standard deviation exceeds `TEXTURE_SIGMA`; ``sharpness`` in
  0..1: ``1 - exp(-(var(I - mean5x5(I)) / var(I)) / SHARPNESS_SCALE)``, the share of the
  thumbnail's contrast that is fine detail (see `shelfcam.vision.health`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache
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
CLIP_LOW = 16
"""Darker than this (grey), a pixel carries no structure worth judging..."""
LIT_CLIP_LOW = 32
"""... and darker than this when the light changed between the two frames compared."""
CLIP_HIGH = 247
TEXTURE_SIGMA = 6.0
"""A pixel is 'textured' when its 5x5 standard deviation exceeds this (grey levels)."""
SHARPNESS_SCALE = 0.1
"""sharpness = 1 - exp(-(var(I - mean5x5(I)) / var(I)) / SHARPNESS_SCALE) on the thumbnail."""

_KW = np.ones((LCN_WINDOW, LCN_WINDOW), np.uint8)
_WIN = (LCN_WINDOW, LCN_WINDOW)
_REFLECT = cv2.BORDER_REFLECT
_LEVELS = np.arange(256)
_VALID_LUT = np.where((_LEVELS >= CLIP_LOW) & (_LEVELS <= CLIP_HIGH), 255, 0).astype(np.uint8)
_LIT_VALID_LUT = np.where((_LEVELS >= LIT_CLIP_LOW) & (_LEVELS <= CLIP_HIGH), 255, 0).astype(
    np.uint8
)
"""Grey level -> 255 when neither dark nor blown out (one LUT instead of inRange)."""
_FAST_DFT_SIDES = (8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
"""Sides the DFT handles fastest (2^a * 3^b; a 30x40 DFT costs 3-4x a 24x32 one)."""
_SPECTRUM_FLOOR = np.float32(1e-6)

F32 = NDArray[np.float32]
U8 = NDArray[np.uint8]


def _freeze(*arrays: NDArray[np.generic]) -> None:
    for a in arrays:
        a.flags.writeable = False


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
    lcn_energy: F32
    valid: U8
    mean: float
    std: float
    texture: float
    sharpness: float

    @cached_property
    def _shift(self) -> tuple[F32, F32]:
        shift_in, spectrum = _shift_features(self.small, self.mean)
        _freeze(shift_in, spectrum)
        return shift_in, spectrum

    @property
    def shift_in(self) -> F32:
        return self._shift[0]

    @property
    def shift_spectrum(self) -> F32:
        return self._shift[1]

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


@lru_cache(maxsize=8)
def shift_size(width: int, height: int) -> tuple[int, int]:
    """Size of the scene-shift view for a thumbnail of ``width`` x ``height``: about half of
    it, rounded down to a side the DFT handles fast (80x60 -> 32x24, 100x75 -> 48x32)."""

    def side(n: int) -> int:
        fast = [s for s in _FAST_DFT_SIDES if s <= n]
        return fast[-1] if fast else max(2, n)

    return side(width // 2), side(height // 2)


def _shift_features(small: U8, mean: float) -> tuple[F32, F32]:
    """The windowed quarter view and its whitened spectrum (see the module docstring)."""
    sh, sw = small.shape
    tw, th = shift_size(sw, sh)
    # Area-average to a quarter (fast, integer factor), then to the DFT-friendly size.
    half = cv2.resize(small, (max(1, sw // 2), max(1, sh // 2)), interpolation=cv2.INTER_AREA)
    tiny = cv2.resize(half, (tw, th), interpolation=cv2.INTER_LINEAR)
    # (tiny - mean) * hann; area averaging keeps the mean, so the thumbnail's mean centres it.
    hann = hann_window(tw, th)
    shift_in = as_f32(cv2.scaleAdd(hann, -mean, cv2.multiply(tiny, hann, dtype=cv2.CV_32F)))
    spectrum = as_f32(cv2.dft(shift_in, flags=cv2.DFT_COMPLEX_OUTPUT))
    # Whitened: every frequency keeps its phase only. The cross-power spectrum of two such
    # spectra is already normalised, so phase correlation is one product and one inverse DFT.
    magnitude = np.abs(spectrum.view(np.complex64))  # (h, w, 1), one per (re, im) pair
    np.maximum(magnitude, _SPECTRUM_FLOOR, out=magnitude)
    spectrum /= magnitude
    return shift_in, spectrum


def make_frame(gray: U8) -> Frame:
    """Build a `Frame` from a 2-D uint8 grayscale image (normally from `decode_gray`).

    The frame takes ownership of ``gray``: it is made read-only.
    """
    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError("make_frame needs a 2-D uint8 grayscale image")
    h, w = gray.shape
    small = as_u8(cv2.resize(gray, (max(1, w // 2), max(1, h // 2)), interpolation=cv2.INTER_AREA))
    sh, sw = small.shape

    g_mean, g_std = cv2.meanStdDev(small)
    mean = float(g_mean[0, 0])
    std = float(g_std[0, 0])

    mu = cv2.boxFilter(small, cv2.CV_32F, _WIN, borderType=_REFLECT)
    mu2 = cv2.multiply(mu, mu)
    var = cv2.subtract(cv2.sqrBoxFilter(small, cv2.CV_32F, _WIN, borderType=_REFLECT), mu2)
    detail = cv2.subtract(small, mu, dtype=cv2.CV_32F)  # I - mean5x5: the fine detail
    # Regularised local sigma^2: var + (LCN_RELATIVE * mu)^2 (contrast judged relative to the
    # local brightness) + LCN_MIN_SIGMA^2 (noise floor).
    reg = cv2.addWeighted(var, 1.0, mu2, LCN_RELATIVE * LCN_RELATIVE, LCN_MIN_SIGMA**2)
    lcn = as_f32(cv2.divide(detail, cv2.sqrt(reg)))
    lcn_energy = as_f32(cv2.sqrBoxFilter(lcn, cv2.CV_32F, _WIN, borderType=_REFLECT))
    textured = cv2.threshold(var, TEXTURE_SIGMA * TEXTURE_SIGMA, 1.0, cv2.THRESH_BINARY)[1]
    texture = cv2.countNonZero(textured) / float(sh * sw)
    # The detail has mean ~0, so its variance is its mean square.
    detail_var = cv2.norm(detail, cv2.NORM_L2SQR) / float(sh * sw)
    detail_ratio = detail_var / max(std * std, 1.0)
    sharp = 1.0 - math.exp(-detail_ratio / SHARPNESS_SCALE)
    valid = as_u8(cv2.erode(cv2.LUT(small, _VALID_LUT), _KW))

    _freeze(gray, small, lcn, lcn_energy, valid)
    return Frame(
        gray=gray,
        small=small,
        lcn=lcn,
        lcn_energy=lcn_energy,
        valid=valid,
        mean=mean,
        std=std,
        texture=texture,
        sharpness=sharp,
    )


def lit_valid(frame: Frame, ys: slice, xs: slice) -> U8:
    """``frame.valid`` with the stricter `LIT_CLIP_LOW`, over a box of the thumbnail: what
    can be judged when the light changed between the two frames compared."""
    return as_u8(cv2.erode(cv2.LUT(frame.small, _LIT_VALID_LUT), _KW)[ys, xs])


def frame_from_jpeg(
    data: bytes,
    *,
    min_width: int = ANALYSIS_MIN_WIDTH,
    min_height: int = ANALYSIS_MIN_HEIGHT,
) -> Frame:
    """Decode a JPEG at analysis scale and build its `Frame`."""
    return make_frame(decode_gray(data, min_width=min_width, min_height=min_height))
