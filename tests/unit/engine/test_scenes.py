"""Vision and the engine together on labelled synthetic scenes (in memory, no database)."""

from __future__ import annotations

import pytest

from shelfcam.engine import EngineConfig
from shelfcam.sim.offline import EPOCH, run_frames
from shelfcam.sim.scenes import generate
from shelfcam.vision import Rois

TAIL_S = 10


@pytest.mark.parametrize(
    "name",
    # One of each kind; `shelfcam eval` runs the whole catalogue through the real pipeline.
    [
        "take_item",
        "fast_hand_take",
        "hand_lingers_no_change",
        "lights_off_on",
        "covered",
        "shifted_then_take",
        "restock",
    ],
)
def test_scene_gives_the_labelled_events(name: str) -> None:
    scene = generate(name)
    labels = scene.labels
    step_ms = 1000 / labels["fps"]
    times = list(labels["timestamps_ms"])
    frames = list(scene.frames)
    for _ in range(int(TAIL_S * labels["fps"])):  # the view stays as it is afterwards
        times.append(times[-1] + step_ms)
        frames.append(frames[-1])
    rois = Rois(
        interaction=tuple((x, y) for x, y in labels["rois"]["interaction"]),
        inventory=tuple((x, y) for x, y in labels["rois"]["inventory"]),
        version=1,
    )
    result = run_frames(
        zip(times, frames, strict=True), rois, EngineConfig(roi_version=1), scene.empty_reference
    )
    assert sorted(e.event_type for e in result.events) == sorted(
        e["event_type"] for e in labels["events"]
    )
    # Each event starts within two seconds of when the scene says it happened.
    got = sorted(
        (e.event_type, (e.started_at - EPOCH).total_seconds() * 1000) for e in result.events
    )
    want = sorted((e["event_type"], e["start_ms"]) for e in labels["events"])
    for (kind, at), (_kind, expected) in zip(got, want, strict=True):
        assert abs(at - expected) <= 2000, (kind, at, expected)


@pytest.mark.parametrize("seed", [0, 1])
def test_light_switch_as_a_hand_reaches_in_takes_nothing(seed: int) -> None:
    """The light dims as a hand reaches in and takes nothing: the hand leaving is not read
    as a stock change (the baseline is never re-taken with the hand in view)."""
    scene = generate("reach_during_lights_change", seed=seed)
    fps = scene.labels["fps"]
    frames = list(scene.frames) + [scene.frames[-1]] * int(TAIL_S * fps)
    times = [i * 1000 / fps for i in range(len(frames))]
    rois = Rois(
        interaction=tuple((x, y) for x, y in scene.labels["rois"]["interaction"]),
        inventory=tuple((x, y) for x, y in scene.labels["rois"]["inventory"]),
        version=1,
    )
    result = run_frames(zip(times, frames, strict=True), rois, EngineConfig(roi_version=1))
    assert [e.event_type for e in result.events if e.event_type == "stock_changed"] == []
