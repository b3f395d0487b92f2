"""The pure half of pulling: the MJPEG splitter on the firmwares' framings (real JPEGs,
cut into chunks at every size), and pull URLs (checked, credentials never shown)."""

from __future__ import annotations

import pytest

from shelfcam.errors import InvalidInput
from shelfcam.ingest.jpeg import check_jpeg
from shelfcam.pull import mjpeg, urls
from tests.cameras import BOUNDARY, unique
from tests.jpegs import jpeg

FRAMES = [unique(jpeg(160, 120, seed=s), s) for s in range(3)]


def camera_web_server(frames: list[bytes]) -> bytes:
    """Espressif's CameraWebServer (app_httpd.cpp): boundary, then part headers."""
    out = b""
    for n, frame in enumerate(frames):
        out += f"\r\n--{BOUNDARY}\r\n".encode()
        out += (
            f"Content-Type: image/jpeg\r\nContent-Length: {len(frame)}\r\n"
            f"X-Timestamp: {n}.000000\r\n\r\n"
        ).encode()
        out += frame
    return out


def esphome(frames: list[bytes]) -> bytes:
    """ESPHome's esp32_camera_web_server: the same, without X-Timestamp."""
    out = b""
    for frame in frames:
        out += f"\r\n--{BOUNDARY}\r\n".encode()
        out += f"Content-Type: image/jpeg\r\nContent-Length: {len(frame)}\r\n\r\n".encode()
        out += frame
    return out


def without_length(frames: list[bytes]) -> bytes:
    """Other servers (motion, mjpg-streamer forks): no Content-Length, a closing line."""
    out = b""
    for frame in frames:
        out += f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n\r\n".encode() + frame + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def split(stream: bytes, chunk: int) -> list[bytes]:
    splitter = mjpeg.PartSplitter(BOUNDARY, max_part_bytes=1 << 20)
    parts: list[bytes] = []
    for at in range(0, len(stream), chunk):
        parts.extend(splitter.feed(stream[at : at + chunk]))
    return parts


@pytest.mark.parametrize("framing", [camera_web_server, esphome, without_length])
@pytest.mark.parametrize("chunk", [1, 7, 1000, 1 << 20])
def test_every_frame_comes_out_whole(framing: object, chunk: int) -> None:
    assert callable(framing)
    stream = framing(FRAMES)
    parts = split(stream, chunk)
    # without a length, the last part ends at the closing line, so it comes out too
    assert parts == FRAMES
    for part in parts:
        check_jpeg(part)


def test_the_last_part_without_length_waits_for_the_next_boundary() -> None:
    splitter = mjpeg.PartSplitter(BOUNDARY, max_part_bytes=1 << 20)
    stream = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n\r\n".encode() + FRAMES[0]
    assert list(splitter.feed(stream)) == []
    assert list(splitter.feed(f"\r\n--{BOUNDARY}\r\n".encode())) == [FRAMES[0]]


def test_a_part_larger_than_the_limit_is_refused() -> None:
    splitter = mjpeg.PartSplitter(BOUNDARY, max_part_bytes=1000)
    with pytest.raises(mjpeg.StreamError, match="MAX_FRAME_BYTES"):
        list(splitter.feed(esphome(FRAMES[:1])))
    splitter = mjpeg.PartSplitter(BOUNDARY, max_part_bytes=1000)
    with pytest.raises(mjpeg.StreamError, match="MAX_FRAME_BYTES"):
        list(splitter.feed(without_length(FRAMES[:1])[:-20]))


def test_headers_that_never_end_are_refused() -> None:
    splitter = mjpeg.PartSplitter(BOUNDARY, max_part_bytes=1 << 20)
    with pytest.raises(mjpeg.StreamError, match="headers"):
        list(splitter.feed(f"\r\n--{BOUNDARY}\r\n".encode() + b"X-Junk: y\r\n" * 1000))


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        (f"multipart/x-mixed-replace;boundary={BOUNDARY}", BOUNDARY),
        ('multipart/x-mixed-replace; boundary="frame"', "frame"),
        ("Multipart/X-Mixed-Replace; charset=x; boundary=--myboundary", "myboundary"),
        ("image/jpeg", None),
        ("multipart/x-mixed-replace", None),
        ("", None),
        (None, None),
    ],
)
def test_boundary_of(content_type: str | None, boundary: str | None) -> None:
    assert mjpeg.boundary_of(content_type) == boundary


def test_a_url_with_credentials_is_shown_without_them() -> None:
    url = urls.parse("http://admin:s3cr%40t@192.168.1.50:81/stream?x=1")
    assert url.address == "http://192.168.1.50:81/stream?x=1"
    assert (url.username, url.password) == ("admin", "s3cr@t")
    assert url.shown == "http://***@192.168.1.50:81/stream?x=1"
    assert "s3cr" not in urls.shown("http://admin:s3cr%40t@cam/capture")
    assert urls.redact("401 for admin with s3cr@t", url) == "401 for *** with ***"
    plain = urls.parse("http://cam.local/capture")
    assert (plain.shown, plain.username, plain.password) == ("http://cam.local/capture", None, None)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty"),
        ("ftp://cam/capture", "http:// or https://"),
        ("cam.local/capture", "http:// or https://"),
        ("http:///capture", "no host"),
        ("http://cam/capture#x", "fragment"),
        ("http://cam/cap ture", "spaces"),
        ("http://cam:99999/capture", "not a valid URL"),
        ("http://cam/" + "x" * 2048, "longer than"),
    ],
)
def test_bad_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        urls.parse(url)


def test_the_interval_is_bounded() -> None:
    assert urls.check_interval(None) is None
    assert urls.check_interval(250) == 250
    for bad in (0, 49, 3_600_001):
        with pytest.raises(InvalidInput, match="between 50 and 3600000"):
            urls.check_interval(bad)
