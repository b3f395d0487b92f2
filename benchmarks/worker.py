"""Analysis throughput and upload-to-event latency, end to end (queue included).

1. Throughput: 8 cameras' VGA frames (labelled synthetic scenes, each followed by a steady
   view) are uploaded through a live `shelfcam api` with no worker running; then `shelfcam
   worker` processes drain the queue. Frames per second = frames / (last analyzed_at -
   first analyzed_at), with 1 and with 2 worker processes. In the same run, the baseline:
   decoding the same JPEGs alone at analysis scale, in one process.
2. Latency: a live `shelfcam serve` (API + in-process worker) while 8 cameras replay their
   scenes in real time (4 fps each); for every event, the time from the arrival of the
   frame that decided it (details.captures.decided_capture_id) to the event row.

    uv run python benchmarks/worker.py [--cameras 8] [--repeat 2] [--store s3]

With ``--store s3``, the 2-process throughput and the latency are measured again with the
frames in a SeaweedFS bucket (started here as the tests start it, tests/objectstore.py)
and each process on a data dir of its own: file store and S3 store side by side.

Last line: worker_fps=<n> event_latency_p95_ms=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.processes import free_port  # noqa: E402
from tests.objectstore import CREDENTIALS, seaweedfs  # noqa: E402

from benchmarks.common import wait_ready  # noqa: E402
from shelfcam import runtime  # noqa: E402
from shelfcam.config import load_settings  # noqa: E402
from shelfcam.db.connect import connection  # noqa: E402
from shelfcam.db.migrate import migrate  # noqa: E402
from shelfcam.devices import add_device  # noqa: E402
from shelfcam.sim.scenes import generate  # noqa: E402
from shelfcam.vision import decode_gray  # noqa: E402

SCENES = [
    "take_item",
    "add_item",
    "restock",
    "move_item",
    "multiple_interactions",
    "hand_quick_no_change",
    "take_two_items",
    "swap_item",
]
FPS = 4
TAIL_S = 10


def camera_frames(index: int, repeat: int) -> list[bytes]:
    scene = generate(SCENES[index % len(SCENES)], seed=index)
    frames = list(scene.frames) + [scene.frames[-1]] * (TAIL_S * FPS)
    return frames * repeat


def upload(base: str, token: str, frames: list[bytes], boot: str, paced: bool) -> None:
    start = datetime.now(UTC) - (timedelta(0) if paced else timedelta(seconds=len(frames) / FPS))
    wall = time.monotonic()
    with httpx.Client(timeout=30) as client:
        for seq, frame in enumerate(frames):
            if paced:
                pause = wall + seq / FPS - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            captured = start + timedelta(seconds=seq / FPS)
            response = client.post(
                f"{base}/api/v1/ingest/frame",
                content=frame,
                params={
                    "seq": seq,
                    "boot": boot,
                    "captured_at": str(int(captured.timestamp() * 1000)),
                },
                headers={"X-API-Key": token, "Content-Type": "image/jpeg"},
            )
            if response.status_code not in (200, 201):
                raise SystemExit(f"upload failed: {response.status_code} {response.text}")


def queued(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM captures WHERE analysis_status = 'queued'"
        ).fetchone()
    return int(row[0]) if row else 0


def drain(url: str, env: dict[str, str], processes: int, concurrency: int) -> float:
    """Start worker processes on a full queue; frames per second while they work."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE captures SET analyzed_at = NULL")
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "shelfcam", "worker"],
            env={**env, "SHELFCAM_WORKER_CONCURRENCY": str(concurrency)},
        )
        for _ in range(processes)
    ]
    try:
        while queued(url):
            time.sleep(0.2)  # polling the database for a condition
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), extract(epoch FROM max(analyzed_at) - min(analyzed_at)) "
            "FROM captures WHERE analyzed_at IS NOT NULL"
        ).fetchone()
        quarters = conn.execute(
            "SELECT q, count(*) / greatest(extract(epoch FROM max(analyzed_at) - "
            "min(analyzed_at)), 0.001) FROM (SELECT analyzed_at, ntile(4) OVER "
            "(ORDER BY analyzed_at) AS q FROM captures) AS t GROUP BY q ORDER BY q"
        ).fetchall()
    assert row is not None
    # A drain rate that climbs as the queue empties would mean a cost per job that grows
    # with the backlog (as procrastinate's own job fetch had, before migration 10).
    print(
        f"  {processes} x {concurrency}: frames/s by quarter of the drain "
        f"{[round(float(r[1])) for r in quarters]}",
        flush=True,
    )
    return float(row[0]) / max(float(row[1] or 0), 1e-6)


def baseline_decode_fps(frames: list[bytes]) -> float:
    started = time.perf_counter()
    for frame in frames:
        decode_gray(frame)
    return len(frames) / (time.perf_counter() - started)


async def make_devices(url: str, count: int) -> list[str]:
    async with connection(url) as conn:
        return [(await add_device(conn, f"bench-{i}")).token for i in range(count)]


def latencies(url: str) -> list[float]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM e.created_at - c.received_at) FROM events e "
            "JOIN captures c ON c.capture_id = "
            "(e.details #>> '{captures,decided_capture_id}')::uuid"
        ).fetchall()
    return sorted(float(r[0]) * 1000 for r in rows)


