from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest

from shelfcam.errors import InvalidInput, StorageError
from shelfcam.frames import layout
from shelfcam.frames.files import FileFrameStore
from shelfcam.frames.store import Removed
from shelfcam.vocabulary import validate_device_id

DAY = date(2026, 11, 26)
JPEG = b"\xff\xd8\xff" + b"x" * 100 + b"\xff\xd9"


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "/etc",
        "a/b",
        "CON",
        "con",
        "Cam1",
        "cаm1",
        "cam\u00a01",
        "",
        "-cam",
        "a" * 64,
        "cam.1",
        "cam 1",
        "ｃａｍ",
        "cam1\n",
        "..",
    ],
)
def test_bad_device_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        validate_device_id(name)


@pytest.mark.parametrize("name", ["cam1", "pantry-left", "a", "fridge_2", "0", "a" * 63])
def test_good_device_names(name: str) -> None:
    assert validate_device_id(name) == name


def test_layout_matches_the_seed(tmp_path: Path) -> None:
    frames = FileFrameStore(tmp_path)
    capture_id = uuid.uuid4()
    uri = frames.put(layout.staging_uri("cam1", DAY, capture_id), JPEG, durable=False)
    assert uri == f"staging/cam1/2026-11-26/{capture_id}.jpg"
    assert (tmp_path / uri).read_bytes() == JPEG
    event_id = uuid.uuid4()
    pre = frames.link(uri, layout.event_uri("cam1", DAY, event_id, "pre"))
    assert pre == f"events/cam1/2026-11-26/{event_id}/pre.jpg"
    assert frames.get(pre) == JPEG
    assert frames.exists(uri)  # staging is left for the caller to delete
    thumb = frames.put(layout.event_uri("cam1", DAY, event_id, "thumb"), b"t", durable=True)
    assert thumb == f"thumbs/cam1/2026-11-26/{event_id}/thumb.jpg"


def test_no_temporary_files_remain_and_writes_replace_whole(tmp_path: Path) -> None:
    frames = FileFrameStore(tmp_path)
    capture_id = uuid.uuid4()
    frames.put(layout.staging_uri("cam1", DAY, capture_id), JPEG, durable=False)
    frames.put(layout.staging_uri("cam1", DAY, capture_id), JPEG[:10], durable=False)
    folder = tmp_path / "staging/cam1/2026-11-26"
    assert [p.name for p in folder.iterdir()] == [f"{capture_id}.jpg"]
    assert (folder / f"{capture_id}.jpg").read_bytes() == JPEG[:10]


def test_write_failing_midway_leaves_no_final_or_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = FileFrameStore(tmp_path)
    capture_id = uuid.uuid4()

    def broken_replace(self: Path, target: Path) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "replace", broken_replace)
    with pytest.raises(StorageError, match="No space left"):
        frames.put(layout.event_uri("cam1", DAY, capture_id, "pre"), JPEG, durable=True)
    folder = tmp_path / f"events/cam1/2026-11-26/{capture_id}"
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize(
    "uri",
    [
        "../etc/passwd",
        "/etc/passwd",
        "staging/../../etc/passwd",
        "staging/cam1/2026-11-26/../../x.jpg",
        "staging/CON/2026-11-26/00000000-0000-0000-0000-000000000000.jpg",
        "staging/cam1/2026-11-26/not-a-uuid.jpg",
        "events/cam1/2026-11-26/00000000-0000-0000-0000-000000000000/evil.sh",
        "secrets/cam1/2026-11-26/00000000-0000-0000-0000-000000000000.jpg",
        "staging/cam1/26-11-2026/00000000-0000-0000-0000-000000000000.jpg",
    ],
)
def test_uris_outside_the_layout_are_refused(tmp_path: Path, uri: str) -> None:
    with pytest.raises(InvalidInput):
        FileFrameStore(tmp_path).path(uri)


