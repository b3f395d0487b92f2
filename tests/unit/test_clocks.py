from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shelfcam.analysis.clocks import engine_time, is_late

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


@pytest.mark.parametrize(
    ("captured", "previous", "expected", "reason"),
    [
        (None, None, NOW, "no_camera_time"),
        (NOW - timedelta(seconds=2), None, NOW - timedelta(seconds=2), "camera_time_sane"),
        (NOW + timedelta(seconds=59), None, NOW + timedelta(seconds=59), "camera_time_sane"),
        (NOW + timedelta(minutes=2), None, NOW, "camera_time_in_future"),
        (NOW - timedelta(minutes=11), None, NOW, "camera_time_too_old"),
        (datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC), None, NOW, "camera_time_too_old"),
        (
            NOW - timedelta(seconds=5),
            NOW - timedelta(seconds=3),
            NOW - timedelta(seconds=3),
            "clock_went_backwards",
        ),
    ],
)
def test_engine_time(
    captured: datetime | None, previous: datetime | None, expected: datetime, reason: str
) -> None:
    chosen = engine_time(captured, NOW, previous, WINDOW)
    assert (chosen.t, chosen.reason) == (expected, reason)


def test_late_frames_are_those_not_after_the_last_of_the_same_boot() -> None:
    assert is_late("b1", 5, "b1", 5)
    assert is_late("b1", 4, "b1", 5)
    assert not is_late("b1", 6, "b1", 5)
    assert not is_late("b2", 1, "b1", 5)
    assert not is_late("b1", None, "b1", 5)
    assert not is_late("b1", 3, None, None)
