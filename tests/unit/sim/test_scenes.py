"""The synthetic scene generator: determinism, label consistency, and the vision on it."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from shelfcam.engine.config import Thresholds
from shelfcam.ingest.jpeg import check_jpeg
from shelfcam.sim.scenes import SCENARIOS, Scenario, generate
from shelfcam.sim.script import JsonDict
from shelfcam.vision import (
    Frame,
    Region,
    Rois,
    analyze,
    empty_similarity,
    frame_from_jpeg,
    inventory_delta,
)
from shelfcam.vocabulary import EVENT_TYPES

TH = Thresholds()
"""The engine's defaults: the scores are judged against these."""


def test_catalogue_is_big_enough() -> None:
    assert len(SCENARIOS) >= 30
    for needed in (
        "take_item",
        "add_item",
        "move_item",
        "fast_hand_add",
        "lights_off_on",
        "exposure_drift",
        "daylight_slow",
        "noise_heavy",
        "jpeg_q10",
        "covered",
        "shifted",
        "hand_lingers_no_change",
        "empty_shelf",
        "multiple_interactions",
        "restock",
    ):
        assert needed in SCENARIOS


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a = generate("take_item", seed=3, width=320, height=240)
    b = generate("take_item", seed=3, width=320, height=240)
    c = generate("take_item", seed=4, width=320, height=240)
    assert a.frames == b.frames and a.labels == b.labels
    assert a.empty_reference == b.empty_reference
    assert a.frames != c.frames


def _check_labels(sc: Scenario) -> None:
    lab = sc.labels
    n = len(sc.frames)
    assert lab["frame_count"] == n and len(lab["timestamps_ms"]) == n
    stamps = lab["timestamps_ms"]
    assert stamps[0] == 0 and all(b > a for a, b in itertools.pairwise(stamps))
    assert json.loads(json.dumps(lab)) == lab
    # Phases tile the frames in order.
    pos = 0
    for ph in lab["phases"]:
        assert ph["start_frame"] == pos and ph["end_frame"] > pos
        pos = ph["end_frame"]
    assert pos == n
    for ev in lab["events"]:
        assert ev["event_type"] in EVENT_TYPES
        assert 0 <= ev["start_frame"] < n
        assert ev["start_ms"] == stamps[ev["start_frame"]]
        if ev["end_frame"] is not None:
            assert ev["start_frame"] <= ev["end_frame"] < n
            assert ev["end_ms"] == stamps[ev["end_frame"]]
        if ev["event_type"] == "stock_changed":
            box = ev["box"]
            assert box["x"] >= 0.0 and box["x"] + box["w"] <= 1.0
            assert box["y"] >= 0.0 and box["y"] + box["h"] <= 1.0
            # enough stable frames after the change for it to be judged (>= 5 s)
            assert stamps[ev["post_frame"]] - ev["end_ms"] >= 5000
            assert ev["pre_frame"] < ev["start_frame"] <= ev["end_frame"] <= ev["post_frame"]
    for poly in lab["rois"].values():
        assert len(poly) >= 3 and all(0 <= v <= 1 for p in poly for v in p)


@pytest.mark.parametrize("name", sorted(n for n in SCENARIOS if n != "uxga_take"))
def test_every_scenario_generates_with_consistent_labels(name: str) -> None:
    sc = generate(name, width=320, height=240)
    assert 10_000 <= sc.timestamps_ms[-1] <= 45_000
    info = check_jpeg(sc.frames[0])
    assert (info.width, info.height) == (320, 240)
    _check_labels(sc)


def test_uxga_scenario_resolution() -> None:
    sc = generate("uxga_take", fps=1.0)
    info = check_jpeg(sc.frames[0])
    assert (info.width, info.height) == (1600, 1200)
    _check_labels(sc)


def test_write_folder(tmp_path: Path) -> None:
    sc = generate("fast_hand_take", width=160, height=120)
    out = sc.write(tmp_path / "s")
    assert (out / "000000.jpg").read_bytes() == sc.frames[0]
    assert len(list(out.glob("[0-9]*.jpg"))) == len(sc.frames)
    assert json.loads((out / "labels.json").read_text()) == sc.labels
    assert (out / "empty_reference.jpg").read_bytes() == sc.empty_reference


