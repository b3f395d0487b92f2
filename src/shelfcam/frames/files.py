"""The file-system frame store: JPEG files under the data dir, in the layout of
frames/layout.py (a key is the file's path relative to the data dir).

Nothing below the data dir is reached through a symbolic link: a link in place of a
folder or a frame (there by mistake, restored from a backup, or planted) is refused, never
followed, so reads, writes and deletions stay inside the store. The data dir itself may be
a link (it is resolved once); put the store on another disk by pointing
SHELFCAM_DATA_DIR there, not by linking its folders.

Writes are atomic: a temporary file in the same folder, renamed into place, so a crash
never leaves a half JPEG under a final name. Durable writes fsync the file and its folder
before they return. An event frame is a hard link to its staging file where the file
system allows (no copy).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import shutil
import stat
from pathlib import Path

from shelfcam.errors import ServerBusy, StorageError
from shelfcam.frames.layout import Area, check_uri, final_of_temp, identify
from shelfcam.frames.store import FreeSpace, LinkRefused, Removed, ScanResult, StoredFile

log = logging.getLogger(__name__)


class FileFrameStore:
    """Files under one root folder (the data dir): the `FrameStore` of a single machine or
    of machines sharing that folder (docs/scaling.md)."""

    remote = False

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

    def put(self, uri: str, data: bytes, *, durable: bool) -> str:
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

    def link(self, source_uri: str, uri: str) -> str:
        """A hard link to the source file where the file system allows (no copy), else a
        copy; fsynced with its folder."""
        source = self.safe_path(source_uri)
        final = self.path(uri)
        final.parent.mkdir(parents=True, exist_ok=True)
        self._unlinked(final)
        if not stat.S_ISREG(source.lstat().st_mode):  # FileNotFoundError if it is gone
            raise LinkRefused(f"{source_uri} is not a regular file; not linked")
        with contextlib.suppress(FileNotFoundError):
            if os.path.samestat(final.lstat(), source.lstat()):
                return uri  # already linked (a retried frame): rename() would keep tmp
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
            raise StorageError(f"could not link {source_uri}: {err.strerror}") from err
        return uri

    def get(self, uri: str) -> bytes:
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

    def _target(self, uri: str) -> Path:
        """The path of a layout URI, or of an atomic write's temporary file beside one."""
        final = final_of_temp(uri)
        if final is None:
            return self.path(uri)
        return self.path(final).with_name(uri.rpartition("/")[2])

    def delete(self, uri: str, *, dry_run: bool = False) -> Removed:
        """A symbolic link in the way is left alone (logged), never followed; a link in
        place of the frame is removed itself, never what it points to."""
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

    def delete_folder(self, uri: str, *, dry_run: bool = False) -> Removed:
        """A folder that is a symbolic link is left alone: what it points to is not the
        store's."""
        removed = Removed()
        try:
            target = self.safe_path(uri)
        except LinkRefused as err:
            log.warning("action=folder_kept uri=%s reason=%s", uri, err.detail)
            return removed
        try:
            if not stat.S_ISDIR(target.lstat().st_mode):  # a link or a file: not a folder
                if stat.S_ISLNK(target.lstat().st_mode):
                    log.warning("action=folder_kept uri=%s reason=symbolic link", uri)
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

    def prune(self, area: Area, *, dry_run: bool = False) -> int:
        base = self.root / area
        if not base.is_dir() or base.is_symlink():
            return 0
        if dry_run:
            return sum(
                1 for p in base.rglob("*") if p.is_dir() and not any(True for _ in p.iterdir())
            )
        removed = 0
        for folder in sorted((p for p in base.rglob("*") if p.is_dir()), reverse=True):
            try:
                folder.rmdir()
                removed += 1
            except OSError as err:
                if err.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                    raise
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
                found = _stored(uri, entry)
                if found is None:
                    foreign.append(uri)
                else:
                    files.append(found)
        return ScanResult(files, foreign)

    def free_space(self) -> FreeSpace:
        self.root.mkdir(parents=True, exist_ok=True)
        usage = shutil.disk_usage(self.root)
        return FreeSpace(usage.total, usage.free)


def _stored(uri: str, entry: os.DirEntry[str]) -> StoredFile | None:
    named = identify(uri) if entry.is_file(follow_symlinks=False) else None
    if named is None:
        return None
    try:
        info = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        return None
    return StoredFile(
        uri=uri,
        area=named.area,
        device_id=named.device_id,
        owner_id=named.owner_id,
        changed_at=max(info.st_mtime, info.st_ctime),
        size=info.st_size,
        links=info.st_nlink,
    )


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
