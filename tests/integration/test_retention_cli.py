"""`shelfcam retention run`, the periodic tasks, and ingest asking for the disk guard."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from shelfcam.analysis import jobqueue
from shelfcam.analysis.tasks import build_queue
from shelfcam.analysis.worker import Analyzer
from shelfcam.cli import main
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.store import FreeSpace
from tests.apps import asgi_client, count, new_device, settings_for
from tests.jpegs import jpeg
from tests.retention_seed import Seeder

KEYS = {
    "dry_run",
    "scope",
    "now",
    "seconds",
    "event",
    "staging",
    "debug",
    "orphan",
    "folders",
    "captures",
    "jobs",
    "total",
    "foreign_files",
    "errors",
}


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Seeder:
    monkeypatch.setenv("SHELFCAM_DATABASE_URL", db_url)
    monkeypatch.setenv("SHELFCAM_DATA_DIR", str(tmp_path / "data"))
    asyncio.run(new_device(db_url, "cam1"))
    return Seeder(db_url, FileFrameStore(tmp_path / "data"))


def test_json_summary_is_one_line(cli_env: Seeder, capsys: pytest.CaptureFixture[str]) -> None:
    old = cli_env.event("cam1", datetime.now(UTC) - timedelta(days=8))

    assert main(["retention", "run", "--dry-run", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    dry = json.loads(lines[0])
    assert set(dry) == KEYS
    assert dry["dry_run"] is True
    assert dry["event"] == {
        "events": 1,
        "images": 4,
        "captures": 3,
        "files": 4,
        "bytes": dry["event"]["bytes"],
    }
    assert all((cli_env.store.root / uri).exists() for uri in old.uris.values())

    assert main(["retention", "run", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["dry_run"] is False
    assert done["event"] == dry["event"]
    assert done["total"]["files"] == 4 and done["total"]["bytes"] > 0
    assert not any((cli_env.store.root / uri).exists() for uri in old.uris.values())

    assert main(["retention", "run", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["total"] == {"files": 0, "bytes": 0}


def test_readable_summary(cli_env: Seeder, capsys: pytest.CaptureFixture[str]) -> None:
    cli_env.event("cam1", datetime.now(UTC) - timedelta(days=8))
    assert main(["retention", "run", "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "would delete 4 files" in out.out
    assert "action=retention_done" in out.err and "dry_run=true" in out.err
    assert main(["retention", "run"]) == 0
    assert "deleted 4 files" in capsys.readouterr().out


def test_busy_is_an_error(cli_env: Seeder, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    with psycopg.connect(db_url) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended('shelfcam.retention', 0))")
        assert main(["retention", "run"]) == 1
    assert "another retention run is in progress" in capsys.readouterr().err


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_periodic_tasks_run_in_every_worker(
    db_url: str, tmp_path: Path, anyio_backend: str
) -> None:
    settings = settings_for(db_url, tmp_path, retention_hour=4)
    from shelfcam.db.connect import open_pool

    pool = await open_pool(db_url, size=2)
    try:
        app = build_queue(Analyzer(settings, pool, FileFrameStore(tmp_path)))
    finally:
        await pool.close()
    periodic = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic[jobqueue.RETENTION_TASK] == "0 4 * * *"
    assert periodic[jobqueue.RETENTION_SWEEP_TASK] == "*/5 * * * *"
    assert periodic[jobqueue.DISK_GUARD_TASK] == "* * * * *"
    for name in (jobqueue.RETENTION_TASK, jobqueue.RETENTION_SWEEP_TASK, jobqueue.DISK_GUARD_TASK):
        assert app.tasks[name].queue == jobqueue.MAINTENANCE_QUEUE
        assert app.tasks[name].queueing_lock == name


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_ingest_asks_for_the_disk_guard_when_space_runs_low(
    db_url: str, tmp_path: Path, anyio_backend: str
) -> None:
    token = await new_device(db_url)
    settings = settings_for(db_url, tmp_path / "data")
    guard = settings.disk_guard_floor_mb * 1024 * 1024
    async with asgi_client(settings) as (app, client):
        context = app.state.context
        context.store.free_space = lambda: FreeSpace(10 * guard, guard - 1)
        response = await client.post(
            "/api/v1/ingest/frame?seq=1",
            content=jpeg(seed=1),
            headers={"Content-Type": "image/jpeg", "Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 201  # above SHELFCAM_MIN_FREE_DISK_MB: accepted
        ingestor = context.require_ingestor()
        assert ingestor.guard_kick is not None
        assert await ingestor.guard_kick is True
        # asked again while one waits: the queueing lock keeps it to one job
        assert await ingestor._queue_disk_guard() is False
    jobs = count(
        db_url,
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s AND status = 'todo'",
        jobqueue.DISK_GUARD_TASK,
    )
    assert jobs == 1


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_guard_job_ingest_queues_frees_space_in_a_worker(
    db_url: str, tmp_path: Path, anyio_backend: str
) -> None:
    """Ingest's kick -> a disk_guard job -> a worker runs it -> the oldest frames go."""
    from shelfcam.db.connect import open_pool
    from shelfcam.retention.runner import Retention

    await new_device(db_url, "cam1")
    settings = settings_for(db_url, tmp_path / "data")
    store = FileFrameStore(settings.data_dir)
    seed = Seeder(db_url, store)
    now = datetime.now(UTC)
    old = seed.event("cam1", now - timedelta(days=3))
    new = seed.event("cam1", now - timedelta(hours=1))
    floor = settings.disk_guard_floor_mb * 1024 * 1024

    def free_bytes() -> int:  # short of the floor while the older event has frames
        return floor - 1 if (store.root / old.uris["pre"]).exists() else floor

    pool = await open_pool(db_url, size=4)
    try:
        async with pool.connection() as conn:
            from shelfcam.db import retention as queries

            assert await queries.defer_disk_guard(
                conn, jobqueue.MAINTENANCE_QUEUE, jobqueue.DISK_GUARD_TASK
            )
        retention = Retention(settings, pool, store, free_bytes=free_bytes)
        app = build_queue(Analyzer(settings, pool, store), retention)
        await app.open_async(pool)
        try:
            await app.run_worker_async(
                queues=[jobqueue.MAINTENANCE_QUEUE], wait=False, install_signal_handlers=False
            )
        finally:
            await app.close_async()
    finally:
        await pool.close()
    assert not any((store.root / uri).exists() for uri in old.uris.values())
    assert all((store.root / uri).exists() for uri in new.uris.values())
    jobs: dict[str, int] = dict(
        psycopg.connect(db_url)
        .execute("SELECT task_name || ':' || status, count(*) FROM procrastinate_jobs GROUP BY 1")
        .fetchall()
    )
    # (the scheduler also queued this minute's periodic ticks; they ran too)
    assert jobs[f"{jobqueue.DISK_GUARD_TASK}:succeeded"] >= 1, jobs
    assert not [k for k in jobs if not k.endswith(":succeeded")], jobs
