"""Driving the real pipeline for an evaluation: a throwaway embedded database, the HTTP
server with its worker, cameras uploading over HTTP, events read back from PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from shelfcam import devices, runtime
from shelfcam.config import Settings, load_settings
from shelfcam.db import evaluation as queries
from shelfcam.db.connect import connection
from shelfcam.db.migrate import migrate
from shelfcam.devices.references import mark_empty
from shelfcam.evaluation.expectations import Recorded, Verdict, judge
from shelfcam.evaluation.matching import Found, ScenarioResult, match
from shelfcam.evaluation.suites import Case
from shelfcam.frames.routing import open_frame_store
from shelfcam.frames.store import FrameStore
from shelfcam.web.server import serving_in_background

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
WAIT_LIMIT_S = 600


@dataclass
class Evaluated:
    case: Case
    result: ScenarioResult
    found: list[Found]
    rule_failures: list[str]
    verdict: Verdict | None = None
    """Against the case's expectations (the real-footage cases)."""


def _settings(root: Path) -> Settings:
    return load_settings(
        data_dir=root / "data",
        log_level="WARNING",
        rate_limit_fps=10_000,
        rate_limit_burst=100_000,
        min_free_disk_mb=0,
        worker_concurrency=4,
        staging_window_minutes=60,
    )


async def _add_camera(url: str, store: FrameStore, case: Case) -> str:
    async with connection(url) as conn:
        new = await devices.add_device(conn, case.name, case.interaction_roi, case.inventory_roi)
        if case.empty_reference is not None:
            await mark_empty(conn, store, case.name, case.empty_reference, "the scenario")
    return new.token


def _captured_at(anchor: datetime, seq: int, fps: float) -> datetime:
    """The capture time the camera stamps frame ``seq`` with (whole milliseconds)."""
    ms = int((anchor + timedelta(seconds=seq / fps)).timestamp() * 1000)
    return datetime.fromtimestamp(ms / 1000, UTC)


def _upload(client: httpx.Client, base: str, token: str, case: Case, anchor: datetime) -> None:
    for seq, frame in enumerate(case.frames):
        captured = _captured_at(anchor, seq, case.fps)
        response = client.post(
            f"{base}/api/v1/ingest/frame",
            content=frame,
            params={
                "seq": seq,
                "boot": "eval",
                "captured_at": str(int(captured.timestamp() * 1000)),
            },
            headers={"X-API-Key": token, "Content-Type": "image/jpeg"},
        )
        if response.status_code not in (200, 201):
            raise RuntimeError(
                f"{case.name}: upload {seq} got {response.status_code}: {response.text}"
            )


def _judge_rules(case: Case, found: list[Found]) -> list[str]:
    failures = []
    for rule in case.rules:
        count = sum(1 for f in found if f.event_type == rule.event_type)
        if count < rule.at_least:
            failures.append(f"expected at least {rule.at_least} {rule.event_type}, got {count}")
        if rule.at_most is not None and count > rule.at_most:
            failures.append(f"expected at most {rule.at_most} {rule.event_type}, got {count}")
    return failures


def run(cases: Iterable[Case], progress: Progress) -> list[Evaluated]:
    """Send every case through HTTP ingest -> queue -> worker -> events; score them."""
    with tempfile.TemporaryDirectory(prefix="shelfcam-eval-") as tmp:
        settings = _settings(Path(tmp))
        store = open_frame_store(settings)
        with runtime.database(settings) as url:
            migrate(url)
            with (
                serving_in_background(settings, url, with_worker=True) as base,
                httpx.Client(timeout=60) as client,
            ):
                anchors: dict[str, tuple[Case, datetime]] = {}
                for case in cases:
                    token = asyncio.run(_add_camera(url, store, case))
                    duration = len(case.frames) / case.fps
                    anchor = datetime.now(UTC) - timedelta(seconds=duration + 5)
                    _upload(client, base, token, case, anchor)
                    anchors[case.name] = (case, anchor)
                    progress(f"sent {case.name} ({len(case.frames)} frames)")
                _wait_until_analyzed(url, progress)
            return asyncio.run(_collect(url, anchors))


def _wait_until_analyzed(url: str, progress: Progress) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    last = -1
    while True:
        left = asyncio.run(_queued(url))
        if left == 0:
            return
        if left != last:
            progress(f"waiting for the worker: {left} frames left")
            last = left
        if time.monotonic() > deadline:
            raise RuntimeError(f"{left} frames were still not analyzed after {WAIT_LIMIT_S} s")
        time.sleep(0.5)  # polling the database for a condition


async def _queued(url: str) -> int:
    async with connection(url) as conn:
        return await queries.queued_frames(conn)


async def _collect(url: str, anchors: dict[str, tuple[Case, datetime]]) -> list[Evaluated]:
    evaluated = []
    async with connection(url) as conn:
        for name, (case, anchor) in anchors.items():
            rows = await queries.events_of(conn, name)
            found = [
                Found(
                    row["event_type"],
                    (row["started_at"] - anchor).total_seconds(),
                    None if row["ended_at"] is None else (row["ended_at"] - anchor).total_seconds(),
                )
                for row in rows
            ]
            result = match(name, case.expected, found) if case.exact else ScenarioResult(name)
            verdict = None
            if case.expectations:
                recorded = [Recorded(r["event_type"], r["started_at"], r["details"]) for r in rows]
                captured = [_captured_at(anchor, seq, case.fps) for seq in range(len(case.frames))]
                seq_of = await queries.frame_numbers(conn, name)
                verdict = judge(case.expectations, recorded, seq_of, captured)
            evaluated.append(Evaluated(case, result, found, _judge_rules(case, found), verdict))
    return evaluated
