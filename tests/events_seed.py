"""Seed events the way the analysis worker writes them (the data contract), for web tests.

Rows go straight into ``events``, ``event_images`` and ``captures``; JPEGs are written
through :class:`FrameStore` at the URIs ``shelfcam.frames.store.event_uri`` builds. The pictures
are synthetic shelves drawn with OpenCV: a ``pre`` frame, a ``during`` frame with a hand,
and a ``post`` frame with one item gone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import cv2
import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from shelfcam.frames import layout
from shelfcam.frames.layout import event_uri
from shelfcam.frames.store import FrameStore
from shelfcam.vocabulary import ImageRole

WIDTH, HEIGHT = 640, 480
# Items on the shelf: (x, y, w, h, BGR colour); the second one is taken during the event.
ITEMS = [
    (60, 120, 90, 110, (40, 90, 200)),
    (180, 140, 70, 90, (60, 170, 60)),
    (280, 100, 110, 130, (190, 120, 40)),
    (420, 150, 60, 80, (30, 200, 220)),
    (500, 110, 90, 120, (140, 60, 150)),
    (80, 320, 120, 90, (70, 70, 200)),
    (240, 300, 80, 110, (200, 200, 60)),
    (360, 330, 140, 80, (90, 140, 210)),
]
TAKEN = 1


def shelf_jpeg(role: str, *, seed: int = 0, size: tuple[int, int] = (WIDTH, HEIGHT)) -> bytes:
    """A synthetic shelf photo for ``role`` (pre, during, post, annotated or thumb)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 3, (HEIGHT, WIDTH, 3))
    img = np.clip(np.array((205, 214, 222)) + noise, 0, 255).astype(np.uint8)
    for y in (235, 415):  # shelf boards
        cv2.rectangle(img, (20, y), (WIDTH - 20, y + 18), (70, 95, 125), -1)
    for i, (x, y, w, h, colour) in enumerate(ITEMS):
        if i == TAKEN and role in ("post", "thumb", "annotated"):
            continue
        cv2.rectangle(img, (x, y), (x + w, y + h), colour, -1)
        cv2.rectangle(img, (x + 8, y + 15), (x + w - 8, y + 35), (245, 245, 245), -1)
    if role == "during":
        cv2.ellipse(img, (215, 190), (70, 45), -20, 0, 360, (120, 160, 215), -1)
        cv2.rectangle(img, (230, 150), (WIDTH, 230), (120, 160, 215), -1)
    if role == "annotated":
        x, y, w, h, _ = ITEMS[TAKEN]
        cv2.rectangle(img, (x - 4, y - 4), (x + w + 4, y + h + 4), (40, 40, 255), 3)
    out = img if size == (WIDTH, HEIGHT) else cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return encoded.tobytes()


def taken_region() -> dict[str, float]:
    x, y, w, h, _ = ITEMS[TAKEN]
    return {"x": x / WIDTH, "y": y / HEIGHT, "w": w / WIDTH, "h": h / HEIGHT}


def details_for(event_type: str, captures: dict[str, uuid.UUID]) -> dict[str, Any]:
    """A ``details`` JSON as the worker writes it for this event type."""
    capture_ids = {f"{role}_capture_id": str(cid) for role, cid in captures.items()}
    base: dict[str, Any] = {
        "roi_version": 3,
        "captures": capture_ids,
        "baseline": {"age_seconds": 420, "stability_frames": 3},
    }
    if event_type == "stock_changed":
        base |= {
            "thresholds": {"interaction_threshold": 0.18, "inventory_change_threshold": 0.22},
            "scores": {"motion_peak": 0.31, "inventory_delta": 0.27},
            "decision_trace": [
                "interaction_start",
                "burst_requested",
                "post_stable_found",
                "delta_exceeded_threshold",
                "event_emitted",
            ],
            "regions": [taken_region()],
        }
    elif event_type == "interaction_detected":
        base |= {
            "thresholds": {"interaction_threshold": 0.18},
            "scores": {"motion_peak": 0.24},
            "decision_trace": ["interaction_start", "interaction_end", "event_emitted"],
            "regions": [],
        }
    elif event_type == "camera_obstructed":
        base |= {
            "thresholds": {"obstruction_threshold": 0.7},
            "scores": {"obstruction": 0.93, "sharpness": 0.02},
            "decision_trace": ["obstruction_high", "obstruction_held", "event_emitted"],
        }
    else:
        base |= {
            "thresholds": {"empty_similarity_threshold": 0.8, "shift_threshold_px": 1.5},
            "scores": {"empty_similarity": 0.86, "shift_px": 0.4},
            "decision_trace": ["event_emitted"],
        }
    return base


def add_device(conn: psycopg.Connection[Any], device_id: str) -> None:
    conn.execute(
        "INSERT INTO devices (device_id, token_hash) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (device_id, uuid.uuid4().bytes * 2),
    )
    conn.execute(
        "INSERT INTO device_configs (device_id, roi_version, interaction_roi, inventory_roi)"
        " VALUES (%s, 1, %s, %s) ON CONFLICT DO NOTHING",
        (device_id, Jsonb([[0, 0], [1, 0], [1, 1], [0, 1]]), Jsonb([[0, 0], [1, 0], [1, 1]])),
    )


def seed_event(
    conn: psycopg.Connection[Any],
    store: FrameStore,
    *,
    device_id: str,
    event_type: str = "stock_changed",
    started_at: datetime,
    roles: Iterable[ImageRole] = ("pre", "during", "post", "thumb"),
    expired: Iterable[ImageRole] = (),
    details: dict[str, Any] | None = None,
    event_id: uuid.UUID | None = None,
    confidence: float | None = 0.87,
) -> uuid.UUID:
    """Insert one event with its images (files written, or marked expired)."""
    add_device(conn, device_id)
    event_id = event_id or uuid.uuid4()
    roles = tuple(roles)
    expired = set(expired)
    day = started_at.date()
    captures: dict[str, uuid.UUID] = {
        r: uuid.uuid4() for r in roles if r in ("pre", "post", "during")
    }
    for role in roles:
        if role in captures:
            conn.execute(
                "INSERT INTO captures (capture_id, device_id, storage_uri, storage_class,"
                " analysis_status) VALUES (%s, %s, %s, 'event', 'processed')",
                (captures[role], device_id, event_uri(device_id, day, event_id, role)),
            )
    if details is None:
        details = details_for(event_type, captures)
    ended_at = None if event_type == "camera_obstructed" else started_at + timedelta(seconds=38)
    conn.execute(
        "INSERT INTO events (event_id, device_id, event_type, started_at, ended_at,"
        " confidence, details) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (event_id, device_id, event_type, started_at, ended_at, confidence, Jsonb(details)),
    )
    for role in roles:
        uri = event_uri(device_id, day, event_id, role)
        size = (160, 120) if role == "thumb" else (WIDTH, HEIGHT)
        if role not in expired:
            store.put(
                layout.event_uri(device_id, day, event_id, role),
                shelf_jpeg(role, size=size),
                durable=True,
            )
        conn.execute(
            "INSERT INTO event_images (event_id, role, capture_id, derived_storage_uri,"
            " expired_at) VALUES (%s, %s, %s, %s, %s)",
            (
                event_id,
                role,
                captures.get(role),
                uri,
                started_at if role in expired else None,
            ),
        )
    return event_id
