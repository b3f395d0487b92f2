"""Migration 10's job fetch: the same job as procrastinate's own function, found by lock.

procrastinate's original is loaded under another name and both are asked, on many random
queues, which job runs next; then the guard: the installed procrastinate must still ship
(and call) the function that migration 10 replaces, or that migration must be revisited.
"""

from __future__ import annotations

import hashlib
import random
import re
from importlib import resources

import psycopg
from psycopg import sql

Conn = psycopg.Connection[tuple[object, ...]]

# sha256 of procrastinate 3.10's procrastinate_fetch_job_v2, as its schema.sql ships it.
REPLACED_SHA256 = "a6170a2fbaa231b50dc75f9c57acc24fb573b8961b79295da2f1c6fbc28900ac"
_ORIGINAL = re.compile(r"CREATE FUNCTION procrastinate_fetch_job_v2\(.*?\n\$\$;", re.DOTALL)


def _original_source() -> str:
    schema = resources.files("procrastinate").joinpath("sql/schema.sql").read_text("utf-8")
    match = _ORIGINAL.search(schema)
    assert match, "procrastinate's schema.sql no longer defines procrastinate_fetch_job_v2"
    return match.group(0)


def test_procrastinate_still_ships_the_function_migration_10_replaces() -> None:
    digest = hashlib.sha256(_original_source().encode()).hexdigest()
    assert digest == REPLACED_SHA256, (
        "procrastinate changed procrastinate_fetch_job_v2: compare it with "
        "src/shelfcam/db/migrations/0010_job_fetch_by_lock.sql and update both"
    )
    queries = resources.files("procrastinate").joinpath("sql/queries.sql").read_text("utf-8")
    assert "procrastinate_fetch_job_v2(" in queries


def _insert(conn: Conn, jobs: list[tuple[str | None, str, int, str, bool]]) -> None:
    for lock, status, priority, queue, later in jobs:
        conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args, status, "
            "priority, scheduled_at) VALUES (%s, 'task', %s, '{}', %s, %s, "
            "CASE WHEN %s THEN now() + interval '1 hour' END)",
            (queue, lock, status, priority, later),
        )


def _fetch(conn: Conn, function: str, queues: list[str] | None, worker: int) -> int | None:
    row = conn.execute(
        sql.SQL("SELECT id FROM {}(%s::varchar[], %s)").format(sql.Identifier(function)),
        (queues, worker),
    ).fetchone()
    assert row is not None
    value = row[0]
    assert value is None or isinstance(value, int)
    return value


def _random_queue(rng: random.Random) -> list[tuple[str | None, str, int, str, bool]]:
    """Up to 14 jobs over three locks and none; at most one running job per lock, as
    procrastinate's unique index demands."""
    statuses = ["todo"] * 6 + ["doing", "succeeded", "failed"]
    jobs = []
    running: set[str] = set()
    for _ in range(rng.randint(0, 14)):
        lock = rng.choice([None, "cam-a", "cam-b", "cam-c"])
        status = rng.choice(statuses)
        if status == "doing" and lock is not None:
            if lock in running:
                status = "todo"
            running.add(lock)
        priority = rng.choice([0, 0, 0, 1, -1])
        queue = rng.choice(["analysis", "analysis", "retention"])
        jobs.append((lock, status, priority, queue, rng.random() < 0.15))
    return jobs


def test_fetch_picks_the_job_procrastinate_would_pick(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            _original_source().replace("procrastinate_fetch_job_v2", "original_fetch_job_v2")
        )
        row = conn.execute("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
        worker = row.fetchone()
        assert worker is not None and isinstance(worker[0], int)
        rng = random.Random(20261126)
        picked = 0
        for case in range(300):
            jobs = _random_queue(rng)
            queues = rng.choice([None, ["analysis"], ["retention", "analysis"]])
            with conn.transaction(force_rollback=True):
                _insert(conn, jobs)
                with conn.transaction(force_rollback=True):
                    expected = _fetch(conn, "original_fetch_job_v2", queues, worker[0])
                got = _fetch(conn, "procrastinate_fetch_job_v2", queues, worker[0])
                assert got == expected, f"case {case}: {jobs} queues={queues}"
                picked += got is not None
        assert picked > 100  # the cases are not all empty queues


def test_a_running_camera_blocks_its_next_frame_but_not_another_camera(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
        worker = row.fetchone()
        assert worker is not None and isinstance(worker[0], int)
        _insert(conn, [("cam-a", "doing", 0, "analysis", False)])
        _insert(conn, [("cam-a", "todo", 0, "analysis", False)] * 50)
        _insert(conn, [("cam-b", "todo", 0, "analysis", False)] * 2)
        first_b = conn.execute(
            "SELECT min(id) FROM procrastinate_jobs WHERE lock = 'cam-b'"
        ).fetchone()
        assert first_b is not None
        assert _fetch(conn, "procrastinate_fetch_job_v2", None, worker[0]) == first_b[0]
        assert _fetch(conn, "procrastinate_fetch_job_v2", None, worker[0]) is None
        status = conn.execute(
            "SELECT status::text, worker_id FROM procrastinate_jobs WHERE id = %s", first_b
        ).fetchone()
        assert status == ("doing", worker[0])


def test_a_job_another_worker_is_taking_is_skipped(db_url: str) -> None:
    with (
        psycopg.connect(db_url, autocommit=True) as conn,
        psycopg.connect(db_url, autocommit=True) as other,
    ):
        row = conn.execute("INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id")
        worker = row.fetchone()
        assert worker is not None and isinstance(worker[0], int)
        _insert(
            conn, [("cam-a", "todo", 0, "analysis", False), (None, "todo", 0, "analysis", False)]
        )
        ids = [r[0] for r in conn.execute("SELECT id FROM procrastinate_jobs ORDER BY id")]
        with other.transaction():
            other.execute("SELECT 1 FROM procrastinate_jobs WHERE id = %s FOR UPDATE", (ids[0],))
            assert _fetch(conn, "procrastinate_fetch_job_v2", None, worker[0]) == ids[1]
