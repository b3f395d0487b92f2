"""Which store a frame URI names, and the frame store setting (frames/location.py)."""

from __future__ import annotations

import uuid

import pytest

from shelfcam.config import load_settings
from shelfcam.errors import ConfigError, InvalidInput
from shelfcam.frames.location import S3Location, parse_frame_store, split_s3_uri
from shelfcam.retention.plan import event_folder_of

EVENT = uuid.UUID("6f1c8a52-3f0e-4a57-9d57-3c1f0b2a9e11")
KEY = f"events/cam1/2026-12-01/{EVENT}/pre.jpg"


def test_file_is_the_default_store() -> None:
    assert parse_frame_store("file") is None
    assert load_settings(frame_store="file").frame_store == "file"


@pytest.mark.parametrize(
    ("value", "bucket", "prefix"),
    [
        ("s3://frames", "frames", ""),
        ("s3://frames/", "frames", ""),
        ("s3://frames/shop1", "frames", "shop1"),
        ("s3://my.frames-1/a/b/", "my.frames-1", "a/b"),
    ],
)
def test_s3_locations(value: str, bucket: str, prefix: str) -> None:
    location = parse_frame_store(value)
    assert location == S3Location(bucket, prefix)
    uri = location.uri(KEY)
    assert uri == f"s3://{bucket}/{prefix + '/' if prefix else ''}{KEY}"
    assert location.key_of(uri) == KEY
    assert split_s3_uri(uri) == (location, KEY)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "files",
        "/var/lib/frames",
        "s3://",
        "s3://UPPER",
        "s3://ab",
        "s3://frames/../x",
        "s3://frames/.hidden",
        "s3://frames/a b",
        "http://frames",
    ],
)
def test_bad_store_settings_are_refused_saying_what_is_accepted(value: str) -> None:
    with pytest.raises(InvalidInput):
        parse_frame_store(value)
    with pytest.raises(ConfigError, match="SHELFCAM_FRAME_STORE"):
        load_settings(frame_store=value)


def test_a_uri_of_another_store_or_outside_the_layout_is_refused() -> None:
    location = S3Location("frames", "shop1")
    with pytest.raises(InvalidInput):
        location.key_of(f"s3://frames/shop2/{KEY}")
    with pytest.raises(InvalidInput):
        location.key_of("s3://frames/shop1/events/../../etc/passwd")
    with pytest.raises(InvalidInput):
        split_s3_uri("s3://frames/shop1/not/a/frame.jpg")


def test_an_objects_event_folder_keeps_its_store() -> None:
    assert event_folder_of(KEY, EVENT) == f"events/cam1/2026-12-01/{EVENT}"
    assert (
        event_folder_of(f"s3://frames/shop1/{KEY}", EVENT)
        == f"s3://frames/shop1/events/cam1/2026-12-01/{EVENT}"
    )
    assert event_folder_of(f"s3://frames/shop1/{KEY}", uuid.uuid4()) is None


def test_the_endpoint_must_be_http() -> None:
    assert load_settings(s3_endpoint_url="http://127.0.0.1:8333").s3_endpoint_url
    with pytest.raises(ConfigError, match="SHELFCAM_S3_ENDPOINT_URL"):
        load_settings(s3_endpoint_url="127.0.0.1:8333")
