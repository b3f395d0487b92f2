"""The vision scores on real camera footage (SHELFCAM_REAL_DATA, default ../shared/data/real)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from shelfcam.engine.config import Thresholds
from shelfcam.vision import (
    FULL_FRAME,
    Frame,
    Region,
    Rois,
    analyze,
    frame_from_jpeg,
    inventory_delta,
    make_frame,
    motion_scores,
    roi_mask,
)
from tests.unit.vision.images import with_object

TH = Thresholds()
"""The engine's defaults: the scores are judged against these."""

REPO = Path(__file__).resolve().parents[3]
REAL = Path(os.environ.get("SHELFCAM_REAL_DATA", str(REPO / ".." / "shared" / "data" / "real")))
STARTUP = 20  # the first frames of a home-camera clip are camera start-up

pytestmark = pytest.mark.skipif(
    not REAL.is_dir(), reason=f"real footage not found at {REAL} (set SHELFCAM_REAL_DATA)"
)


@cache
def clip(name: str) -> tuple[Frame, ...]:
    files = sorted((REAL / "home-camera" / name).glob("*.jpg"))
    assert files, f"no frames in {name}"
    return tuple(frame_from_jpeg(f.read_bytes()) for f in files[STARTUP:])


def switches(frames: tuple[Frame, ...], jump: float = 25.0) -> list[tuple[int, int]]:
    """(last frame before, first frame after) each light switch: mean grey settling at a new
    level, found from the brightness curve alone."""
    means = np.array([f.mean for f in frames])
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(means) - 1:
        if abs(means[i + 1] - means[i]) > 3.0:
            j = i + 1
            while j < len(means) - 1 and abs(means[j + 1] - means[j]) > 1.0:
                j += 1
            if abs(means[j] - means[i]) > jump:
                out.append((i, j))
            i = j
        i += 1
    return out


@pytest.mark.parametrize("name", ["light-dark", "dark-light", "alternating-light"])
def test_light_switch_fires_lighting_not_inventory(name: str) -> None:
    # dark-light: the lamp lights the door frame at the left edge and the shading of its
    # mouldings changes (a 4 x 11 px band of the thumbnail: delta 0.49 without the shading
    # test of shelfcam.vision.delta.shading_only), plus a 12 px speck at the bottom right.
    frames = clip(name)
    found = switches(frames)
    assert found, "the clip has light switches"
    rois = Rois()
    for before, after in found:
        base = frames[before]
        fired = False
        for k in range(before + 1, min(len(frames), after + 8)):
            s = analyze(
                frames[k],
                prev=frames[k - 1],
                baseline=base,
                reference=None,
                empty_ref=None,
                rois=rois,
            )
            fired = fired or s.lighting_score >= TH.lighting_threshold
        assert fired, f"lighting change at the switch after frame {before}"
        settled = min(len(frames) - 1, after + 10)
        delta = inventory_delta(base, frames[settled], FULL_FRAME)
        assert delta.score < TH.inventory_change_threshold, (before, settled, delta)


@pytest.mark.parametrize(
    ("name", "appears"),
    [("dark-light", True), ("dark-light", False), ("light-dark", True), ("light-dark", False)],
)
@pytest.mark.parametrize("box", [(40, 20, 16, 16), (100, 30, 16, 16), (30, 5, 24, 24)])
def test_object_seen_across_a_light_switch(
    name: str, appears: bool, box: tuple[int, int, int, int]
) -> None:
    """The light switch must not hide a stock change made at the same time: a textured item
    (16 x 16 px = 1.3 % or 24 x 24 = 3 % of the view) put into (or taken from) the real
    frames on either side of the switch is still found, at its place."""
    frames = clip(name)
    before, after = switches(frames)[0]
    a, b = frames[before], frames[after + 10]
    if appears:
        b = make_frame(with_object(np.array(b.gray), box))
    else:
        a = make_frame(with_object(np.array(a.gray), box))
    res = inventory_delta(a, b, FULL_FRAME)
    assert res.score > TH.inventory_change_threshold
    h, w = b.gray.shape
    x, y, bw, bh = box
    truth = Region(x / w, y / h, bw / w, bh / h)
    assert max(r.iou(truth) for r in res.regions) > 0.3


def test_alternating_light_lit_views_match() -> None:
    frames = clip("alternating-light")
    lit = [i for i, f in enumerate(frames) if f.mean > 80]
    first, last = lit[0] + 5, lit[-1]
    assert frames[first].mean > 80 and frames[last].mean > 80
    assert (
        inventory_delta(frames[first], frames[last], FULL_FRAME).score
        < TH.inventory_change_threshold
    )


def _png(name: str) -> np.ndarray:
    img = cv2.imread(str(REAL / "hand" / "hand1" / f"{name}.png"), cv2.IMREAD_GRAYSCALE)
    assert img is not None
    h, w = img.shape
    return np.ascontiguousarray(cv2.resize(img, (160, 160 * h // w), interpolation=cv2.INTER_AREA))


def test_hand_motion_inside_hand_roi_not_elsewhere() -> None:
    bg, fr, gt = _png("background"), _png("frame"), _png("ground_truth")
    hand = gt < 128
    ys, xs = np.nonzero(hand)
    h, w = gt.shape
    box = (xs.min() / w, ys.min() / h, (xs.max() + 1) / w, (ys.max() + 1) / h)
    over = ((box[0], box[1]), (box[2], box[1]), (box[2], box[3]), (box[0], box[3]))
    # The biggest corner rectangle with no hand pixel.
    away = None
    for cx, cy in ((0, 0), (1, 0), (0, 1), (1, 1)):
        x0, x1 = (0.0, 0.3) if cx == 0 else (0.7, 1.0)
        y0, y1 = (0.0, 0.3) if cy == 0 else (0.7, 1.0)
        if not hand[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)].any():
            away = ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
            break
    assert away is not None
    fb, ff = make_frame(bg), make_frame(fr)
    sh, sw = ff.small.shape
    inside = motion_scores(fb, ff, roi_mask(sw, sh, over)).motion
    outside = motion_scores(fb, ff, roi_mask(sw, sh, away)).motion
    assert inside > 0.2
    assert outside < TH.interaction_end_threshold


def test_walking_by_motion_then_no_inventory_change() -> None:
    frames = clip("walking-by")
    full = roi_mask(frames[0].small.shape[1], frames[0].small.shape[0], FULL_FRAME)
    motion = [motion_scores(frames[i - 1], frames[i], full).motion for i in range(1, len(frames))]
    assert max(motion) > TH.interaction_threshold, "the person passing is seen"
    assert sum(m > TH.interaction_threshold for m in motion) >= 5
    assert motion[0] < TH.interaction_end_threshold and motion[-1] < TH.interaction_end_threshold, (
        "still before and after"
    )
    assert inventory_delta(frames[0], frames[-1], FULL_FRAME).score < TH.inventory_change_threshold
