"""Retention: the time to clean 7 days of a 10-camera install, and ingest latency during
a cleanup against without.

1. Clean: 10 cameras x 1,000 events over 7 days, each event with pre/post/during frames
   (~50 KB, captures of class 'event'), an overlay and a thumbnail: 50,000 files and
   their rows (captures, events, event_images), written straight to disk and COPYed into
   the embedded PostgreSQL. Then one full retention run in-process with a ``now`` 8 days
   later, with the default pace (SHELFCAM_RETENTION_FILES_PER_SECOND) and unpaced, with
   the lag of a timer on the same event loop (what the run inside `serve` costs ingest).
2. Ingest: a live `shelfcam api` (uvicorn, no analysis worker) takes frames at a fixed
   rate from benchmarks/loadgen.py (a separate process, open loop: latency counts from
   when a request was due); p50/p99 without cleanup, then again while
   `shelfcam retention run` deletes another 50,000 files beside it (as is, and niced as
   deploy/shelfcam-retention.service runs it).

    uv run python benchmarks/retention.py [--events-per-camera 1000] [--rate 50]

Last line: retention_seconds=<n> files=<n> (the default-pace run of step 1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.processes import free_port  # noqa: E402
from tests.jpegs import jpeg  # noqa: E402

from benchmarks.common import run_loadgen, wait_ready  # noqa: E402
from shelfcam import runtime  # noqa: E402
from shelfcam.config import Settings, load_settings  # noqa: E402
from shelfcam.db.connect import connection, open_pool  # noqa: E402
from shelfcam.db.migrate import migrate  # noqa: E402
from shelfcam.devices import add_device  # noqa: E402
from shelfcam.frames.files import FileFrameStore  # noqa: E402
from shelfcam.retention.runner import Retention  # noqa: E402
from shelfcam.retention.summary import Summary  # noqa: E402

CAMERAS = 10
DAYS = 7
FRAME = jpeg(seed=3)  # ~50 KB VGA
THUMB = jpeg(160, 120, seed=3)


def seed(url: str, data: Path, t0: datetime, events_per_camera: int) -> int:
    """Rows and files of ``events_per_camera`` events per camera in the 7 days before
    ``t0``, as the worker leaves them; returns the number of files written."""
    captures: list[tuple[object, ...]] = []
    events: list[tuple[object, ...]] = []
    images: list[tuple[object, ...]] = []
    files = 0
    span = timedelta(days=DAYS)
    for cam in range(CAMERAS):
        device = f"cam{cam:02d}"
        for k in range(events_per_camera):
            started = t0 - span + (k + 0.5) * span / events_per_camera
            event_id = uuid.uuid4()
            day = started.date().isoformat()
            for area in ("events", "thumbs"):
                (data / area / device / day / str(event_id)).mkdir(parents=True, exist_ok=True)
            events.append((event_id, device, started, started))
            for role in ("pre", "post", "during", "annotated", "thumb"):
                area = "thumbs" if role == "thumb" else "events"
                uri = f"{area}/{device}/{day}/{event_id}/{role}.jpg"
                body = THUMB if role == "thumb" else FRAME
                fd = os.open(data / uri, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    os.write(fd, body)
                finally:
                    os.close(fd)
                files += 1
                capture_id = None
                if role in ("pre", "post", "during"):
                    capture_id = uuid.uuid4()
                    captures.append((capture_id, device, started, uri, len(body)))
                images.append((event_id, role, capture_id, uri))
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY captures (capture_id, device_id, received_at, storage_uri, storage_class,"
            " analysis_status, byte_size, width, height) FROM STDIN"
        ) as copy:
            for c in captures:
                copy.write_row((*c[:4], "event", "processed", c[4], 640, 480))
        with cur.copy(
            "COPY events (event_id, device_id, event_type, started_at, ended_at, confidence)"
            " FROM STDIN"
        ) as copy:
            for e in events:
                copy.write_row((*e[:2], "stock_changed", *e[2:], 0.9))
        with cur.copy(
            "COPY event_images (event_id, role, capture_id, derived_storage_uri) FROM STDIN"
        ) as copy:
            for i in images:
                copy.write_row(i)
        cur.execute("ANALYZE captures; ANALYZE events; ANALYZE event_images")
    # A real install's frames are days old, long written back: do not time the deletion
    # of files whose data is still being written out.
    os.sync()
    return files


async def clean(settings: Settings, url: str, now: datetime) -> tuple[Summary, list[float]]:
    """One run; and how late a 1 ms timer on the same event loop fired meanwhile (what
    the nightly run inside `shelfcam serve` adds to ingest's latency)."""
    lags: list[float] = []
    done = asyncio.Event()

    async def monitor() -> None:
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - started - 0.001)

    pool = await open_pool(url, size=2)
    watcher = asyncio.create_task(monitor())
    try:
        retention = Retention(settings, pool, FileFrameStore(settings.data_dir))
        return await retention.run(now), lags
    finally:
        done.set()
        await watcher
        await pool.close()


