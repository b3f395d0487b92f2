from __future__ import annotations

import numpy as np

from shelfcam.vision import Region, blur_outside, draw_regions


def _rgb() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)


def test_draw_regions_draws_box_border_only() -> None:
    img = _rgb()
    before = img.copy()
    out = draw_regions(img, [Region(0.25, 0.25, 0.5, 0.5)], colour=(255, 0, 0), thickness=1)
    assert np.array_equal(img, before), "input untouched"
    assert (out[30, 40:120] == (255, 0, 0)).all()  # top edge
    assert np.array_equal(out[40:80, 50:110], img[40:80, 50:110])  # inside untouched
    assert np.array_equal(out[:20], img[:20])


def test_blur_outside_keeps_inside() -> None:
    img = _rgb()
    poly = ((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75))
    out = blur_outside(img, poly)
    assert np.array_equal(out[35:85, 45:115], img[35:85, 45:115])
    assert out[:20].std() < img[:20].std() / 3
