"""Events per day: 15-minute bins assigned to local days, in any time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from shelfcam.activity import stats
from shelfcam.web.svg import DaySeries, stacked_days


def _row(device: str, event_type: str, when: datetime, n: int = 1) -> dict[str, object]:
    return {"device_id": device, "event_type": event_type, "bin": when, "events": n}


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", [0, 4, 1]),
        ("Asia/Kolkata", [0, 3, 2]),  # +05:30: 19:00 UTC is already the next day
        ("America/New_York", [1, 4, 0]),  # -05:00: 00:15 UTC is still the day before
    ],
)
def test_bins_fall_on_local_days(zone: str, expected: list[int]) -> None:
    days = [date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 21)]
    rows = [
        _row("pantry", "stock_changed", datetime(2026, 11, 20, 0, 15, tzinfo=UTC)),
        _row("pantry", "stock_changed", datetime(2026, 11, 20, 12, 0, tzinfo=UTC), 2),
        _row("pantry", "stock_changed", datetime(2026, 11, 20, 19, 0, tzinfo=UTC)),
        _row("pantry", "stock_changed", datetime(2026, 11, 21, 1, 0, tzinfo=UTC)),
        _row("pantry", "no_such_type", datetime(2026, 11, 20, 1, 0, tzinfo=UTC)),
        _row("pantry", "stock_changed", datetime(2026, 11, 25, 1, 0, tzinfo=UTC)),
    ]
    counts = stats.bucket(rows, days, ZoneInfo(zone))
    assert counts.counts["pantry"]["stock_changed"] == expected
    assert counts.by_type()["interaction_detected"] == [0, 0, 0]
    assert counts.total("pantry") == 5


def test_window_and_totals() -> None:
    assert stats.window(date(2026, 3, 2), 3) == [
        date(2026, 2, 28),
        date(2026, 3, 1),
        date(2026, 3, 2),
    ]
    rows = [
        _row("a", "stock_changed", datetime(2026, 3, 2, 10, tzinfo=UTC), 2),
        _row("b", "scene_shifted", datetime(2026, 3, 1, 10, tzinfo=UTC)),
    ]
    counts = stats.bucket(rows, stats.window(date(2026, 3, 2), 3), UTC)
    assert counts.devices() == ["a", "b"]
    assert counts.total() == 3
    assert counts.total(event_type="scene_shifted") == 1
    assert counts.by_type()["stock_changed"] == [0, 0, 2]


def test_stacked_days_geometry() -> None:
    days = stats.window(date(2026, 3, 2), 4)
    chart = stacked_days(
        days, [DaySeries("stock_changed", [0, 1, 3, 0]), DaySeries("scene_shifted", [0, 1, 0, 0])]
    )
    assert len(chart.rects) == 3
    tallest = max(chart.rects, key=lambda r: r.h)
    assert tallest.title == "2026-03-01: 3 stock_changed"
    # Bars of one day stack: the second series sits on top of the first.
    day2 = sorted((r for r in chart.rects if r.title.startswith("2026-02-28")), key=lambda r: -r.y)
    assert day2[0].y == pytest.approx(day2[1].y + day2[1].h)
    assert [label.text for label in chart.labels if label.anchor == "end"] == ["0", "1", "2", "3"]
