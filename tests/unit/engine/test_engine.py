"""The rule engine as a table of scenarios: synthetic scores in, events out (pure, fast)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import pytest

from shelfcam.engine import (
    EngineConfig,
    EngineState,
    EventEnd,
    NewEvent,
    Observation,
    Thresholds,
    step,
)
from shelfcam.errors import InvalidInput
from shelfcam.vision import Region
from shelfcam.vision.delta import saturate
from shelfcam.vision.persistence import Change
from shelfcam.vision.scores import FrameScores

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
FPS = 4
CONFIG = EngineConfig(roi_version=3)
SPOT = Region(0.3, 0.2, 0.1, 0.15)
OTHER_SPOT = Region(0.7, 0.6, 0.1, 0.1)
NEXT_TO_SPOT = Region(0.41, 0.2, 0.08, 0.15)
NEAR_SPOT = Region(0.45, 0.2, 0.05, 0.1)
"""Not touching SPOT, but close enough to be coming up to it."""


def item(
    region: Region = SPOT,
    area: float = 0.04,
    moved: float = 0.0,
    *,
    edge: bool = False,
    motion: float = 0.0,
) -> Change:
    """A changed place against the baseline: ``moved`` is the share of it that changed
    since the watch's anchor and since the previous frame (both the same here)."""
    return Change(region, area, (moved, moved), edge=edge, motion=motion)


def hand(region: Region = SPOT, *, edge: bool = True) -> Change:
    """A hand at work: changed against the baseline and moving all the time."""
    return item(region, 0.08, 1.0, edge=edge, motion=0.5)


def frame(
    *,
    motion: float = 0.0,
    change: float | None = None,
    changes: tuple[Change, ...] = (),
    lighting: float = 0.0,
    obstruction: float = 0.0,
    shift: float = 0.0,
    shift_confidence: float = 1.0,
    shift_explained: float = 1.0,
    empty: float | None = None,
    judged: float = 1.0,
    moving: tuple[Region, ...] = (),
) -> FrameScores:
    delta = saturate(min(1.0, sum(c.area for c in changes)))
    return FrameScores(
        motion=motion,
        frame_change=motion if change is None else change,
        inventory_delta=delta,
        regions=tuple(c.region for c in changes),
        lighting_score=lighting,
        obstruction=obstruction,
        sharpness=0.5,
        shift_px=shift,
        shift_dx=shift,
        shift_dy=0.0,
        shift_confidence=shift_confidence,
        empty_similarity=empty,
        inventory_judged=judged,
        brightness=120.0,
        noise=1.0,
        inventory_motion=motion if change is None else change,
        moving=moving,
        changes=changes,
        shift_explained=shift_explained if shift else 0.0,
    )


@dataclass
class Run:
    events: list[NewEvent]
    ended: list[EventEnd]
    traces: list[tuple[str, ...]]
    state: EngineState

    def types(self) -> list[str]:
        return [e.event_type for e in self.events]

    def of(self, event_type: str) -> list[NewEvent]:
        return [e for e in self.events if e.event_type == event_type]

    def trace(self) -> set[str]:
        return {t for trace in self.traces for t in trace}


Segment = tuple[float, FrameScores]


def _rebased(scores: FrameScores, absorbed: set[Region]) -> FrameScores:
    """The scores as vision gives them once the baseline shows ``absorbed`` places."""
    kept = tuple(c for c in scores.changes if c.region not in absorbed)
    if len(kept) == len(scores.changes):
        return scores
    delta = saturate(min(1.0, sum(c.area for c in kept)))
    return replace(
        scores, changes=kept, regions=tuple(c.region for c in kept), inventory_delta=delta
    )


