"""The analysis worker end to end: frames uploaded over HTTP, the real queue and worker,
events and event frames in PostgreSQL and on disk; crashes, retries, order, determinism."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import psycopg
import pytest

from shelfcam.analysis.outputs import Committed, Outputs
from shelfcam.analysis.tasks import running_worker
from shelfcam.analysis.worker import Analyzer
from shelfcam.config import Settings
from shelfcam.db.connect import open_pool
from shelfcam.db.types import Pool
from shelfcam.frames.files import FileFrameStore
from shelfcam.metrics import Metrics
from shelfcam.outputs.catalog import specs
from shelfcam.outputs.outbox import Outbox
from shelfcam.sim.scenes import generate
from tests.apps import asgi_client, files_under, new_device, settings_for

pytestmark = pytest.mark.anyio

FPS = 4
TAIL_S = 8  # the scene stays as it is after the last labelled frame


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def scene_frames(name: str) -> list[bytes]:
    frames = list(generate(name).frames)
    return frames + [frames[-1]] * (TAIL_S * FPS)


class SimulatedCrash(BaseException):
    """Stands for the process dying: no except clause of the worker catches it."""


async def upload(
    client: httpx.AsyncClient, token: str, frames: list[bytes], start: datetime, boot: str = "b1"
) -> list[uuid.UUID]:
    ids = []
    for seq, frame in enumerate(frames):
        captured = start + timedelta(milliseconds=seq * 1000 / FPS)
        response = await client.post(
            "/api/v1/ingest/frame",
            content=frame,
            params={"seq": seq, "boot": boot, "captured_at": str(int(captured.timestamp() * 1000))},
            headers={"X-API-Key": token, "Content-Type": "image/jpeg"},
        )
        assert response.status_code == 201, response.text
        ids.append(uuid.UUID(response.json()["capture_id"]))
    return ids


def queued(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM captures WHERE analysis_status = 'queued'"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def wait_until_analyzed(db_url: str) -> None:
    """Poll the database until no capture waits for analysis (a condition, not a guess)."""
    with anyio.fail_after(120):
        while queued(db_url):  # noqa: ASYNC110 - the database has no event to wait on
            await asyncio.sleep(0.1)


def events_of(db_url: str, device: str) -> list[dict[str, Any]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT event_id, event_type, started_at, ended_at, confidence, details "
            "FROM events WHERE device_id = %s ORDER BY started_at, event_type",
            (device,),
        ).fetchall()
    return [
        dict(
            zip(
                ("event_id", "event_type", "started_at", "ended_at", "confidence", "details"),
                row,
                strict=True,
            )
        )
        for row in rows
    ]


def seq_of(db_url: str) -> dict[str, int]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT capture_id, device_seq FROM captures").fetchall()
    return {str(capture_id): int(seq) for capture_id, seq in rows}


def comparable(events: list[dict[str, Any]], seqs: dict[str, int]) -> list[tuple[Any, ...]]:
    """Events without their ids: capture ids in details replaced by frame numbers."""
    out = []
    for event in events:
        captures = {
            k: None if v is None else seqs[v] for k, v in event["details"]["captures"].items()
        }
        details = {**event["details"], "captures": captures}
        out.append(
            (
                event["event_type"],
                event["started_at"],
                event["ended_at"],
                event["confidence"],
                repr(sorted(details.items())),
            )
        )
    return out


@dataclass
class Rig:
    settings: Settings
    client: httpx.AsyncClient
    pool: Pool
    db_url: str
    data_dir: Path


@pytest.fixture
async def rig(db_url: str, tmp_path: Path) -> AsyncIterator[Rig]:
    settings = settings_for(db_url, tmp_path / "data", rate_limit_burst=10_000)
    pool = await open_pool(db_url, size=8)
    try:
        async with asgi_client(settings) as (_app, client):
            yield Rig(settings, client, pool, db_url, tmp_path / "data")
    finally:
        await pool.close()


async def test_upload_queue_worker_events(rig: Rig) -> None:
    token = await new_device(rig.db_url, "shelf")
    start = datetime.now(UTC) - timedelta(minutes=1)
    await upload(rig.client, token, scene_frames("take_item"), start)
    store = FileFrameStore(rig.data_dir)
    async with running_worker(rig.settings, rig.pool, store, Metrics()):
        await wait_until_analyzed(rig.db_url)
    events = events_of(rig.db_url, "shelf")
    assert [e["event_type"] for e in events] == ["interaction_detected", "stock_changed"]
    stock = events[1]
    details = stock["details"]
    assert set(details) >= {
        "roi_version",
        "thresholds",
        "scores",
        "captures",
        "baseline",
        "decision_trace",
        "regions",
    }
    assert details["thresholds"]["inventory_change_threshold"] > 0
    assert (
        details["scores"]["inventory_delta"] >= details["thresholds"]["inventory_change_threshold"]
    )
    assert "post_stable_found" in details["decision_trace"]
    assert details["decision_trace"][-1] == "event_emitted"
    assert details["regions"], "a stock change says where"
    day = stock["started_at"].astimezone(UTC).date().isoformat()
    folder = rig.data_dir / "events" / "shelf" / day / str(stock["event_id"])
    assert sorted(p.name for p in folder.iterdir()) == [
        "annotated.jpg",
        "during.jpg",
        "post.jpg",
        "pre.jpg",
    ]
    thumb = rig.data_dir / "thumbs" / "shelf" / day / str(stock["event_id"]) / "thumb.jpg"
    assert thumb.is_file()
    with psycopg.connect(rig.db_url) as conn:
        roles = conn.execute(
            "SELECT role, capture_id IS NOT NULL, derived_storage_uri FROM event_images "
            "WHERE event_id = %s ORDER BY role",
            (stock["event_id"],),
        ).fetchall()
        classes: dict[str, int] = dict(
            conn.execute("SELECT storage_class, count(*) FROM captures GROUP BY 1").fetchall()
        )
        statuses = {r[0] for r in conn.execute("SELECT analysis_status FROM captures")}
        staging_rows = conn.execute(
            "SELECT storage_uri FROM captures WHERE storage_class = 'staging'"
        ).fetchall()
    assert [r[0] for r in roles] == ["annotated", "during", "post", "pre", "thumb"]
    assert all((rig.data_dir / uri).is_file() for _role, _has, uri in roles)
    assert statuses == {"processed"}
    assert classes.get("event", 0) >= 3
    # Staging holds only what the engine still needs (previous frame, baseline), each with
    # its row; everything else was discarded or became an event frame.
    staging_files = {
        str(p.relative_to(rig.data_dir)) for p in files_under(rig.data_dir / "staging")
    }
    assert staging_files == {uri for (uri,) in staging_rows}
    assert 1 <= len(staging_files) <= 3


class Crasher:
    """A fault hook that dies once at ``point`` while a chosen capture is processed."""

    def __init__(self, point: str) -> None:
        self.point = point
        self.armed = False
        self.fired = False

    def __call__(self, point: str) -> None:
        if self.armed and point == self.point and not self.fired:
            self.fired = True
            raise SimulatedCrash(point)


async def process_all(
    analyzer: Analyzer, ids: list[uuid.UUID], arm: Callable[[uuid.UUID], None] = lambda _c: None
) -> None:
    for capture_id in ids:
        arm(capture_id)
        try:
            await analyzer.process(capture_id)
        except SimulatedCrash:
            await analyzer.process(capture_id)  # the queue retries the job


@pytest.mark.parametrize("point", ["event_files_written", "before_commit", "after_commit"])
async def test_crash_then_retry_gives_the_same_result(rig: Rig, point: str) -> None:
    frames = scene_frames("take_item")
    start = datetime.now(UTC) - timedelta(minutes=1)
    clean_token = await new_device(rig.db_url, "clean")
    crash_token = await new_device(rig.db_url, "crash")
    clean_ids = await upload(rig.client, clean_token, frames, start)
    crash_ids = await upload(rig.client, crash_token, frames, start)
    store = FileFrameStore(rig.data_dir)
    await process_all(Analyzer(rig.settings, rig.pool, store), clean_ids)
    seqs = seq_of(rig.db_url)
    stock = next(e for e in events_of(rig.db_url, "clean") if e["event_type"] == "stock_changed")
    emitting_seq = seqs[stock["details"]["captures"]["post_capture_id"]]
    emitted_by = {seqs[str(c)] for c in clean_ids}  # every frame, to find the emitting one
    assert emitting_seq in emitted_by

    crasher = Crasher(point)
    crashing = Analyzer(rig.settings, rig.pool, store, fault=crasher)

    # Crash while processing each frame in turn until one crash happened on a frame that
    # wrote event files (the point is reached on every frame for the commit points).
    def arm(capture_id: uuid.UUID) -> None:
        crasher.armed = seqs[str(capture_id)] >= emitting_seq

    await process_all(crashing, crash_ids, arm)
    assert crasher.fired
    assert comparable(events_of(rig.db_url, "crash"), seqs) == comparable(
        events_of(rig.db_url, "clean"), seqs
    )

    def layout(device: str) -> list[str]:
        return sorted(
            str(p.relative_to(rig.data_dir / area / device)).split("/", 2)[-1].split("/", 1)[-1]
            for area in ("events", "thumbs")
            for p in files_under(rig.data_dir / area / device)
        )

    assert len(layout("crash")) == len(layout("clean"))
    assert len(files_under(rig.data_dir / "staging" / "crash")) == len(
        files_under(rig.data_dir / "staging" / "clean")
    )
    with psycopg.connect(rig.db_url) as conn:
        orphans = conn.execute(
            "SELECT count(*) FROM captures WHERE device_id = 'crash' AND analysis_status <> "
            "'processed'"
        ).fetchone()
    assert orphans == (0,)


class BackendKiller:
    """A fault hook that, once, terminates the database backend of the frame being
    analyzed just before its commit: the job's connection dies mid-transaction, as when
    PostgreSQL ends every session after one backend crashed."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self.killed = 0

    def __call__(self, point: str) -> None:
        if point != "before_commit" or self.killed:
            return
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            row = conn.execute(  # waits (up to 10 s) until the backend has ended
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000))"
                " FROM pg_stat_activity WHERE datname = current_database()"
                " AND state = 'idle in transaction'"
            ).fetchone()
        self.killed = int(row[0]) if row else 0
        assert self.killed, "no backend was in the middle of a frame"


