from __future__ import annotations

import pytest

from shelfcam.errors import InvalidInput
from shelfcam.vision import polygons


def test_parse_square() -> None:
    poly = polygons.parse("0.1,0.2 0.9,0.2 0.9,0.8 0.1,0.8")
    assert poly == ((0.1, 0.2), (0.9, 0.2), (0.9, 0.8), (0.1, 0.8))
    assert polygons.area(poly) == pytest.approx(0.48)
    assert polygons.parse(polygons.to_text(poly)) == poly
    assert polygons.from_json(polygons.to_json(poly)) == poly


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0,0 1,1", "at least 3 points"),
        ("", "at least 3 points"),
        ("0,0 1.2,0 1,1", "outside 0..1"),
        ("0,0 1,0 1,-0.1", "outside 0..1"),
        ("0,0 0.5,0.5 1,1", "no area"),
        ("0,0 1,1 1,0 0,0.5", "crosses itself"),
        ("0,0 1,0 1,1 0,0", "repeats a point"),
        ("0,0 1;0 1,1", "not an x,y pair"),
        ("0,0 a,0 1,1", "not a pair of numbers"),
    ],
)
def test_bad_polygons_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        polygons.parse(text)


def test_concave_polygon_is_fine() -> None:
    poly = polygons.parse("0,0 1,0 1,1 0.5,0.4 0,1")
    assert not polygons.self_intersects(poly)


def test_collinear_overlap_counts_as_crossing() -> None:
    # The last edge runs back over the first one.
    assert polygons.self_intersects(((0.0, 0.0), (0.5, 0.0), (0.5, 0.5), (0.25, 0.0)))