def run(*segments: Segment, config: EngineConfig = CONFIG, roundtrip: bool = False) -> Run:
    """Feed ``seconds`` of each frame at 4 fps; the frame id is its index. A place recorded
    as a stock change (or seen when the camera moved) is in the baseline from then on: it
    no longer shows as a change."""
    state = EngineState()
    result = Run([], [], [], state)
    absorbed: set[Region] = set()
    index = 0
    for seconds, scores in segments:
        for _ in range(max(1, round(seconds * FPS))):
            seen = _rebased(scores, absorbed)
            obs = Observation(f"c{index:04d}", T0 + timedelta(seconds=index / FPS), seen)
            out = step(state, obs, config)
            state = EngineState.from_json(out.state.to_json()) if roundtrip else out.state
            for event in out.events:
                if event.event_type == "stock_changed":
                    absorbed |= {Region(**r) for r in event.details["regions"]}
                if event.event_type == "scene_shifted":
                    absorbed |= {c.region for c in seen.changes}
            result.events += out.events
            result.ended += out.ended
            result.traces.append(out.trace)
            index += 1
    result.state = state
    return result


def at(index: int) -> datetime:
    return T0 + timedelta(seconds=index / FPS)


QUIET = frame()
HAND = frame(motion=0.04, changes=(hand(),))
TAKEN = frame(changes=(item(),))


def test_quiet_view_takes_a_baseline_and_emits_nothing() -> None:
    result = run((10, QUIET))
    assert result.events == []
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
    assert details["scores"]["inventory_delta"] == round(saturate(0.04), 4)
    assert details["scores"]["persisted_seconds"] >= CONFIG.thresholds.change_persist_seconds
    assert details["regions"] == [SPOT.to_dict()]
    captures = details["captures"]
    assert captures["pre_capture_id"] == "c0011"  # the last calm view before the hand
    assert captures["during_capture_id"].startswith("c00")
    assert int(captures["post_capture_id"][1:]) >= 20  # a settled view after it
    trace = details["decision_trace"]
    for step_name in (
        "interaction_start",
        "interaction_end",
        "post_stable_found",
        "delta_exceeded_threshold",
        "change_persisted",
        "event_emitted",
    ):
        assert step_name in trace
    assert trace.index("post_stable_found") < trace.index("delta_exceeded_threshold")
    assert "note" not in details
    assert stock.images == {
        "pre": captures["pre_capture_id"],
        "post": captures["post_capture_id"],
        "during": captures["during_capture_id"],
    }
    assert 0.0 <= stock.confidence <= 1.0
    assert details["baseline"]["stability_frames"] >= 2


def test_a_change_must_persist() -> None:
    """Settled for less than change_persist_seconds: not yet a stock change."""
    result = run((3, QUIET), (2, HAND), (2, TAKEN))
    assert result.types() == ["interaction_detected"]
    assert result.state.watch is not None


def test_a_view_that_returns_to_the_baseline_emits_no_stock_change() -> None:
    result = run((3, QUIET), (2, HAND), (10, QUIET))
    assert result.types() == ["interaction_detected"]
    assert "change_gone" in result.trace()


def test_a_resting_hand_is_not_stock() -> None:
    """A hand reaching in across the ROI's edge, resting still for 5 s, then leaving."""
    resting = frame(changes=(item(area=0.08, edge=True),))
    leaving = frame(motion=0.03, changes=(item(area=0.06, moved=0.5, edge=True, motion=0.3),))
    result = run((3, QUIET), (1.5, HAND), (5, resting), (1, leaving), (10, QUIET))
    assert result.types() == ["interaction_detected"]
    interaction = result.events[0]
    assert interaction.started_at == at(12)
    assert interaction.ended_at is not None and interaction.ended_at >= at(12 + 26)


def test_an_item_left_inside_the_roi_counts_sooner_than_what_reaches_its_edge() -> None:
    th = CONFIG.thresholds
    assert th.change_persist_seconds < th.edge_persist_seconds
    inside = run((3, QUIET), (1, HAND), (th.change_persist_seconds + 1, TAKEN))
    at_edge = run(
        (3, QUIET), (1, HAND), (th.change_persist_seconds + 1, frame(changes=(item(edge=True),)))
    )
    assert inside.types() == ["interaction_detected", "stock_changed"]
    assert "stock_changed" not in at_edge.types()


