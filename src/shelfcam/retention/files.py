"""Retention's file side: deleting at a bounded pace, and the sweep for orphan files.

Files are deleted in worker threads (a few at once), a chunk at a time, so neither the
event loop (which serves ingest in ``shelfcam serve``) nor the disk is monopolised. The
orphan sweep walks each area, asks the database which row names each file, and lets the
pure plan decide; just before deleting it asks again. A file under events/ or thumbs/
that no row names is deleted only while holding its device's state lock: the analysis
worker writes event files while holding that lock, before its commit, so a file of a
frame being processed right now is never taken for an orphan.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from shelfcam.db import retention as queries
from shelfcam.db.types import Conn
from shelfcam.errors import InvalidInput
from shelfcam.frames.layout import Area
from shelfcam.frames.store import FrameStore, Removed, StoredFile
from shelfcam.retention.pace import Pacer
from shelfcam.retention.plan import (
    CaptureOwner,
    EventOwner,
    FileDeletion,
    FileRow,
    Policy,
    Rows,
    capture_file_claim,
    event_file_claim,
    plan,
)
from shelfcam.retention.summary import Summary

log = logging.getLogger(__name__)

OWNER_BATCH = 5000
THREADS = 4
LOCKED_BATCH = 200
"""Unclaimed event files deleted per device-lock hold (the worker of that camera waits)."""


class Deleter:
    """Deletes (or, dry, measures) files and folders in threads, at the pacer's pace."""

    def __init__(self, store: FrameStore, pacer: Pacer, *, dry_run: bool) -> None:
        self.store = store
        self.pacer = pacer
        self.dry_run = dry_run
        self.errors = 0

    async def files(self, uris: Sequence[str]) -> Removed:
        return await self._each(uris, self.store.delete)

    async def folders(self, uris: Sequence[str]) -> Removed:
        return await self._each(uris, self.store.delete_folder)

    async def _each(self, uris: Sequence[str], remove: Callable[..., Removed]) -> Removed:
        total = Removed()
        step = self.pacer.chunk
        for start in range(0, len(uris), step):
            chunk = uris[start : start + step]
            # A few threads at once: unlinking waits on the disk (metadata writes), and
            # several in flight go several times faster than one on SSDs and virtual
            # disks; the pacer still bounds the rate.
            done = await asyncio.gather(
                *(
                    asyncio.to_thread(self._chunk, chunk[i::THREADS], remove)
                    for i in range(min(THREADS, len(chunk)))
                )
            )
            removed = sum((r for r, _ in done), Removed())
            total += removed
            self.errors += sum(e for _, e in done)
            if not self.dry_run and removed.files:
                await self.pacer.spend(removed.files)
        return total

    def _chunk(self, uris: Sequence[str], remove: Callable[..., Removed]) -> tuple[Removed, int]:
        total = Removed()
        errors = 0
        for uri in uris:
            try:
                total += remove(uri, dry_run=self.dry_run)
            except (OSError, InvalidInput) as err:
                errors += 1
                log.warning("action=retention_delete_failed uri=%s error=%s", uri, err)
        return total, errors


def _when(stamp: float) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


async def _capture_file_rows(conn: Conn, files: Sequence[StoredFile]) -> list[FileRow]:
    owners = await queries.capture_owners(conn, [f.owner_id for f in files if f.owner_id])
    rows = []
    for f in files:
        row = owners.get(f.owner_id) if f.owner_id else None
        owner = CaptureOwner(row["storage_class"], row["storage_uri"]) if row else None
        claim = capture_file_claim(f.uri, owner) if f.owner_id else "none"
        rows.append(FileRow(f.uri, _when(f.changed_at), f.size, claim))
    return rows


async def _event_file_rows(conn: Conn, files: Sequence[StoredFile]) -> list[FileRow]:
    ids = sorted({f.owner_id for f in files if f.owner_id}, key=str)
    found = await queries.event_owners(conn, ids)
    owners = {
        event_id: EventOwner(
            frozenset(uri for uri, expired in images if not expired),
            frozenset(uri for uri, expired in images if expired),
        )
        for event_id, images in found.items()
    }
    rows = []
    for f in files:
        owner = owners.get(f.owner_id) if f.owner_id else None
        claim = event_file_claim(f.uri, owner) if f.owner_id else "none"
        rows.append(FileRow(f.uri, _when(f.changed_at), f.size, claim))
    return rows


def _decide(rows: Sequence[FileRow], policy: Policy, now: datetime) -> list[FileDeletion]:
    return list(plan(Rows(files=rows), policy, now).files)


async def sweep_orphans(
    conn: Conn,
    store: FrameStore,
    deleter: Deleter,
    policy: Policy,
    now: datetime,
    areas: Sequence[Area],
    summary: Summary,
) -> None:
    """Delete files under ``areas`` that no row needs (see the module docstring)."""
    for area in areas:
        scan = await asyncio.to_thread(store.scan, area)
        summary.foreign += len(scan.foreign)
        for uri in scan.foreign[:10]:
            log.info("action=retention_foreign_file uri=%s", uri)
        for start in range(0, len(scan.files), OWNER_BATCH):
            batch = scan.files[start : start + OWNER_BATCH]
            if area in ("staging", "debug"):
                await _sweep_captures(conn, deleter, policy, now, batch, summary)
            else:
                await _sweep_events(conn, deleter, policy, now, batch, summary)


async def _sweep_captures(
    conn: Conn,
    deleter: Deleter,
    policy: Policy,
    now: datetime,
    files: Sequence[StoredFile],
    summary: Summary,
) -> None:
    doomed = {d.uri for d in _decide(await _capture_file_rows(conn, files), policy, now)}
    if doomed and not deleter.dry_run:  # ask again: a row may have claimed one meanwhile
        again = await _capture_file_rows(conn, [f for f in files if f.uri in doomed])
        doomed = {d.uri for d in _decide(again, policy, now)}
    removed = await deleter.files(sorted(doomed))
    summary.orphan.add(removed.files, removed.bytes)


async def _sweep_events(
    conn: Conn,
    deleter: Deleter,
    policy: Policy,
    now: datetime,
    files: Sequence[StoredFile],
    summary: Summary,
) -> None:
    decided = _decide(await _event_file_rows(conn, files), policy, now)
    # Named by an expired image: final, no lock needed.
    released = sorted(d.uri for d in decided if d.reason == "released")
    removed = await deleter.files(released)
    unclaimed = {d.uri for d in decided if d.reason == "unclaimed"}
    by_device: dict[str, list[StoredFile]] = defaultdict(list)
    for f in files:
        if f.uri in unclaimed:
            by_device[f.device_id].append(f)
    for device_id, mine in sorted(by_device.items()):
        for start in range(0, len(mine), LOCKED_BATCH):
            chunk = mine[start : start + LOCKED_BATCH]
            if deleter.dry_run:
                removed += await deleter.files([f.uri for f in chunk])
                continue
            async with conn.transaction():
                await queries.lock_devices(conn, [device_id])
                again = _decide(await _event_file_rows(conn, chunk), policy, now)
                removed += await deleter.files(sorted(d.uri for d in again))
    summary.orphan.add(removed.files, removed.bytes)
