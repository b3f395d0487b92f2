"""Waking the workers: a finished analysis job does (migration 7), a queued frame does
after its commit, not inside it (migration 11, shelfcam.ingest.wakeup)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from shelfcam.config import load_settings
from tests.apps import asgi_client, new_device
from tests.jpegs import jpeg


def _job(conn: psycopg.Connection[tuple[object, ...]], lock: str | None, status: str) -> int:
    row = conn.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args, status) "
        "VALUES ('analysis', 'shelfcam.analyze_capture', %s, '{}', %s) RETURNING id",
        (lock, status),
    ).fetchone()
    assert row is not None
    job_id = row[0]
    assert isinstance(job_id, int)
    return job_id


def _drain(listener: psycopg.Connection[tuple[object, ...]]) -> list[dict[str, object]]:
    return [json.loads(n.payload) for n in listener.notifies(timeout=0.5)]


def test_finishing_or_deleting_a_locked_job_notifies_the_queue(db_url: str) -> None:
    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        psycopg.connect(db_url, autocommit=True) as listener,
    ):
        doing = _job(conn, "cam1", "doing")
        deleted = _job(conn, "cam2", "doing")
        unlocked = _job(conn, None, "doing")
        listener.execute('LISTEN "procrastinate_queue_v1#analysis"')
        conn.execute("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = %s", (doing,))
        conn.execute("DELETE FROM procrastinate_jobs WHERE id = %s", (deleted,))
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = %s", (unlocked,)
        )
        got = _drain(listener)
    assert {(n["type"], n["job_id"]) for n in got} == {
        ("job_inserted", doing),
        ("job_inserted", deleted),
    }


def test_queueing_an_analysis_job_does_not_notify_but_other_queues_do(db_url: str) -> None:
    """Migration 11: a frame's transaction sends no NOTIFY (it would serialise commits)."""
    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        psycopg.connect(db_url, autocommit=True) as listener,
    ):
        listener.execute('LISTEN "procrastinate_any_queue_v1"')
        analysis = _job(conn, "cam1", "todo")
        row = conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status) "
            "VALUES ('maintenance', 'shelfcam.retention_run', '{}', 'todo') RETURNING id"
        ).fetchone()
        assert row is not None
        got = _drain(listener)
    assert [n["job_id"] for n in got] == [row[0]]
    assert analysis not in [n["job_id"] for n in got]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_ingest_wakes_the_workers_after_its_commit(db_url: str, tmp_path: Path) -> None:
    with psycopg.connect(db_url, autocommit=True) as listener:
        listener.execute('LISTEN "procrastinate_queue_v1#analysis"')
        token = await new_device(db_url)
        async with asgi_client(load_settings(database_url=db_url, data_dir=tmp_path)) as (
            _app,
            client,
        ):
            for seq in (1, 1, 2):  # a retry of seq 1 queues nothing
                response = await client.post(
                    "/api/v1/ingest/frame",
                    content=jpeg(seed=seq),
                    params={"seq": seq},
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"},
                )
                assert response.status_code in (200, 201), response.text
        # One wake-up per burst of frames (here between one and two), never none.
        got = _drain(listener)
    assert 1 <= len(got) <= 2
    assert {n["type"] for n in got} == {"job_inserted"}
