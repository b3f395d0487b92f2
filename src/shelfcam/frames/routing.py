"""The frame store every process uses: new frames go where ``SHELFCAM_FRAME_STORE`` says,
and each stored frame is read, copied and deleted where its URI says (frames/location.py).

So rows written before the setting changed keep working (file rows after a switch to S3,
and S3 rows after a switch back), and ``shelfcam frames migrate`` can move an install a
row at a time while it runs. The data dir's disk is what `free_space` measures: it is
where the database and any frame still on file are (the disk guard's concern).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import anyio

from shelfcam.config import Settings
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.layout import Area
from shelfcam.frames.location import (
    S3Location,
    is_file_uri,
    parse_frame_store,
    split_s3_uri,
)
from shelfcam.frames.objects import S3Client, S3FrameStore, s3_client
from shelfcam.frames.store import FrameStore, FreeSpace, Removed, ScanResult

P = ParamSpec("P")
T = TypeVar("T")


class RoutingFrameStore:
    """Writes to one store, reads from whichever holds a URI."""

    def __init__(
        self,
        files: FileFrameStore,
        objects: S3FrameStore | None,
        *,
        endpoint_url: str | None = None,
    ) -> None:
        self.files = files
        self.objects = objects
        self.writer: FrameStore = objects if objects is not None else files
        self.remote = objects is not None
        self._endpoint_url = endpoint_url
        self._client: S3Client | None = objects.client if objects is not None else None
        self._others: dict[S3Location, S3FrameStore] = {}
        self._lock = threading.Lock()

    def s3_store(self, location: S3Location) -> S3FrameStore:
        """The store of a bucket and prefix (the configured one, or another that rows
        still name), sharing one client."""
        if self.objects is not None and self.objects.location == location:
            return self.objects
        with self._lock:
            found = self._others.get(location)
            if found is None:
                if self._client is None:
                    self._client = s3_client(self._endpoint_url)
                found = S3FrameStore(location, self._client)
                self._others[location] = found
            return found

    def store_of(self, uri: str) -> FrameStore:
        if is_file_uri(uri):
            return self.files
        return self.s3_store(split_s3_uri(uri)[0])

    def put(self, uri: str, data: bytes, *, durable: bool) -> str:
        return self.writer.put(uri, data, durable=durable)

    def get(self, uri: str) -> bytes:
        return self.store_of(uri).get(uri)

    def exists(self, uri: str) -> bool:
        return self.store_of(uri).exists(uri)

    def link(self, source_uri: str, uri: str) -> str:
        """A link (files) or server-side copy (one bucket) where the frame is in the
        store written to, else a copy of its bytes (a frame stored before a switch)."""
        source = self.store_of(source_uri)
        if source is self.writer:
            return self.writer.link(source_uri, uri)
        return self.writer.put(uri, source.get(source_uri), durable=True)

    def delete(self, uri: str, *, dry_run: bool = False) -> Removed:
        return self.store_of(uri).delete(uri, dry_run=dry_run)

    def delete_folder(self, uri: str, *, dry_run: bool = False) -> Removed:
        """A folder given by its layout key is the event's in either store (the worker
        cleaning up what it wrote names it so): both are cleared."""
        if not is_file_uri(uri):
            return self.store_of(uri).delete_folder(uri, dry_run=dry_run)
        removed = self.files.delete_folder(uri, dry_run=dry_run)
        if self.objects is not None:
            removed += self.objects.delete_folder(uri, dry_run=dry_run)
        return removed

    def scan(self, area: Area) -> ScanResult:
        found = self.files.scan(area)
        if self.objects is None:
            return found
        more = self.objects.scan(area)
        return ScanResult(found.files + more.files, found.foreign + more.foreign)

    def prune(self, area: Area, *, dry_run: bool = False) -> int:
        return self.files.prune(area, dry_run=dry_run)

    def free_space(self) -> FreeSpace:
        return self.files.free_space()


def open_frame_store(settings: Settings) -> RoutingFrameStore:
    """The frame store of these settings (one per process: it holds the S3 client)."""
    files = FileFrameStore(settings.data_dir)
    location = parse_frame_store(settings.frame_store)
    if location is None:
        return RoutingFrameStore(files, None, endpoint_url=settings.s3_endpoint_url)
    objects = S3FrameStore(location, s3_client(settings.s3_endpoint_url))
    return RoutingFrameStore(files, objects, endpoint_url=settings.s3_endpoint_url)


async def store_call(store: FrameStore, call: Callable[P, T], *args: P.args, **kw: P.kwargs) -> T:
    """``call(*args)`` on the event loop for a local store (a file write takes
    microseconds), in a thread for a remote one (a request takes milliseconds)."""
    if store.remote:
        return await anyio.to_thread.run_sync(functools.partial(call, *args, **kw))
    return call(*args, **kw)
