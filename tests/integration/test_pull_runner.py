"""One puller at a time: a second process's puller stands by while the first holds the
lock, and takes over (and pulls) when the first stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from shelfcam.db.connect import connection, open_pool
from shelfcam.devices import add_device, pulls
from shelfcam.frames.files import FileFrameStore
from shelfcam.ingest.service import Ingestor
from shelfcam.metrics import Metrics
from shelfcam.pull.runner import running_puller
from tests.apps import count, settings_for
from tests.cameras import CameraState, serving
from tests.jpegs import jpeg

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def until(condition: Callable[[], bool]) -> None:
    with anyio.fail_after(30):
        while not condition():  # noqa: ASYNC110 - state of another task or process
            await asyncio.sleep(0.05)


def captures(db_url: str) -> int:
    return count(db_url, "SELECT count(*) FROM captures")


async def test_a_second_puller_stands_by_then_takes_over(db_url: str, tmp_path: Path) -> None:
    settings = settings_for(db_url, tmp_path, idle_interval_ms=100)
    camera = CameraState(frames=[jpeg(160, 120, seed=s) for s in range(3)])
    first_pool = await open_pool(db_url, size=2)
    second_pool = await open_pool(db_url, size=2)
    store = FileFrameStore(tmp_path)
    first_ingest = Ingestor(settings, first_pool, store)
    second_ingest = Ingestor(settings, second_pool, store)
    try:
        with serving(camera) as base:
            async with connection(db_url) as conn:
                await add_device(conn, "shelf")
                await pulls.set_pull(conn, "shelf", f"{base}/capture")
            async with contextlib.AsyncExitStack() as first_stack:
                first = await first_stack.enter_async_context(
                    running_puller(settings, first_pool, first_ingest, Metrics())
                )
                await until(lambda: first.role == "active")
                standby = running_puller(settings, second_pool, second_ingest, Metrics())
                async with standby as second:
                    await until(lambda: second.role == "standby")
                    await until(lambda: captures(db_url) >= 3)
                    assert list(first.cameras) == ["shelf"]
                    assert second.cameras == {}
                    await first_stack.aclose()  # the first process stops
                    await until(lambda: second.role == "active")
                    before = captures(db_url)
                    await until(lambda: captures(db_url) >= before + 3)
                    assert list(second.cameras) == ["shelf"]
                    assert second_ingest.latest.get("shelf") is not None
    finally:
        await first_ingest.close()
        await second_ingest.close()
        await first_pool.close()
        await second_pool.close()
