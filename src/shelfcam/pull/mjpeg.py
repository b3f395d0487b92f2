"""Splitting an MJPEG stream (``multipart/x-mixed-replace``) into its JPEGs, as ESPHome's
esp32_camera_web_server and Espressif's CameraWebServer send it::

    Content-Type: multipart/x-mixed-replace;boundary=123456789000000000000987654321

    \\r\\n--123456789000000000000987654321\\r\\n
    Content-Type: image/jpeg\\r\\nContent-Length: 12345\\r\\nX-Timestamp: 1.5\\r\\n\\r\\n
    <12345 bytes of JPEG>
    \\r\\n--123456789000000000000987654321\\r\\n ...

A part with a Content-Length is cut at that length; one without is cut where the next
boundary begins. The splitter holds at most one part (bounded by ``max_part_bytes``):
bytes in, whole parts out. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator

MAX_HEADER_BYTES = 8192
MOVED = b"<moved>"
"""What a step of the splitter returns when it moved on without completing a part (by
identity: a part is never this object)."""


class StreamError(Exception):
    """The stream is not what a multipart MJPEG stream looks like."""


def boundary_of(content_type: str | None) -> str | None:
    """The boundary of a ``multipart/x-mixed-replace`` content type, else None."""
    if not content_type:
        return None
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "multipart/x-mixed-replace":
        return None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "boundary":
            token = value.strip().strip('"').removeprefix("--")
            return token or None
    return None


class PartSplitter:
    """Feed it the stream's bytes; it yields each part's body once it is complete."""

    def __init__(self, boundary: str, max_part_bytes: int) -> None:
        self.token = boundary.encode("latin-1")
        self.max_part_bytes = max_part_bytes
        self.buffer = bytearray()
        self.state = "boundary"
        self.length: int | None = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        self.buffer += data
        while True:
            part = self._step()
            if part is None:
                return
            if part is not MOVED:
                yield part

    def _step(self) -> bytes | None:
        """One move of the state machine: MOVED when it moved on, a part when one is
        complete, None when it needs more bytes."""
        if self.state == "boundary":
            return self._boundary()
        if self.state == "headers":
            return self._headers()
        return self._body()

    def _boundary(self) -> bytes | None:
        at = self.buffer.find(self.token)
        if at < 0:
            keep = len(self.token)  # the token may straddle this chunk and the next
            if len(self.buffer) > keep:
                del self.buffer[: len(self.buffer) - keep]
            return None
        end = self.buffer.find(b"\n", at + len(self.token))
        if end < 0:
            if len(self.buffer) - at > MAX_HEADER_BYTES:
                raise StreamError("a boundary line that never ends")
            return None
        del self.buffer[: end + 1]
        self.state = "headers"
        return MOVED

    def _headers(self) -> bytes | None:
        if self.buffer.startswith(b"\r\n") or self.buffer.startswith(b"\n"):
            del self.buffer[: 2 if self.buffer.startswith(b"\r\n") else 1]
            self.length = None  # no headers at all
            self.state = "body"
            return MOVED
        found = ((self.buffer.find(b"\r\n\r\n"), 4), (self.buffer.find(b"\n\n"), 2))
        ends = [(at, size) for at, size in found if at >= 0]
        if not ends:
            if len(self.buffer) > MAX_HEADER_BYTES:
                raise StreamError(f"part headers longer than {MAX_HEADER_BYTES} bytes")
            return None
        at, size = min(ends)
        headers = bytes(self.buffer[:at]).decode("latin-1")
        del self.buffer[: at + size]
        self.length = None
        for line in headers.splitlines():
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                try:
                    self.length = int(value.strip())
                except ValueError as err:
                    why = f"a part's Content-Length is not a number: {value.strip()[:20]!r}"
                    raise StreamError(why) from err
                if self.length < 0:
                    raise StreamError("a part's Content-Length is negative")
        if self.length is not None and self.length > self.max_part_bytes:
            raise StreamError(
                f"a part of {self.length} bytes, more than SHELFCAM_MAX_FRAME_BYTES "
                f"({self.max_part_bytes})"
            )
        self.state = "body"
        return MOVED

    def _body(self) -> bytes | None:
        if self.length is not None:
            if len(self.buffer) < self.length:
                return None
            part = bytes(self.buffer[: self.length])
            del self.buffer[: self.length]
        else:
            at = self.buffer.find(self.token)
            if at < 0:
                if len(self.buffer) > self.max_part_bytes + len(self.token) + 4:
                    raise StreamError(
                        f"a part longer than SHELFCAM_MAX_FRAME_BYTES ({self.max_part_bytes})"
                    )
                return None
            line = self.buffer.rfind(b"\n", 0, at)
            part = bytes(self.buffer[: line if line >= 0 else at]).rstrip(b"\r-")
            del self.buffer[: line + 1 if line >= 0 else at]
        self.state = "boundary"
        return part