def analysis_jobs(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'analysis'"
        ).fetchone()
    assert row is not None
    return int(row[0])


async def test_a_frame_whose_connection_dies_is_retried_at_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """The job's connection dies at its commit: the pool's gate closes for a moment, so
    recording "retry this job" fails once too. The job must still go back to the queue at
    once, by its own worker (procrastinate alone leaves it 'doing': under a live worker,
    whose fresh heartbeat keeps the stalled-job retry away, the camera's frames wait until
    the process restarts; under a restarted one, they wait for the stalled-job retry)."""
    token = await new_device(rig.db_url, "shelf")
    start = datetime.now(UTC) - timedelta(minutes=1)
    ids = await upload(rig.client, token, scene_frames("take_item")[:6], start)
    killer = BackendKiller(rig.db_url)
    store = FileFrameStore(rig.data_dir)
    async with running_worker(rig.settings, rig.pool, store, Metrics(), fault=killer):
        await wait_until_analyzed(rig.db_url)
        with anyio.fail_after(60):
            while analysis_jobs(rig.db_url):  # noqa: ASYNC110 - no event to wait on
                await asyncio.sleep(0.1)
    assert killer.killed == 1
    assert "reason=stalled" not in caplog.text  # not left for the stalled-job retry
    with psycopg.connect(rig.db_url) as conn:
        statuses = conn.execute("SELECT analysis_status FROM captures").fetchall()
    assert statuses == [("processed",)] * len(ids)


