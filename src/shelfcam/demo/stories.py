"""The demo's two cameras and what happens in front of them: scripted synthetic scenes.

Each camera watches one rendered shelf (``shelfcam.sim``) through a sequence of steps: a
hand takes an item, the lights go off and on, a hand covers the lens, the shelf is emptied
and restocked... Every step ends with the view still for a few seconds (a change counts
only once it persists), and the story ends with ten seconds of the last view. The labels
the simulator records say which events each step should produce; the demo prints them as
it replays the step.

Each story ends with the shelf as it began, so a second run of the demo continues from the
view the cameras left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shelfcam.sim.scenes import SCENARIOS, ScenarioSpec, render_spec
from shelfcam.sim.script import SceneScript
from shelfcam.vision.polygons import Polygon

TAIL_S = 10.0
"""Stable view after the last step (a change is judged once it has persisted ~6 s)."""
FPS = 4.0


@dataclass(frozen=True)
class StoryStep:
    text: str
    act: Callable[[SceneScript], None]


@dataclass(frozen=True)
class Story:
    device_id: str
    description: str
    steps: tuple[StoryStep, ...]
    scene: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Segment:
    """One step as rendered: its first frame, what happens, the events it should give."""

    start_frame: int
    text: str
    expected: tuple[str, ...]


@dataclass(frozen=True)
class DemoCamera:
    device_id: str
    fps: float
    frames: tuple[bytes, ...]
    empty_reference: bytes
    interaction_roi: Polygon
    inventory_roi: Polygon
    segments: tuple[Segment, ...]

    @property
    def duration_s(self) -> float:
        return len(self.frames) / self.fps


# -- steps ------------------------------------------------------------------------------


def _present(t: SceneScript) -> list[int]:
    return [ident for ident, _, _ in t.base.items]


def _take_one(t: SceneScript) -> None:
    present = _present(t)
    t.take(present[int(t.rng.integers(0, len(present)))])


def _put_back_one(t: SceneScript) -> None:
    present = set(_present(t))
    t.add(min(i for i in t.scene.items if i not in present))


def _reach_for_nothing(t: SceneScript) -> None:
    t.nothing()


def _cover_lens(t: SceneScript) -> None:
    t.cover(8.0)
    t.hold(6.0)


PANTRY = Story(
    "demo-pantry",
    "a pantry shelf: a take, the lights off and on, a reach for nothing, the item put back",
    (
        StoryStep("a hand takes an item", _take_one),
        StoryStep(
            "the lights go off, then on again (a light change is not a stock change)",
            SCENARIOS["lights_off_on"].build,  # the eval's scene, as it is judged there
        ),
        StoryStep("a hand reaches in and takes nothing", _reach_for_nothing),
        StoryStep("the item is put back", _put_back_one),
    ),
)

FRIDGE = Story(
    "demo-fridge",
    "a fridge shelf of three items: the lens covered, emptied one by one, restocked",
    (
        StoryStep("a hand covers the lens for 8 s", _cover_lens),
        StoryStep("an item is taken (2 left)", _take_one),
        StoryStep("an item is taken (1 left)", _take_one),
        StoryStep("the last item is taken: the shelf is empty", _take_one),
        StoryStep("restocking: an item is put back", _put_back_one),
        StoryStep("restocking: another item", _put_back_one),
        StoryStep("restocking: the third item", _put_back_one),
    ),
    scene={"boards": 1, "items_per_board": (3, 3)},
)

STORIES = (PANTRY, FRIDGE)


def render(story: Story) -> DemoCamera:
    """Render the story's frames (deterministic) and the events each step should give."""
    starts: list[int] = []

    def build(t: SceneScript) -> None:
        for step in story.steps:
            starts.append(t.now)
            step.act(t)
        t.hold(TAIL_S, "stable", "the view stays still")

    spec = ScenarioSpec(story.device_id, story.description, build, fps=FPS, scene=story.scene)
    scenario = render_spec(spec)
    labels = scenario.labels
    bounds = [*starts, len(scenario.frames)]
    segments = tuple(
        Segment(
            start,
            step.text,
            tuple(
                e["event_type"]
                for e in labels["events"]
                if start <= int(e["start_frame"]) < bounds[i + 1]
            ),
        )
        for i, (start, step) in enumerate(zip(starts, story.steps, strict=True))
    )
    rois = labels["rois"]
    return DemoCamera(
        device_id=story.device_id,
        fps=scenario.fps,
        frames=scenario.frames,
        empty_reference=scenario.empty_reference,
        interaction_roi=tuple((float(x), float(y)) for x, y in rois["interaction"]),
        inventory_roi=tuple((float(x), float(y)) for x, y in rois["inventory"]),
        segments=segments,
    )
