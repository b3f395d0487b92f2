"""Scaling out (docs/scaling.md): an API process and two `shelfcam worker` processes, as on
separate machines, sharing only the PostgreSQL and the data dir (file store), or only the
PostgreSQL and an S3 bucket, each process with a data dir of its own (S3 store). Every
frame of two cameras is analyzed, each camera's frames in order, with the events a single
worker gives."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from shelfcam.sim.scenes import generate
from tests.apps import new_device
from tests.e2e.processes import free_port, shelfcam_env, start, wait_healthy

FPS = 4
TAIL_S = 10  # the view stays as it is after the scene, so its change persists
SCENES = {"left": "take_item", "right": "add_item"}
ANALYSIS_LIMIT_S = 180.0


def _frames(scene: str) -> list[bytes]:
    frames = list(generate(scene).frames)
    return frames + [frames[-1]] * (TAIL_S * FPS)


def _queued(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM captures WHERE analysis_status = 'queued'"
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def processes(
    db_url: str, tmp_path: Path, frame_store_env: dict[str, str]
) -> Iterator[tuple[int, list[Path]]]:
    """`shelfcam api` and two `shelfcam worker`s on one database, and one data dir (file
    store) or a data dir each (S3 store: nothing shared on disk)."""
    port = free_port()
    shared = frame_store_env["SHELFCAM_FRAME_STORE"] == "file"

    def env(name: str) -> dict[str, str]:
        return shelfcam_env(
            tmp_path / ("data" if shared else f"data-{name}"),
            port,
            SHELFCAM_DATABASE_URL=db_url,
            SHELFCAM_WORKER_CONCURRENCY="1",
            SHELFCAM_LOG_LEVEL="INFO",
            **frame_store_env,
        )

    logs = [tmp_path / "api.log", tmp_path / "worker-1.log", tmp_path / "worker-2.log"]
    procs = [start(["api"], env("api"), logs[0])]
    procs += [start(["worker"], env(log.stem), log) for log in logs[1:]]
    try:
        wait_healthy(port, procs[0], logs[0])
        yield port, logs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def test_two_worker_processes_share_the_cameras(
    db_url: str, processes: tuple[int, list[Path]], frame_store_env: dict[str, str]
) -> None:
    port, logs = processes
    tokens = {name: asyncio.run(new_device(db_url, name)) for name in SCENES}
    frames = {name: _frames(scene) for name, scene in SCENES.items()}
    start_at = datetime.now(UTC) - timedelta(minutes=1)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        # The two cameras' frames interleaved, as two cameras send them.
        for seq in range(max(len(f) for f in frames.values())):
            captured = start_at + timedelta(milliseconds=seq * 1000 / FPS)
            for name, camera_frames in frames.items():
                if seq >= len(camera_frames):
                    continue
                answer = client.post(
                    "/api/v1/ingest/frame",
                    content=camera_frames[seq],
                    params={
                        "seq": seq,
                        "boot": "b1",
                        "captured_at": str(int(captured.timestamp() * 1000)),
                    },
                    headers={"X-API-Key": tokens[name], "Content-Type": "image/jpeg"},
                )
                assert answer.status_code == 201, answer.text

    deadline = time.monotonic() + ANALYSIS_LIMIT_S
    while _queued(db_url):
        assert time.monotonic() < deadline, "\n".join(log.read_text() for log in logs)
        time.sleep(0.2)  # polling the database for a condition

    with psycopg.connect(db_url) as conn:
        statuses: dict[str, int] = dict(
            conn.execute(
                "SELECT analysis_status, count(*) FROM captures GROUP BY analysis_status"
            ).fetchall()
        )
        assert set(statuses) <= {"processed", "skipped"}, statuses
        assert sum(statuses.values()) == sum(len(f) for f in frames.values())
        for name in SCENES:
            seqs = [
                row[0]
                for row in conn.execute(
                    "SELECT device_seq FROM captures WHERE device_id = %s "
                    "ORDER BY analyzed_at, device_seq",
                    (name,),
                ).fetchall()
            ]
            assert seqs == sorted(seqs), f"{name}'s frames were analyzed out of order"
            kinds = [
                row[0]
                for row in conn.execute(
                    "SELECT event_type FROM events WHERE device_id = %s "
                    "ORDER BY started_at, event_type",
                    (name,),
                ).fetchall()
            ]
            assert kinds == ["interaction_detected", "stock_changed"], name
        uris = [r[0] for r in conn.execute("SELECT derived_storage_uri FROM event_images")]
    store = frame_store_env["SHELFCAM_FRAME_STORE"]
    assert uris
    if store == "file":
        assert not any(uri.startswith("s3://") for uri in uris)
    else:  # every event frame is an object; no process kept a frame on its disk
        assert all(uri.startswith(f"{store}/") for uri in uris), uris
        assert not [p for p in logs[0].parent.glob("data-*/*/**/*.jpg")]
    worker_logs = [log.read_text() for log in logs[1:]]
    for text in worker_logs:
        assert "action=worker_started" in text
        assert "level=ERROR" not in text, text
    emitted = [text.count("action=event_emitted") for text in worker_logs]
    assert sum(emitted) == 4, emitted
    print(f"events emitted per worker: {emitted}")
