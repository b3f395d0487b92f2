"""Retention beside the real analysis worker: frames come in through the ingest app, the
Analyzer processes them one by one while retention runs again and again, with a clock
that makes every frame old enough to go if nothing needs it. Whatever the interleaving,
no frame the worker needs disappears and rows and files agree at the end."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from shelfcam.analysis.worker import Analyzer
from shelfcam.retention.runner import Retention
from shelfcam.retention.summary import Summary
from shelfcam.sim.scenes import generate
from tests.apps import asgi_client, count, new_device, settings_for
from tests.integration.test_retention import Env, assert_consistent
from tests.retention_seed import Seeder

pytestmark = pytest.mark.anyio

URL = "/api/v1/ingest/frame"


class WorkerCrash(Exception):
    pass


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_worker_and_retention_side_by_side(db_url: str, tmp_path: Path) -> None:
    scenario = generate("take_item", seed=3)
    token = await new_device(db_url, "cam1")
    settings = settings_for(
        db_url, tmp_path / "data", retention_files_per_second=1_000_000, rate_limit_fps=1000
    )
    start = datetime.now(UTC) - timedelta(milliseconds=scenario.timestamps_ms[-1] + 12_000)
    async with asgi_client(settings) as (app, client):
        context = app.state.context
        captures: list[uuid.UUID] = []
        # The view stays as it is for 10 s after the scene (the change must persist).
        step_ms = scenario.timestamps_ms[-1] - scenario.timestamps_ms[-2]
        frames = [*scenario.frames, *[scenario.frames[-1]] * 40]
        times = [
            *scenario.timestamps_ms,
            *(scenario.timestamps_ms[-1] + step_ms * k for k in range(1, 41)),
        ]
        for seq, (data, ms) in enumerate(zip(frames, times, strict=True)):
            taken = start + timedelta(milliseconds=ms)
            response = await client.post(
                URL,
                content=data,
                params={"seq": seq, "boot": "b1", "captured_at": taken.isoformat()},
                headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
            )
            assert response.status_code == 201, response.text
            captures.append(uuid.UUID(response.json()["capture_id"]))

        pool, store = context.require_pool(), context.store
        crashes = 0

        def crash_now_and_then(point: str) -> None:
            """Every third frame the worker dies after its commit, before deleting the
            staging files it released: orphans until the worker's next frame (or retention,
            whichever comes first) removes them, while the worker goes on."""
            nonlocal crashes
            if point == "after_commit" and next(tick) % 3 == 0:
                crashes += 1
                raise WorkerCrash(point)

        tick = iter(range(10**6))
        analyzer = Analyzer(settings, pool, store, fault=crash_now_and_then)
        retention = Retention(settings, pool, store)
        # Every frame is past the staging window for retention, and every event file the
        # worker writes looks old enough to be an orphan: only the locks protect them.
        later = datetime.now(UTC) + timedelta(minutes=11)
        done = asyncio.Event()

        async def work() -> None:
            try:
                for capture_id in captures:
                    with contextlib.suppress(WorkerCrash):
                        await analyzer.process(capture_id)
            finally:
                done.set()

        summaries: list[Summary] = []

        async def clean() -> None:
            scopes = itertools.cycle(["full", "sweep"])
            while not done.is_set():
                summaries.append(await retention.run(later, scope=next(scopes)))  # type: ignore[arg-type]
                await asyncio.sleep(0)

        await asyncio.gather(work(), clean())
        await retention.run(later)

    assert crashes > 0 and len(summaries) > 1
    statuses: dict[str, int] = dict(
        psycopg.connect(db_url)
        .execute("SELECT analysis_status, count(*) FROM captures GROUP BY 1")
        .fetchall()
    )
    # no frame failed for want of its file: retention never took one a job needed
    assert statuses == {"processed": len(captures)}, statuses
    assert count(db_url, "SELECT count(*) FROM events") > 0
    with psycopg.connect(db_url) as conn:
        kept = conn.execute("SELECT kept_captures FROM device_state").fetchone()
        assert kept is not None
        for capture_id in kept[0]:
            row = conn.execute(
                "SELECT storage_uri FROM captures WHERE capture_id = %s", (capture_id,)
            ).fetchone()
            assert row is not None and row[0] is not None
            assert (settings.data_dir / row[0]).exists()
    env = Env(db_url, settings.data_dir.resolve(), settings, store, Seeder(db_url, store), pool)
    assert_consistent(env)
