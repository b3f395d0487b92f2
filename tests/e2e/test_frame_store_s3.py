"""Frames in an S3-compatible object store (a real SeaweedFS): uploads over HTTP, the real
queue and worker, event frames as objects shown through the app, retention, a failed
put, and a bucket lifecycle rule that deleted objects first."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio.to_thread
import psycopg
import pytest

from shelfcam.activity import timeline
from shelfcam.analysis.tasks import running_worker
from shelfcam.config import Settings
from shelfcam.db.connect import connection, open_pool
from shelfcam.db.types import Pool
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.layout import AREAS
from shelfcam.frames.migration import ProgressBar, migrate_frames, target_of
from shelfcam.frames.objects import S3FrameStore
from shelfcam.frames.routing import RoutingFrameStore, open_frame_store
from shelfcam.metrics import Metrics
from shelfcam.retention.runner import Retention
from tests.apps import asgi_client, count, files_under, new_device, settings_for
from tests.e2e.processes import shelfcam_env
from tests.e2e.test_worker import scene_frames, upload, wait_until_analyzed
from tests.jpegs import jpeg as make_jpeg
from tests.objectstore import S3Server
from tests.webapp import create_token

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class S3Rig:
    settings: Settings
    store: RoutingFrameStore
    pool: Pool
    db_url: str
    data_dir: Path


@pytest.fixture
async def s3_rig(
    db_url: str, tmp_path: Path, s3_server: S3Server, s3_store_url: str
) -> AsyncIterator[S3Rig]:
    settings = settings_for(
        db_url,
        tmp_path / "data",
        rate_limit_burst=10_000,
        retention_files_per_second=1_000_000,
        frame_store=s3_store_url,
        s3_endpoint_url=s3_server.endpoint_url,
    )
    pool = await open_pool(db_url, size=8)
    try:
        yield S3Rig(settings, open_frame_store(settings), pool, db_url, tmp_path / "data")
    finally:
        await pool.close()


def _image_rows(db_url: str) -> list[tuple[str, str, str]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT i.event_id::text, i.role, i.derived_storage_uri FROM event_images i "
            "JOIN events e USING (event_id) WHERE i.expired_at IS NULL ORDER BY 1, 2"
        ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


async def test_uploads_events_ui_and_retention_on_s3(s3_rig: S3Rig, s3_store_url: str) -> None:
    rig = s3_rig
    token = await new_device(rig.db_url, "shelf")
    start = datetime.now(UTC) - timedelta(minutes=1)
    async with asgi_client(rig.settings) as (_app, client):
        await upload(client, token, scene_frames("take_item"), start)
        async with running_worker(rig.settings, rig.pool, rig.store, Metrics()):
            await wait_until_analyzed(rig.db_url)

        # Event frames are objects in the bucket; nothing is on local disk.
        images = _image_rows(rig.db_url)
        assert {role for _e, role, _u in images} >= {"pre", "post", "during", "thumb"}
        assert all(uri.startswith(f"{s3_store_url}/") for _e, _r, uri in images)
        assert all(rig.store.exists(uri) for _e, _r, uri in images)
        for area in ("staging", "events", "thumbs"):
            assert files_under(rig.data_dir / area) == [], area
        with psycopg.connect(rig.db_url) as conn:
            staging = {
                r[0]
                for r in conn.execute(
                    "SELECT storage_uri FROM captures WHERE storage_class = 'staging'"
                )
            }
        objects = {f.uri for f in rig.store.scan("staging").files}
        assert objects == staging  # the worker released the rest
        assert 1 <= len(objects) <= 3

        # The UI streams them through the app, with its authentication.
        admin = await create_token(rig.db_url)
        event_id, role, uri = next(i for i in images if i[1] == "post")
        path = f"/images/{event_id}/{role}"
        assert (await client.get(path)).status_code == 401
        answer = await client.get(path, headers={"Authorization": f"Bearer {admin}"})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "image/jpeg"
        assert answer.content == rig.store.get(uri)

        # An object deleted behind shelfcam's back (a lifecycle rule): a clear state.
        rig.store.delete(uri)
        answer = await client.get(path, headers={"Authorization": f"Bearer {admin}"})
        assert answer.status_code == 410
        assert answer.json()["error"] == "gone"
        async with rig.pool.connection() as conn:
            shown = await timeline.get_event(conn, rig.store, uuid.UUID(event_id))
        assert shown.images["post"].expired and shown.images["post"].expired_at is None

    # The disk guard leaves objects alone: deleting them frees no disk here.
    guard = await Retention(rig.settings, rig.pool, rig.store, free_bytes=lambda: 0).guard(
        datetime.now(UTC)
    )
    assert guard is not None and guard.exhausted and guard.events == 0
    assert _image_rows(rig.db_url) == images
    assert all(rig.store.exists(u) for _e, _r, u in images if u != uri)

    # An orphan object (a crash between put and commit) is swept too.
    orphan = rig.store.put(
        f"events/shelf/{start.date().isoformat()}/{'0' * 8}-0000-4000-8000-{'0' * 12}/pre.jpg",
        make_jpeg(),
        durable=True,
    )
    # Retention, eight days on: every event frame and staging object goes.
    later = datetime.now(UTC) + timedelta(days=8)
    summary = await Retention(rig.settings, rig.pool, rig.store).run(later)
    assert summary.errors == 0
    assert summary.events >= 2
    assert _image_rows(rig.db_url) == []
    assert not rig.store.exists(orphan)
    for area in AREAS:
        assert rig.store.scan(area).files == [], area
    assert count(rig.db_url, "SELECT count(*) FROM event_images WHERE expired_at IS NULL") == 0


async def test_a_failed_put_is_503_and_keeps_nothing(
    db_url: str, tmp_path: Path, s3_server: S3Server
) -> None:
    settings = settings_for(
        db_url,
        tmp_path / "data",
        frame_store="s3://no-such-bucket-here/frames",
        s3_endpoint_url=s3_server.endpoint_url,
    )
    token = await new_device(db_url, "shelf")
    async with asgi_client(settings) as (_app, client):
        answer = await client.post(
            "/api/v1/ingest/frame",
            content=make_jpeg(),
            params={"seq": 1, "boot": "b1"},
            headers={"X-API-Key": token, "Content-Type": "image/jpeg"},
        )
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "store_unavailable"
    assert answer.headers["retry-after"] == "5"
    assert count(db_url, "SELECT count(*) FROM captures") == 0
    assert count(db_url, "SELECT count(*) FROM procrastinate_jobs") == 0
    assert files_under(tmp_path / "data" / "staging") == []


class Interrupted(BaseException):
    """Stands for the command being killed mid-way."""


class StopAfter(ProgressBar):
    def __init__(self, total: int, frames: int) -> None:
        super().__init__(total, out=io.StringIO())
        self.frames = frames

    def advance(self, n: int = 1) -> None:
        super().advance(n)
        if self.done >= self.frames:
            raise Interrupted


def _run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(command, env=env, capture_output=True, check=False, timeout=120)


def _file_uris(db_url: str) -> list[str]:
    return [uri for _e, _r, uri in _image_rows(db_url) if not uri.startswith("s3://")]


async def test_frames_migrate_moves_a_file_install_and_resumes(
    db_url: str, tmp_path: Path, s3_server: S3Server, s3_store_url: str
) -> None:
    data = tmp_path / "data"
    on_file = settings_for(db_url, data, rate_limit_burst=10_000)
    token = await new_device(db_url, "shelf")
    pool = await open_pool(db_url, size=8)
    try:
        async with asgi_client(on_file) as (_app, client):
            await upload(client, token, scene_frames("take_item"), datetime.now(UTC))
            async with running_worker(on_file, pool, open_frame_store(on_file), Metrics()):
                await wait_until_analyzed(db_url)
    finally:
        await pool.close()
    before = _file_uris(db_url)
    assert len(before) >= 4
    files = FileFrameStore(data)
    frames = {uri: files.get(uri) for uri in before}
    env = shelfcam_env(data, 8000, SHELFCAM_DATABASE_URL=db_url, **s3_server.env())
    command = [sys.executable, "-m", "shelfcam", "frames", "migrate", "--to", s3_store_url]

    dry = await anyio.to_thread.run_sync(_run, [*command, "--dry-run", "--json"], env)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["planned"] == len(before)
    assert _file_uris(db_url) == before

    # Interrupted after three frames: those are moved, the rest untouched.
    objects = S3FrameStore(target_of(s3_store_url), s3_server.client())  # type: ignore[arg-type]
    async with connection(db_url) as conn:
        with pytest.raises(Interrupted):
            await migrate_frames(
                conn, files, objects, dry_run=False, progress=StopAfter(len(before), 3)
            )
    assert len(_file_uris(db_url)) == len(before) - 3

    again = await anyio.to_thread.run_sync(_run, [*command, "--json"], env)
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout.splitlines()[0])
    assert report["moved"] == len(before) - 3
    assert _file_uris(db_url) == []
    for area in ("events", "thumbs"):
        assert files_under(data / area) == [], area
    # Every frame is its object now, byte for byte, and shown by an app on the S3 store.
    on_s3 = settings_for(
        db_url, data, frame_store=s3_store_url, s3_endpoint_url=s3_server.endpoint_url
    )
    store = open_frame_store(on_s3)
    admin = await create_token(db_url)
    moved = _image_rows(db_url)
    assert sorted(store.get(uri) for _e, _r, uri in moved) == sorted(frames.values())
    with psycopg.connect(db_url) as conn:
        stale = conn.execute(
            "SELECT count(*) FROM captures c JOIN event_images i USING (capture_id) "
            "WHERE c.storage_class = 'event' AND NOT starts_with(c.storage_uri, 's3://')"
        ).fetchone()
    assert stale == (0,)
    async with asgi_client(on_s3) as (_app, client):
        event_id, role, _uri = moved[0]
        answer = await client.get(
            f"/images/{event_id}/{role}", headers={"Authorization": f"Bearer {admin}"}
        )
        assert answer.status_code == 200
        assert answer.content in frames.values()


async def test_a_retried_upload_keeps_one_object(s3_rig: S3Rig) -> None:
    token = await new_device(s3_rig.db_url, "shelf")
    frame = make_jpeg(seed=5)
    async with asgi_client(s3_rig.settings) as (_app, client):
        answers = [
            await client.post(
                "/api/v1/ingest/frame",
                content=frame,
                params={"seq": 7, "boot": "b1"},
                headers={"X-API-Key": token, "Content-Type": "image/jpeg"},
            )
            for _ in range(2)
        ]
    assert [a.status_code for a in answers] == [201, 200]
    assert answers[0].json()["capture_id"] == answers[1].json()["capture_id"]
    (uri,) = [f.uri for f in s3_rig.store.scan("staging").files]
    with psycopg.connect(s3_rig.db_url) as conn:
        assert conn.execute("SELECT storage_uri FROM captures").fetchall() == [(uri,)]
    assert s3_rig.store.get(uri) == frame
