"""Reading an upload's body with a size limit, and finding the JPEG in it.

Two forms are accepted, as ESP32 sketches send them: a raw ``image/jpeg`` body (or
``application/octet-stream``, or no type at all), and ``multipart/form-data`` with the file
in a part named ``image`` or ``imageFile`` (any filename; part type ``image/jpeg`` or
``application/octet-stream``). The multipart body may be written by hand over a raw socket,
in chunks of any size: it is parsed as a byte stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from shelfcam.errors import InvalidInput, NotAJpeg, PayloadTooLarge

IMAGE_FIELDS = (b"image", b"imageFile")
RAW_TYPES = (b"", b"image/jpeg", b"image/jpg", b"application/octet-stream")
PART_TYPES = (b"", b"image/jpeg", b"image/jpg", b"application/octet-stream")


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the upload is larger than {limit} bytes (SHELFCAM_MAX_FRAME_BYTES)")


async def read_limited(
    chunks: AsyncIterator[bytes], content_length: str | None, limit: int
) -> bytes:
    """Read the whole body, stopping as soon as it exceeds ``limit`` bytes."""
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError as err:
            raise InvalidInput("Content-Length is not a number", code="bad_request") from err
        if declared > limit:
            raise _too_large(limit)
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


class _Parts:
    """Collects the parts of a multipart body: their headers and their bytes."""

    def __init__(self) -> None:
        self.parts: list[tuple[dict[bytes, bytes], bytearray]] = []
        self._field = bytearray()
        self._value = bytearray()

    def begin(self) -> None:
        self.parts.append(({}, bytearray()))

    def data(self, data: bytes, start: int, end: int) -> None:
        self.parts[-1][1].extend(data[start:end])

    def header_field(self, data: bytes, start: int, end: int) -> None:
        self._field.extend(data[start:end])

    def header_value(self, data: bytes, start: int, end: int) -> None:
        self._value.extend(data[start:end])

    def header_end(self) -> None:
        self.parts[-1][0][bytes(self._field).lower()] = bytes(self._value)
        self._field.clear()
        self._value.clear()


def _from_multipart(body: bytes, boundary: bytes) -> bytes:
    collected = _Parts()
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": collected.begin,
            "on_part_data": collected.data,
            "on_header_field": collected.header_field,
            "on_header_value": collected.header_value,
            "on_header_end": collected.header_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as err:
        raise InvalidInput(f"the multipart body is malformed: {err}", code="bad_multipart") from err
    if parser.state != MultipartState.END:  # cut short: no closing --boundary--
        raise InvalidInput(
            "the multipart body is malformed: it ends before its closing boundary",
            code="bad_multipart",
        )
    for headers, data in collected.parts:
        _disposition, options = parse_options_header(headers.get(b"content-disposition", b""))
        if options.get(b"name") not in IMAGE_FIELDS:
            continue
        part_type, _ = parse_options_header(headers.get(b"content-type", b""))
        if part_type.lower() not in PART_TYPES:
            raise NotAJpeg(f"the image part has type {part_type.decode('latin-1')!r}, not a JPEG")
        return bytes(data)
    raise InvalidInput(
        "the multipart body has no part named 'image' or 'imageFile'", code="missing_image"
    )


def extract_jpeg(content_type: str | None, body: bytes) -> bytes:
    """The JPEG bytes of an upload, raw or inside a multipart form."""
    media_type, options = parse_options_header(content_type or "")
    media_type = media_type.lower()
    if media_type == b"multipart/form-data":
        boundary = options.get(b"boundary")
        if not boundary:
            raise InvalidInput("multipart/form-data without a boundary", code="bad_multipart")
        return _from_multipart(body, boundary)
    if media_type not in RAW_TYPES:
        raise NotAJpeg(
            f"Content-Type {media_type.decode('latin-1')!r} is not accepted: send image/jpeg "
            "or multipart/form-data"
        )
    return body
