"""Events per day, per type and camera, for the stats page and its API. Days are local
days of the server's time zone, like the timeline's date filter."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from shelfcam.db import stats as queries
from shelfcam.db.types import Conn
from shelfcam.vocabulary import EVENT_TYPES, validate_device_id

MAX_DAYS = 366


@dataclass(frozen=True)
class DayCounts:
    days: list[date]
    counts: dict[str, dict[str, list[int]]]
    """device id -> event type -> one count per day (every type present, zeros included)."""

    def devices(self) -> list[str]:
        return sorted(self.counts)

    def by_type(self, device_id: str | None = None) -> dict[str, list[int]]:
        """Counts per type for one camera, or summed over all of them."""
        found: dict[str, list[int]] = {t: [0] * len(self.days) for t in EVENT_TYPES}
        for device, per_type in self.counts.items():
            if device_id is not None and device != device_id:
                continue
            for event_type, counts in per_type.items():
                found[event_type] = [a + b for a, b in zip(found[event_type], counts, strict=True)]
        return found

    def total(self, device_id: str | None = None, event_type: str | None = None) -> int:
        per_type = self.by_type(device_id)
        return sum(sum(c) for t, c in per_type.items() if event_type in (None, t))


def window(last_day: date, days: int) -> list[date]:
    return [last_day - timedelta(days=days - 1 - i) for i in range(days)]


def bucket(rows: list[dict[str, Any]], days: list[date], tz: tzinfo | None = None) -> DayCounts:
    """Assign (device, type, bin start, count) rows to the day of each bin in ``tz`` (the
    server's local zone by default)."""
    index = {day: i for i, day in enumerate(days)}
    counts: dict[str, dict[str, list[int]]] = defaultdict(
        lambda: {t: [0] * len(days) for t in EVENT_TYPES}
    )
    for row in rows:
        day = row["bin"].astimezone(tz).date()
        if day not in index or row["event_type"] not in EVENT_TYPES:
            continue
        counts[row["device_id"]][row["event_type"]][index[day]] += int(row["events"])
    return DayCounts(days, dict(counts))


async def events_per_day(
    conn: Conn, *, days: int, today: date, device_id: str | None = None
) -> DayCounts:
    """The last ``days`` local days up to and including ``today``."""
    days = max(1, min(MAX_DAYS, days))
    if device_id is not None:
        validate_device_id(device_id)
    span = window(today, days)
    since = datetime.combine(span[0], time()).astimezone()
    until = datetime.combine(today + timedelta(days=1), time()).astimezone()
    rows = await queries.events_per_bin(conn, since, until, device_id)
    return bucket(rows, span)
