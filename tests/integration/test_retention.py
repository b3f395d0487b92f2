"""The retention run on a real PostgreSQL and real files, with an injected clock.

File ages come from the file system (mtime/ctime, real time); row ages from the rows.
Tests pass ``now`` so both line up: the real time for "just now", later for "old".
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from shelfcam.analysis.jobqueue import ANALYSIS_QUEUE, MAINTENANCE_QUEUE
from shelfcam.config import Settings
from shelfcam.db.connect import open_pool
from shelfcam.db.types import Pool
from shelfcam.frames import layout
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.store import FrameStore
from shelfcam.retention.runner import Retention, RetentionBusy
from tests.apps import count, files_under, new_device, settings_for
from tests.retention_seed import JPEG, Seeder, snapshot

pytestmark = pytest.mark.anyio

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Env:
    db_url: str
    data: Path
    settings: Settings
    store: FrameStore
    seed: Seeder
    pool: Pool

    def retention(self, **kwargs: Any) -> Retention:
        return Retention(self.settings, self.pool, self.store, **kwargs)

    def files(self) -> dict[str, str]:
        """Every file under the data dir -> a hash of its bytes."""
        return {
            str(p.relative_to(self.data)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files_under(self.data)
        }

    def row(self, sql: str, *params: object) -> tuple[Any, ...]:
        with psycopg.connect(self.db_url) as conn:
            found = conn.execute(sql, params).fetchone()
        assert found is not None
        return tuple(found)


@pytest.fixture
async def env(db_url: str, tmp_path: Path) -> AsyncIterator[Env]:
    await new_device(db_url, "cam1")
    await new_device(db_url, "cam2")
    settings = settings_for(db_url, tmp_path / "data", retention_files_per_second=1_000_000)
    store = FileFrameStore(settings.data_dir)
    pool = await open_pool(db_url, size=4)
    try:
        yield Env(db_url, settings.data_dir.resolve(), settings, store, Seeder(db_url, store), pool)
    finally:
        await pool.close()


def now() -> datetime:
    return datetime.now(UTC)


async def test_event_frames_expire_at_exactly_seven_days(env: Env) -> None:
    t = now()
    kept = env.seed.event("cam1", t - 6 * DAY - 23 * HOUR)
    old = env.seed.event("cam1", t - 7 * DAY - HOUR)
    older = env.seed.event("cam2", t - 30 * DAY)

    summary = await env.retention().run(t)

    for event in (old, older):
        for folder in event.folders:
            assert not (env.data / folder).exists()
        for role, uri in event.uris.items():
            assert not (env.data / uri).exists(), role
    for uri in kept.uris.values():
        assert (env.data / uri).read_bytes()
    assert count(env.db_url, "SELECT count(*) FROM event_images WHERE expired_at IS NULL") == 4
    assert (
        count(
            env.db_url,
            "SELECT count(*) FROM event_images WHERE expired_at = %s AND event_id = ANY(%s)",
            t,
            [old.event_id, older.event_id],
        )
        == 8
    )
    # their captures lost their last copy: discarded; the young event's stay 'event'
    for event, expected in ((old, "discarded"), (older, "discarded"), (kept, "event")):
        for role in ("pre", "post", "during"):
            cls, uri = env.row(
                "SELECT storage_class, storage_uri FROM captures WHERE capture_id = %s",
                event.captures[role],
            )
            assert cls == expected
            assert uri == (None if expected == "discarded" else event.uris[role])
    # events and image rows are never deleted
    assert count(env.db_url, "SELECT count(*) FROM events") == 3
    assert count(env.db_url, "SELECT count(*) FROM event_images") == 12
    # the old date folders and cam2's device folders went with them
    assert not (env.data / "events/cam2").exists() and not (env.data / "thumbs/cam2").exists()
    assert summary.events == 2 and summary.images == 8
    assert summary.event.files == 8 and summary.event.captures == 6
    assert summary.event.bytes == 6 * len(JPEG) + 2 * 600
    assert summary.folders >= 6


async def test_staging_frames_referenced_or_not(env: Env) -> None:
    t = now()
    seed = env.seed
    queued, queued_uri = seed.capture("cam1", t - 20 * MINUTE, status="queued")
    kept, kept_uri = seed.capture("cam1", t - 20 * MINUTE, kept=True)
    loose, loose_uri = seed.capture("cam1", t - 20 * MINUTE)
    young, young_uri = seed.capture("cam1", t - 5 * MINUTE)
    kept_day, kept_day_uri = seed.capture("cam2", t - 25 * HOUR, kept=True)
    queued_day, queued_day_uri = seed.capture("cam2", t - 25 * HOUR, status="queued")
    failed, failed_uri = seed.capture("cam2", t - 20 * MINUTE, status="failed")
    debug_old, debug_old_uri = seed.capture("cam1", t - 61 * MINUTE, storage_class="debug")
    debug_new, debug_new_uri = seed.capture("cam1", t - 59 * MINUTE, storage_class="debug")
    # a frame that is both kept (the engine's baseline) and the pre of a young event
    shared, shared_uri = seed.capture("cam1", t - 30 * MINUTE, kept=True)
    event = seed.event(
        "cam1", t - 30 * MINUTE, roles=("pre",), sources={"pre": shared}, release=False
    )
    with psycopg.connect(env.db_url, autocommit=True) as conn:  # the engine moved on
        conn.execute(
            "UPDATE device_state SET kept_captures = array_remove(kept_captures, %s)"
            " WHERE device_id = 'cam1'",
            (shared,),
        )

    summary = await env.retention().run(t)

    def state(capture_id: uuid.UUID) -> tuple[Any, ...]:
        return env.row(
            "SELECT storage_class, storage_uri, analysis_status FROM captures"
            " WHERE capture_id = %s",
            capture_id,
        )

    for capture_id, uri in ((queued, queued_uri), (kept, kept_uri), (young, young_uri)):
        assert state(capture_id)[:2] == ("staging", uri)
        assert (env.data / uri).exists()
    assert state(debug_new)[:2] == ("debug", debug_new_uri)
    for capture_id, uri in (
        (loose, loose_uri),
        (kept_day, kept_day_uri),
        (failed, failed_uri),
        (debug_old, debug_old_uri),
    ):
        assert state(capture_id)[:2] == ("discarded", None)
        assert not (env.data / uri).exists()
    # dropped before its job ran: failed, so the job does nothing
    assert state(queued_day) == ("discarded", None, "failed")
    assert not (env.data / queued_day_uri).exists()
    # a frame with a live event copy points at the copy, as the worker would do
    assert state(shared)[:2] == ("event", event.uris["pre"])
    assert not (env.data / shared_uri).exists()
    assert (env.data / event.uris["pre"]).read_bytes() == JPEG
    assert summary.staging.captures == 5 and summary.staging.files == 5
    assert summary.debug.captures == 1 and summary.debug.files == 1
    # the shared frame's bytes live on in its event copy: not counted as freed
    assert summary.staging.bytes == 4 * len(JPEG)


async def test_dry_run_changes_nothing_and_predicts_the_run(env: Env) -> None:
    t = now()
    env.seed.event("cam1", t - 8 * DAY)
    env.seed.event("cam2", t - DAY)
    env.seed.capture("cam1", t - 2 * DAY)
    env.seed.capture("cam1", t - 61 * MINUTE, storage_class="debug")
    orphan = env.store.put(layout.staging_uri("cam2", t.date(), uuid.uuid4()), JPEG, durable=False)
    rows, files = snapshot(env.db_url), env.files()

    dry = await env.retention().run(t + 11 * MINUTE, dry_run=True)

    assert snapshot(env.db_url) == rows
    assert env.files() == files
    real = await env.retention().run(t + 11 * MINUTE)
    assert (env.data / orphan).exists() is False
    expected = real.as_json()
    got = dry.as_json()
    for key in ("event", "staging", "debug", "orphan", "total", "captures"):
        assert got[key] == expected[key], key
    assert got["dry_run"] is True and expected["dry_run"] is False


async def test_a_second_run_is_a_no_op(env: Env) -> None:
    t = now()
    env.seed.event("cam1", t - 8 * DAY)
    env.seed.capture("cam1", t - 2 * DAY)
    env.store.put(layout.staging_uri("cam2", t.date(), uuid.uuid4()), JPEG, durable=False)
    first = await env.retention().run(t + 11 * MINUTE)
    assert first.files > 0
    rows, files = snapshot(env.db_url), env.files()
    second = await env.retention().run(t + 11 * MINUTE)
    assert (second.files, second.bytes, second.events, second.images, second.folders) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert (second.staging.captures, second.debug.captures, second.event.captures) == (0, 0, 0)
    assert snapshot(env.db_url) == rows and env.files() == files


async def test_orphan_files(env: Env) -> None:
    t = now()
    store = env.store
    no_row = store.put(
        layout.staging_uri("cam1", t.date(), uuid.uuid4()), JPEG, durable=False
    )  # ingest crashed
    released, released_uri = env.seed.capture("cam1", t)
    with psycopg.connect(env.db_url, autocommit=True) as conn:  # worker crashed before unlink
        conn.execute(
            "UPDATE captures SET storage_class = 'discarded', storage_uri = NULL"
            " WHERE capture_id = %s",
            (released,),
        )
    ghost = uuid.uuid4()  # an event whose transaction never committed
    ghost_uri = store.put(layout.event_uri("cam1", t.date(), ghost, "pre"), JPEG, durable=True)
    temp = env.data / "staging/cam1" / t.date().isoformat() / f".{uuid.uuid4()}.jpg.0badc0de.tmp"
    temp.write_bytes(b"half")
    foreign = env.data / "events/README.txt"
    foreign.write_text("not a frame")
    live = env.seed.event("cam1", t)

    soon = await env.retention().run(t)  # fresh unclaimed files may be in flight: kept
    assert not (env.data / released_uri).exists()  # its row let it go: at once
    assert (env.data / no_row).exists() and (env.data / ghost_uri).exists() and temp.exists()
    assert soon.orphan.files == 1 and soon.foreign == 1

    later = await env.retention().run(t + 11 * MINUTE)
    assert not (env.data / no_row).exists()
    assert not (env.data / ghost_uri).exists() and not (env.data / ghost_uri).parent.exists()
    assert not temp.exists()
    assert foreign.read_text() == "not a frame"
    assert all((env.data / uri).exists() for uri in live.uris.values())
    assert later.orphan.files == 3 and later.orphan.bytes == 2 * len(JPEG) + 4


async def test_an_interrupted_run_is_finished_by_the_next(env: Env) -> None:
    t = now()
    old = env.seed.event("cam1", t - 8 * DAY)
    stale, stale_uri = env.seed.capture("cam1", t - 2 * DAY)

    class Crash(Exception):
        pass

    def crash(point: str) -> None:
        if point == "marked":
            raise Crash(point)

    with pytest.raises(Crash):
        await env.retention(fault=crash).run(t)
    # rows were marked and committed; the files are still there
    assert count(env.db_url, "SELECT count(*) FROM event_images WHERE expired_at IS NULL") == 0
    assert all((env.data / uri).exists() for uri in old.uris.values())
    # the advisory lock went with the failed run
    assert count(env.db_url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0

    with pytest.raises(Crash):  # crash again, later: the staging batch
        await env.retention(fault=crash).run(t)
    assert env.row("SELECT storage_class FROM captures WHERE capture_id = %s", stale) == (
        "discarded",
    )
    assert (env.data / stale_uri).exists()

    summary = await env.retention().run(t)
    assert not any((env.data / uri).exists() for uri in old.uris.values())
    assert not (env.data / stale_uri).exists()
    assert summary.orphan.files == 5  # 4 event files and the staging frame
    assert_consistent(env)


def assert_consistent(env: Env) -> None:
    """Rows and files agree: every file a live row names exists, every file on disk is
    named by a live row."""
    with psycopg.connect(env.db_url) as conn:
        named = {
            r[0]
            for r in conn.execute(
                "SELECT storage_uri FROM captures WHERE storage_uri IS NOT NULL"
                " UNION SELECT derived_storage_uri FROM event_images"
                " WHERE expired_at IS NULL AND derived_storage_uri IS NOT NULL"
            )
        }
        bad = conn.execute(
            "SELECT count(*) FROM captures WHERE (storage_class = 'discarded')"
            " <> (storage_uri IS NULL)"
        ).fetchone()
    on_disk = {p for p in env.files() if not p.startswith("postgres")}
    assert bad == (0,)
    assert named - on_disk == set(), "rows name missing files"
    assert on_disk - named == set(), "files no row names"


async def test_a_worker_holding_the_device_lock_is_waited_for(env: Env) -> None:
    """Retention marks only under the device_state lock and re-reads the rows then: a
    frame the worker decides to keep in its transaction is kept."""
    import asyncio

    t = now()
    frame, uri = env.seed.capture("cam1", t - 20 * MINUTE)
    other, other_uri = env.seed.capture("cam2", t - 20 * MINUTE)
    with psycopg.connect(env.db_url) as worker:
        worker.execute("SELECT 1 FROM device_state WHERE device_id = 'cam1' FOR UPDATE")
        run = asyncio.create_task(env.retention().run(t))
        await wait_for_lock_wait(env.db_url)
        assert (env.data / uri).exists()
        # the worker's frame keeps this one as its baseline, in the same transaction
        worker.execute(
            "UPDATE device_state SET kept_captures = %s WHERE device_id = 'cam1'", ([frame],)
        )
        worker.commit()
        summary = await run
    assert (env.data / uri).exists()
    assert env.row("SELECT storage_class FROM captures WHERE capture_id = %s", frame) == (
        "staging",
    )
    assert not (env.data / other_uri).exists()  # cam2 was not held
    assert summary.staging.captures == 1
    assert env.row("SELECT storage_class FROM captures WHERE capture_id = %s", other) == (
        "discarded",
    )


async def wait_for_lock_wait(db_url: str) -> None:
    """Until some backend of this database waits for a lock (a condition, not a time)."""
    import asyncio

    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND wait_event_type = 'Lock'"
    )
    while True:
        if count(db_url, query):
            return
        await asyncio.sleep(0.01)


async def test_one_run_at_a_time(env: Env) -> None:
    with psycopg.connect(env.db_url) as other:
        other.execute("SELECT pg_advisory_lock(hashtextextended('shelfcam.retention', 0))")
        with pytest.raises(RetentionBusy, match="in progress"):
            await env.retention().run(now())
        dry = await env.retention().run(now(), dry_run=True)  # a dry run needs no lock
        assert dry.dry_run


async def test_disk_guard_deletes_the_oldest_event_frames_first(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    t = now()
    events = [env.seed.event("cam1", t - (5 - i) * HOUR) for i in range(5)]
    floor = env.settings.disk_guard_floor_mb * 1024 * 1024

    def free_bytes() -> int:
        """Short of the floor while the two oldest events still have frames on disk."""
        left = sum((env.data / e.uris["pre"]).exists() for e in events[:2])
        return floor + 1 if left == 0 else floor - 1

    caplog.set_level(logging.INFO, logger="shelfcam.retention")
    report = await env.retention(free_bytes=free_bytes).guard(t)

    assert report is not None
    assert (report.batches, report.events, report.exhausted) == (2, 2, False)
    assert report.free_after == floor + 1
    for event in events[:2]:
        assert not any((env.data / uri).exists() for uri in event.uris.values())
    for event in events[2:]:
        assert all((env.data / uri).exists() for uri in event.uris.values())
    assert count(env.db_url, "SELECT count(*) FROM event_images WHERE expired_at IS NOT NULL") == 8
    lines = [r.getMessage() for r in caplog.records if "disk_guard_deleted" in r.getMessage()]
    assert len(lines) == 2 and all("events=1 files=4" in line for line in lines)
    assert_consistent(env)

    # above the floor: nothing to do
    assert await env.retention(free_bytes=lambda: floor).guard(t) is None
    # below it with no event frames left: says so and stops
    exhausted = await env.retention(free_bytes=lambda: 0).guard(t)
    assert exhausted is not None and exhausted.exhausted and exhausted.events == 3


async def test_disk_guard_off(env: Env, db_url: str, tmp_path: Path) -> None:
    settings = settings_for(db_url, tmp_path / "data", disk_guard_free_mb=0)
    off = Retention(settings, env.pool, env.store, free_bytes=lambda: 0)
    assert await off.guard(now()) is None


def _job(db_url: str, queue: str, args: dict[str, str], status: str) -> int:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, lock, args, status) "
            "VALUES (%s, 'some.task', 'cam1', %s, %s) RETURNING id",
            (queue, Jsonb(args), status),
        ).fetchone()
    assert row is not None
    assert isinstance(row[0], int)
    return row[0]


async def test_analysis_jobs_that_ended_without_success_go_with_their_frames(
    env: Env, db_url: str
) -> None:
    """A failed analysis job stays (for a retry, for a look) while its frame could still be
    analyzed; once the frame is past the staging retention (24 h), the job goes."""
    t = now()
    old, _ = env.seed.capture("cam1", t - 2 * DAY)
    recent, _ = env.seed.capture("cam1", t - timedelta(hours=1))

    def analysis(capture_id: object, status: str) -> int:
        return _job(db_url, ANALYSIS_QUEUE, {"capture_id": str(capture_id)}, status)

    removed = {
        analysis(old, "failed"),
        analysis(uuid.uuid4(), "cancelled"),  # its capture is gone
        analysis("not-a-uuid", "aborted"),  # names no capture
    }
    kept = {
        analysis(recent, "failed"),
        analysis(old, "todo"),  # not ended
        _job(db_url, MAINTENANCE_QUEUE, {"capture_id": str(old)}, "failed"),
    }
    dry = await env.retention().run(t, dry_run=True)
    assert dry.jobs == 3
    assert count(db_url, "SELECT count(*) FROM procrastinate_jobs") == 6

    assert (await env.retention().run(t, scope="sweep")).jobs == 0  # nightly runs only
    summary = await env.retention().run(t)
    assert summary.jobs == 3
    with psycopg.connect(db_url) as conn:
        left = {row[0] for row in conn.execute("SELECT id FROM procrastinate_jobs")}
    assert left == kept
    assert not left & removed


async def test_old_captures_rows_are_purged_without_breaking_events(
    env: Env, db_url: str, tmp_path: Path
) -> None:
    t = now()
    old_event = env.seed.event("cam1", t - 40 * DAY)
    young_event = env.seed.event("cam1", t - 20 * DAY)
    dropped, _ = env.seed.capture("cam1", t - 40 * DAY)
    queued, _ = env.seed.capture("cam1", t - 40 * DAY, status="queued")
    recent, _ = env.seed.capture("cam1", t - 20 * DAY)
    await env.retention().run(t)  # frames first: everything older than 24 h is gone
    assert count(db_url, "SELECT count(*) FROM captures") == 9

    settings = settings_for(db_url, tmp_path / "data", capture_retention_days=30)
    dry = await Retention(settings, env.pool, env.store).run(t, dry_run=True)
    summary = await Retention(settings, env.pool, env.store).run(t)

    # old_event's three frames, `dropped`, and `queued` (failed by the 24 h rule first)
    assert summary.purged == dry.purged == 5
    assert count(db_url, "SELECT count(*) FROM captures WHERE capture_id = %s", dropped) == 0
    assert count(db_url, "SELECT count(*) FROM captures WHERE capture_id = %s", queued) == 0
    assert count(db_url, "SELECT count(*) FROM captures WHERE capture_id = %s", recent) == 1
    assert count(db_url, "SELECT count(*) FROM events") == 2
    rows = env.row(
        "SELECT count(*), count(capture_id), count(derived_storage_uri) FROM event_images"
        " WHERE event_id = %s",
        old_event.event_id,
    )
    assert rows == (4, 0, 4)  # the link is gone, the path stays
    assert env.row(
        "SELECT count(capture_id) FROM event_images WHERE event_id = %s", young_event.event_id
    ) == (3,)


async def test_event_files_written_under_the_device_lock_are_not_orphans(env: Env) -> None:
    """The worker writes an event's files before its commit, holding the device lock;
    retention takes unclaimed event files for orphans only under that lock, after asking
    again: files of the transaction it waited for are then claimed, and stay."""
    import asyncio

    t = now()
    event_id = uuid.uuid4()
    with psycopg.connect(env.db_url) as worker:
        worker.execute("SELECT 1 FROM device_state WHERE device_id = 'cam1' FOR UPDATE")
        uri = env.store.put(layout.event_uri("cam1", t.date(), event_id, "pre"), JPEG, durable=True)
        run = asyncio.create_task(env.retention().run(t + 11 * MINUTE))  # files look old
        await wait_for_lock_wait(env.db_url)
        worker.execute(
            "INSERT INTO events (event_id, device_id, event_type, started_at)"
            " VALUES (%s, 'cam1', 'interaction_detected', %s)",
            (event_id, t),
        )
        worker.execute(
            "INSERT INTO event_images (event_id, role, derived_storage_uri) VALUES (%s, 'pre', %s)",
            (event_id, uri),
        )
        worker.commit()
        summary = await run
    assert (env.data / uri).read_bytes() == JPEG
    assert summary.orphan.files == 0
