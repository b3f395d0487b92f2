"""What retention deletes, as a pure function: ``plan(rows, policy, now) -> Deletions``.

No database, no files, no clock: the shell (``runner``) reads rows and file facts, calls
:func:`plan`, and applies the decisions it gets back (rows first, then files). It calls
it again on fresh rows inside the transaction that marks them, so what is marked is what
is still unneeded at that moment.

The rules ("older than" is strict: a frame exactly at the limit stays):

* event frames: every image of an event that started more than ``event_retention`` ago
  expires; its folders under events/ and thumbs/ are deleted. A capture of class 'event'
  whose images have all expired becomes 'discarded'; one that still has a live image
  elsewhere is pointed at it.
* staging frames: deleted once older than ``staging_retention`` whatever needs them, and
  once older than ``staging_window`` when no queued job (analysis_status 'queued') and no
  device's kept_captures needs them. A frame that has a live copy under events/ becomes
  class 'event' (as the worker would do), else 'discarded'. A frame still queued when it
  is dropped is marked failed, so its job does nothing when it runs.
* debug snapshots: deleted once older than ``debug_retention`` (an hour).
* files no row claims (orphans): deleted once unchanged for ``staging_window``; files
  whose row has let them go (a 'discarded' capture, an expired image) at once.
* captures rows (only with ``capture_retention`` set): 'discarded' rows older than it,
  unless still queued or named by an event image that has no path of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from shelfcam.errors import InvalidInput
from shelfcam.frames.location import is_file_uri, split_s3_uri
from shelfcam.vocabulary import StorageClass

DEBUG_RETENTION = timedelta(hours=1)

Claim = Literal["live", "gone", "none"]
"""A file's standing in the database: named by a row that needs it ('live'), named by a
row that has let it go ('gone'), or named by no row ('none')."""


@dataclass(frozen=True)
class Policy:
    event_retention: timedelta
    staging_retention: timedelta
    staging_window: timedelta
    debug_retention: timedelta = DEBUG_RETENTION
    capture_retention: timedelta | None = None

    def events_before(self, now: datetime) -> datetime:
        """Events that started before this are candidates."""
        return now - self.event_retention

    def staging_before(self, now: datetime) -> datetime:
        return now - min(self.staging_window, self.staging_retention)

    def debug_before(self, now: datetime) -> datetime:
        return now - self.debug_retention

    def captures_before(self, now: datetime) -> datetime | None:
        return None if self.capture_retention is None else now - self.capture_retention

    def jobs_before(self, now: datetime) -> datetime:
        """An analysis job that ended without success goes once its frame was received
        before this: the staging frame is gone by then, so no retry could analyze it."""
        return now - self.staging_retention


# --- rows in --------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRow:
    event_id: uuid.UUID
    role: str
    capture_id: uuid.UUID | None
    uri: str | None
    expired: bool
    created_at: datetime


@dataclass(frozen=True)
class EventRow:
    event_id: uuid.UUID
    device_id: str
    started_at: datetime
    images: tuple[ImageRow, ...]


@dataclass(frozen=True)
class EventCaptureRow:
    """A capture of class 'event', with every image (of any event) made from it."""

    capture_id: uuid.UUID
    storage_uri: str | None
    images: tuple[ImageRow, ...]


@dataclass(frozen=True)
class CaptureRow:
    """A staging or debug capture."""

    capture_id: uuid.UUID
    device_id: str
    storage_class: StorageClass
    received_at: datetime
    analysis_status: str
    storage_uri: str | None
    kept: bool
    """In its device's kept_captures (the engine still needs it)."""
    event_uri: str | None = None
    """A live event copy of this frame (its oldest), if any."""


@dataclass(frozen=True)
class FileRow:
    uri: str
    changed_at: datetime
    size: int
    claim: Claim


@dataclass(frozen=True)
class PurgeRow:
    capture_id: uuid.UUID
    received_at: datetime
    storage_class: StorageClass
    analysis_status: str
    pinned: bool
    """Named by an event image without a path of its own (the row must stay)."""


