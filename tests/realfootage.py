"""Real camera footage for tests, and the ways real cameras make it harder.

The footage lives beside the checkout (SHELFCAM_REAL_DATA, default ../shared/data/real);
tests that need it skip with that reason when it is absent. Each helper returns frames as
BGR arrays, so variants compose: fewer frames per second, heavy JPEG compression, gain and
white-balance drift, something moving elsewhere in the view, a real object put in. `run`
sends frames through vision and the engine in memory (`shelfcam.sim.offline`), timed as
the camera would stamp them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from shelfcam.engine import EngineConfig, NewEvent
from shelfcam.sim.offline import EPOCH, OfflineResult, run_frames
from shelfcam.vision import Rois

REPO = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("SHELFCAM_REAL_DATA", str(REPO / ".." / "shared" / "data" / "real")))

needs_real_footage = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real footage not found at {REAL} (set SHELFCAM_REAL_DATA)"
)

Image = NDArray[np.uint8]
Box = tuple[float, float, float, float]
"""x0, y0, x1, y1 normalised to the frame."""

BOTTLES_FPS = 29.83 / 3
HOME_FPS = {"alternating-light": 12.5, "light-dark": 12.5, "dark-light": 12.5, "walking-by": 25 / 3}
HOME_STARTUP = 10
"""The first frames of a home-camera clip are the camera starting up."""


def box(x0: float, y0: float, x1: float, y1: float) -> tuple[tuple[float, float], ...]:
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))


BOTTLES_INTERACTION = box(0.0, 0.0, 1.0, 0.95)
BOTTLES_INVENTORY = box(0.02, 0.12, 0.98, 0.92)
HOME_INTERACTION = box(0.15, 0.15, 0.85, 0.95)
HOME_INVENTORY = box(0.3, 0.4, 0.7, 0.8)
"""The ROIs ../shared/tools/realdata/make_cases.py draws on these clips."""


@cache
def _read(folder: str) -> tuple[Image, ...]:
    files = sorted((REAL / folder).glob("*.jpg"))
    assert files, f"no frames in {REAL / folder}"
    return tuple(_load(f) for f in files)


def _u8(image: object) -> Image:
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8
    return image


def _load(path: Path) -> Image:
    image = _u8(cv2.imread(str(path), cv2.IMREAD_COLOR))
    image.flags.writeable = False
    return image


def bottles() -> list[Image]:
    """Transparent bottles taken from a table and put back, seven times (~9.94 fps)."""
    return list(_read("bottles"))


def home(clip: str) -> list[Image]:
    """A home-camera clip (see HOME_FPS), without its start-up frames."""
    return list(_read(f"home-camera/{clip}")[HOME_STARTUP:])


def hand() -> tuple[Image, Image, Image]:
    """The whiteboard, the same view with a hand and arm, and the hand's mask (255 = hand)."""
    folder = REAL / "hand" / "hand1"
    background = _load(folder / "background.png")
    with_hand = _u8(cv2.resize(_load(folder / "frame.png"), background.shape[1::-1]))
    truth = cv2.imread(str(folder / "ground_truth.png"), cv2.IMREAD_GRAYSCALE)
    assert truth is not None
    mask = np.where(cv2.resize(truth, background.shape[1::-1]) < 128, 255, 0).astype(np.uint8)
    return background, with_hand, mask


# --- what real cameras do to footage ------------------------------------------------------


def resample(frames: Sequence[Image], fps: float, to_fps: float) -> list[Image]:
    """Keep the frames a camera sending ``to_fps`` frames a second would have sent."""
    step = fps / to_fps
    count = int(len(frames) / step)
    return [frames[min(len(frames) - 1, round(i * step))] for i in range(count)]


def recode(frames: Sequence[Image], quality: int) -> list[Image]:
    """Through a JPEG encoder at ``quality`` (an ESP32 set to save bandwidth: about 15)."""
    out = []
    for f in frames:
        ok, data = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        out.append(_u8(cv2.imdecode(data, cv2.IMREAD_COLOR)))
    return out


def drift(
    frames: Sequence[Image],
    gain: tuple[float, float],
    white: tuple[tuple[float, float, float], tuple[float, float, float]] = (
        (1.0, 1.0, 1.0),
        (1.0, 1.0, 1.0),
    ),
) -> list[Image]:
    """Auto-exposure and white balance drifting over the clip: the gain goes linearly from
    ``gain[0]`` to ``gain[1]``, each channel's (B, G, R) factor from ``white[0]`` to
    ``white[1]``."""
    out = []
    n = max(1, len(frames) - 1)
    for i, f in enumerate(frames):
        a = i / n
        g = gain[0] + (gain[1] - gain[0]) * a
        wb = [w0 + (w1 - w0) * a for w0, w1 in zip(white[0], white[1], strict=True)]
        scale = np.array(wb, np.float32) * g
        out.append(np.clip(f.astype(np.float32) * scale, 0, 255).astype(np.uint8))
    return out


def knock(frames: Sequence[Image], at: int, dx: int, dy: int) -> list[Image]:
    """The camera knocked on frame ``at``: from then on the view is moved by (``dx``,
    ``dy``) camera pixels (the new edge repeats the old one)."""
    moved = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    return [
        f
        if i < at
        else _u8(
            cv2.warpAffine(f, moved, (f.shape[1], f.shape[0]), borderMode=cv2.BORDER_REPLICATE)
        )
        for i, f in enumerate(frames)
    ]


