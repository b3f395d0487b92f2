"""Rows and files the way ingest and the analysis worker leave them (the data contract),
for the retention tests and benchmark.

A staging capture: a file under staging/ and a 'staging' row. An event: its frames
promoted from staging captures (hard links, like the worker), the captures re-classed
'event' pointing at their copy, the staging names deleted, a thumbnail, event_images rows.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from psycopg.rows import dict_row

from shelfcam.frames import layout
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.layout import event_folder_uri
from shelfcam.vocabulary import ImageRole

JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8 + b"\xff\xd9"


@dataclass
class SeededEvent:
    event_id: uuid.UUID
    device_id: str
    started_at: datetime
    captures: dict[str, uuid.UUID] = field(default_factory=dict)
    uris: dict[str, str] = field(default_factory=dict)

    @property
    def folders(self) -> list[str]:
        day = self.started_at.astimezone(UTC).date()
        return [
            event_folder_uri("events", self.device_id, day, self.event_id),
            event_folder_uri("thumbs", self.device_id, day, self.event_id),
        ]


class Seeder:
    def __init__(self, db_url: str, store: FileFrameStore) -> None:
        self.db_url = db_url
        self.store = store

    def _conn(self) -> psycopg.Connection[dict[str, object]]:
        return psycopg.connect(self.db_url, autocommit=True, row_factory=dict_row)

    def capture(
        self,
        device_id: str,
        received_at: datetime,
        *,
        status: str = "processed",
        storage_class: str = "staging",
        kept: bool = False,
        data: bytes = JPEG,
    ) -> tuple[uuid.UUID, str]:
        """A capture with its file (staging/ or debug/); returns (capture_id, uri)."""
        capture_id = uuid.uuid4()
        day = received_at.astimezone(UTC).date()
        if storage_class == "debug":
            uri = self.store.put(layout.debug_uri(device_id, day, capture_id), data, durable=False)
        else:
            uri = self.store.put(
                layout.staging_uri(device_id, day, capture_id), data, durable=False
            )
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO captures (capture_id, device_id, received_at, storage_uri,"
                " storage_class, analysis_status, byte_size, width, height)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 640, 480)",
                (capture_id, device_id, received_at, uri, storage_class, status, len(data)),
            )
            if kept:
                self.keep(conn, device_id, [capture_id])
        return capture_id, uri

    def keep(
        self, conn: psycopg.Connection[dict[str, object]], device_id: str, ids: list[uuid.UUID]
    ) -> None:
        conn.execute(
            "UPDATE device_state SET kept_captures = kept_captures || %s::uuid[]"
            " WHERE device_id = %s",
            (ids, device_id),
        )

    def event(
        self,
        device_id: str,
        started_at: datetime,
        *,
        roles: Iterable[ImageRole] = ("pre", "post", "during"),
        sources: dict[str, uuid.UUID] | None = None,
        release: bool = True,
    ) -> SeededEvent:
        """An event with its frames promoted from new (or the given) staging captures,
        and a thumbnail. ``release``: the captures become class 'event' (pointing at
        their copy) and their staging files are deleted, as the worker does."""
        event_id = uuid.uuid4()
        day = started_at.astimezone(UTC).date()
        seeded = SeededEvent(event_id, device_id, started_at)
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO events (event_id, device_id, event_type, started_at, ended_at,"
                " confidence, details) VALUES (%s, %s, 'stock_changed', %s, %s, 0.9, '{}')",
                (event_id, device_id, started_at, started_at),
            )
        for role in roles:
            if sources and role in sources:
                capture_id = sources[role]
                with self._conn() as conn:
                    row = conn.execute(
                        "SELECT storage_uri FROM captures WHERE capture_id = %s", (capture_id,)
                    ).fetchone()
                assert row is not None
                staging = str(row["storage_uri"])
            else:
                capture_id, staging = self.capture(device_id, started_at)
            uri = self.store.link(staging, layout.event_uri(device_id, day, event_id, role))
            seeded.captures[role] = capture_id
            seeded.uris[role] = uri
            with self._conn() as conn:
                conn.execute(
                    "INSERT INTO event_images (event_id, role, capture_id, derived_storage_uri)"
                    " VALUES (%s, %s, %s, %s)",
                    (event_id, role, capture_id, uri),
                )
                if release:
                    conn.execute(
                        "UPDATE captures SET storage_class = 'event', storage_uri = %s"
                        " WHERE capture_id = %s AND storage_class = 'staging'",
                        (uri, capture_id),
                    )
            if release:
                self.store.delete(staging)
        thumb = self.store.put(
            layout.event_uri(device_id, day, event_id, "thumb"), JPEG[:600], durable=True
        )
        seeded.uris["thumb"] = thumb
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO event_images (event_id, role, derived_storage_uri)"
                " VALUES (%s, 'thumb', %s)",
                (event_id, thumb),
            )
        return seeded


def snapshot(db_url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row retention could touch, in a stable order (for the dry-run test)."""
    queries = {
        "captures": "SELECT capture_id::text, storage_class, storage_uri, analysis_status,"
        " analysis_error FROM captures ORDER BY capture_id",
        "event_images": "SELECT event_id::text, role, capture_id::text, derived_storage_uri,"
        " expired_at FROM event_images ORDER BY event_id, role",
        "events": "SELECT event_id::text FROM events ORDER BY event_id",
        "device_state": "SELECT device_id, kept_captures::text FROM device_state"
        " ORDER BY device_id",
    }
    with psycopg.connect(db_url) as conn:
        return {name: list(conn.execute(sql).fetchall()) for name, sql in queries.items()}
