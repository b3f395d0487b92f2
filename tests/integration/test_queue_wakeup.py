"""A finished analysis job wakes the workers, so a camera's next frame need not wait for
their polling interval (migration 7)."""

from __future__ import annotations

import json

import psycopg


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
