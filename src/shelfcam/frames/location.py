"""Where a frame store is, and which store a stored URI belongs to.

``SHELFCAM_FRAME_STORE`` is ``file`` (files under the data dir) or ``s3://BUCKET[/PREFIX]``.
A file-store URI is a bare layout key (``events/cam/2026-01-02/<id>/pre.jpg``), as every
row written before object stores existed holds; an object's URI is
``s3://BUCKET/PREFIX/<layout key>``, so a row names its store and an install can hold both
while it moves (``shelfcam frames migrate``).

Pure: strings in, strings out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shelfcam.errors import InvalidInput
from shelfcam.frames.layout import check_uri

S3_SCHEME = "s3://"
# Bucket names as S3 allows them (3-63 lowercase letters, digits, dots and dashes).
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_PREFIX_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str
    """Folders before each layout key, without slashes at either end ('' for none)."""

    @property
    def url(self) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self.prefix}" if self.prefix else self.root

    @property
    def root(self) -> str:
        """What every URI of this store starts with (ends with a slash)."""
        return f"{S3_SCHEME}{self.bucket}/" + (f"{self.prefix}/" if self.prefix else "")

    def object_key(self, key: str) -> str:
        """The object key of a layout key."""
        return f"{self.prefix}/{key}" if self.prefix else key

    def uri(self, key: str) -> str:
        return self.root + check_uri(key)

    def key_of(self, uri: str) -> str:
        """The layout key of a URI of this store, or of a bare layout key; refuse any
        other (another bucket or prefix, a key the layout could not have made)."""
        if uri.startswith(S3_SCHEME):
            if not uri.startswith(self.root):
                raise InvalidInput(f"{uri!r} is not in the frame store {self.url}")
            uri = uri[len(self.root) :]
        return check_uri(uri)


FrameStoreLocation = S3Location | None
"""None: the file store under the data dir."""


def parse_frame_store(value: str) -> FrameStoreLocation:
    """``file`` -> None; ``s3://BUCKET[/PREFIX]`` -> its location; anything else raises
    InvalidInput saying what is accepted."""
    text = value.strip()
    if text == "file":
        return None
    if not text.startswith(S3_SCHEME):
        raise InvalidInput(
            f"{value!r} is not a frame store: use 'file' or s3://BUCKET[/PREFIX]",
            code="invalid_frame_store",
        )
    bucket, _, prefix = text[len(S3_SCHEME) :].partition("/")
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise InvalidInput(
            f"{bucket!r} is not an S3 bucket name (3-63 lowercase letters, digits, '.', '-')",
            code="invalid_frame_store",
        )
    parts = [p for p in prefix.strip("/").split("/") if p] if prefix.strip("/") else []
    for part in parts:
        if not _PREFIX_PART.fullmatch(part):
            raise InvalidInput(
                f"{part!r} is not allowed in a frame store prefix (letters, digits, '.', "
                "'_', '-'; not starting with a dot)",
                code="invalid_frame_store",
            )
    return S3Location(bucket, "/".join(parts))


def s3_location_of(uri: str) -> tuple[str, str] | None:
    """(bucket, rest) of an ``s3://`` URI, or None for a file-store URI."""
    if not uri.startswith(S3_SCHEME):
        return None
    bucket, _, rest = uri[len(S3_SCHEME) :].partition("/")
    return bucket, rest


def is_file_uri(uri: str) -> bool:
    return not uri.startswith(S3_SCHEME)


def split_s3_uri(uri: str) -> tuple[S3Location, str]:
    """The store (bucket and prefix) and layout key of an ``s3://`` URI: the key starts at
    the first folder from which the rest is a layout key. Raise InvalidInput otherwise."""
    found = s3_location_of(uri)
    if found is None:
        raise InvalidInput(f"{uri!r} is not an s3:// URI")
    bucket, rest = found
    if not _BUCKET.fullmatch(bucket):
        raise InvalidInput(f"{uri!r} names no valid bucket")
    parts = rest.split("/")
    for start in range(len(parts)):
        if not all(_PREFIX_PART.fullmatch(p) for p in parts[:start]):
            break
        try:
            key = check_uri("/".join(parts[start:]))
        except InvalidInput:
            continue
        return S3Location(bucket, "/".join(parts[:start])), key
    raise InvalidInput(f"{uri!r} is not a frame store path")
