"""The event page's explanation of ``details``: pairing, bars, trace, regions."""

from __future__ import annotations

from typing import Any

import pytest

from shelfcam.activity.explain import explain, pair_thresholds
from shelfcam.engine.config import Thresholds
from shelfcam.engine.decisions import JUDGED_AGAINST
from shelfcam.vision.roi import Region

SEED_DETAILS: dict[str, Any] = {
    "roi_version": 3,
    "thresholds": {"interaction_threshold": 0.18, "inventory_change_threshold": 0.22},
    "scores": {"motion_peak": 0.31, "inventory_delta": 0.27},
    "captures": {"pre_capture_id": "a", "post_capture_id": "b", "during_capture_id": "c"},
    "baseline": {"age_seconds": 420, "stability_frames": 3},
    "decision_trace": [
        "interaction_start",
        "burst_requested",
        "post_stable_found",
        "delta_exceeded_threshold",
        "event_emitted",
    ],
    "regions": [{"x": 0.1, "y": 0.2, "w": 0.1, "h": 0.1}],
}


def test_the_seed_example_is_explained() -> None:
    why = explain(SEED_DETAILS)
    bars = {bar.name: bar for bar in why.bars}
    assert bars["inventory_delta"].threshold_name == "inventory_change_threshold"
    assert bars["inventory_delta"].threshold == 0.22
    assert bars["inventory_delta"].exceeded is True
    assert bars["inventory_delta"].value_percent == 27.0
    assert bars["inventory_delta"].threshold_percent == 22.0
    assert bars["motion_peak"].threshold_name == "interaction_threshold"
    assert why.lone_thresholds == []
    assert why.trace == SEED_DETAILS["decision_trace"]
    assert why.roi_version == "3"
    assert why.baseline_age_seconds == 420
    assert why.baseline_stability_frames == "3"
    assert why.regions == [Region(0.1, 0.2, 0.1, 0.1)]
    assert ("pre_capture_id", "a") in why.captures


@pytest.mark.parametrize(
    ("scores", "thresholds", "pairs"),
    [
        (
            {"obstruction": 0.9},
            {"obstruction_threshold": 0.7},
            {"obstruction": "obstruction_threshold"},
        ),
        ({"shift_px": 2.0}, {"shift_threshold_px": 1.5}, {"shift_px": "shift_threshold_px"}),
        # Two scores judged against one threshold both show it.
        (
            {"motion": 0.2, "motion_peak": 0.3},
            {"interaction_threshold": 0.18, "min_motion_frames": 2},
            {"motion": "interaction_threshold", "motion_peak": "interaction_threshold"},
        ),
        # A shared word is no pairing: a score the engine judges against nothing stands alone.
        ({"brightness": 0.1}, {"brightness_floor": 0.2}, {}),
        ({"empty_score": 0.9}, {"confirm_empty_above": 0.8}, {}),
        # The score's own threshold is missing (an older event): alone, not paired with another.
        ({"motion_peak": 0.074}, {"min_motion_frames": 2}, {}),
    ],
)
def test_pairing(scores: dict[str, Any], thresholds: dict[str, Any], pairs: dict[str, str]) -> None:
    assert pair_thresholds(scores, thresholds) == pairs


def test_motion_peak_is_shown_against_its_own_threshold_only() -> None:
    """The reported bug: "0.074 < min_motion_frames 2" on the event page."""
    details = {
        "thresholds": Thresholds().to_dict(),
        "scores": {"motion": 0.0, "motion_peak": 0.074, "frame_change": 0.2},
    }
    bars = {bar.name: bar for bar in explain(details).bars}
    assert bars["motion_peak"].threshold_name == "interaction_threshold"
    assert bars["motion"].threshold_name == "interaction_threshold"
    assert bars["frame_change"].threshold_name == "stable_frame_change"
    lone = dict(explain(details).lone_thresholds)
    assert "min_motion_frames" in lone and "interaction_threshold" not in lone


def test_every_pairing_names_a_real_threshold() -> None:
    assert set(JUDGED_AGAINST.values()) <= set(Thresholds.names())


def test_unpaired_thresholds_are_listed_and_unpaired_scores_have_no_mark() -> None:
    why = explain({"scores": {"sharpness": 0.02}, "thresholds": {"interaction_threshold": 0.2}})
    assert why.lone_thresholds == [("interaction_threshold", "0.2")]
    (bar,) = why.bars
    assert bar.threshold is None
    assert bar.exceeded is None
    assert bar.threshold_percent is None


@pytest.mark.parametrize(
    "details",
    [
        {},
        {"scores": None, "thresholds": [], "decision_trace": "x", "regions": {}, "baseline": 3},
        {
            "scores": {"a": "high", "b": True, "c": float("nan")},
            "thresholds": {"a_threshold": None},
        },
        {
            "regions": [
                {"x": "1"},
                None,
                {"x": 0.9, "y": 0.9, "w": 0.5, "h": 0.5},
                {"x": 0, "y": 0, "w": 0, "h": 1},
            ]
        },
        {"decision_trace": ["a", {"step": "b", "value": 1}, 3]},
    ],
)
def test_malformed_details_never_break_the_page(details: dict[str, Any]) -> None:
    why = explain(details)
    for bar in why.bars:
        assert 0.0 <= bar.value_percent <= 100.0
    for region in why.regions:
        assert 0 <= region.x <= 1 and 0 < region.w <= 1 - region.x + 1e-9


def test_scores_above_one_get_a_wider_scale() -> None:
    why = explain({"scores": {"shift_px": 3.0}, "thresholds": {"shift_threshold_px": 1.5}})
    (bar,) = why.bars
    assert bar.scale == pytest.approx(3.45)
    assert bar.value_percent < 100.0
    assert bar.threshold_percent == pytest.approx(43.48, abs=0.01)


def test_regions_are_clipped_to_the_frame_and_trace_items_become_text() -> None:
    why = explain(
        {
            "regions": [{"x": 0.9, "y": 0.9, "w": 0.5, "h": 0.5}],
            "decision_trace": ["a", {"step": "b"}],
        }
    )
    assert why.regions == [Region(0.9, 0.9, pytest.approx(0.1), pytest.approx(0.1))]  # type: ignore[arg-type]
    assert why.trace == ["a", '{"step": "b"}']
