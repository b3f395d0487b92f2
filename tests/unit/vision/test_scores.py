"""Every score on generated images with known answers."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shelfcam.engine.config import Thresholds
from shelfcam.vision import (
    FULL_FRAME,
    Region,
    Rois,
    analyze,
    empty_similarity,
    inventory_delta,
    make_frame,
    motion_scores,
    obstruction,
    roi_mask,
    scene_shift,
)
from tests.unit.vision.images import (
    gain_offset,
    noisy,
    plain,
    textured,
    with_flat_item,
    with_object,
)

TH = Thresholds()
"""The engine's defaults: the scores are judged against these."""

LEFT = ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))
RIGHT = ((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0))
INV = ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9))
# ~3 % of the INV ROI (128 x 96 = 12288 px): 20 x 18 = 360 px.
SMALL_BOX = (90, 40, 20, 18)
SMALL_TRUTH = Region(90 / 160, 40 / 120, 20 / 160, 18 / 120)


def _motion(a: np.ndarray, b: np.ndarray, poly: tuple[tuple[float, float], ...]) -> float:
    fa, fb = make_frame(a), make_frame(b)
    h, w = fa.small.shape
    return motion_scores(fa, fb, roi_mask(w, h, poly)).motion


@pytest.mark.parametrize(
    ("case", "poly", "low", "high"),
    [
        ("same", FULL_FRAME, 0.0, 0.0),
        ("object_left", LEFT, 0.08, 1.0),
        ("object_left", RIGHT, 0.0, 0.0),
        ("noise", FULL_FRAME, 0.0, 0.01),
        ("offset", FULL_FRAME, 0.0, 0.01),
    ],
)
def test_motion_known_answers(
    case: str, poly: tuple[tuple[float, float], ...], low: float, high: float
) -> None:
    base = noisy(textured(1), 2.0, 1)
    cur = {
        "same": base,
        "object_left": with_object(base, (20, 30, 40, 50)),
        "noise": noisy(textured(1), 2.0, 2),
        "offset": gain_offset(base, 1.0, 25.0),
    }[case]
    assert low <= _motion(base, cur, poly) <= high


def test_frame_change_counts_the_whole_view() -> None:
    base = textured(2)
    cur = with_object(base, (100, 20, 40, 60))
    fa, fb = make_frame(base), make_frame(cur)
    h, w = fa.small.shape
    m = motion_scores(fa, fb, roi_mask(w, h, LEFT))
    assert m.motion == 0.0
    assert m.frame_change == pytest.approx(40 * 60 / (160 * 120), rel=0.5)


@pytest.mark.parametrize("appear", [True, False])
def test_small_object_delta_and_region(appear: bool) -> None:
    empty = noisy(textured(3), 2.0, 3)
    full = noisy(with_object(textured(3), SMALL_BOX), 2.0, 4)
    a, b = (empty, full) if appear else (full, empty)
    res = inventory_delta(make_frame(a), make_frame(b), INV)
    assert res.score > 0.3
    assert res.regions, "a changed region is reported"
    assert max(r.iou(SMALL_TRUTH) for r in res.regions) > 0.3
    assert res.regions[0].iou(SMALL_TRUTH) > 0.3


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("appear", [True, False])
def test_flat_item_on_plain_board_is_seen(appear: bool, seed: int) -> None:
    # An untextured item (grey 70 on 130) on an untextured board changes only along its
    # outline, a band of structure 1-2 px wide at the 0.45 distance, which the 3x3 opening
    # removed (score 0.0). Under steady light the distance threshold is lower and it counts.
    empty = noisy(plain(seed), 2.0, 10 + seed)
    full = noisy(with_flat_item(plain(seed), SMALL_BOX, 70), 2.0, 20 + seed)
    a, b = (empty, full) if appear else (full, empty)
    res = inventory_delta(make_frame(a), make_frame(b), INV)
    assert res.score > TH.inventory_change_threshold
    # The outline may come in pieces (its corners): all on the item, together covering it.
    x0 = min(r.x for r in res.regions)
    y0 = min(r.y for r in res.regions)
    x1 = max(r.x + r.w for r in res.regions)
    y1 = max(r.y + r.h for r in res.regions)
    assert Region(x0, y0, x1 - x0, y1 - y0).iou(SMALL_TRUTH) > 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("gain", "offset"), [(1.0, 0.0), (0.93, 0.0), (1.0, 8.0), (1.08, -6.0), (0.5, 0.0)]
)
def test_plain_board_quiet_under_noise_and_small_exposure_changes(
    gain: float, offset: float, seed: int
) -> None:
    # The sensitive steady-light threshold must not see a flat board's noise, nor an
    # exposure change too small to count as a light change.
    a = noisy(with_flat_item(plain(seed), SMALL_BOX, 70), 2.0, 30 + seed)
    b = noisy(gain_offset(with_flat_item(plain(seed), SMALL_BOX, 70), gain, offset), 2.0, 40)
    assert inventory_delta(make_frame(a), make_frame(b), INV).score < 0.05


