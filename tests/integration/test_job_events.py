"""Migration 12: analysis jobs leave no procrastinate_events rows; other queues' do."""

from __future__ import annotations

import psycopg

from shelfcam.analysis import jobqueue


def _events_through_a_jobs_life(conn: psycopg.Connection[tuple[object, ...]], name: str) -> int:
    row = conn.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args) "
        "VALUES (%s, 'some.task', 'cam1', '{}') RETURNING id",
        (name,),
    ).fetchone()
    assert row is not None
    job_id = row[0]
    for status in ("doing", "succeeded"):
        conn.execute("UPDATE procrastinate_jobs SET status = %s WHERE id = %s", (status, job_id))
    count = conn.execute(
        "SELECT count(*) FROM procrastinate_events WHERE job_id = %s", (job_id,)
    ).fetchone()
    assert count is not None
    assert isinstance(count[0], int)
    return count[0]


def test_an_analysis_job_records_no_events(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        assert _events_through_a_jobs_life(conn, jobqueue.ANALYSIS_QUEUE) == 0


def test_other_queues_keep_procrastinates_events(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        # deferred, started, succeeded
        assert _events_through_a_jobs_life(conn, jobqueue.MAINTENANCE_QUEUE) == 3
