"""Seed cameras' traffic the way ingest and the worker record it, for web tests: captures
with health numbers (``meta.rssi``...), per-frame scores (``meta.scores``), queued frames,
analysis errors, and snapshot (debug) captures with their files."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from shelfcam.devices import hash_token, new_token
from shelfcam.frames import layout
from shelfcam.frames.store import FrameStore
from tests.events_seed import shelf_jpeg


def add_capture(
    conn: psycopg.Connection[Any],
    device_id: str,
    received_at: datetime,
    *,
    status: str = "processed",
    storage_class: str = "discarded",
    meta: dict[str, Any] | None = None,
    error: str | None = None,
    storage_uri: str | None = None,
    capture_id: uuid.UUID | None = None,
) -> uuid.UUID:
    capture_id = capture_id or uuid.uuid4()
    conn.execute(
        "INSERT INTO captures (capture_id, device_id, received_at, storage_uri, storage_class,"
        " analysis_status, analysis_error, meta) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            capture_id,
            device_id,
            received_at,
            storage_uri,
            storage_class,
            status,
            error,
            Jsonb(meta or {}),
        ),
    )
    return capture_id


def scores_of(rng: np.random.Generator) -> dict[str, float]:
    """Per-frame scores as the worker keeps them: mostly calm, a few busy frames."""
    busy = rng.random() < 0.15
    return {
        "motion": round(float(rng.uniform(0.02, 0.3) if busy else rng.exponential(0.003)), 4),
        "frame_change": round(float(rng.exponential(0.004)), 4),
        "inventory_delta": round(float(min(1.0, rng.exponential(0.06))), 4),
        "lighting_score": round(float(rng.exponential(0.05)), 4),
        "obstruction": round(float(rng.uniform(0, 0.3)), 4),
        "shift_px": round(float(rng.exponential(0.2)), 4),
        "empty_similarity": round(float(rng.uniform(0.2, 0.7)), 4),
    }


def add_scored_frames(
    conn: psycopg.Connection[Any], device_id: str, now: datetime, n: int, seed: int = 0
) -> None:
    """``n`` processed frames, one a second up to ``now``, with scores and health."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        add_capture(
            conn,
            device_id,
            now - timedelta(seconds=n - i),
            meta={"scores": scores_of(rng), "rssi": -58 - i % 5, "heap": 81_000, "firmware": "1.4"},
        )


def add_snapshot(
    conn: psycopg.Connection[Any], store: FrameStore, device_id: str, received_at: datetime
) -> uuid.UUID:
    """A snapshot's debug capture with its file, as ingest keeps it."""
    capture_id = uuid.uuid4()
    uri = store.put(
        layout.debug_uri(device_id, received_at.date(), capture_id),
        shelf_jpeg("pre", seed=3),
        durable=False,
    )
    add_capture(
        conn,
        device_id,
        received_at,
        status="skipped",
        storage_class="debug",
        storage_uri=uri,
        meta={"snapshot_of": str(uuid.uuid4())},
        capture_id=capture_id,
    )
    return capture_id


def add_device_sync(conn: psycopg.Connection[Any], device_id: str) -> str:
    """A device as ``shelfcam device add`` makes it (from code that runs no event loop of
    its own, e.g. beside Playwright's sync API); returns its token."""
    token = new_token()
    conn.execute(
        "INSERT INTO devices (device_id, token_hash) VALUES (%s, %s)",
        (device_id, hash_token(token)),
    )
    conn.execute(
        "INSERT INTO device_configs (device_id, roi_version, interaction_roi, inventory_roi)"
        " VALUES (%s, 1, %s, %s)",
        (
            device_id,
            Jsonb([[0, 0], [1, 0], [1, 1], [0, 1]]),
            Jsonb([[0, 0], [1, 0], [1, 1], [0, 1]]),
        ),
    )
    conn.execute("INSERT INTO device_state (device_id) VALUES (%s)", (device_id,))
    return token
