"""Pulled cameras: how fast the MJPEG splitter is, and what pulling costs.

1. The splitter alone (pure): a stream of VGA JPEGs (~50 KB) in CameraWebServer's framing,
   fed in 4 KiB chunks, with and without Content-Length: MB/s and frames/s.
2. The puller end to end (no analysis worker): N local cameras (tests/cameras.py) each
   streaming 25 frames/s, pulled at SHELFCAM_IDLE_INTERVAL_MS=50 (20 frames/s each) into
   ingest on the embedded PostgreSQL, for --seconds: frames stored and dropped per second,
   and this process's CPU time per frame stored.

    uv run python benchmarks/pull.py [--cameras 4] [--seconds 10]

Last line: split_mb_s=<n> pulled_fps=<n> dropped_fps=<n> cpu_ms_per_frame=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from tests.cameras import BOUNDARY, CameraState, serving, unique  # noqa: E402
from tests.jpegs import jpeg  # noqa: E402

from shelfcam import runtime  # noqa: E402
from shelfcam.config import Settings, load_settings  # noqa: E402
from shelfcam.db.connect import connection, open_pool  # noqa: E402
from shelfcam.db.migrate import migrate  # noqa: E402
from shelfcam.devices import add_device, pulls  # noqa: E402
from shelfcam.frames.routing import open_frame_store  # noqa: E402
from shelfcam.ingest.service import Ingestor  # noqa: E402
from shelfcam.metrics import Metrics  # noqa: E402
from shelfcam.pull import mjpeg  # noqa: E402
from shelfcam.pull.runner import running_puller  # noqa: E402

CHUNK = 4096


def stream_of(frames: list[bytes], *, with_length: bool) -> bytes:
    out = bytearray()
    for frame in frames:
        head = "Content-Type: image/jpeg\r\n"
        if with_length:
            head += f"Content-Length: {len(frame)}\r\n"
        out += f"\r\n--{BOUNDARY}\r\n{head}\r\n".encode() + frame
    return bytes(out + f"\r\n--{BOUNDARY}\r\n".encode())


def split_speed(frames: list[bytes], *, with_length: bool) -> tuple[float, float]:
    """MB/s and frames/s of the splitter on this stream (best of 3)."""
    stream = stream_of(frames, with_length=with_length)
    best = float("inf")
    for _ in range(3):
        splitter = mjpeg.PartSplitter(BOUNDARY, max_part_bytes=2 << 20)
        started = time.perf_counter()
        parts = 0
        for at in range(0, len(stream), CHUNK):
            parts += sum(1 for _ in splitter.feed(stream[at : at + CHUNK]))
        best = min(best, time.perf_counter() - started)
        assert parts == len(frames), parts
    return len(stream) / best / 1e6, len(frames) / best


async def pull_for(settings: Settings, url: str, bases: list[str], seconds: float) -> Metrics:
    pool = await open_pool(url, size=8)
    ingestor = Ingestor(settings, pool, open_frame_store(settings))
    metrics = Metrics()
    try:
        async with connection(url) as conn:
            for n, base in enumerate(bases):
                await add_device(conn, f"cam{n}")
                await pulls.set_pull(conn, f"cam{n}", f"{base}/stream")
        async with running_puller(settings, pool, ingestor, metrics):
            await asyncio.sleep(seconds)  # the benchmark's measuring window
    finally:
        await ingestor.close()
        await pool.close()
    return metrics


def counted(metrics: Metrics, name: str) -> float:
    total = 0.0
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name:
                total += sample.value
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    frames = [unique(jpeg(640, 480, seed=s % 8), s) for s in range(200)]
    size = sum(len(f) for f in frames) // len(frames)
    print(f"frames: 640x480, {size // 1024} KiB each")
    split_mb = 0.0
    for with_length in (True, False):
        mb_s, fps = split_speed(frames, with_length=with_length)
        split_mb = split_mb or mb_s
        label = "with Content-Length" if with_length else "cut at the boundary"
        print(f"splitter ({label}): {mb_s:.0f} MB/s, {fps:.0f} frames/s")
    with tempfile.TemporaryDirectory(prefix="shelfcam-bench-") as tmp, ExitStack() as stack:
        settings = load_settings(
            data_dir=Path(tmp), log_level="WARNING", idle_interval_ms=50, burst_interval_ms=50
        )
        bases = [
            stack.enter_context(serving(CameraState(frames=frames[:50], stream_pace_s=0.04)))
            for _ in range(args.cameras)
        ]
        with runtime.database(settings) as url:
            migrate(url)
            cpu = time.process_time()
            metrics = asyncio.run(pull_for(settings, url, bases, args.seconds))
            cpu = time.process_time() - cpu
            with psycopg.connect(url) as conn:
                row = conn.execute("SELECT count(*) FROM captures").fetchone()
    stored = int(row[0]) if row else 0
    dropped = counted(metrics, "shelfcam_pull_frames_dropped_total")
    fps, dropped_fps = stored / args.seconds, dropped / args.seconds
    per_frame = cpu * 1000 / max(stored, 1)
    print(
        f"puller: {args.cameras} cameras streaming 25 frames/s, taken at 20/s each: "
        f"{fps:.1f} frames/s stored, {dropped_fps:.1f} dropped/s, "
        f"{per_frame:.2f} ms CPU (this process, incl. the cameras) per frame stored"
    )
    print(
        f"split_mb_s={split_mb:.0f} pulled_fps={fps:.1f} dropped_fps={dropped_fps:.1f} "
        f"cpu_ms_per_frame={per_frame:.2f}"
    )


if __name__ == "__main__":
    main()
