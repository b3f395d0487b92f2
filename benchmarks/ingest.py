"""Ingest throughput and latency against a baseline measured in the same run.

Starts the embedded PostgreSQL, a live `shelfcam api` (uvicorn, 1 worker, no analysis
worker) and the baseline app (benchmarks/baseline_app.py: same stack, body -> file ->
one row -> commit), then drives each from a separate client process
(benchmarks/loadgen.py) with 16 and 64 concurrent uploads of a ~50 KB VGA JPEG.

    uv run python benchmarks/ingest.py [--seconds 10]

Last line: ingest_fps=<n> ingest_ratio=<x> p99_ms=<n> p99_ratio=<x> (at 64 concurrent).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.processes import free_port  # noqa: E402
from tests.jpegs import jpeg  # noqa: E402

from benchmarks.common import run_loadgen, wait_ready  # noqa: E402
from shelfcam import runtime  # noqa: E402
from shelfcam.config import load_settings  # noqa: E402
from shelfcam.db.connect import connection  # noqa: E402
from shelfcam.db.migrate import migrate  # noqa: E402
from shelfcam.devices import add_device  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shelfcam-bench-") as tmp:
        root = Path(tmp)
        settings = load_settings(data_dir=root / "data", log_level="WARNING")
        body = root / "frame.jpg"
        body.write_bytes(jpeg(seed=3))
        with runtime.database(settings) as url:
            migrate(url)

            async def make_device() -> str:
                async with connection(url) as conn:
                    return (await add_device(conn, "bench")).token

            token = asyncio.run(make_device())
            env = {
                **os.environ,
                "SHELFCAM_DATABASE_URL": url,
                "SHELFCAM_DATA_DIR": str(root / "data"),
                "SHELFCAM_LOG_LEVEL": "WARNING",
                "SHELFCAM_RATE_LIMIT_FPS": "10000",
                "SHELFCAM_RATE_LIMIT_BURST": "100000",
                "BASELINE_DATABASE_URL": url,
                "BASELINE_DIR": str(root / "baseline"),
            }
            port, base_port = free_port(), free_port()
            env["SHELFCAM_PORT"] = str(port)
            servers = [
                subprocess.Popen([sys.executable, "-m", "shelfcam", "api"], env=env),
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "uvicorn",
                        "--factory",
                        "benchmarks.baseline_app:create",
                        "--port",
                        str(base_port),
                        "--log-level",
                        "warning",
                        "--no-access-log",
                    ],
                    env=env,
                    cwd=REPO,
                ),
            ]
            try:
                wait_ready(f"http://127.0.0.1:{port}/healthz", servers[0])
                wait_ready(f"http://127.0.0.1:{base_port}/docs", servers[1])
                ingest_url = f"http://127.0.0.1:{port}/api/v1/ingest/frame?boot=bench"
                base_url = f"http://127.0.0.1:{base_port}/baseline"
                run_loadgen(
                    ingest_url, token, body, concurrency=8, seconds=2, first_seq=10_000_000
                )  # warm up
                run_loadgen(base_url, None, body, concurrency=8, seconds=2, first_seq=0)
                results = {}
                seq = 0
                print(
                    f"{'concurrency':>11} {'stack':>9} {'frames/s':>9} {'p50 ms':>8} "
                    f"{'p99 ms':>8}  statuses"
                )
                for concurrency in (16, 64):
                    for name, url_, tok in (
                        ("baseline", base_url, None),
                        ("shelfcam", ingest_url, token),
                    ):
                        # Each run starts with the previous run's files written out: the
                        # kernel throttles a writer once much is dirty (here after a few
                        # hundred MB, one run's worth), which would slow whichever runs second.
                        os.sync()
                        result = run_loadgen(
                            url_,
                            tok,
                            body,
                            concurrency=concurrency,
                            seconds=args.seconds,
                            first_seq=seq,
                        )
                        seq += 1_000_000
                        results[(concurrency, name)] = result
                        print(
                            f"{concurrency:>11} {name:>9} {result['fps']:>9} "
                            f"{result['p50_ms']:>8} {result['p99_ms']:>8}  "
                            f"{result['statuses']}",
                            flush=True,
                        )
            finally:
                for server in servers:
                    server.terminate()
                    server.wait(timeout=30)
    ours, base = results[(64, "shelfcam")], results[(64, "baseline")]
    fps_ratio = float(ours["fps"]) / float(base["fps"])  # type: ignore[arg-type]
    p99_ratio = float(ours["p99_ms"]) / float(base["p99_ms"])  # type: ignore[arg-type]
    print(
        f"ingest_fps={ours['fps']} ingest_ratio={fps_ratio:.2f} p99_ms={ours['p99_ms']} "
        f"p99_ratio={p99_ratio:.2f}"
    )


if __name__ == "__main__":
    main()