async def test_two_workers_keep_each_cameras_order(rig: Rig) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    tokens = {name: await new_device(rig.db_url, name) for name in ("left", "right")}
    scenes = {"left": scene_frames("take_item"), "right": scene_frames("add_item")}
    for name, token in tokens.items():
        await upload(rig.client, token, scenes[name], start)
    store = FileFrameStore(rig.data_dir)
    async with (
        running_worker(rig.settings, rig.pool, store, Metrics()),
        running_worker(rig.settings, rig.pool, store, Metrics()),
    ):
        await wait_until_analyzed(rig.db_url)
    with psycopg.connect(rig.db_url) as conn:
        for name in tokens:
            rows = conn.execute(
                "SELECT device_seq FROM captures WHERE device_id = %s "
                "ORDER BY analyzed_at, device_seq",
                (name,),
            ).fetchall()
            assert [r[0] for r in rows] == sorted(r[0] for r in rows), name
    for name in tokens:
        assert [e["event_type"] for e in events_of(rig.db_url, name)] == [
            "interaction_detected",
            "stock_changed",
        ], name


async def test_same_frames_give_the_same_events(rig: Rig) -> None:
    frames = scene_frames("restock")
    start = datetime.now(UTC) - timedelta(minutes=1)
    ids = {}
    for name in ("first", "second"):
        token = await new_device(rig.db_url, name)
        ids[name] = await upload(rig.client, token, frames, start)
    store = FileFrameStore(rig.data_dir)
    for name in ("first", "second"):
        await process_all(Analyzer(rig.settings, rig.pool, store), ids[name])
    seqs = seq_of(rig.db_url)
    first = comparable(events_of(rig.db_url, "first"), seqs)
    assert len(first) >= 6
    assert first == comparable(events_of(rig.db_url, "second"), seqs)


def _sharpness(gray: Any) -> float:
    import cv2

    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


