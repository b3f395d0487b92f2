"""Pulling one camera: GET its URL, tell a snapshot from a stream by the answer's
Content-Type, and feed each frame it needs through the same ingest as an upload
(``Ingestor.admit``, ``check_jpeg``, ``Ingestor.ingest``: the same checks, transaction,
dedupe and clocks; no captured_at, so received_at is the engine time).

The camera's pace follows the engine like a pushing camera's: the ingest answer's
directive says burst (SHELFCAM_BURST_INTERVAL_MS) or idle (the camera's
``--pull-interval-ms``, else SHELFCAM_IDLE_INTERVAL_MS). A snapshot URL is fetched when
the next frame is due; from a stream, a frame that arrives before then is dropped. At most
one frame is held at a time, and nothing is read from the camera while a frame is being
ingested (the stream waits in the socket, not in memory). A failure (no answer, a stall
mid-frame, an HTTP error, refused credentials, not a JPEG) is reported and the camera is
tried again after a wait that doubles from 1 s to 60 s.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import psycopg

from shelfcam import __version__
from shelfcam.config import Settings
from shelfcam.db import pulls as queries
from shelfcam.db.types import Pool
from shelfcam.errors import NotAJpeg, RateLimited, ShelfcamError
from shelfcam.ingest.jpeg import check_jpeg
from shelfcam.ingest.metadata import FrameMeta
from shelfcam.ingest.service import Ingestor
from shelfcam.metrics import Metrics
from shelfcam.pull import mjpeg, urls

log = logging.getLogger(__name__)

FIRST_WAIT_S = 1.0
MAX_WAIT_S = 60.0
RATE_WINDOW_S = 60.0
REPORT_EVERY_S = 10.0


def retry_wait(failures: int) -> float:
    """Seconds before trying a camera again after ``failures`` failures in a row."""
    return float(min(FIRST_WAIT_S * 2 ** max(failures - 1, 0), MAX_WAIT_S))


@dataclass(frozen=True)
class Target:
    """A pulled camera as stored: its URL (with credentials) and interval."""

    device_id: str
    url: str
    interval_ms: int | None
    updated_at: datetime | None = None
    """When the URL was last set (set again: the camera starts again)."""


class PullFailed(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class UrlAuth(httpx.Auth):
    """The URL's credentials, in the scheme the camera asks for: the first request goes
    without, and the 401's WWW-Authenticate says Basic or Digest (then remembered)."""

    def __init__(self, username: str, password: str) -> None:
        self._basic = httpx.BasicAuth(username, password)
        self._digest = httpx.DigestAuth(username, password)
        self._scheme: str | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme == "basic":
            yield from self._basic.auth_flow(request)
            return
        if self._scheme == "digest":
            yield from self._digest.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        challenge = response.headers.get("www-authenticate", "").strip().lower()
        if challenge.startswith("digest"):
            self._scheme = "digest"
            yield from self._digest.auth_flow(request)
        elif challenge.startswith("basic"):
            self._scheme = "basic"
            yield from self._basic.auth_flow(request)


