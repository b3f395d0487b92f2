"""The frame store seam: what ingest, the worker, the UI and retention ask of wherever frames
are kept. `FileFrameStore` (frames/files.py, JPEG files under the data dir) is the one
implementation for files, `S3FrameStore` (frames/objects.py) for an S3-compatible object
store, and `RoutingFrameStore` (frames/routing.py) the one every process uses: it writes to
the configured store and reads each URI from the store it names.

Keys are layout URIs (frames/layout.py): every method refuses a key the layout could not
have made. A frame that is not there raises FileNotFoundError from `get` and `link`; the
callers treat it as gone (retention, a crash), never as a server error.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

from shelfcam.errors import StorageError
from shelfcam.frames.layout import Area


class LinkRefused(StorageError):
    """A symbolic link where the store expects its own folder or file."""


@dataclass(frozen=True)
class FreeSpace:
    total_bytes: int
    free_bytes: int

    @property
    def free_fraction(self) -> float:
        return self.free_bytes / self.total_bytes if self.total_bytes else 0.0


@dataclass(frozen=True)
class Removed:
    """Frames removed (or that would be) and the space that frees: a frame that has other
    links (an event frame linked to its staging frame) frees nothing."""

    files: int = 0
    bytes: int = 0

    def __add__(self, other: Removed) -> Removed:
        return Removed(self.files + other.files, self.bytes + other.bytes)


@dataclass(frozen=True)
class StoredFile:
    """One frame found under an area by `FrameStore.scan`."""

    uri: str
    area: Area
    device_id: str
    owner_id: uuid.UUID | None
    """The capture (staging/, debug/) or event (events/, thumbs/) the key names; None for
    an atomic write's leftover temporary file."""
    changed_at: float
    """When it was last written or linked (seconds since the epoch): a frame just promoted
    to an event never looks old."""
    size: int
    links: int
    """How many names share its bytes (1 in a store without links)."""


@dataclass(frozen=True)
class ScanResult:
    files: list[StoredFile]
    foreign: list[str]
    """Keys that do not fit the layout: never touched, only reported."""


class FrameStore(Protocol):
    """Where frames are kept. Writes are atomic (never half a JPEG under a final key)."""

    remote: bool
    """Calls wait on the network (an object store): run them in a thread on an event loop."""

    def put(self, uri: str, data: bytes, *, durable: bool) -> str:
        """Store ``data`` at ``uri`` and return ``uri``. ``durable``: on stable storage
        before this returns (event frames, before their database commit); a staging frame
        need not be (one lost to a power cut is marked failed by the worker)."""
        ...

    def get(self, uri: str) -> bytes:
        """The frame's bytes; FileNotFoundError when it is gone."""
        ...

    def exists(self, uri: str) -> bool: ...

    def link(self, source_uri: str, uri: str) -> str:
        """Make the frame at ``source_uri`` also the frame at ``uri`` (durably): a link
        where the store can, else a copy. The source stays. Linking again is harmless
        (a retried frame). FileNotFoundError when the source is gone."""
        ...

    def delete(self, uri: str, *, dry_run: bool = False) -> Removed:
        """Delete one frame, or an interrupted write's temporary file (or only measure
        it); nothing when it is gone."""
        ...

    def delete_folder(self, uri: str, *, dry_run: bool = False) -> Removed:
        """Delete an event's frames (``events/...`` or ``thumbs/...`` folder URI)."""
        ...

    def scan(self, area: Area) -> ScanResult:
        """Every frame under ``area`` with its age and what its key names."""
        ...

    def prune(self, area: Area, *, dry_run: bool = False) -> int:
        """Remove the empty folders under ``area`` (or count them); return how many."""
        ...

    def free_space(self) -> FreeSpace:
        """Room left where the frames are kept (the disk guard watches it)."""
        ...
