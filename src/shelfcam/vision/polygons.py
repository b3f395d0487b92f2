"""ROI polygons: ``x,y x,y x,y ...`` in normalised image coordinates (0..1).

Normalised coordinates keep a ROI valid when the camera's resolution changes. A polygon
needs at least three points, every coordinate within 0..1, a non-zero area and an outline
that does not cross itself.
"""

from __future__ import annotations

from shelfcam.errors import InvalidInput

Point = tuple[float, float]
Polygon = tuple[Point, ...]

FULL_FRAME: Polygon = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
_EPS = 1e-12


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _on_segment(p: Point, q: Point, r: Point) -> bool:
    return min(p[0], r[0]) - _EPS <= q[0] <= max(p[0], r[0]) + _EPS and (
        min(p[1], r[1]) - _EPS <= q[1] <= max(p[1], r[1]) + _EPS
    )


def _segments_touch(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > _EPS and d2 < -_EPS) or (d1 < -_EPS and d2 > _EPS)) and (
        (d3 > _EPS and d4 < -_EPS) or (d3 < -_EPS and d4 > _EPS)
    ):
        return True
    return (
        (abs(d1) <= _EPS and _on_segment(q1, p1, q2))
        or (abs(d2) <= _EPS and _on_segment(q1, p2, q2))
        or (abs(d3) <= _EPS and _on_segment(p1, q1, p2))
        or (abs(d4) <= _EPS and _on_segment(p1, q2, p2))
    )


def area(polygon: Polygon) -> float:
    """Absolute area (shoelace), in normalised units (the full frame is 1.0)."""
    total = 0.0
    for i, (x1, y1) in enumerate(polygon):
        x2, y2 = polygon[(i + 1) % len(polygon)]
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def self_intersects(polygon: Polygon) -> bool:
    n = len(polygon)
    edges = [(polygon[i], polygon[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            adjacent = j == i + 1 or (i == 0 and j == n - 1)
            if adjacent:
                continue
            if _segments_touch(*edges[i], *edges[j]):
                return True
    return False


def validate(points: list[Point] | Polygon, what: str = "ROI") -> Polygon:
    """Return the polygon as a tuple, or raise :class:`InvalidInput` saying what is wrong."""
    polygon = tuple((float(x), float(y)) for x, y in points)
    if len(polygon) < 3:
        raise InvalidInput(f"{what} needs at least 3 points, got {len(polygon)}")
    for x, y in polygon:
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise InvalidInput(
                f"{what} point {x:g},{y:g} is outside 0..1 (coordinates are fractions of "
                "the image width and height)"
            )
    if len(set(polygon)) != len(polygon):
        raise InvalidInput(f"{what} repeats a point")
    if area(polygon) < 1e-6:
        raise InvalidInput(f"{what} has no area (its points are on one line)")
    if self_intersects(polygon):
        raise InvalidInput(f"{what} outline crosses itself; list the points around the edge")
    return polygon


def parse(text: str, what: str = "ROI") -> Polygon:
    """Parse ``"x,y x,y x,y"`` (normalised coordinates) into a validated polygon."""
    points: list[Point] = []
    for pair in text.split():
        parts = pair.split(",")
        if len(parts) != 2:
            raise InvalidInput(f"{what}: {pair!r} is not an x,y pair (expected e.g. '0.1,0.2')")
        try:
            points.append((float(parts[0]), float(parts[1])))
        except ValueError as err:
            raise InvalidInput(f"{what}: {pair!r} is not a pair of numbers") from err
    return validate(points, what)


def to_text(polygon: Polygon) -> str:
    return " ".join(f"{x:g},{y:g}" for x, y in polygon)


def to_json(polygon: Polygon) -> list[list[float]]:
    return [[x, y] for x, y in polygon]


def from_json(value: object, what: str = "ROI") -> Polygon:
    if not isinstance(value, list):
        raise InvalidInput(f"{what} must be a list of [x, y] pairs")
    points: list[Point] = []
    for item in value:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise InvalidInput(f"{what} must be a list of [x, y] pairs")
        points.append((float(item[0]), float(item[1])))
    return validate(points, what)
