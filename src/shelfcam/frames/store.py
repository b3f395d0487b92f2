"""The frame store: JPEG files under the data dir, in the seed's layout.

    staging/<device_id>/<YYYY-MM-DD>/<capture_id>.jpg
    events/<device_id>/<YYYY-MM-DD>/<event_id>/{pre,post,during,annotated}.jpg
    thumbs/<device_id>/<YYYY-MM-DD>/<event_id>/thumb.jpg
    debug/<device_id>/<YYYY-MM-DD>/<capture_id>.jpg

The database stores each file's ``storage_uri``: its path relative to the data dir, with
forward slashes. Every path is built from checked parts (a device slug, a date, a UUID,
a known role) and every URI read back is parsed against the same rules, so nothing from
outside can name a file outside the store.

Nothing below the data dir is reached through a symbolic link: a link in place of a
folder or a frame (there by mistake, restored from a backup, or planted) is refused, never
followed, so reads, writes and deletions stay inside the store. The data dir itself may be
a link (it is resolved once); put the store on another disk by pointing
SHELFCAM_DATA_DIR there, not by linking its folders.

Writes are atomic: a temporary file in the same folder, renamed into place, so a crash
never leaves a half JPEG under a final name. Event frames are fsynced (file and folder)
before their database commit; staging frames are not (a staging frame lost to a power
cut is marked failed by the worker).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import secrets
import shutil
import stat
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from shelfcam.errors import InvalidInput, ServerBusy, StorageError
from shelfcam.vocabulary import IMAGE_ROLES, ImageRole, validate_device_id

log = logging.getLogger(__name__)

Area = Literal["staging", "events", "thumbs", "debug"]
AREAS: tuple[Area, ...] = ("staging", "events", "thumbs", "debug")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class LinkRefused(StorageError):
    """A symbolic link where the store expects its own folder or file."""


@dataclass(frozen=True)
class FreeSpace:
    total_bytes: int
    free_bytes: int

    @property
    def free_fraction(self) -> float:
        return self.free_bytes / self.total_bytes if self.total_bytes else 0.0


def _check_uuid(value: uuid.UUID | str) -> str:
    text = str(value)
    if not _UUID.fullmatch(text):
        raise InvalidInput(f"{text!r} is not a UUID")
    return text


def _day(value: date) -> str:
    return value.isoformat()


def staging_uri(device_id: str, day: date, capture_id: uuid.UUID) -> str:
    return f"staging/{validate_device_id(device_id)}/{_day(day)}/{_check_uuid(capture_id)}.jpg"


def debug_uri(device_id: str, day: date, capture_id: uuid.UUID) -> str:
    return f"debug/{validate_device_id(device_id)}/{_day(day)}/{_check_uuid(capture_id)}.jpg"


def event_uri(device_id: str, day: date, event_id: uuid.UUID, role: ImageRole) -> str:
    if role not in IMAGE_ROLES:
        raise InvalidInput(f"{role!r} is not an event image role")
    area = "thumbs" if role == "thumb" else "events"
    return f"{area}/{validate_device_id(device_id)}/{_day(day)}/{_check_uuid(event_id)}/{role}.jpg"


def event_folder_uri(
    area: Literal["events", "thumbs"], device_id: str, day: date, event_id: uuid.UUID
) -> str:
    return f"{area}/{validate_device_id(device_id)}/{_day(day)}/{_check_uuid(event_id)}"


def check_uri(uri: str) -> str:
    """Return ``uri`` if it is a path this store could have made, else raise."""
    parts = uri.split("/")
    ok = len(parts) >= 3 and parts[0] in AREAS
    if ok:
        try:
            validate_device_id(parts[1])
        except InvalidInput:
            ok = False
    if ok and parts[0] in ("staging", "debug"):
        ok = (
            len(parts) == 4
            and bool(_DATE.fullmatch(parts[2]))
            and parts[3].endswith(".jpg")
            and bool(_UUID.fullmatch(parts[3][:-4]))
        )
    elif ok:
        ok = (
            3 <= len(parts) <= 5
            and bool(_DATE.fullmatch(parts[2]))
            and (len(parts) < 4 or bool(_UUID.fullmatch(parts[3])))
            and (len(parts) < 5 or parts[4] in {f"{r}.jpg" for r in IMAGE_ROLES})
        )
    if not ok:
        raise InvalidInput(f"{uri!r} is not a frame store path")
    return uri


@dataclass(frozen=True)
class Removed:
    """Files removed (or that would be) and the space that frees: a file that has other
    hard links (an event frame linked to its staging frame) frees nothing."""

    files: int = 0
    bytes: int = 0

    def __add__(self, other: Removed) -> Removed:
        return Removed(self.files + other.files, self.bytes + other.bytes)


@dataclass(frozen=True)
class StoredFile:
    """One file found under an area by :meth:`FrameStore.scan`."""

    uri: str
    area: Area
    device_id: str
    owner_id: uuid.UUID | None
    """The capture (staging/, debug/) or event (events/, thumbs/) the path names; None for
    an atomic write's leftover temporary file."""
    changed_at: float
    """Latest of mtime and ctime (seconds since the epoch): a hard link or a rename counts
    as a change, so a frame just promoted to an event never looks old."""
    size: int
    links: int


