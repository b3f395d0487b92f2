"""The object frame store: JPEGs as objects in an S3-compatible bucket (AWS, MinIO,
SeaweedFS, Ceph, Garage), keyed ``PREFIX/<layout key>`` (frames/layout.py).

A URI of this store is ``s3://BUCKET/PREFIX/<layout key>`` (frames/location.py), so a row
says where its frame is. An object appears whole or not at all (S3 writes are atomic) and
is durable when the server acknowledges it, so ``durable`` needs nothing more. An event
frame is a server-side copy of its staging object (S3 has no links): its bytes never
travel through shelfcam. Deleting an object that is already gone (a bucket lifecycle rule,
an operator) is not an error.

Every call blocks (boto3 is synchronous): callers on an event loop run them in a thread
(`remote` says so). The server's trouble (unreachable, refused, timed out) raises
`StoreUnavailable` (503, retry later); a missing object raises FileNotFoundError like a
missing file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shelfcam.errors import StoreUnavailable
from shelfcam.frames.layout import Area, identify
from shelfcam.frames.location import S3Location
from shelfcam.frames.store import FreeSpace, Removed, ScanResult, StoredFile

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
else:
    S3Client = Any

__all__ = ["DELETE_BATCH", "S3Client", "S3FrameStore", "s3_client"]

log = logging.getLogger(__name__)

DELETE_BATCH = 1000
"""Keys per DeleteObjects request (the S3 maximum)."""
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def s3_client(endpoint_url: str | None) -> S3Client:
    """One client per process and endpoint (thread-safe); credentials and region from the
    standard AWS variables or profile."""
    config = Config(
        connect_timeout=5,
        read_timeout=30,
        retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=64,  # above anyio's 40 threads: none waits for a connection
    )
    client: S3Client = boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, config=config
    )
    return client


def _missing(err: ClientError) -> bool:
    return str(err.response.get("Error", {}).get("Code", "")) in _MISSING


def _unavailable(action: str, uri: str, err: Exception) -> StoreUnavailable:
    if isinstance(err, ClientError):
        reason = str(err.response.get("Error", {}).get("Code", "error"))
    else:
        reason = type(err).__name__
    log.warning("action=object_store_failed op=%s uri=%s reason=%s", action, uri, reason)
    return StoreUnavailable(
        f"the frame store could not {action} {uri} ({reason}); retry later",
        headers={"Retry-After": "5"},
    )


class S3FrameStore:
    """A bucket (and prefix) of an S3-compatible server: the `FrameStore` of machines that
    share nothing but PostgreSQL and the object store (docs/scaling.md)."""

    remote = True

    def __init__(self, location: S3Location, client: S3Client) -> None:
        self.location = location
        self.client = client
        self.bucket = location.bucket

    def _key(self, uri: str) -> str:
        return self.location.object_key(self.location.key_of(uri))

    def put(self, uri: str, data: bytes, *, durable: bool) -> str:
        key = self.location.key_of(uri)
        stored = self.location.uri(key)
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.location.object_key(key),
                Body=data,
                ContentType="image/jpeg",
            )
        except (BotoCoreError, ClientError) as err:
            raise _unavailable("write", stored, err) from err
        return stored

    def get(self, uri: str) -> bytes:
        key = self._key(uri)
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=key)
            return found["Body"].read()
        except ClientError as err:
            if _missing(err):
                raise FileNotFoundError(uri) from err
            raise _unavailable("read", uri, err) from err
        except BotoCoreError as err:
            raise _unavailable("read", uri, err) from err

    def _size(self, key: str, uri: str) -> int | None:
        """The object's size, None when it is not there."""
        try:
            return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])
        except ClientError as err:
            if _missing(err):
                return None
            raise _unavailable("look up", uri, err) from err
        except BotoCoreError as err:
            raise _unavailable("look up", uri, err) from err

    def exists(self, uri: str) -> bool:
        return self._size(self._key(uri), uri) is not None

    def link(self, source_uri: str, uri: str) -> str:
        """A server-side copy (S3 has no links); copying again is harmless."""
        source = self._key(source_uri)
        key = self.location.key_of(uri)
        stored = self.location.uri(key)
        try:
            self.client.copy_object(
                Bucket=self.bucket,
                Key=self.location.object_key(key),
                CopySource={"Bucket": self.bucket, "Key": source},
            )
        except ClientError as err:
            if _missing(err):
                raise FileNotFoundError(source_uri) from err
            raise _unavailable("copy", source_uri, err) from err
        except BotoCoreError as err:
            raise _unavailable("copy", source_uri, err) from err
        return stored

    def delete(self, uri: str, *, dry_run: bool = False) -> Removed:
        key = self._key(uri)
        size = self._size(key, uri)
        if size is None:  # gone already (a lifecycle rule, a crash after the delete)
            return Removed()
        if not dry_run:
            try:
                self.client.delete_object(Bucket=self.bucket, Key=key)
            except (BotoCoreError, ClientError) as err:
                raise _unavailable("delete", uri, err) from err
        return Removed(1, size)

    def _listed(self, prefix: str, uri: str) -> Iterator[tuple[str, int, float]]:
        """(object key, size, last modified) of every object under ``prefix``."""
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    yield item["Key"], int(item["Size"]), item["LastModified"].timestamp()
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code", "")) == "NoSuchBucket":
                raise _unavailable("list (no such bucket)", uri, err) from err
            raise _unavailable("list", uri, err) from err
        except BotoCoreError as err:
            raise _unavailable("list", uri, err) from err

    def delete_folder(self, uri: str, *, dry_run: bool = False) -> Removed:
        """Every object under an event's folder, listed then deleted in batches."""
        prefix = self._key(uri).rstrip("/") + "/"
        found = list(self._listed(prefix, uri))
        if not dry_run:
            self.delete_keys([key for key, _, _ in found], uri)
        return Removed(len(found), sum(size for _, size, _ in found))

    def delete_keys(self, keys: list[str], what: str) -> None:
        """Delete objects by key, DELETE_BATCH per request; keys already gone are fine."""
        for start in range(0, len(keys), DELETE_BATCH):
            chunk = keys[start : start + DELETE_BATCH]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
                )
            except (BotoCoreError, ClientError) as err:
                raise _unavailable("delete", what, err) from err
            failed = [e for e in answer.get("Errors", []) if e.get("Code") not in _MISSING]
            if failed:
                raise StoreUnavailable(
                    f"the frame store refused to delete {len(failed)} objects under {what} "
                    f"({failed[0].get('Code')}); retry later"
                )

    def scan(self, area: Area) -> ScanResult:
        files: list[StoredFile] = []
        foreign: list[str] = []
        root = self.location.object_key(area) + "/"
        skip = len(self.location.object_key(""))
        for object_key, size, modified in self._listed(root, self.location.url):
            key = object_key[skip:]
            named = identify(key)
            if named is None or named.owner_id is None:
                foreign.append(f"{self.location.root}{key}")
                continue
            files.append(
                StoredFile(
                    uri=self.location.uri(key),
                    area=named.area,
                    device_id=named.device_id,
                    owner_id=named.owner_id,
                    changed_at=modified,
                    size=size,
                    links=1,
                )
            )
        return ScanResult(files, foreign)

    def prune(self, area: Area, *, dry_run: bool = False) -> int:
        """Nothing to do: an object store has no folders to leave empty."""
        return 0

    def free_space(self) -> FreeSpace:
        """An object store does not run out the way a disk does: nothing to guard."""
        return FreeSpace(0, 0)
