"""A supervised part runs again after it fails, with a capped backoff, and its status
says since when it has been failing (what /healthz reports)."""

from __future__ import annotations

import asyncio

import pytest

from shelfcam.supervisor import Supervised

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_failing_part_is_run_again_and_its_failures_are_dated() -> None:
    runs = 0
    done = asyncio.Event()

    async def part() -> None:
        nonlocal runs
        runs += 1
        if runs == 4:
            done.set()
            await asyncio.Event().wait()  # runs until cancelled
        raise ConnectionError(f"lost\nconnection {runs}")

    supervised = Supervised("part", part, first_delay_s=0.01, max_delay_s=0.02)
    task = asyncio.create_task(supervised.run_forever())
    await asyncio.wait_for(done.wait(), timeout=30)
    status = supervised.status
    assert status.running and status.restarts == 3
    assert status.last_error == "ConnectionError: lost connection 3"
    first_failure = status.failing_since
    assert first_failure is not None and first_failure <= status.changed_at
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not status.running


async def test_a_part_that_ends_on_its_own_is_run_again() -> None:
    runs = 0
    again = asyncio.Event()

    async def part() -> None:
        nonlocal runs
        runs += 1
        if runs == 2:
            again.set()
            await asyncio.Event().wait()

    supervised = Supervised("part", part, first_delay_s=0.01)
    task = asyncio.create_task(supervised.run_forever())
    await asyncio.wait_for(again.wait(), timeout=30)
    assert supervised.status.last_error == "stopped on its own"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