@dataclass(frozen=True)
class ScanResult:
    files: list[StoredFile]
    foreign: list[str]
    """Paths that do not fit the layout: never touched, only reported."""


_TEMP = re.compile(r"\.(.+\.jpg)\.[0-9a-f]{8}\.tmp")


def _final_of_temp(uri: str) -> str | None:
    """The URI an atomic write's temporary file was to become, or None."""
    folder, _, name = uri.rpartition("/")
    match = _TEMP.fullmatch(name)
    return f"{folder}/{match.group(1)}" if match else None


class FrameStore:
    """Files under one root folder (the data dir)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._known_folders: set[Path] = set()

    def path(self, uri: str) -> Path:
        return self.root.joinpath(*check_uri(uri).split("/"))

    def _unlinked(self, path: Path) -> Path:
        """``path`` if no folder between the root and it is a symbolic link, else raise
        :class:`LinkRefused`. (Missing folders are fine: there is nothing to follow.)"""
        folder = self.root
        for part in path.relative_to(self.root).parts[:-1]:
            folder = folder / part
            try:
                if stat.S_ISLNK(folder.lstat().st_mode):
                    raise LinkRefused(f"{folder} is a symbolic link; the store does not follow it")
            except FileNotFoundError:
                break
        return path

    def safe_path(self, uri: str) -> Path:
        """The file of a layout URI, refusing a symbolic link on the way (not the file
        itself: callers open it with O_NOFOLLOW or look at it with lstat)."""
        return self._unlinked(self.path(uri))

    def _folder(self, folder: Path) -> None:
        """Create ``folder`` once; later writes to it skip the checks (a hot path)."""
        if folder not in self._known_folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._unlinked(folder / "x")
            if len(self._known_folders) > 10_000:
                self._known_folders.clear()
            self._known_folders.add(folder)

    def _write(self, uri: str, data: bytes, *, durable: bool) -> str:
        final = self.path(uri)
        self._folder(final.parent)
        tmp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        try:
            try:
                fd = os.open(tmp, flags, 0o644)
            except FileNotFoundError:  # the folder went away (retention): make it again
                self._known_folders.discard(final.parent)
                self._folder(final.parent)
                fd = os.open(tmp, flags, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
            tmp.replace(final)
            if durable:
                _fsync_dir(final.parent)
        except OSError as err:
            tmp.unlink(missing_ok=True)
            if err.errno in (errno.EMFILE, errno.ENFILE):  # a moment's shortage, not the disk
                raise ServerBusy(
                    "the server has too many files open; retry shortly",
                    headers={"Retry-After": "5"},
                ) from err
            raise StorageError(f"could not write {uri}: {err.strerror}") from err
        return uri

    def write_staging(self, device_id: str, day: date, capture_id: uuid.UUID, data: bytes) -> str:
        return self._write(staging_uri(device_id, day, capture_id), data, durable=False)

    def write_debug(self, device_id: str, day: date, capture_id: uuid.UUID, data: bytes) -> str:
        return self._write(debug_uri(device_id, day, capture_id), data, durable=False)

    def write_event_image(
        self, device_id: str, day: date, event_id: uuid.UUID, role: ImageRole, data: bytes
    ) -> str:
        """Write an event image durably (fsynced) and return its URI."""
        return self._write(event_uri(device_id, day, event_id, role), data, durable=True)

    def promote(
        self, source_uri: str, device_id: str, day: date, event_id: uuid.UUID, role: ImageRole
    ) -> str:
        """Make a staging frame an event frame (durably) and return the event URI.

        The event file is a hard link to the staging file where the file system allows
        (no copy), else a copy. The staging name is left in place: the caller deletes it
        once nothing else needs it (one frame can be the ``post`` of one event and the
        ``pre`` of the next).
        """
        source = self.safe_path(source_uri)
        uri = event_uri(device_id, day, event_id, role)
        final = self.path(uri)
        final.parent.mkdir(parents=True, exist_ok=True)
        self._unlinked(final)
        if not stat.S_ISREG(source.lstat().st_mode):  # FileNotFoundError if it is gone
            raise LinkRefused(f"{source_uri} is not a regular file; not promoted")
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(final.lstat(), source.lstat()):
                return uri  # already promoted (a retried frame): rename() would keep tmp
        tmp = final.with_name(f".{final.name}.{secrets.token_hex(4)}.tmp")
        try:
            try:
                _link_or_copy(source, tmp)
            except FileNotFoundError:
                if not source.is_file():
                    raise
                # the (empty) folder was pruned by retention between mkdir and link
                final.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(source, tmp)
            with tmp.open("rb+") as handle:
                os.fsync(handle.fileno())
            tmp.replace(final)
            _fsync_dir(final.parent)
        except FileNotFoundError:
            tmp.unlink(missing_ok=True)
            raise
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"could not promote {source_uri}: {err.strerror}") from err
        return uri

    def read(self, uri: str) -> bytes:
        try:
            fd = os.open(self.safe_path(uri), os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            raise
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise LinkRefused(
                    f"{uri} is a symbolic link; the store does not follow it"
                ) from err
            raise StorageError(f"could not read {uri}: {err.strerror}") from err
        try:
            with os.fdopen(fd, "rb") as handle:
                return handle.read()
        except OSError as err:
            raise StorageError(f"could not read {uri}: {err.strerror}") from err

    def exists(self, uri: str) -> bool:
        try:
            return stat.S_ISREG(self.safe_path(uri).lstat().st_mode)
        except (FileNotFoundError, LinkRefused):
            return False

    def delete(self, uri: str) -> int:
        """Delete one file; return the bytes freed (0 if it was already gone). A symbolic
        link is removed itself, never what it points to."""
        target = self.safe_path(uri)
        try:
            size = target.lstat().st_size
            target.unlink()
        except FileNotFoundError:
            return 0
        return size

    def delete_tree(self, uri: str) -> int:
        """Delete an event folder and everything in it; return the bytes freed. A folder
        that is a symbolic link is refused: what it points to is not the store's."""
        target = self.safe_path(uri)
        freed = 0
        try:
            if not stat.S_ISDIR(target.lstat().st_mode):
                if stat.S_ISLNK(target.lstat().st_mode):
                    raise LinkRefused(f"{uri} is a symbolic link; the store does not follow it")
                return 0
        except FileNotFoundError:
            return 0
        for child in target.iterdir():
            with contextlib.suppress(FileNotFoundError):
                freed += child.lstat().st_size
                child.unlink()
        with contextlib.suppress(FileNotFoundError):
            target.rmdir()
        return freed

    def prune_empty_dirs(self, area: Area) -> int:
        """Remove empty device/date/event folders under ``area``; return how many."""
        base = self.root / area
        removed = 0
        if not base.is_dir():
            return 0
        for folder in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
            try:
                folder.rmdir()
                removed += 1
            except OSError as err:
                if err.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                    raise
        return removed

    def _target(self, uri: str) -> Path:
        """The path of a layout URI, or of an atomic write's temporary file beside one."""
        final = _final_of_temp(uri)
        if final is None:
            return self.path(uri)
        return self.path(final).with_name(uri.rpartition("/")[2])

    def remove(self, uri: str, *, dry_run: bool = False) -> Removed:
        """Delete one file (or only measure it, ``dry_run``); nothing if it is gone."""
        try:
            target = self._unlinked(self._target(uri))
        except LinkRefused as err:
            log.warning("action=file_kept uri=%s reason=%s", uri, err.detail)
            return Removed()
        try:
            info = target.lstat()
            if not dry_run:
                target.unlink()
        except FileNotFoundError:
            return Removed()
        return Removed(1, info.st_size if info.st_nlink <= 1 else 0)

    def remove_tree(self, uri: str, *, dry_run: bool = False) -> Removed:
        """Delete an event folder's files and the folder (or only measure them)."""
        removed = Removed()
        try:
            target = self.safe_path(uri)
        except LinkRefused as err:
            log.warning("action=folder_kept uri=%s reason=%s", uri, err.detail)
            return removed
        try:
            if not stat.S_ISDIR(target.lstat().st_mode):  # a link or a file: not a folder
                return removed
            entries = list(os.scandir(target))
        except (FileNotFoundError, NotADirectoryError):
            return removed
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
                if not dry_run:
                    Path(entry.path).unlink()
            except FileNotFoundError:
                continue
            removed += Removed(1, info.st_size if info.st_nlink <= 1 else 0)
        if not dry_run:
            with contextlib.suppress(OSError):  # not empty (a file just written) or gone
                target.rmdir()
        return removed

    def scan(self, area: Area) -> ScanResult:
        """Every file under ``area`` (no symlinks followed), with what its path names."""
        base = self.root / area
        files: list[StoredFile] = []
        foreign: list[str] = []
        if base.is_symlink():
            return ScanResult(files, [area])
        stack: list[tuple[Path, str]] = [(base, area)]
        while stack:
            folder, prefix = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                uri = f"{prefix}/{entry.name}"
                if entry.is_dir(follow_symlinks=False):
                    stack.append((Path(entry.path), uri))
                    continue
                found = self._identify(uri, area, entry)
                if found is None:
                    foreign.append(uri)
                else:
                    files.append(found)
        return ScanResult(files, foreign)

    def _identify(self, uri: str, area: Area, entry: os.DirEntry[str]) -> StoredFile | None:
        if not entry.is_file(follow_symlinks=False):
            return None
        final = _final_of_temp(uri)
        try:
            check_uri(final or uri)
            info = entry.stat(follow_symlinks=False)
        except (InvalidInput, FileNotFoundError):
            return None
        parts = uri.split("/")
        owner: uuid.UUID | None = None
        if final is None:
            owner = uuid.UUID(parts[3][:-4] if area in ("staging", "debug") else parts[3])
        return StoredFile(
            uri=uri,
            area=area,
            device_id=parts[1],
            owner_id=owner,
            changed_at=max(info.st_mtime, info.st_ctime),
            size=info.st_size,
            links=info.st_nlink,
        )

    def count_empty_dirs(self, area: Area) -> int:
        """How many folders under ``area`` are empty now (what a dry run reports)."""
        base = self.root / area
        if not base.is_dir():
            return 0
        return sum(1 for p in base.rglob("*") if p.is_dir() and not any(True for _ in p.iterdir()))

    def free_space(self) -> FreeSpace:
        self.root.mkdir(parents=True, exist_ok=True)
        usage = shutil.disk_usage(self.root)
        return FreeSpace(usage.total, usage.free)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError as err:
        if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
            raise
        shutil.copyfile(source, target)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
