from __future__ import annotations

import numpy as np
import pytest
import simplejpeg

from shelfcam.errors import InvalidInput
from shelfcam.ingest.jpeg import check_jpeg
from shelfcam.vision import FULL_FRAME, Polygon, Region, decode_gray, polygons, roi_mask


def _jpeg(w: int, h: int) -> bytes:
    rgb = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    data: bytes = simplejpeg.encode_jpeg(rgb, quality=80)
    return data


@pytest.mark.parametrize(
    ("size", "analysis"),
    [
        ((640, 480), (160, 120)),
        ((1600, 1200), (200, 150)),
        ((800, 600), (200, 150)),
        ((480, 640), (180, 240)),
        ((320, 240), (160, 120)),
        ((100, 80), (100, 80)),
    ],
)
def test_decode_scales_to_analysis_size(size: tuple[int, int], analysis: tuple[int, int]) -> None:
    data = _jpeg(*size)
    info = check_jpeg(data)
    assert (info.width, info.height) == size
    g = decode_gray(data)
    assert g.dtype == np.uint8 and g.ndim == 2
    assert (g.shape[1], g.shape[0]) == analysis


def test_bad_jpeg_is_invalid_input() -> None:
    for bad in (b"not a jpeg", b"\xff\xd8\xff\xe0garbage"):
        with pytest.raises(InvalidInput):
            decode_gray(bad)


@pytest.mark.parametrize(
    ("poly", "fraction"),
    [
        (FULL_FRAME, 1.0),
        (((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)), 0.5),
        (((0.25, 0.25), (0.75, 0.25), (0.75, 0.75), (0.25, 0.75)), 0.25),
        (((0.0, 0.0), (1.0, 0.0), (0.0, 1.0)), 0.5),
    ],
)
def test_roi_mask_area_matches_polygon(poly: Polygon, fraction: float) -> None:
    m = roi_mask(160, 120, poly)
    assert m.fraction == pytest.approx(fraction, abs=0.02)
    assert m.crop.shape == (m.y1 - m.y0, m.x1 - m.x0)
    assert m.is_box == bool((m.crop == 255).all())
    assert roi_mask(160, 120, poly) is m  # cached
    assert not m.mask.flags.writeable


def test_masks_take_the_shared_validated_polygons() -> None:
    # ROIs come from shelfcam.vision.polygons (the CLI and database form); vision rasterises them.
    poly: Polygon = polygons.parse("0,0 0.5,0 0.5,1 0,1")
    assert roi_mask(160, 120, poly).fraction == pytest.approx(0.5, abs=0.02)
    assert roi_mask(160, 120, polygons.validate(list(FULL_FRAME))).area == 160 * 120


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        (Region(0, 0, 0.5, 0.5), Region(0, 0, 0.5, 0.5), 1.0),
        (Region(0, 0, 0.5, 0.5), Region(0.5, 0.5, 0.5, 0.5), 0.0),
        (Region(0, 0, 0.5, 0.5), Region(0.25, 0, 0.5, 0.5), 1 / 3),
    ],
)
def test_region_iou(a: Region, b: Region, iou: float) -> None:
    assert a.iou(b) == pytest.approx(iou)