def test_a_fast_change_without_a_visible_hand_is_still_a_stock_change() -> None:
    blip = frame(motion=0.05, changes=(item(moved=1.0, motion=0.5),))
    result = run((3, QUIET), (0.25, blip), (10, TAKEN))
    assert result.types() == ["stock_changed"]
    assert result.events[0].started_at == at(12)
    assert "motion_blip_not_interaction" in result.trace()


def test_a_change_appearing_with_no_motion_at_all() -> None:
    result = run((3, QUIET), (10, TAKEN))
    assert result.types() == ["stock_changed"]
    stock = result.events[0]
    assert "change_without_interaction" in stock.details["decision_trace"]
    assert "no interaction was seen" in stock.details["note"]
    assert stock.details["captures"]["during_capture_id"] is None


def test_a_change_is_judged_where_it_is_while_something_moves_elsewhere() -> None:
    """A busy view: a passer-by keeps moving far from the taken item."""
    passer = hand(OTHER_SPOT, edge=False)
    busy = frame(motion=0.05, changes=(item(), passer), moving=(OTHER_SPOT,))
    result = run((3, QUIET), (1, frame(motion=0.05, changes=(hand(), passer))), (6, busy))
    assert result.types().count("stock_changed") == 1
    stock = result.of("stock_changed")[0]
    assert stock.details["regions"] == [SPOT.to_dict()]


def test_something_moving_right_next_to_a_change_restarts_its_clock() -> None:
    """Before the change was left alone for change_hold_seconds, something moves right
    next to it (the hand still at work): its clock starts again."""
    th = CONFIG.thresholds
    jostled = frame(motion=0.05, changes=(item(), hand(NEXT_TO_SPOT, edge=False)))
    before = th.change_hold_seconds - 0.5
    result = run(
        (3, QUIET),
        (1, HAND),
        (before, TAKEN),
        (1, jostled),
        (th.change_persist_seconds - 0.5, TAKEN),
    )
    assert "stock_changed" not in result.types()
    assert "change_disturbed" in result.trace()
    later = run(
        (3, QUIET), (1, HAND), (before, TAKEN), (1, jostled), (th.change_persist_seconds + 1, TAKEN)
    )
    assert later.types().count("stock_changed") == 1


def test_a_change_left_alone_then_reached_for_again_stands_at_once() -> None:
    """Taken, left alone for two seconds, then a hand comes back for the same place: the
    take is recorded when the hand arrives, before change_persist_seconds."""
    coming = frame(motion=0.04, changes=(item(), hand(NEAR_SPOT, edge=True)), moving=(NEAR_SPOT,))
    result = run((3, QUIET), (1, HAND), (2, TAKEN), (0.25, coming), (0.5, HAND), (2, QUIET))
    assert result.types().count("stock_changed") == 1
    stock = result.of("stock_changed")[0]
    assert "change_confirmed_by_next_interaction" in stock.details["decision_trace"]
    assert result.types().count("interaction_detected") == 2


def test_two_changes_in_two_places_are_two_stock_changes() -> None:
    second_hand = frame(motion=0.04, changes=(item(), hand(OTHER_SPOT)))
    both = frame(changes=(item(), item(OTHER_SPOT)))
    result = run((3, QUIET), (2, HAND), (4, TAKEN), (2, second_hand), (10, both))
    assert result.types().count("stock_changed") == 2
    assert result.types().count("interaction_detected") == 2
    first, second = result.of("stock_changed")
    assert first.details["regions"] == [SPOT.to_dict()]
    assert second.details["regions"] == [OTHER_SPOT.to_dict()]
    # The second is judged against a view that already shows the first.
    first_post = first.details["captures"]["post_capture_id"]
    assert second.details["captures"]["pre_capture_id"] >= first_post


def test_an_interaction_in_a_view_too_dark_to_judge_stock_is_still_recorded() -> None:
    dark_hand = frame(motion=0.04, judged=0.1)
    result = run((3, QUIET), (2, dark_hand), (5, frame(judged=0.1)))
    assert result.types() == ["interaction_detected"]
    details = result.events[0].details
    assert "stock_not_judged_too_dark" in details["decision_trace"]
    assert "too dark" in details["note"]


