"""The catalogue of labelled synthetic scenarios and the `generate` entry point.

``generate(name, seed=0, **options)`` renders a named scenario deterministically: the same
name, seed and options give byte-identical JPEGs. ``Scenario.write(folder)`` writes
``000000.jpg``, ``000001.jpg``, ..., ``empty_reference.jpg`` and ``labels.json`` (schema in
docs/vision.md, "Synthetic scenes").

Options (all scenarios): ``width``, ``height`` (default 640x480), ``fps`` (default per
scenario, 4), ``quality`` (JPEG 1-100), ``noise`` (sensor sigma, grey levels).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import simplejpeg

from shelfcam.errors import InvalidInput
from shelfcam.sim.render import INTERACTION_ROI, INVENTORY_ROI, CameraState, build_scene, render
from shelfcam.sim.script import JsonDict, SceneScript

SCHEMA = "shelfcam.sim.labels/1"
LEAD_S = 3.0
"""Stable frames at the start of every scenario (frame 0 is the scene-shift reference)."""


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    description: str
    build: Callable[[SceneScript], None]
    fps: float = 4.0
    quality: int = 80
    noise: float = 2.0
    scene: dict[str, Any] = field(default_factory=dict)
    start_without: int = 0
    """How many items (chosen at random) are missing at the start (to be added later)."""
    width: int = 640
    height: int = 480


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    fps: float
    width: int
    height: int
    frames: tuple[bytes, ...]
    timestamps_ms: tuple[int, ...]
    labels: JsonDict
    empty_reference: bytes

    def write(self, folder: str | Path) -> Path:
        """Write the frames, the empty reference and labels.json into ``folder``."""
        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(self.frames):
            (out / f"{i:06d}.jpg").write_bytes(data)
        (out / "empty_reference.jpg").write_bytes(self.empty_reference)
        (out / "labels.json").write_text(json.dumps(self.labels, indent=1) + "\n")
        return out


# -- scenario builders ----------------------------------------------------------------


def _pick(t: SceneScript) -> int:
    idents = [i for i, _, _ in t.base.items]
    return int(idents[int(t.rng.integers(0, len(idents)))])


def _missing(t: SceneScript) -> list[int]:
    present = {i for i, _, _ in t.base.items}
    return [i for i in t.scene.items if i not in present]


def _idle(t: SceneScript) -> None:
    t.hold(12.0)


def _take(t: SceneScript) -> None:
    t.take(_pick(t))
    t.hold(1.0)


def _add(t: SceneScript) -> None:
    t.add(_missing(t)[0])
    t.hold(1.0)


def _move(t: SceneScript) -> None:
    ident = _pick(t)
    w = t.scene.items[ident].sprite.size[0]
    t.move(ident, int(w * 0.9) * (1 if t.rng.random() < 0.5 else -1))


def _fast_add(t: SceneScript) -> None:
    t.fast(add=_missing(t)[0])
    t.hold(2.0)


def _fast_take(t: SceneScript) -> None:
    t.fast(remove=_pick(t))
    t.hold(2.0)


def _linger(t: SceneScript) -> None:
    t.nothing(linger=5.0)


def _quick(t: SceneScript) -> None:
    t.nothing()


def _lights_off_on(t: SceneScript) -> None:
    t.set(gain=(0.3, 0.26, 0.2))
    t.hold(6.0, "lights", "lights off: ambient light only, warm tint")
    t.set(gain=(1.0, 1.0, 1.0))
    t.hold(6.0, "lights", "lights on again")


def _lights_on(t: SceneScript) -> None:
    t.set(gain=(1.0, 1.0, 1.0))
    t.hold(10.0, "lights", "lights switched on")


def _lights_tint(t: SceneScript) -> None:
    t.set(gain=(1.2, 1.0, 0.72), exposure=0.9)
    t.hold(8.0, "lights", "white balance and exposure jump")


def _exposure_drift(t: SceneScript) -> None:
    t.ramp(8.0, "exposure", "auto-exposure drifts up", exposure=1.35)
    t.ramp(10.0, "exposure", "auto-exposure drifts down", exposure=0.72)
    t.ramp(6.0, "exposure", "back", exposure=1.0)


def _exposure_steps(t: SceneScript) -> None:
    for e in (1.25, 0.8, 1.1, 0.9, 1.0):
        t.set(exposure=e)
        t.hold(2.5, "exposure", f"exposure step to {e}")


def _daylight(t: SceneScript) -> None:
    t.ramp(30.0, "daylight", "daylight slowly rises from one side", daylight=0.8, exposure=1.15)


def _shadow(t: SceneScript) -> None:
    t.ramp(6.0, "shadow", "a soft shadow slowly falls over part of the shelf", shadow=1.0)
    t.hold(6.0, "shadow")


def _covered(t: SceneScript) -> None:
    t.cover(8.0)
    t.hold(6.0)


def _shift_amount(t: SceneScript) -> tuple[int, int]:
    k = t.scene.width / 640.0
    dx = round(float(t.rng.uniform(6, 12)) * k) * (1 if t.rng.random() < 0.5 else -1)
    dy = round(float(t.rng.uniform(3, 8)) * k) * (1 if t.rng.random() < 0.5 else -1)
    return dx, dy


def _shifted(t: SceneScript) -> None:
    t.shift(*_shift_amount(t))
    t.hold(10.0)


def _shifted_then_take(t: SceneScript) -> None:
    t.shift(*_shift_amount(t))
    t.hold(4.0)
    t.take(_pick(t))


def _empty_shelf(t: SceneScript) -> None:
    while t.base.items:
        t.take(_pick(t))
    t.hold(2.0)


def _restock(t: SceneScript) -> None:
    for ident in _missing(t):
        t.add(ident)


def _multiple(t: SceneScript) -> None:
    t.take(_pick(t))
    t.add(_missing(t)[0])
    t.nothing()


def _take_two(t: SceneScript) -> None:
    t.take(_pick(t))
    t.take(_pick(t))


def _swap(t: SceneScript) -> None:
    gone = _pick(t)
    new = _missing(t)[0]
    it = t.scene.items[new]
    boxes = [t.item_box(gone), t.item_box(new, it.x, it.y)]
    after = (*(x for x in t.base.items if x[0] != gone), (new, it.x, it.y))
    start, end = t.reach(t.item_centre(gone), items_after=after)
    t._finish(start, end, "swapped", boxes)


def _take_lights(t: SceneScript) -> None:
    t.set(gain=(0.55, 0.5, 0.42))
    t.take(_pick(t))


def _reach_lights(t: SceneScript) -> None:
    t.set(gain=(0.55, 0.5, 0.42))  # the same dimming as _take_lights
    t.nothing()


def _take_drift(t: SceneScript) -> None:
    t.take(_pick(t))
    t.ramp(6.0, "exposure", "exposure drifts after the interaction", exposure=1.3)
    t.hold(3.0)


def _add_daylight(t: SceneScript) -> None:
    t.ramp(8.0, "daylight", "daylight rises", daylight=0.6)
    t.add(_missing(t)[0])


def _linger_take(t: SceneScript) -> None:
    t.take(_pick(t), linger=4.0)


def _small_take(t: SceneScript) -> None:
    sizes = {i: t.scene.items[i].sprite.size for i, _, _ in t.base.items}
    t.take(min(sizes, key=lambda i: sizes[i][0] * sizes[i][1]))


def _covered_take(t: SceneScript) -> None:
    t.cover(6.0)
    t.hold(3.0)
    t.take(_pick(t))


def _dim_take(t: SceneScript) -> None:
    t.take(_pick(t))


SCENARIOS: dict[str, ScenarioSpec] = {
    s.name: s
    for s in [
        ScenarioSpec("idle", "nothing happens", _idle),
        ScenarioSpec("take_item", "a hand takes one item", _take),
        ScenarioSpec("add_item", "a hand puts one item on the shelf", _add, start_without=1),
        ScenarioSpec("move_item", "a hand moves an item sideways", _move),
        ScenarioSpec(
            "fast_hand_add",
            "an item appears between two frames, no hand seen",
            _fast_add,
            start_without=1,
        ),
        ScenarioSpec("fast_hand_take", "an item vanishes between two frames", _fast_take),
        ScenarioSpec(
            "hand_lingers_no_change", "a hand stays 5 s in the ROI, nothing changes", _linger
        ),
        ScenarioSpec("hand_quick_no_change", "a hand reaches in and out, nothing changes", _quick),
        ScenarioSpec("lights_off_on", "lights off (dim, warm) then on again", _lights_off_on),
        ScenarioSpec(
            "lights_on",
            "starts in dim light; lights switched on",
            _lights_on,
            scene={"gain": (0.35, 0.3, 0.25)},
        ),
        ScenarioSpec("lights_tint", "white balance and exposure jump", _lights_tint),
        ScenarioSpec("exposure_drift", "auto-exposure drifts up and down", _exposure_drift),
        ScenarioSpec("exposure_steps", "auto-exposure jumps in steps", _exposure_steps),
        ScenarioSpec("daylight_slow", "daylight slowly changes over 30 s", _daylight, fps=2.0),
        ScenarioSpec("shadow_slow", "a soft shadow falls slowly over the shelf", _shadow),
        ScenarioSpec("noise_heavy", "a take under heavy sensor noise", _take, noise=9.0),
        ScenarioSpec("noise_heavy_idle", "nothing happens, heavy sensor noise", _idle, noise=9.0),
        ScenarioSpec("jpeg_q10", "a take at JPEG quality 10", _take, quality=10),
        ScenarioSpec("jpeg_q10_idle", "nothing happens, JPEG quality 10", _idle, quality=10),
        ScenarioSpec(
            "jpeg_q30_add", "an add at JPEG quality 30", _add, quality=30, start_without=1
        ),
        ScenarioSpec("jpeg_q90_move", "a move at JPEG quality 90", _move, quality=90),
        ScenarioSpec("covered", "a hand covers the lens for 8 s", _covered),
        ScenarioSpec("covered_then_take", "lens covered, then a take", _covered_take),
        ScenarioSpec("shifted", "the camera is knocked a few px and stays", _shifted),
        ScenarioSpec("shifted_then_take", "camera knocked, then a take", _shifted_then_take),
        ScenarioSpec(
            "empty_shelf",
            "all items taken one by one: empty confirmed",
            _empty_shelf,
            scene={"boards": 1, "items_per_board": (3, 3)},
        ),
        ScenarioSpec(
            "restock",
            "starts empty; items added one by one",
            _restock,
            scene={"boards": 1, "items_per_board": (3, 3)},
            start_without=3,
        ),
        ScenarioSpec(
            "multiple_interactions",
            "take, add, then a reach with no change",
            _multiple,
            start_without=1,
        ),
        ScenarioSpec("take_two_items", "two takes in a row", _take_two),
        ScenarioSpec("swap_item", "one item taken, another put back", _swap, start_without=1),
        ScenarioSpec(
            "take_during_lights_change", "lights dim as a hand takes an item", _take_lights
        ),
        ScenarioSpec(
            "reach_during_lights_change",
            "lights dim as a hand reaches in; nothing taken",
            _reach_lights,
        ),
        ScenarioSpec("take_exposure_drift", "a take, then exposure drifts", _take_drift),
        ScenarioSpec(
            "add_item_daylight", "daylight rises, then an add", _add_daylight, start_without=1
        ),
        ScenarioSpec("hand_lingers_then_take", "a hand stays 4 s, then takes", _linger_take),
        ScenarioSpec(
            "take_small_item",
            "the smallest item of a shelf of small items is taken",
            _small_take,
            scene={"small_items": True, "items_per_board": (4, 6)},
        ),
        ScenarioSpec(
            "low_light_take",
            "a take in a dim room",
            _dim_take,
            scene={"gain": (0.42, 0.4, 0.36)},
            noise=4.0,
        ),
        ScenarioSpec("uxga_take", "a take at 1600x1200", _take, width=1600, height=1200, fps=2.0),
    ]
}

_OPTIONS = {"width", "height", "fps", "quality", "noise"}


def _seed_sequence(name: str, seed: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([zlib.crc32(name.encode()), seed])


def _encode(rgb: np.ndarray[Any, np.dtype[np.uint8]], quality: int) -> bytes:
    data: bytes = simplejpeg.encode_jpeg(rgb, quality=quality, colorspace="RGB")
    return data


def generate(name: str, seed: int = 0, **options: Any) -> Scenario:
    """Render scenario ``name`` of `SCENARIOS` (see the module docstring for options)."""
    spec = SCENARIOS.get(name)
    if spec is None:
        raise InvalidInput(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}")
    return render_spec(spec, seed, **options)


def render_spec(spec: ScenarioSpec, seed: int = 0, **options: Any) -> Scenario:
    """Render a scenario that need not be in the catalogue (the demo's scripted cameras)."""
    name = spec.name
    unknown = set(options) - _OPTIONS
    if unknown:
        raise InvalidInput(f"unknown scenario options: {', '.join(sorted(unknown))}")
    width = int(options.get("width", spec.width))
    height = int(options.get("height", spec.height))
    fps = float(options.get("fps", spec.fps))
    quality = int(options.get("quality", spec.quality))
    noise = float(options.get("noise", spec.noise))
    if not (32 <= width <= 4096 and 32 <= height <= 4096 and 0.2 <= fps <= 30):
        raise InvalidInput("width/height must be 32..4096 and fps 0.2..30")
    if not (1 <= quality <= 100 and 0.0 <= noise <= 50.0):
        raise InvalidInput("quality must be 1..100 and noise 0..50")

    ss = _seed_sequence(name, seed)
    scene_rng, script_rng, noise_rng = (np.random.default_rng(s) for s in ss.spawn(3))
    scene_opts = {k: v for k, v in spec.scene.items() if k != "gain"}
    scene = build_scene(scene_rng, width, height, **scene_opts)
    all_items = tuple((it.ident, it.x, it.y) for it in scene.items.values())
    missing: set[int] = set()
    if spec.start_without:
        order = script_rng.permutation(len(all_items))[: spec.start_without]
        missing = {all_items[int(i)][0] for i in order}
    base = CameraState(
        items=tuple(t for t in all_items if t[0] not in missing),
        gain=spec.scene.get("gain", (1.0, 1.0, 1.0)),
        noise=noise,
        quality=quality,
    )
    t = SceneScript(scene=scene, fps=fps, rng=script_rng, base=base)
    if not base.items:
        t._items_changed(0)
    t.hold(LEAD_S, "stable", "lead-in")
    spec.build(t)

    frames = tuple(_encode(render(scene, st, noise_rng), st.quality) for st in t.states)
    empty_state = replace(base, items=(), gain=(1.0, 1.0, 1.0))
    empty_ref = _encode(render(scene, empty_state, noise_rng), quality)
    stamps = tuple(t.t_ms(i) for i in range(len(frames)))
    labels: JsonDict = {
        "schema": SCHEMA,
        "scenario": name,
        "description": spec.description,
        "seed": seed,
        "fps": fps,
        "width": width,
        "height": height,
        "frame_count": len(frames),
        "timestamps_ms": list(stamps),
        "rois": {
            "interaction": [list(p) for p in INTERACTION_ROI],
            "inventory": [list(p) for p in INVENTORY_ROI],
        },
        "reference_frame": 0,
        "empty_reference": "empty_reference.jpg",
        "phases": t.phases,
        "events": t.events,
    }
    return Scenario(name, seed, fps, width, height, frames, stamps, labels, empty_ref)