def _rois(sc: Scenario) -> Rois:
    r = sc.labels["rois"]
    return Rois(tuple(map(tuple, r["interaction"])), tuple(map(tuple, r["inventory"])))


def _events(sc: Scenario, kind: str) -> list[JsonDict]:
    return [e for e in sc.labels["events"] if e["event_type"] == kind]


@pytest.mark.parametrize(
    "name", ["take_item", "add_item", "move_item", "fast_hand_add", "jpeg_q10"]
)
def test_vision_sees_stock_changes(name: str) -> None:
    sc = generate(name)
    inv = _rois(sc).inventory
    for ev in _events(sc, "stock_changed"):
        pre = frame_from_jpeg(sc.frames[int(ev["pre_frame"])])
        post = frame_from_jpeg(sc.frames[int(ev["post_frame"])])
        res = inventory_delta(pre, post, inv)
        assert res.score > TH.inventory_change_threshold
        truth = Region(**ev["box"])
        assert max(r.iou(truth) for r in res.regions) > 0.2


@pytest.mark.parametrize(
    "name", ["hand_lingers_no_change", "lights_off_on", "exposure_drift", "noise_heavy_idle"]
)
def test_vision_quiet_without_stock_change(name: str) -> None:
    sc = generate(name)
    frames = [frame_from_jpeg(d) for d in sc.frames]
    inv = _rois(sc).inventory
    hand = {
        i
        for p in sc.labels["phases"]
        if p["kind"] == "hand"
        for i in range(p["start_frame"], p["end_frame"])
    }
    for i in range(0, len(frames), 4):
        if i not in hand:
            assert (
                inventory_delta(frames[0], frames[i], inv).score < TH.inventory_change_threshold
            ), i


def test_vision_interaction_lighting_obstruction_shift_empty() -> None:
    take = generate("take_item")
    rois = _rois(take)
    f = [frame_from_jpeg(d) for d in take.frames]
    hand = next(p for p in take.labels["phases"] if p["kind"] == "hand")
    peak = max(
        analyze(
            f[i], prev=f[i - 1], baseline=None, reference=None, empty_ref=None, rois=rois
        ).motion
        for i in range(hand["start_frame"], hand["end_frame"])
    )
    assert peak > TH.interaction_threshold

    lights = generate("lights_off_on")
    g = [frame_from_jpeg(d) for d in lights.frames]
    switch = next(p for p in lights.labels["phases"] if p["kind"] == "lights")["start_frame"]
    s = analyze(
        g[switch], prev=g[switch - 1], baseline=g[0], reference=None, empty_ref=None, rois=rois
    )
    assert s.lighting_score >= TH.lighting_threshold

    cov = generate("covered")
    c = [frame_from_jpeg(d) for d in cov.frames]
    ev = _events(cov, "camera_obstructed")[0]
    mid = (int(ev["start_frame"]) + int(ev["end_frame"])) // 2
    assert s_obs(c, mid, rois) >= TH.obstruction_threshold
    assert s_obs(c, 0, rois) < TH.obstruction_threshold

    sh = generate("shifted")
    h = [frame_from_jpeg(d) for d in sh.frames]
    last = analyze(h[-1], prev=h[-2], baseline=None, reference=h[0], empty_ref=None, rois=rois)
    first = analyze(h[2], prev=h[1], baseline=None, reference=h[0], empty_ref=None, rois=rois)
    assert last.shift_px >= TH.shift_threshold_px > first.shift_px

    emp = generate("empty_shelf")
    e = [frame_from_jpeg(d) for d in emp.frames]
    ref = frame_from_jpeg(emp.empty_reference)
    inv = rois.inventory
    assert empty_similarity(e[0], ref, inv) < TH.empty_threshold
    assert empty_similarity(e[-1], ref, inv) >= TH.empty_threshold


def s_obs(frames: list[Frame], i: int, rois: Rois) -> float:
    return analyze(
        frames[i], prev=None, baseline=None, reference=None, empty_ref=None, rois=rois
    ).obstruction
