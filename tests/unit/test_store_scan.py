"""The frame store's side of retention: scan, remove (with hard links), temp files."""

from __future__ import annotations

import time
import uuid
from datetime import date
from pathlib import Path

import pytest

from shelfcam.errors import InvalidInput
from shelfcam.frames import layout
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.store import Removed

DAY = date(2026, 11, 26)
JPEG = b"\xff\xd8\xff" + b"x" * 100 + b"\xff\xd9"


def test_scan_names_owners_and_leaves_foreign_files_out(tmp_path: Path) -> None:
    frames = FileFrameStore(tmp_path)
    capture_id, event_id = uuid.uuid4(), uuid.uuid4()
    staging = frames.put(layout.staging_uri("cam1", DAY, capture_id), JPEG, durable=False)
    pre = frames.link(staging, layout.event_uri("cam1", DAY, event_id, "pre"))
    temp = tmp_path / "staging/cam1/2026-11-26" / f".{uuid.uuid4()}.jpg.0123abcd.tmp"
    temp.write_bytes(b"half")
    (tmp_path / "staging/cam1/notes.txt").write_text("mine")
    (tmp_path / "staging/cam1/2026-11-26/link.jpg").symlink_to("/etc/hostname")

    found = frames.scan("staging")
    by_uri = {f.uri: f for f in found.files}
    assert set(by_uri) == {staging, f"staging/cam1/2026-11-26/{temp.name}"}
    assert by_uri[staging].owner_id == capture_id
    assert by_uri[staging].links == 2  # the event copy is a hard link
    assert by_uri[f"staging/cam1/2026-11-26/{temp.name}"].owner_id is None
    assert sorted(found.foreign) == ["staging/cam1/2026-11-26/link.jpg", "staging/cam1/notes.txt"]
    assert abs(by_uri[staging].changed_at - time.time()) < 3600

    (event_file,) = frames.scan("events").files
    assert (event_file.uri, event_file.owner_id, event_file.device_id) == (pre, event_id, "cam1")
    assert frames.scan("debug").files == []


def test_remove_counts_space_only_for_the_last_link(tmp_path: Path) -> None:
    frames = FileFrameStore(tmp_path)
    event_id = uuid.uuid4()
    staging = frames.put(layout.staging_uri("cam1", DAY, uuid.uuid4()), JPEG, durable=False)
    pre = frames.link(staging, layout.event_uri("cam1", DAY, event_id, "pre"))
    frames.put(layout.event_uri("cam1", DAY, event_id, "annotated"), JPEG, durable=True)
    assert frames.delete(staging, dry_run=True) == Removed(1, 0)
    assert frames.exists(staging)
    assert frames.delete(staging) == Removed(1, 0)  # the event copy still holds the bytes
    assert frames.delete(staging) == Removed()
    folder = layout.event_folder_uri("events", "cam1", DAY, event_id)
    assert frames.delete_folder(folder, dry_run=True) == Removed(2, 2 * len(JPEG))
    assert frames.exists(pre)
    assert frames.delete_folder(folder) == Removed(2, 2 * len(JPEG))
    assert not (tmp_path / folder).exists()
    assert frames.delete_folder(folder) == Removed()


def test_remove_accepts_temp_files_of_the_layout_only(tmp_path: Path) -> None:
    frames = FileFrameStore(tmp_path)
    folder = tmp_path / "staging/cam1/2026-11-26"
    folder.mkdir(parents=True)
    name = f".{uuid.uuid4()}.jpg.0123abcd.tmp"
    (folder / name).write_bytes(b"half")
    assert frames.delete(f"staging/cam1/2026-11-26/{name}") == Removed(1, 4)
    with pytest.raises(InvalidInput):
        frames.delete("staging/cam1/2026-11-26/.evil.sh.0123abcd.tmp")
    with pytest.raises(InvalidInput):
        frames.delete("staging/../.x.jpg.0123abcd.tmp")


def test_count_empty_dirs_and_prune(tmp_path: Path) -> None:
    frames = FileFrameStore(tmp_path)
    uri = frames.put(layout.staging_uri("cam1", DAY, uuid.uuid4()), JPEG, durable=False)
    (tmp_path / "staging/cam2/2026-11-20").mkdir(parents=True)
    assert frames.prune("staging", dry_run=True) == 1  # only the leaf is empty now
    frames.delete(uri)
    assert frames.prune("staging") == 4
    assert frames.prune("staging", dry_run=True) == 0


def test_promote_recreates_a_folder_pruned_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = FileFrameStore(tmp_path)
    staging = frames.put(layout.staging_uri("cam1", DAY, uuid.uuid4()), JPEG, durable=False)
    event_id = uuid.uuid4()
    folder = tmp_path / layout.event_folder_uri("events", "cam1", DAY, event_id)
    real_mkdir = Path.mkdir
    pruned: list[bool] = []

    def mkdir_then_prune(self: Path, *args: object, **kwargs: object) -> None:
        real_mkdir(self, *args, **kwargs)  # type: ignore[arg-type]
        if self == folder and not pruned:  # retention removes the empty folder at once
            pruned.append(True)
            frames.prune("events")

    monkeypatch.setattr(Path, "mkdir", mkdir_then_prune)
    uri = frames.link(staging, layout.event_uri("cam1", DAY, event_id, "pre"))
    assert pruned and frames.get(uri) == JPEG


def test_promote_of_a_missing_frame_still_raises(tmp_path: Path) -> None:
    frames = FileFrameStore(tmp_path)
    missing = layout.staging_uri("cam1", DAY, uuid.uuid4())
    with pytest.raises(FileNotFoundError):
        frames.link(missing, layout.event_uri("cam1", DAY, uuid.uuid4(), "pre"))
