"""The evidence the tuning page and its API judge thresholds on, gathered from the database
and the frame store: recent per-frame scores, recent events, and those events' retained
pre/post frames rescored under the device's current ROIs (``shelfcam.tuning.judge.rescore``).

Rescoring decodes two JPEGs per event, so it runs in a worker thread and its results are
kept per (event, roi_version) in a small cache: a preview asked for on every keystroke
costs only the threshold comparisons.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import anyio.to_thread

from shelfcam import devices
from shelfcam.db import tuning as queries
from shelfcam.db.types import Conn
from shelfcam.engine.config import Thresholds
from shelfcam.errors import InvalidInput
from shelfcam.frames.store import FrameStore
from shelfcam.tuning import judge
from shelfcam.vision import Rois, polygons

log = logging.getLogger(__name__)

FRAMES = 2000
EVENTS = 50
RESCORED_TYPES = ("stock_changed", "interaction_detected")

Key = tuple[str, int]


class RescoreCache:
    """Rescored scores by (event id, roi_version), the least recently used dropped first."""

    def __init__(self, size: int = 2000) -> None:
        self.size = size
        self._items: OrderedDict[Key, dict[str, float | None] | None] = OrderedDict()

    def get(self, key: Key) -> tuple[bool, dict[str, float | None] | None]:
        if key not in self._items:
            return False, None
        self._items.move_to_end(key)
        return True, self._items[key]

    def put(self, key: Key, value: dict[str, float | None] | None) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


@dataclass(frozen=True)
class Evidence:
    device: dict[str, Any]
    current: Thresholds
    overrides: dict[str, Any]
    frames: list[dict[str, Any]]
    events: list[judge.RecentEvent]


def _rescore_files(
    store: FrameStore, jobs: list[tuple[str, str, str]], rois: Rois
) -> dict[str, dict[str, float | None] | None]:
    """(event id, pre uri, post uri) -> rescored scores, None when a file is unreadable."""
    found: dict[str, dict[str, float | None] | None] = {}
    for event_id, pre_uri, post_uri in jobs:
        try:
            found[event_id] = judge.rescore(store.get(pre_uri), store.get(post_uri), rois)
        except (FileNotFoundError, InvalidInput) as err:
            log.debug("action=rescore_skipped event=%s reason=%s", event_id, type(err).__name__)
            found[event_id] = None
    return found


async def gather(
    conn: Conn,
    store: FrameStore,
    name: str,
    cache: RescoreCache,
    *,
    frames: int = FRAMES,
    events: int = EVENTS,
) -> Evidence:
    device = await devices.get_device(conn, name)
    device_id = str(device["device_id"])
    overrides = device["thresholds"] if isinstance(device["thresholds"], dict) else {}
    current = Thresholds.from_overrides(overrides)
    version = int(device["roi_version"])
    rois = Rois(
        interaction=polygons.from_json(device["interaction_roi"]),
        inventory=polygons.from_json(device["inventory_roi"]),
        version=version,
    )
    scores = await queries.recent_frame_scores(conn, device_id, frames)
    rows = await queries.recent_events(conn, device_id, events)
    rescored: dict[str, dict[str, float | None] | None] = {}
    jobs: list[tuple[str, str, str]] = []
    for row in rows:
        event_id = str(row["event_id"])
        if row["event_type"] not in RESCORED_TYPES or not (row["pre_uri"] and row["post_uri"]):
            continue
        known, value = cache.get((event_id, version))
        if known:
            rescored[event_id] = value
        else:
            jobs.append((event_id, row["pre_uri"], row["post_uri"]))
    if jobs:
        fresh = await anyio.to_thread.run_sync(_rescore_files, store, jobs, rois)
        for event_id, value in fresh.items():
            cache.put((event_id, version), value)
        rescored.update(fresh)
    recent = [
        judge.RecentEvent(
            event_id=str(row["event_id"]),
            event_type=row["event_type"],
            started_at=row["started_at"],
            scores=_scores(row["details"]),
            rescored=rescored.get(str(row["event_id"])),
        )
        for row in rows
    ]
    return Evidence(device, current, dict(overrides), scores, recent)


def _scores(details: object) -> dict[str, Any]:
    if isinstance(details, dict) and isinstance(details.get("scores"), dict):
        return dict(details["scores"])
    return {}


def proposed_thresholds(overrides: dict[str, Any]) -> Thresholds:
    """The thresholds a set of overrides gives (refused with the reason if invalid)."""
    return Thresholds.from_overrides(overrides)
