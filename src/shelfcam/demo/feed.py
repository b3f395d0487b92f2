"""The demo's cameras at work: their frames sent in real time through the HTTP ingest.

A background thread waits until the server listens, then sends every camera's frames at
the scene's frame rate, as a camera would: one ``boot`` per camera and run, ``seq``
counting from 0, ``captured_at`` the camera clock (the wall clock at the frame's due time).
Uploads the server asks to retry (429, 503, 507) or that fail to connect are retried with
backoff, with the same ``seq``. A line on stderr announces each step of the scenes with
the events it should give and the events recorded so far; at the end, once the worker has
caught up, a summary.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sys
import threading
import time
from collections.abc import Sequence
from typing import TextIO

import httpx

from shelfcam.db import demo as queries
from shelfcam.db.connect import connection
from shelfcam.demo.stories import DemoCamera, Segment
from shelfcam.errors import ShelfcamError
from shelfcam.sim.replay import INGEST_PATH, RETRY_STATUSES

log = logging.getLogger(__name__)

ATTEMPTS = 6
CATCH_UP_LIMIT_S = 120.0


def _events_text(counts: dict[str, int]) -> str:
    if not counts:
        return "none yet"
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))


class Feed:
    """Sends the demo cameras' frames from a daemon thread; ``stop`` ends it early."""

    def __init__(
        self,
        base_url: str,
        database_url: str,
        cameras: Sequence[DemoCamera],
        tokens: dict[str, str],
        out: TextIO = sys.stderr,
    ) -> None:
        self._target = base_url.rstrip("/") + INGEST_PATH
        self._database_url = database_url
        self._cameras = list(cameras)
        self._tokens = tokens
        self._out = out
        self._serving = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shelfcam-demo-feed", daemon=True)
        self.sent = 0
        self.failed = 0

    def start(self) -> None:
        self._thread.start()

    def server_started(self) -> None:
        """Called once the server listens: the cameras may start sending."""
        self._serving.set()

    def stop(self) -> None:
        self._stop.set()
        self._serving.set()

    def _say(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()

    def _counts(self) -> dict[str, int] | None:
        async def read() -> dict[str, int]:
            async with connection(self._database_url) as conn:
                return await queries.event_counts(conn, [c.device_id for c in self._cameras])

        try:
            return asyncio.run(read())
        except ShelfcamError:
            return None

    def _queued(self) -> int:
        async def read() -> int:
            async with connection(self._database_url) as conn:
                return await queries.queued_frames(conn, [c.device_id for c in self._cameras])

        return asyncio.run(read())

    def _run(self) -> None:
        self._serving.wait()
        if self._stop.is_set():
            return
        try:
            with httpx.Client(timeout=30) as client:
                self._send_all(client)
            if not self._stop.is_set():
                self._catch_up()
        except Exception as err:  # the demo keeps serving; say why the cameras stopped
            if not self._stop.is_set():
                log.exception("action=demo_feed_failed")
                self._say(f"demo: the simulated cameras stopped: {type(err).__name__}: {err}")

    def _send_all(self, client: httpx.Client) -> None:
        schedule = sorted(
            (index / camera.fps, n, index)
            for n, camera in enumerate(self._cameras)
            for index in range(len(camera.frames))
        )
        segments: dict[tuple[int, int], Segment] = {
            (n, segment.start_frame): segment
            for n, camera in enumerate(self._cameras)
            for segment in camera.segments
        }
        boots = [f"demo-{secrets.token_hex(4)}" for _ in self._cameras]
        wall0, mono0 = time.time(), time.monotonic()
        for offset, n, index in schedule:
            if self._stop.wait(max(0.0, mono0 + offset - time.monotonic())):
                return
            camera = self._cameras[n]
            segment = segments.get((n, index))
            if segment is not None:
                self._announce(offset, camera.device_id, segment)
            params = {
                "seq": str(index),
                "boot": boots[n],
                "captured_at": str(round((wall0 + offset) * 1000)),
            }
            if self._post(client, camera, index, params):
                self.sent += 1
            else:
                self.failed += 1
        total = sum(len(c.frames) for c in self._cameras)
        self._say(
            f"demo: all scenes sent ({self.sent} of {total} frames accepted); "
            "waiting for the worker to finish them"
        )

    def _announce(self, offset: float, device_id: str, segment: Segment) -> None:
        expected = ", ".join(segment.expected) or "no event"
        counts = self._counts()
        so_far = "" if counts is None else f"   [recorded so far: {_events_text(counts)}]"
        minutes, seconds = divmod(int(offset), 60)
        self._say(f"demo {minutes}:{seconds:02d} {device_id}: {segment.text} -> {expected}{so_far}")

    def _post(
        self, client: httpx.Client, camera: DemoCamera, index: int, params: dict[str, str]
    ) -> bool:
        headers = {"X-API-Key": self._tokens[camera.device_id], "Content-Type": "image/jpeg"}
        delay = 0.5
        for _ in range(ATTEMPTS):
            try:
                response = client.post(
                    self._target, content=camera.frames[index], params=params, headers=headers
                )
                if response.status_code in (200, 201):
                    return True
                if response.status_code not in RETRY_STATUSES:
                    log.warning(
                        "action=demo_frame_refused device=%s seq=%d status=%d",
                        camera.device_id,
                        index,
                        response.status_code,
                    )
                    return False
            except httpx.TransportError:
                pass
            if self._stop.wait(delay):
                return False
            delay *= 2
        return False

    def _catch_up(self) -> None:
        deadline = time.monotonic() + CATCH_UP_LIMIT_S
        while self._queued() > 0 and time.monotonic() < deadline:
            if self._stop.wait(0.5):  # polling the database for a condition
                return
        counts = self._counts() or {}
        self._say(f"demo: done. Recorded: {_events_text(counts)}.")
        self._say(
            "demo: still serving; look at the timeline, open an event, try the tuning page. "
            "Ctrl-C stops everything."
        )