async def test_privacy_blur_keeps_only_the_shelf_sharp_in_stored_frames(rig: Rig) -> None:
    import numpy as np
    import simplejpeg

    from shelfcam import devices
    from shelfcam.db.connect import connection
    from shelfcam.vision.polygons import parse

    inventory = parse("0.12,0.1 0.88,0.1 0.88,0.88 0.12,0.88")
    async with connection(rig.db_url) as conn:
        token = (await devices.add_device(conn, "private", inventory_roi=inventory)).token
        await devices.set_config(conn, "private", privacy_blur=True)
    ids = await upload(
        rig.client, token, scene_frames("take_item"), datetime.now(UTC) - timedelta(minutes=1)
    )
    originals = {}
    with psycopg.connect(rig.db_url) as conn:
        for capture_id, uri in conn.execute(
            "SELECT capture_id, storage_uri FROM captures WHERE device_id = 'private'"
        ):
            originals[str(capture_id)] = (rig.data_dir / uri).read_bytes()
    await process_all(Analyzer(rig.settings, rig.pool, FileFrameStore(rig.data_dir)), ids)
    with psycopg.connect(rig.db_url) as conn:
        stored = conn.execute(
            "SELECT i.role, i.capture_id, i.derived_storage_uri FROM event_images i "
            "JOIN events e USING (event_id) WHERE e.device_id = 'private' "
            "AND e.event_type = 'stock_changed' AND i.role IN ('pre', 'post', 'during')"
        ).fetchall()
    assert {role for role, _c, _u in stored} == {"pre", "post", "during"}
    for _role, capture_id, uri in stored:
        kept = simplejpeg.decode_jpeg((rig.data_dir / uri).read_bytes(), colorspace="GRAY")[..., 0]
        original = simplejpeg.decode_jpeg(originals[str(capture_id)], colorspace="GRAY")[..., 0]
        h, w = original.shape
        inside = (slice(int(0.2 * h), int(0.8 * h)), slice(int(0.2 * w), int(0.8 * w)))
        outside = (slice(0, int(0.08 * h)), slice(0, w))  # the band above the shelf ROI
        # Inside the shelf: the same picture (up to JPEG re-encoding).
        assert np.abs(kept[inside].astype(int) - original[inside].astype(int)).mean() < 4
        # Outside: blurred away (detail gone), where the original had detail.
        assert _sharpness(original[outside]) > 20
        assert _sharpness(kept[outside]) < 0.2 * _sharpness(original[outside])


class Recorder:
    """An output that keeps what it is handed."""

    name = "recorder"

    def __init__(self) -> None:
        self.got: list[Committed] = []

    def deliver(self, committed: Committed) -> None:
        self.got.append(committed)


class Unreachable:
    """An output whose receiver is down: it fails every time."""

    name = "unreachable"

    def deliver(self, committed: Committed) -> None:
        raise ConnectionError("receiver down")


async def test_outputs_get_each_committed_event_once_and_never_a_rolled_back_one(
    rig: Rig,
) -> None:
    token = await new_device(rig.db_url, "cam")
    ids = await upload(rig.client, token, scene_frames("take_item"), datetime.now(UTC))
    recorder = Recorder()
    crasher = Crasher("before_commit")
    outbox = Outbox(specs(mqtt_url="mqtt://127.0.0.1:9", webhook_urls=["http://127.0.0.1:9/"]))
    analyzer = Analyzer(
        rig.settings,
        rig.pool,
        FileFrameStore(rig.data_dir),
        fault=crasher,
        outputs=Outputs([Unreachable(), recorder]),
        outbox=outbox,
    )

    # Every frame's first attempt dies before its commit (and is retried): what it would
    # have recorded is rolled back and must reach no output.
    def arm(_capture_id: uuid.UUID) -> None:
        crasher.armed, crasher.fired = True, False

    await process_all(analyzer, ids, arm)
    recorded = events_of(rig.db_url, "cam")
    assert {e["event_type"] for e in recorded} >= {"interaction_detected", "stock_changed"}
    handed = [event for committed in recorder.got for event in committed.events]
    assert sorted(str(e.event_id) for e in handed) == sorted(str(e["event_id"]) for e in recorded)
    assert all(committed.device_id == "cam" for committed in recorder.got)
    with psycopg.connect(rig.db_url) as conn:
        statuses = {s for (s,) in conn.execute("SELECT DISTINCT analysis_status FROM captures")}
    assert statuses == {"processed"}, "a failing output never fails a frame"
    # The outbox holds each committed event once per output, none of the rolled back ones.
    with psycopg.connect(rig.db_url) as conn:
        owed = conn.execute(
            "SELECT output, event_id, kind FROM output_outbox ORDER BY delivery_id"
        ).fetchall()
    for output in ("mqtt", outbox.outputs[1].name):
        new = sorted(str(e) for o, e, kind in owed if o == output and kind == "new")
        assert new == sorted(str(e["event_id"]) for e in recorded)
