"""Ingest throughput and latency against a baseline measured in the same run.

Starts the embedded PostgreSQL, a live `shelfcam api` (uvicorn, 1 worker, no analysis
worker) and the baseline app (benchmarks/baseline_app.py: same stack, body -> file ->
one row -> commit), then drives each from a separate client process
(benchmarks/loadgen.py) with 16 and 64 concurrent uploads of a ~50 KB VGA JPEG. The two
stacks take turns, in slices (see SLICES), for a fair ratio on a shared machine.

    uv run python benchmarks/ingest.py [--seconds 10] [--store s3]

With ``--store s3`` a second `shelfcam api` keeps its frames in a SeaweedFS bucket
(started here as the tests start it, tests/objectstore.py), and the three stacks take
turns in the same run: file store and S3 store side by side.

Each row also gives the CPU time per frame of the server process (and the kernel's part
of it: mostly writing the file) and of PostgreSQL (all its processes): on 2 shared cores,
these say where a run's throughput went.

Last line: ingest_fps=<n> ingest_ratio=<x> p99_ms=<n> p99_ratio=<x> (at 64 concurrent).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.processes import free_port  # noqa: E402
from tests.jpegs import jpeg  # noqa: E402
from tests.objectstore import CREDENTIALS, seaweedfs  # noqa: E402

from benchmarks.common import (  # noqa: E402
    cpu_seconds,
    run_loadgen,
    wait_ready,
)
from shelfcam import runtime  # noqa: E402
from shelfcam.config import load_settings  # noqa: E402
from shelfcam.db.connect import connection  # noqa: E402
from shelfcam.db.migrate import migrate  # noqa: E402
from shelfcam.devices import add_device  # noqa: E402

SLICES = 4
"""Each stack's time at each concurrency is cut into this many slices, run alternately in
the order baseline, shelfcam, shelfcam, baseline, ... so that both stacks see the same
machine: on shared cores and disk, conditions drift within a minute."""
SLICE_ORDER = ("baseline", "shelfcam", "shelfcam", "baseline")
SLICE_ORDER_S3 = ("baseline", "shelfcam", "shelfcam-s3", "shelfcam-s3", "shelfcam", "baseline")


@dataclass(frozen=True)
class _Stack:
    url: str
    token: str | None
    pid: int


@dataclass
class _Totals:
    """One stack's slices at one concurrency, added up."""

    frames: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    server_cpu_s: float = 0.0
    server_kernel_s: float = 0.0
    postgres_cpu_s: float = 0.0

    def add(
        self,
        result: dict[str, Any],
        latencies: list[float],
        server: tuple[float, float],
        postgres: tuple[float, float],
    ) -> None:
        """One slice: its summary, latencies and CPU (user, system) seconds."""
        self.frames += int(result["requests"])
        self.seconds += float(result["seconds"])
        self.latencies.extend(latencies)
        self.statuses.update(result["statuses"])
        self.server_cpu_s += sum(server)
        self.server_kernel_s += server[1]
        self.postgres_cpu_s += sum(postgres)

    def per_frame_ms(self, seconds: float) -> float:
        return seconds * 1000 / max(1, self.frames)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, int(len(ordered) * q) - 1)] * 1000