def test_a_long_interaction_is_recorded_open_and_closed_when_it_ends() -> None:
    th = CONFIG.thresholds
    busy = frame(motion=0.04)
    result = run((3, QUIET), (th.interaction_max_seconds + 2, busy), (3, QUIET))
    assert result.types() == ["interaction_detected"]
    event = result.events[0]
    assert event.ended_at is None
    assert [e.key for e in result.ended] == [event.key]


def test_a_light_switch_is_never_stock() -> None:
    switch = frame(motion=0.08, change=0.3, lighting=1.0)
    residue = frame(changes=(item(area=0.02),), lighting=0.6)
    result = run((3, QUIET), (0.5, switch), (10, residue))
    assert result.types() == []
    assert "lighting_change_ignored" in result.trace()


def test_a_hand_at_work_as_the_light_changes_still_changes_stock() -> None:
    switch = frame(motion=0.08, change=0.3, lighting=1.0, changes=(hand(),))
    result = run((3, QUIET), (0.5, switch), (2, HAND), (10, TAKEN))
    assert result.types() == ["interaction_detected", "stock_changed"]


def test_covered_camera_is_obstructed_until_uncovered() -> None:
    covered = frame(obstruction=1.0, motion=0.05)
    result = run((3, QUIET), (4, covered), (5, QUIET))
    assert result.types() == ["camera_obstructed"]
    event = result.events[0]
    assert event.started_at == at(12)
    assert event.ended_at is None
    assert event.details["cause"] == "covered"
    assert [e.key for e in result.ended] == [event.key]
    assert result.ended[0].ended_at == at(28)


def test_a_dark_view_is_obstructed_as_dark() -> None:
    dark = replace(frame(obstruction=1.0), brightness=5.0)
    result = run((3, QUIET), (4, dark), (5, QUIET))
    assert result.types() == ["camera_obstructed"]
    assert result.events[0].details["cause"] == "dark"
    assert len(result.ended) == 1


def test_moved_camera_is_shifted_and_the_knock_is_not_an_interaction() -> None:
    knock = frame(motion=0.2, shift=3.0)
    moved = frame(shift=3.0, shift_confidence=0.97, changes=(item(area=0.2),))
    result = run((3, QUIET), (0.25, knock), (8, moved))
    assert result.types() == ["scene_shifted"]
    assert result.events[0].ended_at is None
    assert result.ended == []


def test_unsure_shift_estimates_are_ignored() -> None:
    wobbly = frame(shift=2.0, shift_confidence=0.3)
    assert run((3, QUIET), (8, wobbly)).types() == []


def test_a_shift_that_explains_nothing_is_not_a_moved_camera() -> None:
    """A light switched on or items taken can move the correlation peak: the view shifted
    back does not match the reference better, so the camera did not move."""
    relit = frame(shift=2.0, shift_confidence=1.0, shift_explained=0.05)
    assert run((3, QUIET), (8, relit)).types() == []


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
        (2, frame(motion=0.04, changes=(item(), hand(OTHER_SPOT)))),
        (10, frame(changes=(item(), item(OTHER_SPOT)))),
    )
    direct = run(*segments)
    stored = run(*segments, roundtrip=True)
    assert [(e.key, e.event_type, e.started_at, e.details) for e in direct.events] == [
        (e.key, e.event_type, e.started_at, e.details) for e in stored.events
    ]
    assert direct.events


def test_a_state_saved_by_an_older_engine_keeps_its_open_events() -> None:
    old = {
        "mode": "settling",
        "episode": {"pre": None, "started_at": {"$t": T0.isoformat()}},
        "obstruction": {"key": "c0001:camera_obstructed", "since": {"$t": T0.isoformat()}},
    }
    state = EngineState.from_json(old)
    assert state.obstruction is not None
    assert state.obstruction.key == "c0001:camera_obstructed"
    assert state.watch is None


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
        roi_version=4, thresholds=replace(Thresholds(), inventory_change_threshold=0.9)
    )
    result = run((3, QUIET), (2, HAND), (10, TAKEN), config=strict)
    assert result.types() == ["interaction_detected"]
    assert result.events[0].details["thresholds"]["inventory_change_threshold"] == 0.9
