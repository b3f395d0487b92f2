"""Outputs: does analysis wait for a receiver? And how soon does an event reach one?

The same queued frames (cameras' labelled scenes, uploaded through a live `shelfcam api`
with no worker running) are drained by one `shelfcam worker` three times, on fresh
installs:

1. baseline: no output configured;
2. receivers down: MQTT pointed at a closed port and a webhook at a server that accepts
   connections and never answers (each try waits for the 10 s timeout);
3. receivers up: a local webhook receiver answering 200 (and the machine's MQTT broker at
   127.0.0.1:1883 when one answers).

Frames per second are printed with their ratio to the baseline, and for run 3 the time
from each event's row (events.created_at) to its webhook's arrival.

    uv run python benchmarks/outputs.py [--cameras 4]

Last line: baseline_fps=<n> down_ratio=<r> up_ratio=<r> delivery_p95_ms=<n>
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.e2e.processes import free_port  # noqa: E402

from benchmarks.common import wait_ready  # noqa: E402
from benchmarks.worker import camera_frames, make_devices, send_all, serve_env  # noqa: E402
from shelfcam import runtime  # noqa: E402
from shelfcam.config import load_settings  # noqa: E402
from shelfcam.db.migrate import migrate  # noqa: E402

SECRET = "benchmark-webhook-secret"


class Receiver:
    """A webhook receiver answering 200, noting when each event arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, datetime] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                event_id = self.headers.get("X-Shelfcam-Event-Id") or "?"
                outer.arrivals.setdefault(event_id, datetime.now(UTC))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


class Silent:
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1000)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"


def broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 1883), timeout=1):
            return True
    except OSError:
        return False


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def drain(url: str, env: dict[str, str], *, until_delivered: bool) -> float:
    """One worker process (4 at once) on a full queue: frames per second while it works.
    With ``until_delivered`` it runs on until the outbox is empty too."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "shelfcam", "worker"],
        env={**env, "SHELFCAM_WORKER_CONCURRENCY": "4"},
    )
    try:
        while count(url, "SELECT count(*) FROM captures WHERE analysis_status = 'queued'") or (
            until_delivered and count(url, "SELECT count(*) FROM output_outbox")
        ):
            time.sleep(0.2)  # polling the database for a condition
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), extract(epoch FROM max(analyzed_at) - min(analyzed_at)) "
            "FROM captures WHERE analyzed_at IS NOT NULL"
        ).fetchone()
    assert row is not None
    return float(row[0]) / max(float(row[1] or 0), 1e-6)


def run(
    root: Path, frames: list[list[bytes]], outputs: dict[str, str], *, until_delivered: bool
) -> tuple[float, dict[str, datetime]]:
    """A fresh install: queue every frame, then one worker drains it with these outputs.
    Returns frames per second and when each event was recorded."""
    settings = load_settings(data_dir=root, log_level="WARNING")
    with runtime.database(settings) as url:
        migrate(url)
        tokens = asyncio.run(make_devices(url, len(frames)))
        port = free_port()
        env = serve_env(url, root, port)
        api = subprocess.Popen([sys.executable, "-m", "shelfcam", "api"], env=env)
        try:
            wait_ready(f"http://127.0.0.1:{port}/healthz", api)
            send_all(f"http://127.0.0.1:{port}", tokens, frames, paced=False)
        finally:
            api.terminate()
            api.wait(timeout=60)
        fps = drain(url, {**env, **outputs}, until_delivered=until_delivered)
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT event_id::text, created_at FROM events").fetchall()
    return fps, {str(r[0]): r[1] for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cameras", type=int, default=4)
    args = parser.parse_args()
    frames = [camera_frames(i, 1) for i in range(args.cameras)]
    total = sum(len(f) for f in frames)
    silent, receiver = Silent(), Receiver()
    with tempfile.TemporaryDirectory(prefix="shelfcam-bench-") as tmp:
        root = Path(tmp)
        base, _ = run(root / "none", frames, {}, until_delivered=False)
        down, _ = run(
            root / "down",
            frames,
            {
                "SHELFCAM_MQTT_URL": f"mqtt://127.0.0.1:{free_port()}",
                "SHELFCAM_WEBHOOK_URLS": silent.url,
                "SHELFCAM_WEBHOOK_SECRET": SECRET,
            },
            until_delivered=False,
        )
        up_outputs = {"SHELFCAM_WEBHOOK_URLS": receiver.url, "SHELFCAM_WEBHOOK_SECRET": SECRET}
        if broker_up():
            up_outputs["SHELFCAM_MQTT_URL"] = "mqtt://127.0.0.1:1883"
            up_outputs["SHELFCAM_MQTT_PREFIX"] = f"shelfcam-bench-{int(time.time())}"
            up_outputs["SHELFCAM_HA_DISCOVERY_PREFIX"] = ""
        up, recorded = run(root / "up", frames, up_outputs, until_delivered=True)
    delays = sorted(
        (receiver.arrivals[e] - at).total_seconds() * 1000
        for e, at in recorded.items()
        if e in receiver.arrivals
    )
    print(f"{total} VGA frames from {args.cameras} cameras, 1 worker process x 4")
    print(f"{'no output (baseline)':<40} {base:8.0f} frames/s")
    print(f"{'MQTT and a webhook down':<40} {down:8.0f} frames/s  ratio {down / base:.2f}")
    print(
        f"{'a webhook up' + (' and MQTT' if 'SHELFCAM_MQTT_URL' in up_outputs else ''):<40}"
        f" {up:8.0f} frames/s  ratio {up / base:.2f}"
    )
    p50 = statistics.median(delays) if delays else float("nan")
    p95 = delays[max(0, int(len(delays) * 0.95) - 1)] if delays else float("nan")
    print(
        f"event row to webhook arrival: {len(delays)} of {len(recorded)} events, "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (while the queue drains)"
    )
    print(
        f"baseline_fps={base:.0f} down_ratio={down / base:.2f} up_ratio={up / base:.2f} "
        f"delivery_p95_ms={p95:.0f}"
    )


if __name__ == "__main__":
    main()
