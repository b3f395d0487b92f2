"""Helpers shared by the benchmark scripts: waiting for a server, driving the load
generator (benchmarks/loadgen.py) in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

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
) -> dict[str, object]:
    """One run of the load generator; its JSON summary."""
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
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    result: dict[str, object] = json.loads(out.stdout)
    return result