def timed_clean(settings: Settings, url: str, events_per_camera: int) -> tuple[float, Summary]:
    t0 = datetime.now(UTC)
    started = time.perf_counter()
    files = seed(url, settings.data_dir, t0, events_per_camera)
    print(f"  seeded {files} files in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    summary, lags = asyncio.run(clean(settings, url, t0 + timedelta(days=8)))
    seconds = time.perf_counter() - started
    assert summary.files == files, (summary.files, files)
    left = [p for p in (settings.data_dir / "events").rglob("*") if p.is_file()]
    assert left == [], left[:3]
    lags.sort()
    print(
        f"  event loop lag meanwhile: p99 {lags[int(len(lags) * 0.99)] * 1000:.1f} ms, "
        f"max {lags[-1] * 1000:.1f} ms",
        flush=True,
    )
    return seconds, summary


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events-per-camera", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=50, help="ingest frames/s during step 2")
    parser.add_argument("--seconds", type=float, default=0, help="load duration (0: auto)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shelfcam-bench-") as tmp:
        root = Path(tmp)
        data = root / "data"
        settings = load_settings(data_dir=data, log_level="WARNING")
        body = root / "frame.jpg"
        body.write_bytes(FRAME)
        with runtime.database(settings) as url:
            migrate(url)

            async def make_devices() -> str:
                async with connection(url) as conn:
                    for cam in range(CAMERAS):
                        await add_device(conn, f"cam{cam:02d}")
                    return (await add_device(conn, "bench")).token

            token = asyncio.run(make_devices())

            print("1. clean 7 days of 10 cameras (a now 8 days later)", flush=True)
            paced_s, paced = timed_clean(settings, url, args.events_per_camera)
            pace = settings.retention_files_per_second
            print(
                f"  default pace ({pace} files/s): {paced_s:.2f} s, {paced.files} files, "
                f"{paced.bytes / 1e6:.0f} MB freed, {paced.events} events, "
                f"{paced.folders} folders",
                flush=True,
            )
            unpaced_settings = load_settings(
                data_dir=data, log_level="WARNING", retention_files_per_second=1_000_000
            )
            unpaced_s, unpaced = timed_clean(unpaced_settings, url, args.events_per_camera)
            print(f"  unpaced: {unpaced_s:.2f} s, {unpaced.files} files", flush=True)

            print(f"2. ingest at {args.rate:g} frames/s, without and during a cleanup", flush=True)
            env = {
                **os.environ,
                "SHELFCAM_DATABASE_URL": url,
                "SHELFCAM_DATA_DIR": str(data),
                "SHELFCAM_LOG_LEVEL": "WARNING",
                "SHELFCAM_RATE_LIMIT_FPS": "10000",
                "SHELFCAM_RATE_LIMIT_BURST": "100000",
            }
            port = free_port()
            env["SHELFCAM_PORT"] = str(port)
            seconds = args.seconds or max(10.0, round(paced_s) + 2.0)
            server = subprocess.Popen([sys.executable, "-m", "shelfcam", "api"], env=env)
            try:
                wait_ready(f"http://127.0.0.1:{port}/healthz", server)
                ingest_url = f"http://127.0.0.1:{port}/api/v1/ingest/frame?boot=bench"
                run_loadgen(
                    ingest_url, token, body, concurrency=16, rate=0, seconds=2, first_seq=10_000_000
                )  # warm up, flat out
                results = {
                    "without cleanup": run_loadgen(
                        ingest_url,
                        token,
                        body,
                        concurrency=16,
                        rate=args.rate,
                        seconds=seconds,
                        first_seq=0,
                    )
                }
                cleanups = {}
                command = [sys.executable, "-m", "shelfcam", "retention", "run", "--json"]
                for n, (name, prefix) in enumerate(
                    (
                        ("during cleanup", []),
                        # as deploy/shelfcam-retention.service runs it
                        ("during niced cleanup", ["nice", "-n", "10", "ionice", "-c", "3"]),
                    ),
                    start=1,
                ):
                    # another 7 days of frames, old enough for `retention run` (real time)
                    seed(url, data, datetime.now(UTC) - timedelta(days=8), args.events_per_camera)
                    cleaner = subprocess.Popen(
                        prefix + command, env=env, stdout=subprocess.PIPE, text=True
                    )
                    results[name] = run_loadgen(
                        ingest_url,
                        token,
                        body,
                        concurrency=16,
                        rate=args.rate,
                        seconds=seconds,
                        first_seq=n * 1_000_000,
                    )
                    out, _ = cleaner.communicate(timeout=600)
                    cleanups[name] = json.loads(out.strip().splitlines()[-1])
            finally:
                server.terminate()
                server.wait(timeout=30)
            print(f"{'':>22} {'frames/s':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses / cleanup")
            for name, result in results.items():
                cleanup = cleanups.get(name)
                beside = (
                    f"  {cleanup['total']['files']} files in {cleanup['seconds']:.1f} s"
                    if cleanup
                    else ""
                )
                print(
                    f"{name:>22} {result['fps']:>9} {result['p50_ms']:>8} "
                    f"{result['p99_ms']:>8}  {result['statuses']}{beside}",
                    flush=True,
                )
    print(f"retention_seconds={paced_s:.2f} files={paced.files}")


if __name__ == "__main__":
    main()
