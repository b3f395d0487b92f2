"""The summary's JSON shape and log line; the deletion pace (an injected clock)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import anyio
import pytest

from shelfcam.retention.pace import Pacer
from shelfcam.retention.summary import Summary

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def test_json_shape() -> None:
    summary = Summary(now=NOW, dry_run=False, scope="full", events=2, images=7)
    summary.event.add(7, 7000)
    summary.event.captures = 4
    summary.staging.add(3, 300)
    summary.staging.captures = 3
    summary.orphan.add(1, 10)
    summary.folders = 5
    out = json.loads(json.dumps(summary.as_json()))
    assert out == {
        "dry_run": False,
        "scope": "full",
        "now": "2026-11-26T03:00:00+00:00",
        "seconds": 0.0,
        "event": {"events": 2, "images": 7, "captures": 4, "files": 7, "bytes": 7000},
        "staging": {"captures": 3, "files": 3, "bytes": 300},
        "debug": {"captures": 0, "files": 0, "bytes": 0},
        "orphan": {"files": 1, "bytes": 10},
        "folders": {"removed": 5},
        "captures": {"purged": 0},
        "jobs": {"removed": 0},
        "total": {"files": 11, "bytes": 7310},
        "foreign_files": 0,
        "errors": 0,
    }
    fields = dict(pair.split("=") for pair in summary.log_fields().split())
    assert fields["event_files"] == "7" and fields["staging_bytes"] == "300"
    assert "would delete" not in summary.text()
    assert "would delete" in Summary(now=NOW, dry_run=True, scope="full").text()


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pace_holds_the_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(1000, clock=clock, sleep=clock.sleep)
    assert pacer.chunk == 100

    async def spend() -> None:
        for _ in range(50):  # 5,000 files deleted instantly
            await pacer.spend(100)

    anyio.run(spend)
    # 5,000 files at 1,000/s: 5 s, less the one second of credit at the start
    assert clock.now - 100.0 == pytest.approx(4.0)


def test_time_spent_elsewhere_earns_at_most_a_second() -> None:
    clock = FakeClock()
    pacer = Pacer(1000, clock=clock, sleep=clock.sleep)

    async def spend() -> None:
        await pacer.spend(1000)
        assert clock.slept == []  # the first second's budget
        await pacer.spend(500)
        assert clock.slept == [pytest.approx(0.5)]
        clock.now += 0.3  # database work: earns 300 files
        await pacer.spend(300)
        assert len(clock.slept) == 1
        clock.now += 60  # a minute elsewhere earns one second, not sixty
        await pacer.spend(1500)
        assert clock.slept[-1] == pytest.approx(0.5)

    anyio.run(spend)


def test_pace_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0)
    assert Pacer(5).chunk == 1
    assert Pacer(1_000_000).chunk == 500