@pytest.mark.parametrize(
    "change",
    ["same", "noise", "gain_down", "gain_up", "offset", "gradient", "soft_shadow"],
)
def test_delta_ignores_photometric_changes(change: str) -> None:
    base = noisy(textured(4), 2.0, 5)
    img = textured(4).astype(np.float32)
    h, w = img.shape
    ramp = np.linspace(0.7, 1.3, w, dtype=np.float32)[None, :]
    yy, xx = np.mgrid[0:h, 0:w]
    shadow = 1.0 - 0.4 * np.exp(-((xx - 100) ** 2 + (yy - 60) ** 2) / (2 * 30.0**2))
    cur_f = {
        "same": img,
        "noise": img,
        "gain_down": img * 0.5,
        "gain_up": img * 1.4,
        "offset": img + 30,
        "gradient": img * ramp,
        "soft_shadow": img * shadow,
    }[change]
    cur = noisy(np.clip(cur_f, 0, 255).astype(np.uint8), 2.0, 6)
    res = inventory_delta(make_frame(base), make_frame(cur), INV)
    assert res.score < 0.05


@settings(max_examples=40, deadline=None)
@given(
    gain=st.floats(0.5, 1.8),
    offset=st.floats(-40.0, 40.0),
    seed=st.integers(0, 5),
)
def test_global_gain_offset_never_lifts_delta(gain: float, offset: float, seed: int) -> None:
    base = noisy(textured(10 + seed), 2.0, seed)
    cur = gain_offset(base, gain, offset)
    res = inventory_delta(make_frame(base), make_frame(cur), INV)
    assert res.score < 0.05


def test_lighting_fires_on_light_not_on_object() -> None:
    base = noisy(textured(5), 2.0, 1)
    fb = make_frame(base)
    rois = Rois(FULL_FRAME, INV)
    dim = make_frame(noisy(gain_offset(textured(5), 0.4, 0.0), 1.0, 2))
    s = analyze(dim, prev=fb, baseline=fb, reference=None, empty_ref=None, rois=rois)
    assert s.lighting_score >= TH.lighting_threshold
    assert s.inventory_delta is not None and s.inventory_delta < TH.inventory_change_threshold
    obj = make_frame(noisy(with_object(textured(5), (40, 30, 60, 60)), 2.0, 3))
    s2 = analyze(obj, prev=fb, baseline=fb, reference=None, empty_ref=None, rois=rois)
    assert s2.lighting_score < TH.lighting_threshold
    assert s2.inventory_delta is not None and s2.inventory_delta > TH.inventory_change_threshold
    same = make_frame(noisy(textured(5), 2.0, 4))
    s3 = analyze(same, prev=fb, baseline=fb, reference=None, empty_ref=None, rois=rois)
    assert s3.lighting_score < 0.05


@pytest.mark.parametrize(
    ("kind", "blocked"),
    [
        ("black", True),
        ("grey", True),
        ("dark_blur", True),
        ("textured", False),
        ("dim_textured", False),
    ],
)
def test_obstruction(kind: str, blocked: bool) -> None:
    img = {
        "black": np.zeros((120, 160), np.uint8),
        "grey": noisy(np.full((120, 160), 128, np.uint8), 1.5, 1),
        "dark_blur": cv2.GaussianBlur(gain_offset(textured(6), 0.3, 0.0), (31, 31), 0),
        "textured": textured(6),
        "dim_textured": gain_offset(textured(6), 0.5, 0.0),
    }[kind]
    score = obstruction(make_frame(np.asarray(img, dtype=np.uint8)))
    assert 0.0 <= score <= 1.0
    assert (score >= TH.obstruction_threshold) == blocked


def test_sharpness_drops_with_blur() -> None:
    sharp = make_frame(textured(7))
    blurred = make_frame(np.asarray(cv2.GaussianBlur(textured(7), (9, 9), 0), dtype=np.uint8))
    assert 0.0 <= blurred.sharpness < sharp.sharpness <= 1.0


@pytest.mark.parametrize(("dx", "dy"), [(0, 0), (8, 0), (0, -6), (-12, 8), (16, 12)])
def test_scene_shift_recovers_translation(dx: int, dy: int) -> None:
    big = textured(8, 400, 300)
    ref = big[60:180, 80:240]  # 160 x 120 view
    cur = big[60 - dy : 180 - dy, 80 - dx : 240 - dx]  # content moves by (dx, dy)
    s = scene_shift(make_frame(np.ascontiguousarray(ref)), make_frame(np.ascontiguousarray(cur)))
    # Coarse bound for big knocks too (16 px is 3 px of the 32x24 view); the sub-pixel
    # accuracy is tested below.
    assert s.dx == pytest.approx(dx, rel=0.3, abs=1.0)
    assert s.dy == pytest.approx(dy, rel=0.3, abs=1.0)
    assert s.confidence >= TH.shift_min_confidence
    assert (s.magnitude >= TH.shift_threshold_px) == (dx != 0 or dy != 0)


def test_scene_shift_is_sub_pixel_accurate() -> None:
    # Small knocks over many textures: within about a pixel of the truth on each axis
    # (phase correlation of 32x24 views, sub-pixel from the peak's larger neighbour).
    errors = []
    for seed in range(10):
        big = textured(seed, 400, 300)
        ref = make_frame(np.ascontiguousarray(big[60:180, 80:240]))
        for dx, dy in [(1, 0), (0, 1), (2, 2), (3, -1), (4, 0), (0, -6), (8, 0)]:
            cur = big[60 - dy : 180 - dy, 80 - dx : 240 - dx]
            s = scene_shift(ref, make_frame(np.ascontiguousarray(cur)))
            errors += [abs(s.dx - dx), abs(s.dy - dy)]
    assert max(errors) <= 1.25
    assert float(np.mean(errors)) <= 0.5


def test_empty_similarity() -> None:
    empty = make_frame(noisy(textured(9), 2.0, 1))
    still_empty = make_frame(noisy(textured(9), 2.0, 2))
    one_item = make_frame(noisy(with_object(textured(9), SMALL_BOX), 2.0, 3))
    assert empty_similarity(still_empty, empty, INV) >= TH.empty_threshold
    assert empty_similarity(one_item, empty, INV) < TH.empty_threshold


def test_analyze_without_references_and_to_dict() -> None:
    cur = make_frame(textured(11))
    s = analyze(cur, prev=None, baseline=None, reference=None, empty_ref=None, rois=Rois())
    assert s.motion == 0.0 and s.frame_change == 1.0
    assert s.inventory_delta is None and s.empty_similarity is None and s.regions == ()
    assert s.shift_px == 0.0 and s.shift_confidence == 0.0
    prev = make_frame(textured(11))
    moved = make_frame(with_object(textured(11), (40, 30, 40, 40)))
    s2 = analyze(moved, prev=prev, baseline=prev, reference=prev, empty_ref=prev, rois=Rois())
    d = s2.to_dict(3)
    assert json.loads(json.dumps(d)) == d
    assert s2.motion > TH.interaction_threshold
    assert isinstance(d["regions"], list) and d["regions"]
    assert all(round(v, 3) == v for v in d.values() if isinstance(v, float))


def test_mismatched_sizes_are_ignored() -> None:
    cur = make_frame(textured(12))
    other = make_frame(textured(12, 200, 150))
    s = analyze(cur, prev=other, baseline=other, reference=other, empty_ref=other, rois=Rois())
    assert s.inventory_delta is None and s.frame_change == 1.0 and s.empty_similarity is None
