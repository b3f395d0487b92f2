"""The retention rule, as a table: rows and a clock in, decisions out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shelfcam.retention.plan import (
    CaptureOwner,
    CaptureRow,
    EventCaptureRow,
    EventOwner,
    EventRow,
    FileRow,
    GuardCandidate,
    ImageRow,
    Policy,
    PurgeRow,
    Rows,
    capture_file_claim,
    disk_guard,
    event_file_claim,
    plan,
)

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
POLICY = Policy(
    event_retention=timedelta(days=7),
    staging_retention=timedelta(hours=24),
    staging_window=timedelta(minutes=10),
)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def event(age: timedelta, *, roles: tuple[str, ...] = ("pre", "post", "thumb")) -> EventRow:
    event_id = uuid.uuid4()
    started = NOW - age
    day = started.date().isoformat()
    images = tuple(
        ImageRow(
            event_id=event_id,
            role=role,
            capture_id=None if role == "thumb" else uuid.uuid4(),
            uri=f"{'thumbs' if role == 'thumb' else 'events'}/cam1/{day}/{event_id}/{role}.jpg",
            expired=False,
            created_at=started,
        )
        for role in roles
    )
    return EventRow(event_id, "cam1", started, images)


@pytest.mark.parametrize(
    ("age", "expires"),
    [
        (6 * 24 * H + 23 * H, False),
        (7 * 24 * H - M, False),
        (7 * 24 * H, False),  # "older than": exactly at the limit stays
        (7 * 24 * H + M, True),
        (7 * 24 * H + H, True),
        (400 * 24 * H, True),
    ],
)
def test_event_frames_expire_strictly_after_the_retention(age: timedelta, expires: bool) -> None:
    row = event(age)
    out = plan(Rows(events=[row]), POLICY, NOW)
    assert (out.expired_events == (row.event_id,)) is expires
    assert len(out.expired_images) == (3 if expires else 0)
    day = row.started_at.date().isoformat()
    expected = (
        (f"events/cam1/{day}/{row.event_id}", f"thumbs/cam1/{day}/{row.event_id}")
        if expires
        else ()
    )
    assert out.event_folders == expected


def test_already_expired_images_are_not_expired_again() -> None:
    row = event(8 * 24 * H)
    done = EventRow(
        row.event_id,
        row.device_id,
        row.started_at,
        tuple(
            ImageRow(i.event_id, i.role, i.capture_id, i.uri, True, i.created_at)
            for i in row.images
        ),
    )
    out = plan(Rows(events=[done]), POLICY, NOW)
    assert out.expired_events == () and out.expired_images == () and out.event_folders == ()


def test_an_image_outside_its_event_folder_is_deleted_as_a_file() -> None:
    row = event(8 * 24 * H, roles=("pre",))
    odd = ImageRow(row.event_id, "annotated", None, "events/cam1/2026-01-01/x.jpg", False, NOW)
    out = plan(
        Rows(events=[EventRow(row.event_id, "cam1", row.started_at, (*row.images, odd))]),
        POLICY,
        NOW,
    )
    assert out.event_files == ("events/cam1/2026-01-01/x.jpg",)


def test_event_captures_are_discarded_or_pointed_at_a_live_copy() -> None:
    old = event(8 * 24 * H, roles=("pre", "post"))
    young = event(1 * 24 * H, roles=("pre",))
    shared = old.images[1].capture_id  # the post of the old event is the pre of the young one
    assert shared is not None
    young_pre = ImageRow(
        young.event_id, "pre", shared, young.images[0].uri, False, young.started_at
    )
    young = EventRow(young.event_id, "cam1", young.started_at, (young_pre,))
    only_old = old.images[0].capture_id
    assert only_old is not None
    captures = [
        EventCaptureRow(only_old, old.images[0].uri, (old.images[0],)),
        EventCaptureRow(shared, old.images[1].uri, (old.images[1], young_pre)),
        # already pointing at the live copy: nothing to do
        EventCaptureRow(uuid.uuid4(), young_pre.uri, (young_pre,)),
    ]
    out = plan(Rows(events=[old, young], event_captures=captures), POLICY, NOW)
    by_id = {c.capture_id: c for c in out.capture_changes}
    assert set(by_id) == {only_old, shared}
    assert (by_id[only_old].to_class, by_id[only_old].new_uri) == ("discarded", None)
    assert (by_id[shared].to_class, by_id[shared].new_uri) == ("event", young_pre.uri)
    assert all(c.old_file is None for c in out.capture_changes)  # files go with the folders


def staging(
    age: timedelta,
    *,
    status: str = "processed",
    kept: bool = False,
    event_uri: str | None = None,
    storage_class: str = "staging",
) -> CaptureRow:
    capture_id = uuid.uuid4()
    return CaptureRow(
        capture_id=capture_id,
        device_id="cam1",
        storage_class=storage_class,  # type: ignore[arg-type]
        received_at=NOW - age,
        analysis_status=status,
        storage_uri=f"{storage_class}/cam1/2026-11-26/{capture_id}.jpg",
        kept=kept,
        event_uri=event_uri,
    )


@pytest.mark.parametrize(
    ("row", "reason", "fail"),
    [
        (staging(9 * M), None, False),  # younger than the window
        (staging(10 * M), None, False),  # exactly the window
        (staging(11 * M), "staging_unreferenced", False),
        (staging(11 * M, status="failed"), "staging_unreferenced", False),
        (staging(11 * M, status="skipped"), "staging_unreferenced", False),
        (staging(11 * M, status="queued"), None, False),  # its job has not run
        (staging(11 * M, kept=True), None, False),  # the engine still needs it
        (staging(23 * H + 59 * M, kept=True), None, False),
        (staging(24 * H + M, kept=True), "staging_expired", False),  # whatever needs it
        (staging(24 * H + M, status="queued"), "staging_expired", True),
        (staging(59 * M, storage_class="debug"), None, False),
        (staging(61 * M, storage_class="debug"), "debug_expired", False),
    ],
)
def test_staging_and_debug_frames(row: CaptureRow, reason: str | None, fail: bool) -> None:
    out = plan(Rows(captures=[row]), POLICY, NOW)
    if reason is None:
        assert out.capture_changes == ()
        return
    (change,) = out.capture_changes
    assert change.reason == reason
    assert change.fail_analysis is fail
    assert (change.from_class, change.to_class) == (row.storage_class, "discarded")
    assert change.new_uri is None
    assert out.released_files == (row.storage_uri,)


def test_a_staging_frame_with_a_live_event_copy_becomes_an_event_capture() -> None:
    row = staging(11 * M, event_uri="events/cam1/2026-11-26/e/pre.jpg")
    (change,) = plan(Rows(captures=[row]), POLICY, NOW).capture_changes
    assert (change.to_class, change.new_uri) == ("event", "events/cam1/2026-11-26/e/pre.jpg")
    assert change.old_file == row.storage_uri


def test_a_window_longer_than_the_staging_retention_still_caps_it() -> None:
    policy = Policy(timedelta(days=7), timedelta(hours=1), timedelta(hours=2))
    assert policy.staging_before(NOW) == NOW - timedelta(hours=1)
    (change,) = plan(Rows(captures=[staging(61 * M, kept=True)]), policy, NOW).capture_changes
    assert change.reason == "staging_expired"


@pytest.mark.parametrize(
    ("claim", "age", "deleted"),
    [
        ("live", 1000 * H, None),
        ("gone", 0 * M, "released"),  # the row let it go: at once
        ("none", 9 * M, None),  # maybe ingest is about to record it
        ("none", 11 * M, "unclaimed"),
    ],
)
def test_files(claim: str, age: timedelta, deleted: str | None) -> None:
    row = FileRow("staging/cam1/2026-11-26/x.jpg", NOW - age, 10, claim)  # type: ignore[arg-type]
    out = plan(Rows(files=[row]), POLICY, NOW)
    assert [f.reason for f in out.files] == ([deleted] if deleted else [])


def test_claims() -> None:
    uri = "staging/cam1/2026-11-26/a.jpg"
    assert capture_file_claim(uri, None) == "none"
    assert capture_file_claim(uri, CaptureOwner("staging", uri)) == "live"
    assert capture_file_claim(uri, CaptureOwner("debug", uri)) == "live"
    assert capture_file_claim(uri, CaptureOwner("discarded", None)) == "gone"
    assert capture_file_claim(uri, CaptureOwner("event", "events/x/pre.jpg")) == "gone"
    pre = "events/cam1/2026-11-26/e/pre.jpg"
    owner = EventOwner(frozenset({pre}), frozenset({"events/cam1/2026-11-26/e/post.jpg"}))
    assert event_file_claim(pre, owner) == "live"
    assert event_file_claim("events/cam1/2026-11-26/e/post.jpg", owner) == "gone"
    assert event_file_claim("events/cam1/2026-11-26/e/during.jpg", owner) == "none"
    assert event_file_claim(pre, None) == "none"


@pytest.mark.parametrize(
    ("row", "purged"),
    [
        (PurgeRow(uuid.uuid4(), NOW - 31 * 24 * H, "discarded", "processed", False), True),
        (PurgeRow(uuid.uuid4(), NOW - 29 * 24 * H, "discarded", "processed", False), False),
        (PurgeRow(uuid.uuid4(), NOW - 31 * 24 * H, "event", "processed", False), False),
        (PurgeRow(uuid.uuid4(), NOW - 31 * 24 * H, "staging", "processed", False), False),
        (PurgeRow(uuid.uuid4(), NOW - 31 * 24 * H, "discarded", "queued", False), False),
        (PurgeRow(uuid.uuid4(), NOW - 31 * 24 * H, "discarded", "processed", True), False),
    ],
)
def test_captures_rows_purge(row: PurgeRow, purged: bool) -> None:
    policy = Policy(
        timedelta(days=7),
        timedelta(hours=24),
        timedelta(minutes=10),
        capture_retention=timedelta(days=30),
    )
    assert plan(Rows(purge=[row]), policy, NOW).purge == ((row.capture_id,) if purged else ())
    assert plan(Rows(purge=[row]), POLICY, NOW).purge == ()  # off by default


def test_disk_guard_takes_the_oldest_until_the_deficit_is_covered() -> None:
    ids = [uuid.uuid4() for _ in range(5)]
    candidates = [GuardCandidate(ids[i], NOW - (5 - i) * H, 100) for i in range(5)]
    assert disk_guard(reversed(candidates), free_bytes=1000, floor_bytes=1250, max_events=10) == (
        ids[0],
        ids[1],
        ids[2],
    )
    assert disk_guard(candidates, free_bytes=0, floor_bytes=10_000, max_events=2) == (
        ids[0],
        ids[1],
    )
    assert disk_guard(candidates, free_bytes=1, floor_bytes=2, max_events=10) == (ids[0],)
    assert disk_guard(candidates, free_bytes=2000, floor_bytes=1000, max_events=10) == ()
    assert disk_guard([], free_bytes=0, floor_bytes=1000, max_events=10) == ()