class CameraPuller:
    """One camera's pull loop and its state (what the devices page and /healthz show)."""

    def __init__(
        self, target: Target, settings: Settings, pool: Pool, ingestor: Ingestor, metrics: Metrics
    ) -> None:
        self.target = target
        self.url = urls.parse(target.url)
        self.settings = settings
        self.pool = pool
        self.ingestor = ingestor
        self.metrics = metrics
        self.connected = False
        self.mode: str | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.last_frame_at: datetime | None = None
        self.failures = 0
        self._taken: collections.deque[float] = collections.deque()
        self._next_due = 0.0
        self._started = 0.0
        self._reported = -REPORT_EVERY_S

    @property
    def device_id(self) -> str:
        return self.target.device_id

    @property
    def idle_interval_ms(self) -> int:
        return self.target.interval_ms or self.settings.idle_interval_ms

    def frames_per_minute(self, now: float) -> float:
        while self._taken and self._taken[0] < now - RATE_WINDOW_S:
            self._taken.popleft()
        return float(len(self._taken))

    async def run(self) -> None:
        """Pull until cancelled; failures are reported and retried, never raised."""
        url = self.url
        auth = None
        if url.username is not None or url.password is not None:
            auth = UrlAuth(url.username or "", url.password or "")
        timeout = httpx.Timeout(self.settings.pull_timeout_seconds)
        headers = {"User-Agent": f"shelfcam/{__version__}"}
        log.info("action=pull_started device=%s url=%s", self.device_id, url.shown)
        async with httpx.AsyncClient(
            auth=auth, timeout=timeout, headers=headers, follow_redirects=True
        ) as client:
            while True:
                try:
                    await self._pull(client)
                except PullFailed as err:
                    await self._failed(err.reason, err.detail)
                except httpx.TimeoutException:
                    what = "stopped sending" if self.connected else "did not answer"
                    wait = self.settings.pull_timeout_seconds
                    await self._failed("timeout", f"the camera {what} for {wait:g} s")
                except httpx.HTTPError as err:
                    why = urls.redact(f"{type(err).__name__}: {err}", url)
                    await self._failed("connection", f"cannot reach the camera: {why}")
                except Exception as err:  # a bug here must not stop the other cameras
                    log.exception("action=pull_error device=%s", self.device_id)
                    await self._failed("error", urls.redact(f"{type(err).__name__}: {err}", url))
                else:
                    self.failures = 0
                    await self._sleep_until_due()
                    continue
                await asyncio.sleep(retry_wait(self.failures))

    async def _sleep_until_due(self) -> None:
        wait = self._next_due - asyncio.get_running_loop().time()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _pull(self, client: httpx.AsyncClient) -> None:
        """One GET: a snapshot (one frame), or a stream read until it ends or fails."""
        self._started = asyncio.get_running_loop().time()
        async with client.stream("GET", self.url.address) as response:
            self._check_status(response)
            content_type = response.headers.get("content-type", "")
            boundary = mjpeg.boundary_of(content_type)
            if boundary is not None:
                await self._stream(response, boundary)
                raise PullFailed("stream_ended", "the camera ended the stream")
            jpeg = await self._body(response)
        await self._take(jpeg, "snapshot", content_type)

    def _check_status(self, response: httpx.Response) -> None:
        code = response.status_code
        if code in (401, 403):
            given = self.url.username is not None
            why = "refused the credentials" if given else "needs credentials (user:password@)"
            raise PullFailed("unauthorized", f"the camera {why} (HTTP {code})")
        if code != 200:
            raise PullFailed("http_status", f"the camera answered HTTP {code}")

    async def _body(self, response: httpx.Response) -> bytes:
        limit = self.settings.max_frame_bytes
        data = bytearray()
        async for chunk in response.aiter_bytes():
            data += chunk
            if len(data) > limit:
                raise PullFailed(
                    "too_large", f"the answer is larger than SHELFCAM_MAX_FRAME_BYTES ({limit})"
                )
        return bytes(data)

    async def _stream(self, response: httpx.Response, boundary: str) -> None:
        """Read the stream; ingest each part that is due, drop the others."""
        loop = asyncio.get_running_loop()
        splitter = mjpeg.PartSplitter(boundary, self.settings.max_frame_bytes)
        try:
            async for chunk in response.aiter_bytes():
                for part in splitter.feed(chunk):
                    now = loop.time()
                    if now < self._next_due:
                        self.metrics.pull_dropped.labels(self.device_id).inc()
                        continue
                    self._started = now
                    try:
                        await self._take(part, "stream", "a part of the stream")
                    except PullFailed as err:  # one bad part: the stream goes on
                        await self._failed(err.reason, err.detail, connected=True)
                        self._next_due = now + self.idle_interval_ms / 1000
        except mjpeg.StreamError as err:
            raise PullFailed("bad_stream", f"the stream is malformed: {err}") from err

    async def _take(self, jpeg: bytes, mode: str, what: str) -> None:
        """Ingest one frame like an upload; set when the next one is due."""
        device = self.device_id
        try:
            info = check_jpeg(jpeg)
            self.ingestor.admit(device)
            result = await self.ingestor.ingest(device, FrameMeta(), jpeg, info)
        except NotAJpeg as err:
            shown = what if mode == "stream" else f"Content-Type {what or 'missing'}"
            raise PullFailed("not_jpeg", f"the camera's answer is not a JPEG ({shown})") from err
        except RateLimited:  # faster than SHELFCAM_RATE_LIMIT_FPS: this one is dropped
            self.metrics.pull_dropped.labels(device).inc()
            self._next_due = self._started + self.idle_interval_ms / 1000
            return
        except ShelfcamError as err:
            self.metrics.errors.labels(device, err.code).inc()
            raise PullFailed(err.code, err.detail) from err
        metrics = self.metrics
        if result.duplicate:
            metrics.duplicates.labels(device).inc()
        else:
            metrics.frames.labels(device).inc()
            metrics.bytes.labels(device).inc(len(jpeg))
        directive = result.directive
        interval = self.idle_interval_ms
        if directive.mode == "burst":
            interval = min(interval, directive.next_interval_ms)
        now = asyncio.get_running_loop().time()
        step, due, start = interval / 1000, self._next_due, self._started
        # On the beat: from the time this frame was due, so a stream's frames, which come
        # on a grid of their own, average the interval (not every other one); from now
        # when it came a whole interval late.
        self._next_due = (due if 0 < due <= start < due + step else start) + step
        self._taken.append(now)
        self.failures = 0
        self.last_frame_at = result.received_at
        changed = not self.connected or self.mode != mode
        self.connected, self.mode = True, mode
        if changed:
            log.info("action=pull_connected device=%s mode=%s", device, mode)
        await self._report(force=changed)

    async def _failed(self, reason: str, detail: str, *, connected: bool = False) -> None:
        self.failures += 0 if connected else 1
        self.metrics.pull_failures.labels(self.device_id, reason).inc()
        was = self.connected
        self.connected = connected
        self.last_error = detail[:300]
        self.last_error_at = datetime.now(UTC)
        log.warning(
            "action=pull_failed device=%s url=%s reason=%s failures=%d retry_in_s=%.0f error=%s",
            self.device_id,
            self.url.shown,
            reason,
            self.failures,
            0 if connected else retry_wait(self.failures),
            self.last_error,
        )
        await self._report(force=was != connected or self.failures <= 1)

    async def _report(self, *, force: bool = False) -> None:
        """Store the state for every process to show (on a change, else every 10 s)."""
        now = asyncio.get_running_loop().time()
        fpm = self.frames_per_minute(now)
        self.metrics.pull_connected.labels(self.device_id).set(1 if self.connected else 0)
        self.metrics.pull_frames_per_minute.labels(self.device_id).set(fpm)
        if not force and now - self._reported < REPORT_EVERY_S:
            return
        self._reported = now
        try:
            async with self.pool.connection() as conn:
                await queries.report(
                    conn,
                    self.device_id,
                    url=self.target.url,
                    connected=self.connected,
                    mode=self.mode,
                    frames_per_minute=fpm,
                    last_frame_at=self.last_frame_at,
                    last_error=self.last_error,
                    last_error_at=self.last_error_at,
                )
        except psycopg.Error as err:  # the state can wait; the frames cannot
            log.warning(
                "action=pull_state_unsaved device=%s error=%s", self.device_id, type(err).__name__
            )

    async def stopped(self) -> None:
        """Say the camera is no longer pulled by this process (connected: false)."""
        self.connected = False
        await self._report(force=True)
