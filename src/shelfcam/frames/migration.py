"""`shelfcam frames migrate --to s3://BUCKET[/PREFIX]`: move an install's event frames,
overlays and thumbnails from the file store to an object store, a row at a time.

For each live event image still on file: copy the file to the object of the same layout
key, verify the object (its size and MD5), point the row (and the capture naming the same
frame) at the object under its device's lock (retention and the worker take the same lock,
so neither sees a half-moved event), then delete the file. Stopped anywhere, a second run
carries on: a copied but unrecorded object is copied again (the same bytes), and a file
whose row already names its object is deleted at the start of the next run. Staging frames
and snapshots stay where they are: they expire within hours, read from the file store.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import time
import uuid
from dataclasses import dataclass
from typing import TextIO

import anyio.to_thread

from shelfcam.db import frames as queries
from shelfcam.db import retention as retention_queries
from shelfcam.db.types import Conn, Row
from shelfcam.errors import InvalidInput, StoreUnavailable
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.location import S3Location, is_file_uri, parse_frame_store, split_s3_uri
from shelfcam.frames.objects import S3FrameStore

log = logging.getLogger(__name__)

BATCH = 200


@dataclass
class MigrationReport:
    to: str
    dry_run: bool
    planned: int = 0
    moved: int = 0
    bytes: int = 0
    missing: int = 0
    """Rows whose file was already gone (left as they are: shown as missing)."""
    skipped: int = 0
    """Rows retention expired while they moved (their copy deleted again)."""
    leftovers: int = 0
    """Files of rows an interrupted run had already moved, deleted now."""

    def as_json(self) -> dict[str, object]:
        return {
            "to": self.to,
            "dry_run": self.dry_run,
            "planned": self.planned,
            "moved": self.moved,
            "bytes": self.bytes,
            "missing": self.missing,
            "skipped": self.skipped,
            "leftovers": self.leftovers,
        }

    def text(self) -> str:
        if self.dry_run:
            return f"would move {self.planned} event frames to {self.to} (dry run: nothing changed)"
        return (
            f"moved {self.moved} event frames ({self.bytes} bytes) to {self.to}; "
            f"{self.missing} already missing, {self.skipped} expired meanwhile, "
            f"{self.leftovers} leftover files of an interrupted run deleted"
        )


class ProgressBar:
    """A one-line bar on a terminal (redrawn at most 10 times a second), else a line every
    10 %: enough to see an hour-long move advance."""

    def __init__(self, total: int, out: TextIO | None = None, width: int = 30) -> None:
        self.total = total
        self.out = out or sys.stderr
        self.width = width
        self.done = 0
        self._drawn = 0.0
        self._tty = self.out.isatty()
        self._decile = -1

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._tty:
            now = time.monotonic()
            if now - self._drawn >= 0.1 or self.done >= self.total:
                self._drawn = now
                filled = self.width * self.done // max(self.total, 1)
                bar = "#" * filled + "." * (self.width - filled)
                self.out.write(f"\r[{bar}] {self.done}/{self.total} frames")
                self.out.flush()
        else:
            decile = 10 * self.done // max(self.total, 1)
            if decile != self._decile:
                self._decile = decile
                self.out.write(f"{self.done}/{self.total} frames\n")
                self.out.flush()

    def close(self) -> None:
        if self._tty:
            self.out.write("\n")
            self.out.flush()


def target_of(to: str) -> S3Location:
    """The object store ``--to`` names; refuse anything else with what is accepted."""
    location = parse_frame_store(to)
    if location is None:
        raise InvalidInput("--to must be an object store: s3://BUCKET[/PREFIX]")
    return location


def _verified(objects: S3FrameStore, key: str, data: bytes) -> bool:
    """The object holds exactly ``data``: its size, and its ETag where that is the MD5 of
    a single-part upload."""
    head = objects.client.head_object(Bucket=objects.bucket, Key=objects.location.object_key(key))
    if int(head["ContentLength"]) != len(data):
        return False
    etag = str(head.get("ETag", "")).strip('"')
    if len(etag) == 32 and "-" not in etag:
        return etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
    return True


async def _leftovers(conn: Conn, files: FileFrameStore, location: S3Location) -> int:
    """Delete the files whose rows an interrupted run already pointed at their objects."""
    removed = 0
    for row in await queries.images_under(conn, location.root):
        try:
            _, key = split_s3_uri(str(row["uri"]))
        except InvalidInput:
            continue
        gone = await anyio.to_thread.run_sync(files.delete, key)
        removed += gone.files
    return removed


async def migrate_frames(
    conn: Conn,
    files: FileFrameStore,
    objects: S3FrameStore,
    *,
    dry_run: bool,
    progress: ProgressBar | None = None,
) -> MigrationReport:
    report = MigrationReport(to=objects.location.url, dry_run=dry_run)
    report.planned = await queries.count_file_images(conn)
    if dry_run:
        return report
    report.leftovers = await _leftovers(conn, files, objects.location)
    bar = progress or ProgressBar(report.planned)
    after: tuple[uuid.UUID, str] | None = None
    try:
        while rows := await queries.file_images(conn, after, BATCH):
            after = (rows[-1]["event_id"], str(rows[-1]["role"]))
            for row in rows:
                await _move(conn, files, objects, row, report)
                bar.advance()
    finally:
        bar.close()
    log.info("action=frames_migrated %s", " ".join(f"{k}={v}" for k, v in report.as_json().items()))
    return report


async def _move(
    conn: Conn,
    files: FileFrameStore,
    objects: S3FrameStore,
    row: Row,
    report: MigrationReport,
) -> None:
    old = str(row["uri"])
    if not is_file_uri(old):
        return
    try:
        data = await anyio.to_thread.run_sync(files.get, old)
    except FileNotFoundError:
        report.missing += 1
        log.warning("action=frame_missing uri=%s", old)
        return
    new = await anyio.to_thread.run_sync(lambda: objects.put(old, data, durable=True))
    if not await anyio.to_thread.run_sync(_verified, objects, old, data):
        raise StoreUnavailable(f"the copy of {old} in {objects.location.url} does not match it")
    capture_id = row["capture_id"]
    async with conn.transaction():
        await retention_queries.lock_devices(conn, [str(row["device_id"])])
        moved = await queries.repoint_image(
            conn,
            row["event_id"],
            str(row["role"]),
            capture_id if isinstance(capture_id, uuid.UUID) else None,
            old,
            new,
        )
    if moved == "gone":  # expired meanwhile: the copy is nobody's
        report.skipped += 1
        await anyio.to_thread.run_sync(objects.delete, new)
        return
    await anyio.to_thread.run_sync(files.delete, old)
    report.moved += 1
    report.bytes += len(data)
