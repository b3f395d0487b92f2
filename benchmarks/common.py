"""Helpers shared by the benchmark scripts: waiting for a server, driving the load
generator (benchmarks/loadgen.py) in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

BENCHMARKS = Path(__file__).resolve().parent


def wait_ready(url: str, proc: subprocess.Popen[bytes]) -> None:
    """Poll ``url`` until it answers; fail if ``proc`` exits first."""
    for _ in range(600):
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def run_loadgen(
    url: str,
    token: str | None,
    body: Path,
    *,
    concurrency: int,
    seconds: float,
    first_seq: int,
    rate: float = 0,
    latencies: Path | None = None,
) -> dict[str, object]:
    """One run of the load generator; its JSON summary (and, if ``latencies`` is given,
    every request's latency in seconds written there as a JSON list)."""
    command = [
        sys.executable,
        str(BENCHMARKS / "loadgen.py"),
        url,
        "--body",
        str(body),
        "--concurrency",
        str(concurrency),
        "--seconds",
        str(seconds),
        "--first-seq",
        str(first_seq),
        "--rate",
        str(rate),
    ]
    if token:
        command += ["--token", token]
    if latencies is not None:
        command += ["--latencies", str(latencies)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result


def cpu_seconds(pid: int, *, with_children: bool = False) -> tuple[float, float]:
    """User and system (kernel) CPU time used so far by process ``pid`` (and its live
    children: a PostgreSQL postmaster's backends). A child that exited in between is not
    counted."""
    try:
        process = psutil.Process(pid)
        processes = [process, *(process.children() if with_children else [])]
    except psutil.NoSuchProcess:
        return 0.0, 0.0
    user = system = 0.0
    for proc in processes:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        user += times.user
        system += times.system
    return user, system
