"""The tuning core: rescoring retained frames, outcome changes, frame crossings, histograms."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shelfcam.engine.config import Thresholds
from shelfcam.tuning import judge
from shelfcam.vision import FULL_FRAME, Rois
from tests.events_seed import shelf_jpeg

T = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _event(
    event_type: str, scores: dict[str, float], delta: float | None = None
) -> judge.RecentEvent:
    rescored: dict[str, float | None] | None = None
    if delta is not None:
        rescored = {"inventory_delta": delta, "inventory_judged": 1.0}
    return judge.RecentEvent("e-" + event_type, event_type, T, scores, rescored)


def test_rescore_sees_the_taken_item_and_not_an_unchanged_shelf() -> None:
    rois = Rois(FULL_FRAME, FULL_FRAME, 1)
    changed = judge.rescore(shelf_jpeg("pre"), shelf_jpeg("post"), rois)
    same = judge.rescore(shelf_jpeg("pre"), shelf_jpeg("pre", seed=1), rois)
    assert changed["inventory_delta"] is not None and changed["inventory_delta"] > 0.3
    assert same["inventory_delta"] is not None and same["inventory_delta"] < 0.05
    # An inventory ROI away from the taken item sees no change.
    left = ((0.0, 0.6), (0.3, 0.6), (0.3, 1.0), (0.0, 1.0))
    elsewhere = judge.rescore(shelf_jpeg("pre"), shelf_jpeg("post"), Rois(FULL_FRAME, left, 2))
    assert elsewhere["inventory_delta"] is not None and elsewhere["inventory_delta"] < 0.05


# The thresholds in force in these tests (fixed, so the tests do not follow the defaults).
CURRENT = Thresholds.from_overrides(
    {"inventory_change_threshold": 0.2, "interaction_threshold": 0.015}
)


def test_outcomes_change_with_the_thresholds() -> None:
    current = CURRENT
    higher = replace(CURRENT, inventory_change_threshold=0.5)
    lower = replace(CURRENT, inventory_change_threshold=0.1)
    stock = _event("stock_changed", {"inventory_delta": 0.3, "motion_peak": 0.2}, delta=0.35)
    touch = _event("interaction_detected", {"motion_peak": 0.02}, delta=0.15)
    dropped = judge.preview([stock, touch], [], current, higher)
    assert [(o.event_type, o.change) for o in dropped.changes] == [("stock_changed", "dropped")]
    assert dropped.changes[0].score == 0.35 and dropped.changes[0].rescored
    added = judge.preview([stock, touch], [], current, lower)
    assert [(o.question, o.change) for o in added.changes] == [("Also a stock change", "added")]
    quiet = replace(CURRENT, interaction_threshold=0.05)
    lost = judge.preview([stock, touch], [], current, quiet).changes
    assert [(o.event_type, o.score_name, o.change) for o in lost] == [
        ("interaction_detected", "motion_peak", "dropped")
    ]
    assert judge.preview([stock, touch], [], current, current).changes == []
    # An interaction whose frames already pass is no stock change lost by a higher value.
    big = _event("interaction_detected", {"motion_peak": 0.2}, delta=0.3)
    assert judge.preview([big], [], current, higher).changes == []


def test_recorded_scores_are_used_when_frames_are_gone() -> None:
    stock = _event("stock_changed", {"inventory_delta": 0.25})
    outcome = judge.event_outcomes(stock, CURRENT, replace(CURRENT, inventory_change_threshold=0.3))
    assert [(o.score, o.rescored, o.change) for o in outcome] == [(0.25, False, "dropped")]
    empty = _event("empty_confirmed", {"empty_similarity": 0.85})
    assert judge.event_outcomes(empty, Thresholds(), replace(CURRENT, empty_threshold=0.9))[
        0
    ].change == ("dropped")
    broken = _event("camera_obstructed", {"obstruction": "high"})  # type: ignore[dict-item]
    assert judge.event_outcomes(broken, Thresholds(), Thresholds())[0].change == "still_off"


def test_crossings_count_near_misses_that_would_fire() -> None:
    frames = [{"motion": v} for v in (0.001, 0.008, 0.01, 0.012, 0.02, 0.3)] + [{"other": 1}]
    lower = replace(CURRENT, interaction_threshold=0.009)
    preview = judge.preview([], frames, CURRENT, lower)
    motion = next(c for c in preview.crossings if c.rule.score == "motion")
    assert (motion.frames, motion.at_or_above_now, motion.at_or_above_then) == (6, 2, 4)
    assert motion.newly_firing == 2 and motion.no_longer_firing == 0
    assert motion.near_misses == 3  # 0.008, 0.01, 0.012 are within half of 0.015
    assert preview.changed_thresholds == [("interaction_threshold", 0.015, 0.009)]


@pytest.mark.parametrize(
    ("rule", "current", "top"),
    [("motion", 0.015, 0.06), ("obstruction", 0.7, 1.0), ("shift_px", 1.2, 4.8)],
)
def test_histogram_axis_shows_the_threshold(rule: str, current: float, top: float) -> None:
    values = [0.0, current / 2, current, current * 10]
    h = judge.histogram(judge.RULE_BY_SCORE[rule], values, current, current, [])
    assert h.top == pytest.approx(top)
    assert sum(h.counts) == 4
    assert h.clipped == (1 if current * 10 > top else 0)
    assert h.counts[-1] >= 1