def serve_env(url: str, data: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "SHELFCAM_DATABASE_URL": url,
        "SHELFCAM_DATA_DIR": str(data),
        "SHELFCAM_LOG_LEVEL": "WARNING",
        "SHELFCAM_RATE_LIMIT_FPS": "10000",
        "SHELFCAM_RATE_LIMIT_BURST": "100000",
        "SHELFCAM_STAGING_WINDOW_MINUTES": "120",
        "SHELFCAM_PORT": str(port),
    }


def send_all(base: str, tokens: list[str], frames: list[list[bytes]], paced: bool) -> None:
    threads = [
        threading.Thread(target=upload, args=(base, token, cam, "b1", paced))
        for token, cam in zip(tokens, frames, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def throughput(
    root: Path,
    frames: list[list[bytes]],
    processes: int,
    concurrency: int,
    store_env: dict[str, str] | None = None,
) -> float:
    """A fresh install: queue every frame (no worker running), then drain it."""
    settings = load_settings(data_dir=root, log_level="WARNING")
    with runtime.database(settings) as url:
        migrate(url)
        tokens = asyncio.run(make_devices(url, len(frames)))
        port = free_port()
        env = {**serve_env(url, root, port), **(store_env or {})}
        api = subprocess.Popen([sys.executable, "-m", "shelfcam", "api"], env=env)
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz", api)
            send_all(f"http://127.0.0.1:{port}", tokens, frames, paced=False)
        finally:
            api.terminate()
            api.wait(timeout=60)
        return drain(url, env, processes, concurrency)


def latency(
    root: Path, frames: list[list[bytes]], store_env: dict[str, str] | None = None
) -> list[float]:
    """A fresh install under `shelfcam serve`, cameras replaying in real time."""
    settings = load_settings(data_dir=root, log_level="WARNING")
    with runtime.database(settings) as url:
        migrate(url)
        tokens = asyncio.run(make_devices(url, len(frames)))
        port = free_port()
        serve = subprocess.Popen(
            [sys.executable, "-m", "shelfcam", "serve"],
            env={**serve_env(url, root, port), **(store_env or {})},
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz", serve)
            send_all(f"http://127.0.0.1:{port}", tokens, frames, paced=True)
            while queued(url):
                time.sleep(0.2)  # polling the database for a condition
        finally:
            serve.terminate()
            serve.wait(timeout=60)
        return latencies(url)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--store", choices=("file", "s3"), default="file")
    args = parser.parse_args()
    frames = [camera_frames(i, args.repeat) for i in range(args.cameras)]
    total = sum(len(f) for f in frames)
    with tempfile.TemporaryDirectory(prefix="shelfcam-bench-") as tmp:
        root = Path(tmp)
        decode = baseline_decode_fps([f for cam in frames for f in cam][:400])
        one = throughput(root / "one", frames, processes=1, concurrency=8)
        two = throughput(root / "two", frames, processes=2, concurrency=4)
        print(f"{total} VGA frames from {args.cameras} cameras, queued before the workers start")
        print(f"{'decode alone (1 process)':<32} {decode:8.0f} frames/s  (baseline)")
        print(f"{'workers: 1 process x 8':<32} {one:8.0f} frames/s  ratio {one / decode:.2f}")
        print(
            f"{'workers: 2 processes x 4':<32} {two:8.0f} frames/s  ratio {two / decode:.2f}",
            flush=True,
        )
        live = [camera_frames(i, 1) for i in range(args.cameras)]
        lat = latency(root / "live", live)
        p95 = _report_latency("file store", args.cameras, lat)
        tail = f"worker_fps={two:.0f} event_latency_p95_ms={p95:.0f}"
        if args.store == "s3":
            with seaweedfs(root / "seaweedfs") as s3:
                s3.create_bucket("bench")
                store = {**s3.env(), **CREDENTIALS}
                two_s3 = throughput(
                    root / "two-s3",
                    frames,
                    processes=2,
                    concurrency=4,
                    store_env={**store, "SHELFCAM_FRAME_STORE": "s3://bench/throughput"},
                )
                print(
                    f"{'workers: 2 x 4, S3 store':<32} {two_s3:8.0f} frames/s  "
                    f"ratio {two_s3 / decode:.2f}  (file store {two:.0f})",
                    flush=True,
                )
                lat_s3 = latency(
                    root / "live-s3",
                    live,
                    {**store, "SHELFCAM_FRAME_STORE": "s3://bench/latency"},
                )
                p95_s3 = _report_latency("S3 store", args.cameras, lat_s3)
            tail += f" s3_worker_fps={two_s3:.0f} s3_event_latency_p95_ms={p95_s3:.0f}"
    print(tail)


def _report_latency(store: str, cameras: int, lat: list[float]) -> float:
    p50 = statistics.median(lat) if lat else float("nan")
    p95 = lat[max(0, int(len(lat) * 0.95) - 1)] if lat else float("nan")
    print(
        f"real-time replay ({store}): {cameras} cameras at {FPS} fps, {len(lat)} events, "
        f"upload-to-event latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, max "
        f"{max(lat) if lat else float('nan'):.0f} ms",
        flush=True,
    )
    return p95


if __name__ == "__main__":
    main()