def test_delete_and_prune(tmp_path: Path) -> None:
    frames = FileFrameStore(tmp_path)
    uri = frames.put(layout.staging_uri("cam1", DAY, uuid.uuid4()), JPEG, durable=False)
    assert frames.delete(uri) == Removed(1, len(JPEG))
    assert frames.delete(uri) == Removed()
    event_id = uuid.uuid4()
    frames.put(layout.event_uri("cam1", DAY, event_id, "pre"), JPEG, durable=True)
    frames.put(layout.event_uri("cam1", DAY, event_id, "post"), JPEG, durable=True)
    folder = layout.event_folder_uri("events", "cam1", DAY, event_id)
    assert frames.delete_folder(folder) == Removed(2, 2 * len(JPEG))
    assert not (tmp_path / folder).exists()
    assert frames.prune("events") == 2  # date and device folders
    assert frames.prune("staging") == 2
    assert list((tmp_path / "events").iterdir()) == []


def test_free_space_report(tmp_path: Path) -> None:
    report = FileFrameStore(tmp_path).free_space()
    assert report.total_bytes > 0
    assert 0 <= report.free_bytes <= report.total_bytes
    assert 0.0 <= report.free_fraction <= 1.0


def _outside(tmp_path: Path) -> Path:
    """A folder that is not the store's, with a file the store must never touch."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.jpg").write_bytes(JPEG)
    return outside


def test_a_linked_device_folder_is_not_followed(tmp_path: Path) -> None:
    fs = FileFrameStore(tmp_path / "data")
    outside = _outside(tmp_path)
    capture = uuid.uuid4()
    (outside / DAY.isoformat()).mkdir()
    planted = outside / DAY.isoformat() / f"{capture}.jpg"
    planted.write_bytes(JPEG)
    (tmp_path / "data" / "staging").mkdir(parents=True)
    (tmp_path / "data" / "staging" / "cam1").symlink_to(outside, target_is_directory=True)
    uri = layout.staging_uri("cam1", DAY, capture)
    with pytest.raises(StorageError):
        fs.get(uri)
    with pytest.raises(StorageError):
        fs.put(layout.staging_uri("cam1", DAY, uuid.uuid4()), JPEG, durable=False)
    assert not fs.exists(uri)
    assert fs.delete(uri) == Removed()
    assert planted.read_bytes() == JPEG
    assert sorted(p.name for p in outside.iterdir()) == [DAY.isoformat(), "precious.jpg"]


def test_a_linked_frame_is_not_read_and_deleting_it_removes_only_the_link(tmp_path: Path) -> None:
    fs = FileFrameStore(tmp_path / "data")
    outside = _outside(tmp_path)
    capture = uuid.uuid4()
    uri = fs.put(layout.staging_uri("cam1", DAY, capture), JPEG, durable=False)
    link = fs.path(uri)
    link.unlink()
    link.symlink_to(outside / "precious.jpg")
    with pytest.raises(StorageError):
        fs.get(uri)
    assert not fs.exists(uri)
    with pytest.raises(StorageError):
        fs.link(uri, layout.event_uri("cam1", DAY, uuid.uuid4(), "pre"))
    fs.delete(uri)
    assert not link.is_symlink()
    assert (outside / "precious.jpg").read_bytes() == JPEG


def test_a_linked_event_folder_is_not_emptied(tmp_path: Path) -> None:
    fs = FileFrameStore(tmp_path / "data")
    outside = _outside(tmp_path)
    event = uuid.uuid4()
    folder_uri = layout.event_folder_uri("events", "cam1", DAY, event)
    folder = fs.path(folder_uri)
    folder.parent.mkdir(parents=True)
    folder.symlink_to(outside, target_is_directory=True)
    assert fs.delete_folder(folder_uri) == Removed()
    assert (outside / "precious.jpg").read_bytes() == JPEG
    (tmp_path / "data" / "thumbs").symlink_to(outside, target_is_directory=True)
    scanned = fs.scan("thumbs")
    assert scanned.files == [] and scanned.foreign == ["thumbs"]
