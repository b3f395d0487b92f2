"""Pulled cameras end to end: a real HTTP camera (tests/cameras.py) serving real JPEGs as
ESPHome and CameraWebServer do, the puller of ``serve`` feeding them through ingest, the
real queue and worker, events in PostgreSQL; a camera that goes away and comes back, a
stream that stalls mid-frame, an answer that is not a JPEG, credentials that are wrong."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg.rows import dict_row

from shelfcam.db.connect import connection
from shelfcam.devices import add_device, pulls
from shelfcam.sim.scenes import generate
from shelfcam.web.context import AppContext
from tests.apps import asgi_client, count, settings_for
from tests.cameras import CameraState, serving
from tests.webapp import create_user, login

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Rig:
    app: FastAPI
    client: httpx.AsyncClient
    db_url: str

    @property
    def context(self) -> AppContext:
        context: AppContext = self.app.state.context
        return context


@asynccontextmanager
async def serve(db_url: str, data_dir: Path) -> AsyncIterator[Rig]:
    """What `shelfcam serve` runs (API, worker, puller), at 4 frames/s."""
    settings = settings_for(
        db_url, data_dir, idle_interval_ms=250, burst_interval_ms=250, pull_timeout_seconds=1
    )
    async with asgi_client(settings, with_worker=True) as (app, client):
        yield Rig(app, client, db_url)


def pull_row(db_url: str, device: str) -> dict[str, Any]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        row = conn.execute("SELECT * FROM device_pulls WHERE device_id = %s", (device,)).fetchone()
    assert row is not None
    return row


async def until(condition: Callable[[], bool], limit_s: float = 60) -> None:
    """Poll until the condition holds (the database and the camera have no event to
    wait on); fail after ``limit_s`` seconds."""
    with anyio.fail_after(limit_s):
        while not condition():  # noqa: ASYNC110 - a condition in another process
            await asyncio.sleep(0.1)


def captures(db_url: str, device: str) -> int:
    return count(db_url, "SELECT count(*) FROM captures WHERE device_id = %s", device)


def hashes(db_url: str, device: str) -> set[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT sha256_hex FROM captures WHERE device_id = %s", (device,)
        ).fetchall()
    return {str(r[0]) for r in rows}


def event_types(db_url: str, device: str) -> list[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT event_type FROM events WHERE device_id = %s ORDER BY started_at, event_type",
            (device,),
        ).fetchall()
    return [str(r[0]) for r in rows]


def scene(name: str) -> list[bytes]:
    return list(generate(name).frames)


async def add_pulled(db_url: str, device: str, url: str) -> None:
    async with connection(db_url) as conn:
        await add_device(conn, device)
        await pulls.set_pull(conn, device, url)


def analysed_like_a_pushing_camera(db_url: str, device: str) -> None:
    """Every frame went through ingest and analysis; no camera time: engine time is the
    arrival time."""
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE captured_at IS NOT NULL),"
            " count(*) FILTER (WHERE device_seq IS NOT NULL) FROM captures"
            " WHERE device_id = %s AND storage_class <> 'debug'",
            (device,),
        ).fetchone()
    assert row is not None
    assert row[0] > 0
    assert (row[1], row[2]) == (0, 0)


async def test_a_snapshot_camera_added_with_the_cli_makes_events(
    db_url: str, tmp_path: Path
) -> None:
    camera = CameraState(frames=scene("take_item"))
    env = {**os.environ, "SHELFCAM_DATABASE_URL": db_url, "SHELFCAM_DATA_DIR": str(tmp_path)}
    with serving(camera) as base:
        async with serve(db_url, tmp_path) as rig:
            url = f"{base}/capture"
            command = ["device", "add", "shelf", "--pull-url", url, "--pull-interval-ms", "250"]
            done = await anyio.run_process([sys.executable, "-m", "shelfcam", *command], env=env)
            assert f"pulled from {url}" in done.stdout.decode()
            await until(lambda: "stock_changed" in event_types(db_url, "shelf"), limit_s=120)
            assert {"interaction_detected", "stock_changed"} <= set(event_types(db_url, "shelf"))
            analysed_like_a_pushing_camera(db_url, "shelf")
            await until(lambda: pull_row(db_url, "shelf")["connected"] is True)
            assert pull_row(db_url, "shelf")["mode"] == "snapshot"
            health = (await rig.client.get("/healthz")).json()
            assert health["puller"] == "active"
            assert health["pulls"]["shelf"]["state"] == "connected"
            assert health["pulls"]["shelf"]["mode"] == "snapshot"
            metrics = (await rig.client.get("/metrics")).text
            assert 'shelfcam_pull_connected{device="shelf"} 1.0' in metrics
            assert 'shelfcam_ingest_frames_total{device="shelf"}' in metrics


@pytest.mark.parametrize("path", ["/stream", "/stream-nolength"])
async def test_an_mjpeg_stream_makes_events_and_drops_what_it_does_not_need(
    db_url: str, tmp_path: Path, path: str
) -> None:
    # The camera streams 8 frames/s (each scene frame twice); shelfcam takes 4 per second.
    camera = CameraState(frames=scene("take_item"), stream_pace_s=0.125, repeat=2)
    with serving(camera) as base:
        async with serve(db_url, tmp_path) as rig:
            await add_pulled(db_url, "shelf", f"{base}{path}")
            await until(lambda: "stock_changed" in event_types(db_url, "shelf"), limit_s=120)
            assert {"interaction_detected", "stock_changed"} <= set(event_types(db_url, "shelf"))
            analysed_like_a_pushing_camera(db_url, "shelf")
            assert pull_row(db_url, "shelf")["mode"] == "stream"
            metrics = (await rig.client.get("/metrics")).text
            dropped = [
                line
                for line in metrics.splitlines()
                if line.startswith('shelfcam_pull_frames_dropped_total{device="shelf"}')
            ]
            assert dropped
            assert float(dropped[0].split()[-1]) > 0
            assert len(camera.served) > captures(db_url, "shelf")


async def test_a_camera_that_goes_away_and_comes_back(db_url: str, tmp_path: Path) -> None:
    first = CameraState(frames=scene("idle"))
    async with serve(db_url, tmp_path) as rig:
        with serving(first) as base:
            port = int(base.rsplit(":", 1)[1])
            await add_pulled(db_url, "shelf", f"{base}/capture")
            await until(lambda: captures(db_url, "shelf") >= 3)
        # the camera is gone: the puller says so and keeps trying, with growing waits
        await until(lambda: pull_row(db_url, "shelf")["connected"] is False)
        row = pull_row(db_url, "shelf")
        assert "cannot reach the camera" in row["last_error"]
        before = captures(db_url, "shelf")
        with serving(CameraState(frames=scene("idle")), port=port):
            await until(lambda: captures(db_url, "shelf") >= before + 3, limit_s=90)
            await until(lambda: pull_row(db_url, "shelf")["connected"] is True)
        puller = rig.context.puller
        assert puller is not None
        assert puller.status.restarts == 0  # failures stay inside the camera's loop


async def test_a_stream_that_stalls_mid_frame_is_reconnected(db_url: str, tmp_path: Path) -> None:
    camera = CameraState(frames=scene("idle"), stream_pace_s=0.1)
    with serving(camera) as base:
        async with serve(db_url, tmp_path):
            await add_pulled(db_url, "shelf", f"{base}/stall")
            await until(lambda: (pull_row(db_url, "shelf")["last_error"] or "") != "")
            assert pull_row(db_url, "shelf")["last_error"] == "the camera stopped sending for 1 s"
            # the next connection streams again
            await until(lambda: captures(db_url, "shelf") >= 4)
            await until(lambda: pull_row(db_url, "shelf")["connected"] is True)
        # the frame before the stall was taken; the half frame never was
        stored = hashes(db_url, "shelf")
        assert hashlib.sha256(camera.served[0]).hexdigest() in stored
        assert hashlib.sha256(camera.served[1]).hexdigest() not in stored


async def test_an_answer_that_is_not_a_jpeg(db_url: str, tmp_path: Path) -> None:
    camera = CameraState(frames=scene("idle"))
    with serving(camera) as base:
        async with serve(db_url, tmp_path) as rig:
            await add_pulled(db_url, "shelf", f"{base}/page")
            await until(lambda: pull_row(db_url, "shelf")["connected"] is False)
            row = pull_row(db_url, "shelf")
            assert row["last_error"] == "the camera's answer is not a JPEG (Content-Type text/html)"
            assert captures(db_url, "shelf") == 0
            health = await rig.client.get("/healthz")
            assert health.status_code == 200  # a camera that fails is not shelfcam failing
            assert health.json()["pulls"]["shelf"]["state"] == "failing"


async def test_wrong_credentials_are_a_clear_state_never_shown_and_no_crash_loop(
    db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    camera = CameraState(frames=scene("idle"), credentials=("admin", "right-horse"))
    await create_user(db_url)
    with serving(camera) as base:
        async with serve(db_url, tmp_path) as rig:
            wrong = base.replace("http://", "http://admin:wrong-horse@") + "/capture"
            await add_pulled(db_url, "shelf", wrong)
            await until(lambda: pull_row(db_url, "shelf")["last_error"] is not None)
            row = pull_row(db_url, "shelf")
            assert row["last_error"] == "the camera refused the credentials (HTTP 401)"
            assert row["connected"] is False
            await login(rig.client)
            page = (await rig.client.get("/devices")).text
            assert "the camera refused the credentials (HTTP 401)" in page
            assert "failing" in page
            assert "http://***@127.0.0.1" in page
            assert "wrong-horse" not in page
            health = (await rig.client.get("/healthz")).text
            assert "wrong-horse" not in health
            assert "refused the credentials" in health
            puller = rig.context.puller
            assert puller is not None
            assert puller.status.restarts == 0
            # the right password: frames arrive (Basic, asked for by the camera)
            right = wrong.replace("wrong-horse", "right-horse")
            async with connection(db_url) as conn:
                await pulls.set_pull(conn, "shelf", right)
            await until(lambda: captures(db_url, "shelf") >= 2)
    assert "wrong-horse" not in caplog.text
    assert "right-horse" not in caplog.text


async def test_digest_credentials(db_url: str, tmp_path: Path) -> None:
    camera = CameraState(frames=scene("idle"), credentials=("admin", "pw"), digest=True)
    with serving(camera) as base:
        async with serve(db_url, tmp_path):
            url = base.replace("http://", "http://admin:pw@") + "/stream"
            await add_pulled(db_url, "shelf", url)
            await until(lambda: captures(db_url, "shelf") >= 2)
            assert pull_row(db_url, "shelf")["mode"] == "stream"