def darken(frames: Sequence[Image], gain: float, noise: float, seed: int = 3) -> list[Image]:
    """A dimmer room: less light and more sensor noise (the camera turns its gain up)."""
    rng = np.random.default_rng(seed)
    out = []
    for f in frames:
        dim = f.astype(np.float32) * gain + rng.normal(0.0, noise, f.shape)
        out.append(np.clip(dim, 0, 255).astype(np.uint8))
    return out


def with_mover(
    frames: Sequence[Image], sprite: Image, mask: Image, band: Box, period: int
) -> list[Image]:
    """Something moving all the time elsewhere in the view: ``sprite`` (where ``mask`` is
    set) goes back and forth along ``band`` (its top-left corner stays inside it), a full
    sweep every ``period`` frames."""
    out = []
    h, w = frames[0].shape[:2]
    sh, sw = sprite.shape[:2]
    x0, y0, x1, y1 = int(band[0] * w), int(band[1] * h), int(band[2] * w) - sw, int(band[3] * h)
    for i, f in enumerate(frames):
        phase = (i % period) / period
        along = 2 * phase if phase < 0.5 else 2 - 2 * phase
        x = x0 + int(along * max(0, x1 - x0))
        y = y0 + int((y1 - y0 - sh) * 0.5 * (1 + np.sin(2 * np.pi * phase)))
        out.append(_paste(f, sprite, mask, x, y))
    return out


def put(
    frames: Sequence[Image],
    obj: Image,
    mask: Image,
    at: tuple[float, float],
    start: int,
    stop: int | None = None,
) -> list[Image]:
    """A real object appears at ``at`` (its top-left corner, normalised) on frame ``start``
    and stays (until ``stop``): no hand seen, as when it came between two frames."""
    h, w = frames[0].shape[:2]
    x, y = int(at[0] * w), int(at[1] * h)
    end = len(frames) if stop is None else stop
    return [
        _paste(f, obj, mask, x, y) if start <= i < end else f.copy() for i, f in enumerate(frames)
    ]


def _paste(frame: Image, sprite: Image, mask: Image, x: int, y: int) -> Image:
    out = frame.copy()
    h, w = frame.shape[:2]
    sh, sw = sprite.shape[:2]
    x, y = max(0, min(x, w - sw)), max(0, min(y, h - sh))
    soft = cv2.GaussianBlur(mask, (5, 5), 0).astype(np.float32)[:, :, None] / 255.0
    area = out[y : y + sh, x : x + sw].astype(np.float32)
    out[y : y + sh, x : x + sw] = (area * (1 - soft) + sprite.astype(np.float32) * soft).astype(
        np.uint8
    )
    return out


def crop(image: Image, region: Box) -> Image:
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (
        int(region[0] * w),
        int(region[1] * h),
        int(region[2] * w),
        int(region[3] * h),
    )
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def scaled(image: Image, factor: float) -> Image:
    h, w = image.shape[:2]
    size = (max(1, int(w * factor)), max(1, int(h * factor)))
    return _u8(cv2.resize(image, size, interpolation=cv2.INTER_AREA))


# --- running them ---------------------------------------------------------------------------


@dataclass
class Run:
    result: OfflineResult
    fps: float

    def of(self, event_type: str) -> list[NewEvent]:
        return [e for e in self.result.events if e.event_type == event_type]

    def count(self, event_type: str) -> int:
        return len(self.of(event_type))

    def frame_of(self, event: NewEvent) -> int:
        """The frame index an event started on."""
        return round((event.started_at - EPOCH).total_seconds() * self.fps)

    def summary(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for e in self.result.events:
            found[e.event_type] = found.get(e.event_type, 0) + 1
        return found


def run(
    frames: Sequence[Image],
    fps: float,
    interaction: tuple[tuple[float, float], ...],
    inventory: tuple[tuple[float, float], ...],
    config: EngineConfig | None = None,
    quality: int = 85,
) -> Run:
    """Frames through vision and the engine, as a camera at ``fps`` would send them (JPEG
    at ``quality``), with the ROIs given."""
    jpegs = []
    for f in frames:
        ok, data = cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        jpegs.append(data.tobytes())
    stamped = [(i * 1000.0 / fps, j) for i, j in enumerate(jpegs)]
    result = run_frames(stamped, Rois(interaction, inventory, 1), config or EngineConfig(1))
    return Run(result, fps)


def overlaps(event: NewEvent, target: Box) -> bool:
    """Some changed region of the event lies on ``target`` (the acceptance check's rule:
    IoU at least 0.1, or covering half of it while at most 6 times its size)."""
    tx0, ty0, tx1, ty1 = target
    t_area = (tx1 - tx0) * (ty1 - ty0)
    for r in event.details.get("regions") or []:
        x0, y0, x1, y1 = r["x"], r["y"], r["x"] + r["w"], r["y"] + r["h"]
        inter = max(0.0, min(x1, tx1) - max(x0, tx0)) * max(0.0, min(y1, ty1) - max(y0, ty0))
        area = (x1 - x0) * (y1 - y0)
        union = area + t_area - inter
        if (union and inter / union >= 0.1) or (inter / t_area >= 0.5 and area / t_area <= 6):
            return True
    return False
