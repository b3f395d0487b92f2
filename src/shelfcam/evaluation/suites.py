"""The evaluation suites: labelled synthetic scenes, and the real footage with rules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from shelfcam.errors import InvalidInput
from shelfcam.evaluation.matching import Expected
from shelfcam.polygons import FULL_FRAME, Polygon
from shelfcam.vision import encode_jpeg

TAIL_S = 10.0
"""After the last labelled frame the view stays as it is (a camera keeps sending)."""
LIGHTING_KINDS = {"lights", "exposure", "daylight", "shadow", "stable"}
DEFAULT_REAL_DATA = "../shared/data/real"


@dataclass(frozen=True)
class Rule:
    """For footage without exact labels: how many events of a type are acceptable."""

    event_type: str
    at_least: int = 0
    at_most: int | None = None


@dataclass
class Case:
    name: str
    fps: float
    frames: list[bytes]
    expected: list[Expected] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    interaction_roi: Polygon = FULL_FRAME
    inventory_roi: Polygon = FULL_FRAME
    empty_reference: bytes | None = None
    lighting_only: bool = False
    exact: bool = True
    """Judged against ``expected`` event by event (else only against ``rules``)."""


def _with_tail(frames: list[bytes], fps: float) -> list[bytes]:
    return frames + [frames[-1]] * int(TAIL_S * fps)


def _slug(name: str) -> str:
    return name.replace("_", "-")[:63]


def _synthetic(name: str) -> Case:
    from shelfcam.sim.scenes import generate  # generation is only needed here

    scene = generate(name)
    labels = scene.labels
    kinds = {phase["kind"] for phase in labels["phases"]}
    lighting_only = kinds <= LIGHTING_KINDS and bool(kinds - {"stable"})
    return Case(
        name=_slug(name),
        fps=float(labels["fps"]),
        frames=_with_tail(list(scene.frames), float(labels["fps"])),
        expected=[
            Expected(
                e["event_type"],
                e["start_ms"] / 1000,
                None if e["end_ms"] is None else e["end_ms"] / 1000,
            )
            for e in labels["events"]
        ],
        interaction_roi=tuple((float(x), float(y)) for x, y in labels["rois"]["interaction"]),
        inventory_roi=tuple((float(x), float(y)) for x, y in labels["rois"]["inventory"]),
        empty_reference=scene.empty_reference,
        lighting_only=lighting_only,
        # A light, exposure or daylight change alone is never a stock change.
        rules=[Rule("stock_changed", at_most=0)] if lighting_only else [],
    )


def synthetic_cases(names: list[str] | None = None) -> Iterator[Case]:
    """Every scenario of the generator's catalogue (rendered on all cores)."""
    from shelfcam.sim.scenes import SCENARIOS

    chosen = names or sorted(SCENARIOS)
    unknown = [n for n in chosen if n not in SCENARIOS]
    if unknown:
        raise InvalidInput(f"unknown scenario(s): {', '.join(unknown)}")
    workers = max(1, min(len(chosen), os.cpu_count() or 1))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_synthetic, chosen)


REAL_CLIPS: tuple[tuple[str, float, list[Rule]], ...] = (
    # clip, fps, rules (README of the footage)
    ("walking-by", 25 / 3, [Rule("interaction_detected", at_least=1)]),
    ("alternating-light", 12.5, []),
    ("light-dark", 12.5, []),
    ("dark-light", 12.5, []),
)
REAL_FORBIDDEN = ("stock_changed", "scene_shifted")
STARTUP_FRAMES = 15
"""The first frames of each home-camera clip are the camera starting up (exposure ramp)."""


def real_data_dir() -> Path:
    return Path(os.environ.get("SHELFCAM_REAL_DATA", DEFAULT_REAL_DATA))


def _jpeg_from_image(path: Path) -> bytes:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InvalidInput(f"cannot read {path}")
    return encode_jpeg(np.ascontiguousarray(bgr[:, :, ::-1], dtype=np.uint8), quality=90)


def real_cases(root: Path | None = None) -> Iterator[Case]:
    """The real footage: no stock change and no scene shift anywhere; an interaction for
    the person walking by and for the hand."""
    root = root or real_data_dir()
    if not root.is_dir():
        raise InvalidInput(f"no real footage at {root}: set SHELFCAM_REAL_DATA to its folder")
    forbidden = [Rule(kind, at_most=0) for kind in REAL_FORBIDDEN]
    for clip, fps, rules in REAL_CLIPS:
        folder = root / "home-camera" / clip
        files = sorted(folder.glob("*.jpg"))[STARTUP_FRAMES:]
        if not files:
            continue
        frames = [p.read_bytes() for p in files]
        yield Case(
            name=clip,
            fps=fps,
            frames=_with_tail(frames, fps),
            rules=[*rules, *forbidden],
            exact=False,
        )
    hand = root / "hand" / "hand1"
    if (hand / "background.png").is_file() and (hand / "frame.png").is_file():
        fps = 4.0
        background = _jpeg_from_image(hand / "background.png")
        with_hand = _jpeg_from_image(hand / "frame.png")
        # The empty whiteboard, the hand held in view for 2 s, then the whiteboard again.
        frames = [background] * 16 + [with_hand] * 8 + [background] * 40
        yield Case(
            name="hand1",
            fps=fps,
            frames=frames,
            rules=[Rule("interaction_detected", at_least=1), *forbidden],
            exact=False,
        )
