"""The rule engine as a table of scenarios: synthetic scores in, events out (pure, fast)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from shelfcam.engine import (
    EngineConfig,
    EngineState,
    EventEnd,
    EventOut,
    HeldComparison,
    Observation,
    Thresholds,
    step,
)
from shelfcam.errors import InvalidInput
from shelfcam.vision import Region
from shelfcam.vision.scores import FrameScores

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
FPS = 4
CONFIG = EngineConfig(roi_version=3)
SPOT = (Region(0.3, 0.2, 0.1, 0.15),)
OTHER_SPOT = (Region(0.7, 0.6, 0.1, 0.1),)


def frame(
    *,
    motion: float = 0.0,
    change: float | None = None,
    delta: float = 0.0,
    regions: tuple[Region, ...] = (),
    lighting: float = 0.0,
    obstruction: float = 0.0,
    shift: float = 0.0,
    shift_confidence: float = 1.0,
    empty: float | None = None,
) -> FrameScores:
    return FrameScores(
        motion=motion,
        frame_change=motion if change is None else change,
        inventory_delta=delta,
        regions=regions if delta else (),
        lighting_change=lighting >= 0.35,
        lighting_score=lighting,
        obstruction=obstruction,
        sharpness=0.5,
        shift_px=shift,
        shift_dx=shift,
        shift_dy=0.0,
        shift_confidence=shift_confidence,
        empty_similarity=empty,
        inventory_judged=1.0,
        brightness=120.0,
        noise=1.0,
    )


@dataclass
class Run:
    events: list[EventOut]
    ended: list[EventEnd]
    traces: list[tuple[str, ...]]
    state: EngineState

    def types(self) -> list[str]:
        return [e.event_type for e in self.events]

    def of(self, event_type: str) -> list[EventOut]:
        return [e for e in self.events if e.event_type == event_type]


Segment = tuple[float, FrameScores]


def run(
    *segments: Segment,
    config: EngineConfig = CONFIG,
    roundtrip: bool = False,
    held: HeldComparison | None = None,
) -> Run:
    """Feed ``seconds`` of each frame at 4 fps; the frame id is its index."""
    state = EngineState()
    result = Run([], [], [], state)
    index = 0
    for seconds, scores in segments:
        for _ in range(max(1, round(seconds * FPS))):
            obs = Observation(
                f"c{index:04d}",
                T0 + timedelta(seconds=index / FPS),
                scores,
                held if state.held_capture() else None,
            )
            out = step(state, obs, config)
            state = EngineState.from_json(out.state.to_json()) if roundtrip else out.state
            result.events += out.events
            result.ended += out.ended
            result.traces.append(out.trace)
            index += 1
    result.state = state
    return result


def at(index: int) -> datetime:
    return T0 + timedelta(seconds=index / FPS)


QUIET = frame()
HAND = frame(motion=0.04, delta=0.5, regions=SPOT)
TAKEN = frame(delta=0.6, regions=SPOT)


def test_quiet_view_takes_a_baseline_and_emits_nothing() -> None:
    result = run((10, QUIET))
    assert result.events == []
    assert result.state.mode == "idle"
    assert result.state.baseline is not None
    assert "baseline_retaken" in {t for trace in result.traces[:3] for t in trace}


def test_a_take_gives_one_interaction_and_one_stock_change() -> None:
    result = run((3, QUIET), (2, HAND), (10, TAKEN))
    assert result.types() == ["interaction_detected", "stock_changed"]
    interaction, stock = result.events
    assert interaction.started_at == at(12)
    assert interaction.ended_at == at(19)
    assert stock.started_at == interaction.started_at
    details = stock.details
    assert details["roi_version"] == 3
    assert (
        details["thresholds"]["inventory_change_threshold"]
        == CONFIG.thresholds.inventory_change_threshold
    )
    assert details["scores"]["inventory_delta"] == 0.6
    assert details["regions"] == [SPOT[0].to_dict()]
    captures = details["captures"]
    assert captures["pre_capture_id"] == "c0011"  # last stable frame before the hand
    assert captures["during_capture_id"].startswith("c00")
    assert int(captures["post_capture_id"][1:]) > 19  # first stable frame after it
    trace = details["decision_trace"]
    for step_name in (
        "interaction_start",
        "burst_requested",
        "interaction_end",
        "post_stable_found",
        "delta_exceeded_threshold",
        "change_persisted",
        "event_emitted",
    ):
        assert step_name in trace
    assert trace.index("post_stable_found") < trace.index("delta_exceeded_threshold")
    assert stock.images == {
        "pre": captures["pre_capture_id"],
        "post": captures["post_capture_id"],
        "during": captures["during_capture_id"],
    }
    assert 0.0 <= stock.confidence <= 1.0
    assert details["baseline"]["stability_frames"] >= 2


def test_a_change_must_persist() -> None:
    """Stable for less than change_persist_seconds: not yet a stock change."""
    result = run((3, QUIET), (2, HAND), (3, TAKEN))
    assert result.types() == []
    assert result.state.mode == "settling"


def test_a_view_that_returns_to_the_baseline_emits_no_stock_change() -> None:
    result = run((3, QUIET), (2, HAND), (10, QUIET))
    assert result.types() == ["interaction_detected"]
    assert "delta_below_threshold" in result.events[0].details["decision_trace"]


def test_a_resting_hand_is_not_stock() -> None:
    resting = frame(delta=0.7, regions=SPOT)
    leaving = frame(motion=0.03, delta=0.4, regions=SPOT)
    result = run(
        (3, QUIET),
        (1.5, HAND),
        (4, resting),
        (1, leaving),
        (10, QUIET),
        held=HeldComparison(0.7, SPOT),
    )
    assert result.types() == ["interaction_detected"]
    assert result.of("interaction_detected")[0].started_at == at(12)


def test_a_fast_change_without_a_visible_hand_is_still_a_stock_change() -> None:
    blip = frame(motion=0.05, delta=0.5, regions=SPOT)
    result = run((3, QUIET), (0.25, blip), (10, TAKEN))
    assert result.types() == ["stock_changed"]
    assert result.events[0].started_at == at(12)
    assert "motion_blip_not_interaction" in {t for trace in result.traces for t in trace}


def test_a_change_appearing_with_no_motion_at_all() -> None:
    result = run((3, QUIET), (10, TAKEN))
    assert result.types() == ["stock_changed"]
    assert "change_without_interaction" in result.events[0].details["decision_trace"]


def test_two_changes_in_two_places_are_two_stock_changes() -> None:
    second_hand = frame(motion=0.04, delta=0.7, regions=(*SPOT, *OTHER_SPOT))
    both = frame(delta=0.8, regions=(*SPOT, *OTHER_SPOT))
    result = run(
        (3, QUIET),
        (2, HAND),
        (4, TAKEN),
        (2, second_hand),
        (10, both),
        held=HeldComparison(0.5, OTHER_SPOT),
    )
    assert result.types().count("stock_changed") == 2
    assert result.types().count("interaction_detected") == 2
    first, second = result.of("stock_changed")
    assert (
        first.details["captures"]["post_capture_id"] == second.details["captures"]["pre_capture_id"]
    )


def test_a_light_switch_is_never_stock() -> None:
    switch = frame(motion=0.08, change=0.3, lighting=1.0)
    residue = frame(delta=0.3, regions=SPOT, lighting=0.6)
    result = run((3, QUIET), (0.5, switch), (10, residue))
    assert result.types() == []
    traces = {t for trace in result.traces for t in trace}
    assert "lighting_change_ignored" in traces


def test_covered_camera_is_obstructed_until_uncovered() -> None:
    covered = frame(obstruction=1.0, motion=0.05)
    result = run((3, QUIET), (4, covered), (5, QUIET))
    assert result.types() == ["camera_obstructed"]
    event = result.events[0]
    assert event.started_at == at(12)
    assert event.ended_at is None
    assert [e.key for e in result.ended] == [event.key]
    assert result.ended[0].ended_at == at(28)


def test_moved_camera_is_shifted_and_the_knock_is_not_an_interaction() -> None:
    knock = frame(motion=0.2, shift=3.0)
    moved = frame(shift=3.0, shift_confidence=0.97, delta=0.9, regions=SPOT)
    result = run((3, QUIET), (0.25, knock), (8, moved))
    assert result.types() == ["scene_shifted"]
    assert result.events[0].ended_at is None
    assert result.ended == []


def test_unsure_shift_estimates_are_ignored() -> None:
    wobbly = frame(shift=2.0, shift_confidence=0.6)
    assert run((3, QUIET), (8, wobbly)).types() == []


def test_empty_shelf_is_confirmed_once_and_ends_when_restocked() -> None:
    empty = frame(empty=0.95)
    stocked = frame(empty=0.2)
    result = run((3, frame(empty=0.1)), (5, empty), (3, stocked))
    assert result.types() == ["empty_confirmed"]
    assert len(result.ended) == 1


def test_state_survives_json_between_every_frame() -> None:
    segments: tuple[Segment, ...] = (
        (3, QUIET),
        (2, HAND),
        (4, TAKEN),
        (2, frame(motion=0.04, delta=0.7, regions=OTHER_SPOT)),
        (10, frame(delta=0.8, regions=OTHER_SPOT)),
    )
    held = HeldComparison(0.5, OTHER_SPOT)
    direct = run(*segments, held=held)
    stored = run(*segments, held=held, roundtrip=True)
    assert [(e.key, e.event_type, e.started_at, e.details) for e in direct.events] == [
        (e.key, e.event_type, e.started_at, e.details) for e in stored.events
    ]
    assert direct.events


def test_the_same_frames_give_the_same_events() -> None:
    first = run((3, QUIET), (2, HAND), (10, TAKEN))
    second = run((3, QUIET), (2, HAND), (10, TAKEN))
    assert first.events == second.events


def test_burst_while_an_interaction_is_open() -> None:
    state = EngineState()
    bursts = []
    for index, scores in enumerate([QUIET] * 8 + [HAND] * 4 + [TAKEN] * 30):
        out = step(state, Observation(f"c{index}", at(index), scores), CONFIG)
        state = out.state
        bursts.append(out.burst)
    assert not any(bursts[:8])
    assert all(bursts[8:12])
    assert not bursts[-1]


def test_thresholds_overrides_are_validated() -> None:
    assert (
        Thresholds.from_overrides({"inventory_change_threshold": 0.3}).inventory_change_threshold
        == 0.3
    )
    assert Thresholds.from_overrides(None) == Thresholds()
    for bad in (
        {"nope": 1},
        {"stable_frames": 1.5},
        {"interaction_threshold": -1},
        {"interaction_threshold": "high"},
        {"interaction_end_threshold": 0.5, "interaction_threshold": 0.1},
    ):
        with pytest.raises(InvalidInput):
            Thresholds.from_overrides(bad)


def test_a_raised_threshold_suppresses_the_stock_change() -> None:
    strict = EngineConfig(
        roi_version=4, thresholds=replace(Thresholds(), inventory_change_threshold=0.65)
    )
    result = run((3, QUIET), (2, HAND), (10, TAKEN), config=strict)
    assert result.types() == ["interaction_detected"]
    assert result.events[0].details["thresholds"]["inventory_change_threshold"] == 0.65