@dataclass(frozen=True)
class Rows:
    events: Sequence[EventRow] = ()
    event_captures: Sequence[EventCaptureRow] = ()
    captures: Sequence[CaptureRow] = ()
    files: Sequence[FileRow] = ()
    purge: Sequence[PurgeRow] = ()


# --- decisions out ----------------------------------------------------------------------


@dataclass(frozen=True)
class CaptureChange:
    capture_id: uuid.UUID
    from_class: StorageClass
    to_class: StorageClass
    new_uri: str | None
    old_file: str | None
    """The file this change lets go (to delete after the commit), if any."""
    fail_analysis: bool
    reason: str


@dataclass(frozen=True)
class FileDeletion:
    uri: str
    size: int
    reason: Literal["unclaimed", "released"]


@dataclass(frozen=True)
class Deletions:
    expired_events: tuple[uuid.UUID, ...] = ()
    expired_images: tuple[tuple[uuid.UUID, str], ...] = ()
    event_folders: tuple[str, ...] = ()
    event_files: tuple[str, ...] = ()
    """Image files outside the folders above (not in the usual layout)."""
    capture_changes: tuple[CaptureChange, ...] = ()
    files: tuple[FileDeletion, ...] = ()
    purge: tuple[uuid.UUID, ...] = ()

    @property
    def released_files(self) -> tuple[str, ...]:
        return tuple(c.old_file for c in self.capture_changes if c.old_file)


def plan(rows: Rows, policy: Policy, now: datetime) -> Deletions:
    """Everything in ``rows`` that retention deletes at ``now`` under ``policy``."""
    old = [e for e in rows.events if now - e.started_at > policy.event_retention]
    expiry = expire_events(old, rows.event_captures)
    changes = list(expiry.capture_changes)
    for row in rows.captures:
        change = capture_change(row, policy, now)
        if change is not None:
            changes.append(change)
    files = tuple(d for f in rows.files if (d := file_deletion(f, policy, now)) is not None)
    purge = tuple(r.capture_id for r in rows.purge if purgeable(r, policy, now))
    return Deletions(
        expired_events=expiry.expired_events,
        expired_images=expiry.expired_images,
        event_folders=expiry.event_folders,
        event_files=expiry.event_files,
        capture_changes=tuple(changes),
        files=files,
        purge=purge,
    )


def expire_events(
    events: Iterable[EventRow], event_captures: Iterable[EventCaptureRow]
) -> Deletions:
    """Expire every live image of ``events`` (chosen by age, or by the disk guard)."""
    events = list(events)
    expiring = {(e.event_id, i.role) for e in events for i in e.images if not i.expired}
    folders: dict[str, None] = {}
    loose: dict[str, None] = {}
    for event in events:
        for image in event.images:
            if image.uri is None or (event.event_id, image.role) not in expiring:
                continue
            folder = event_folder_of(image.uri, event.event_id)
            if folder is None:
                loose[image.uri] = None
            else:
                folders[folder] = None
    changes = []
    for capture in event_captures:
        live = sorted(
            (
                i
                for i in capture.images
                if not i.expired and i.uri and (i.event_id, i.role) not in expiring
            ),
            key=lambda i: (i.created_at, str(i.event_id), i.role),
        )
        if not live:
            changes.append(
                CaptureChange(
                    capture.capture_id, "event", "discarded", None, None, False, "event_expired"
                )
            )
        elif capture.storage_uri not in {i.uri for i in live}:
            changes.append(
                CaptureChange(
                    capture.capture_id, "event", "event", live[0].uri, None, False, "repointed"
                )
            )
    return Deletions(
        expired_events=tuple(
            e.event_id for e in events if any((e.event_id, i.role) in expiring for i in e.images)
        ),
        expired_images=tuple(sorted(expiring, key=lambda k: (str(k[0]), k[1]))),
        event_folders=tuple(folders),
        event_files=tuple(loose),
        capture_changes=tuple(changes),
    )