def _interleaved(
    stacks: dict[str, _Stack],
    postmaster: int,
    body: Path,
    latencies: Path,
    *,
    concurrency: int,
    seconds: float,
    first_seq: int,
    order: tuple[str, ...] = SLICE_ORDER,
) -> dict[str, _Totals]:
    """Each stack driven for ``seconds`` in all at ``concurrency``, in `SLICES` slices
    taken in turns (`SLICE_ORDER`)."""
    totals = {name: _Totals() for name in stacks}
    seq = first_seq
    for name in order * (SLICES // 2):
        stack = stacks[name]
        # Each slice starts with the previous one's files written out: the kernel
        # throttles a writer once much is dirty (here after a few hundred MB), which
        # would slow whichever runs second.
        os.sync()
        before = cpu_seconds(stack.pid), cpu_seconds(postmaster, with_children=True)
        result = run_loadgen(
            stack.url,
            stack.token,
            body,
            concurrency=concurrency,
            seconds=seconds / SLICES,
            first_seq=seq,
            latencies=latencies,
        )
        totals[name].add(
            result,
            json.loads(latencies.read_text()),
            _minus(cpu_seconds(stack.pid), before[0]),
            _minus(cpu_seconds(postmaster, with_children=True), before[1]),
        )
        seq += 1_000_000
    return totals


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--store", choices=("file", "s3"), default="file")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="shelfcam-bench-") as tmp,
        contextlib.ExitStack() as on_exit,
    ):
        root = Path(tmp)
        s3_env: dict[str, str] = {}
        if args.store == "s3":
            s3 = on_exit.enter_context(seaweedfs(root / "seaweedfs"))
            s3.create_bucket("bench")
            s3_env = {**s3.env(), **CREDENTIALS, "SHELFCAM_FRAME_STORE": "s3://bench/ingest"}
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
            port, base_port, s3_port = free_port(), free_port(), free_port()
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
            if s3_env:
                servers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "shelfcam", "api"],
                        env={**env, **s3_env, "SHELFCAM_PORT": str(s3_port)},
                    )
                )
            try:
                wait_ready(f"http://127.0.0.1:{port}/healthz", servers[0])
                wait_ready(f"http://127.0.0.1:{base_port}/docs", servers[1])
                ingest_url = f"http://127.0.0.1:{port}/api/v1/ingest/frame?boot=bench"
                base_url = f"http://127.0.0.1:{base_port}/baseline"
                run_loadgen(
                    ingest_url, token, body, concurrency=8, seconds=2, first_seq=10**9
                )  # warm up
                run_loadgen(base_url, None, body, concurrency=8, seconds=2, first_seq=0)
                stacks = {
                    "baseline": _Stack(base_url, None, servers[1].pid),
                    "shelfcam": _Stack(ingest_url, token, servers[0].pid),
                }
                if s3_env:
                    wait_ready(f"http://127.0.0.1:{s3_port}/healthz", servers[2])
                    s3_url = f"http://127.0.0.1:{s3_port}/api/v1/ingest/frame?boot=bench-s3"
                    run_loadgen(s3_url, token, body, concurrency=8, seconds=2, first_seq=10**9)
                    stacks["shelfcam-s3"] = _Stack(s3_url, token, servers[2].pid)
                print(
                    f"{'concurrency':>11} {'stack':>11} {'frames/s':>9} {'p50 ms':>8} "
                    f"{'p99 ms':>8} {'cpu ms/frame':>13} {'kernel':>6} {'postgres':>8}  statuses"
                )
                results = {}
                for concurrency in (16, 64):
                    totals = _interleaved(
                        stacks,
                        _postmaster_pid(settings.embedded_pgdata),
                        body,
                        root / "latencies.json",
                        concurrency=concurrency,
                        seconds=args.seconds,
                        first_seq=concurrency * 100_000_000,
                        order=SLICE_ORDER_S3 if s3_env else SLICE_ORDER,
                    )
                    for name, total in totals.items():
                        results[(concurrency, name)] = total
                        print(
                            f"{concurrency:>11} {name:>11} {total.fps:>9.1f} "
                            f"{total.percentile_ms(0.50):>8.2f} {total.percentile_ms(0.99):>8.2f} "
                            f"{total.per_frame_ms(total.server_cpu_s):>13.2f} "
                            f"{total.per_frame_ms(total.server_kernel_s):>6.2f} "
                            f"{total.per_frame_ms(total.postgres_cpu_s):>8.2f}  "
                            f"{dict(total.statuses)}",
                            flush=True,
                        )
            finally:
                for server in servers:
                    server.terminate()
                    server.wait(timeout=30)
    ours, base = results[(64, "shelfcam")], results[(64, "baseline")]
    p99, base_p99 = ours.percentile_ms(0.99), base.percentile_ms(0.99)
    print(
        f"ingest_fps={ours.fps:.1f} ingest_ratio={ours.fps / base.fps:.2f} p99_ms={p99:.2f} "
        f"p99_ratio={p99 / base_p99:.2f}"
        + (
            f" s3_ingest_fps={results[(64, 'shelfcam-s3')].fps:.1f}"
            f" s3_p99_ms={results[(64, 'shelfcam-s3')].percentile_ms(0.99):.2f}"
            if (64, "shelfcam-s3") in results
            else ""
        )
    )


def _minus(after: tuple[float, float], before: tuple[float, float]) -> tuple[float, float]:
    return after[0] - before[0], after[1] - before[1]


def _postmaster_pid(pgdata: Path) -> int:
    """The embedded PostgreSQL's postmaster (first line of its postmaster.pid)."""
    return int((pgdata / "postmaster.pid").read_text().split()[0])


if __name__ == "__main__":
    main()
