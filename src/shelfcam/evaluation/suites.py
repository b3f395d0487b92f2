"""The evaluation suites: labelled synthetic scenes (here) and the real footage
(`shelfcam.evaluation.realdata`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from shelfcam.errors import InvalidInput
from shelfcam.evaluation.expectations import Expectation
from shelfcam.evaluation.matching import Expected
from shelfcam.vision.polygons import FULL_FRAME, Polygon

TAIL_S = 10.0
"""After the last labelled frame the view stays as it is (a camera keeps sending)."""
LIGHTING_KINDS = {"lights", "exposure", "daylight", "shadow", "stable"}
DEFAULT_REAL_DATA = "../shared/data/real"


@dataclass(frozen=True)
class CountRule:
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
    rules: list[CountRule] = field(default_factory=list)
    interaction_roi: Polygon = FULL_FRAME
    inventory_roi: Polygon = FULL_FRAME
    empty_reference: bytes | None = None
    lighting_only: bool = False
    exact: bool = True
    """Judged against ``expected`` event by event (else only against ``rules``)."""
    expectations: tuple[Expectation, ...] = ()
    """What a person watching the footage would record (the real-footage cases)."""
    note: str = ""


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
        rules=[CountRule("stock_changed", at_most=0)] if lighting_only else [],
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


def real_data_dir() -> Path:
    return Path(os.environ.get("SHELFCAM_REAL_DATA", DEFAULT_REAL_DATA))