def event_folder_of(uri: str, event_id: uuid.UUID) -> str | None:
    """``events/<device>/<day>/<event_id>`` for an image stored in its event's folder
    (``s3://BUCKET/PREFIX/events/...`` for an object: deleted by listing that prefix)."""
    root, key = "", uri
    if not is_file_uri(uri):
        try:
            location, key = split_s3_uri(uri)
        except InvalidInput:
            return None
        root = location.root
    parts = key.split("/")
    if len(parts) == 5 and parts[0] in ("events", "thumbs") and parts[3] == str(event_id):
        return root + "/".join(parts[:4])
    return None


def capture_change(row: CaptureRow, policy: Policy, now: datetime) -> CaptureChange | None:
    age = now - row.received_at
    if row.storage_class == "staging":
        if age > policy.staging_retention:
            reason = "staging_expired"
        elif age > policy.staging_window and row.analysis_status != "queued" and not row.kept:
            reason = "staging_unreferenced"
        else:
            return None
    elif row.storage_class == "debug":
        if age <= policy.debug_retention:
            return None
        reason = "debug_expired"
    else:
        return None
    return CaptureChange(
        capture_id=row.capture_id,
        from_class=row.storage_class,
        to_class="event" if row.event_uri else "discarded",
        new_uri=row.event_uri,
        old_file=row.storage_uri,
        fail_analysis=row.analysis_status == "queued",
        reason=reason,
    )


def file_deletion(row: FileRow, policy: Policy, now: datetime) -> FileDeletion | None:
    if row.claim == "live":
        return None
    if row.claim == "gone":
        return FileDeletion(row.uri, row.size, "released")
    if now - row.changed_at > policy.staging_window:
        return FileDeletion(row.uri, row.size, "unclaimed")
    return None


def purgeable(row: PurgeRow, policy: Policy, now: datetime) -> bool:
    return (
        policy.capture_retention is not None
        and now - row.received_at > policy.capture_retention
        and row.storage_class == "discarded"
        and row.analysis_status != "queued"
        and not row.pinned
    )


# --- what a file's rows say about it ------------------------------------------------------


@dataclass(frozen=True)
class CaptureOwner:
    """The captures row whose id a staging/ or debug/ file name carries."""

    storage_class: StorageClass
    storage_uri: str | None


@dataclass(frozen=True)
class EventOwner:
    """The image rows of the event whose id an events/ or thumbs/ folder carries."""

    live_uris: frozenset[str]
    expired_uris: frozenset[str]


def capture_file_claim(uri: str, owner: CaptureOwner | None) -> Claim:
    if owner is None:
        return "none"
    # A row leaves 'staging' or 'debug' for good: once it names another file (its event
    # copy) or none, this file is released.
    return "live" if owner.storage_uri == uri else "gone"


def event_file_claim(uri: str, owner: EventOwner | None) -> Claim:
    if owner is None:
        return "none"
    if uri in owner.live_uris:
        return "live"
    return "gone" if uri in owner.expired_uris else "none"


# --- the disk guard -------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardCandidate:
    event_id: uuid.UUID
    started_at: datetime
    estimated_bytes: int


def disk_guard(
    candidates: Iterable[GuardCandidate], free_bytes: int, floor_bytes: int, max_events: int
) -> tuple[uuid.UUID, ...]:
    """The oldest events whose frames, deleted, should lift free space to the floor
    (at least one event while below it, at most ``max_events``); the caller measures
    again and asks for the next batch until free space is back above the floor."""
    deficit = floor_bytes - free_bytes
    if deficit <= 0 or max_events < 1:
        return ()
    chosen: list[uuid.UUID] = []
    covered = 0
    for candidate in sorted(candidates, key=lambda c: (c.started_at, str(c.event_id))):
        chosen.append(candidate.event_id)
        covered += max(candidate.estimated_bytes, 0)
        if covered >= deficit or len(chosen) >= max_events:
            break
    return tuple(chosen)
