"""``shelfcam replay``: a camera simulator sending recorded frames to the ingest API.

PATH is a folder of JPEGs (sent in name order) or a video file. Frames carry ``seq``, a
fresh ``boot`` per run and ``captured_at`` spaced as at ``fps`` from the moment the replay
starts; they are sent ``speed`` times faster than real time, so the camera clock runs ahead
of the server's (the server trusts it up to a minute ahead, docs/architecture.md, "Clocks"; a longer
recording sent faster falls back to server time). A recording cannot invent frames, so burst
directives are counted, not followed. 429, 503 and connection errors are retried with
backoff and the same ``seq``: the server recognises the retry.
"""

from __future__ import annotations

import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import cv2
import httpx
import numpy as np

from shelfcam.errors import InvalidInput
from shelfcam.vision import encode_jpeg

INGEST_PATH = "/api/v1/ingest/frame"
RETRY_STATUSES = {429, 503, 507}
MAX_ATTEMPTS = 8


@dataclass
class ReplaySummary:
    sent: int = 0
    duplicates: int = 0
    errors: int = 0
    retries: int = 0
    burst_directives: int = 0
    statuses: dict[int, int] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"sent={self.sent} duplicates={self.duplicates} errors={self.errors} "
            f"retries={self.retries} burst_directives={self.burst_directives}"
        )


def load_frames(path: Path) -> list[bytes]:
    """The frames of a folder of JPEGs (by name) or of a video file (re-encoded as JPEG)."""
    if path.is_dir():
        files = sorted(
            p for p in path.iterdir() if p.suffix.lower() in {".jpg", ".jpeg"} and p.is_file()
        )
        if not files:
            raise InvalidInput(f"{path} holds no .jpg files")
        return [p.read_bytes() for p in files]
    if not path.is_file():
        raise InvalidInput(f"{path} is neither a folder of JPEGs nor a video file")
    capture = cv2.VideoCapture(str(path))
    frames: list[bytes] = []
    try:
        while True:
            ok, bgr = capture.read()
            if not ok:
                break
            rgb = np.ascontiguousarray(bgr[:, :, ::-1], dtype=np.uint8)
            frames.append(encode_jpeg(rgb, quality=85))
    finally:
        capture.release()
    if not frames:
        raise InvalidInput(f"could not read any frame from the video {path}")
    return frames


def _progress(out: TextIO, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(1, total)
    out.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} frames")
    out.flush()


def _send(
    client: httpx.Client,
    url: str,
    token: str,
    frame: bytes,
    params: dict[str, str],
    summary: ReplaySummary,
) -> httpx.Response | None:
    delay = 0.5
    for attempt in range(MAX_ATTEMPTS):
        try:
            response = client.post(
                url,
                content=frame,
                params=params,
                headers={"X-API-Key": token, "Content-Type": "image/jpeg"},
            )
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code not in RETRY_STATUSES:
            return response
        if attempt == MAX_ATTEMPTS - 1:
            return response
        summary.retries += 1
        wait = delay
        if response is not None and response.headers.get("Retry-After", "").isdigit():
            wait = max(wait, float(response.headers["Retry-After"]))
        time.sleep(min(wait, 30.0))
        delay *= 2
    return None


def replay(
    frames: list[bytes],
    url: str,
    token: str,
    *,
    fps: float,
    speed: float,
    loop: bool = False,
    out: TextIO = sys.stderr,
    client: httpx.Client | None = None,
) -> ReplaySummary:
    """Send ``frames`` like a camera; return what happened."""
    if fps <= 0 or speed <= 0:
        raise InvalidInput("--fps and --speed must be positive")
    target = url.rstrip("/") + INGEST_PATH
    boot = f"replay-{secrets.token_hex(4)}"
    summary = ReplaySummary()
    own = client is None
    http = client or httpx.Client(timeout=30)
    seq = 0
    try:
        while True:
            start = time.time()
            for index, frame in enumerate(frames):
                due = start + index / fps / speed
                pause = due - time.time()
                if pause > 0:
                    time.sleep(pause)
                captured_ms = round((start + index / fps) * 1000)
                params = {"seq": str(seq), "boot": boot, "captured_at": str(captured_ms)}
                response = _send(http, target, token, frame, params, summary)
                seq += 1
                if response is None:
                    summary.errors += 1
                else:
                    summary.statuses[response.status_code] = (
                        summary.statuses.get(response.status_code, 0) + 1
                    )
                    if response.status_code == 201:
                        summary.sent += 1
                    elif response.status_code == 200:
                        summary.duplicates += 1
                    else:
                        summary.errors += 1
                    if response.is_success and response.json().get("mode") == "burst":
                        summary.burst_directives += 1
                _progress(out, index + 1, len(frames))
            out.write("\n")
            if not loop:
                return summary
    finally:
        if own:
            http.close()
