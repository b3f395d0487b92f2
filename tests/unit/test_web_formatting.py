from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shelfcam.activity.timeline import decode_cursor, encode_cursor
from shelfcam.errors import InvalidInput
from shelfcam.web.auth import safe_next
from shelfcam.web.formatting import duration, relative, type_label

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "unknown"),
        (0, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (125, "2 min 5 s"),
        (420, "7 min"),
        (3600, "1 h"),
        (3 * 3600 + 60 * 5, "3 h 5 min"),
        (50 * 3600, "2 d 2 h"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=2), "just now"),
        (timedelta(seconds=30), "30 s ago"),
        (timedelta(minutes=3, seconds=20), "3 min ago"),
        (timedelta(hours=5, minutes=2), "5 h ago"),
        (timedelta(seconds=-40), "in 40 s"),
    ],
)
def test_relative(delta: timedelta, text: str) -> None:
    assert relative(NOW - delta, NOW) == text


def test_type_labels() -> None:
    assert type_label("stock_changed") == "stock changed"
    assert type_label("something_new") == "something new"


def test_cursor_round_trip_and_refusal() -> None:
    event_id = uuid.uuid4()
    assert decode_cursor(encode_cursor(NOW, event_id)) == (NOW, event_id)
    for bad in ("", "!!!", "bm90IGEgY3Vyc29y", encode_cursor(NOW, event_id)[:-4]):
        with pytest.raises(InvalidInput):
            decode_cursor(bad)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "/"),
        ("/events/x?y=1", "/events/x?y=1"),
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("events", "/"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected
