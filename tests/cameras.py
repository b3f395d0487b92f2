"""A camera that is pulled: a real HTTP server (threads, in the test process) serving real
JPEGs as ESPHome's esp32_camera_web_server and Espressif's CameraWebServer do.

* ``/capture`` (snapshot mode): each GET answers the next frame (then the last one again);
* ``/stream`` (stream mode): ``multipart/x-mixed-replace`` with the firmwares' framing
  (``\\r\\n--BOUNDARY\\r\\n``, then ``Content-Type`` / ``Content-Length`` / ``X-Timestamp``
  part headers), a frame every ``stream_pace_s`` (the camera's own frame rate);
* ``/stream-nolength``: the same without Content-Length (cut at the boundary);
* ``/stall``: one whole frame, then half of the next, then nothing until the test ends
  (only the first connection; later ones stream normally);
* ``/page``: an HTML page, not a JPEG.

With ``credentials`` set, every path asks for them (Basic, or Digest with ``digest``).
Every frame served is made unique (a JPEG comment segment with a counter), as a real
sensor's noise makes it: ingest's content dedupe would drop repeats.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BOUNDARY = "123456789000000000000987654321"
REALM = "shelfcam-test"


def unique(jpeg: bytes, n: int) -> bytes:
    """The same picture with a comment segment (FF FE) saying ``n`` after the SOI."""
    text = f"frame {n}".encode()
    size = (len(text) + 2).to_bytes(2, "big")
    return jpeg[:2] + b"\xff\xfe" + size + text + jpeg[2:]


@dataclass
class CameraState:
    frames: list[bytes]
    credentials: tuple[str, str] | None = None
    digest: bool = False
    stream_pace_s: float = 0.25
    repeat: int = 1
    """Each frame of ``frames`` is sent this many times in a row (each copy unique)."""
    served: list[bytes] = field(default_factory=list)
    requests: int = 0
    unauthorized: int = 0
    stalled_once: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    _next: int = 0

    def next_frame(self) -> bytes:
        with self.lock:
            index = min(self._next // self.repeat, len(self.frames) - 1)
            frame = unique(self.frames[index], self._next)
            self._next += 1
            self.served.append(frame)
            return frame


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one answer per connection, as the firmwares do

    def log_message(self, format: str, *args: object) -> None:
        return

    @property
    def camera(self) -> CameraState:
        return self.server.camera

    def do_GET(self) -> None:
        camera = self.camera
        with camera.lock:
            camera.requests += 1
        if camera.credentials is not None and not self._authorized(camera):
            with camera.lock:
                camera.unauthorized += 1
            challenge = (
                f'Digest realm="{REALM}", qop="auth", nonce="{camera.nonce}", algorithm=MD5'
                if camera.digest
                else f'Basic realm="{REALM}"'
            )
            self._answer(401, "text/plain", b"unauthorized", {"WWW-Authenticate": challenge})
            return
        path = self.path.split("?")[0]
        if path == "/capture":
            self._answer(200, "image/jpeg", camera.next_frame())
        elif path == "/page":
            self._answer(200, "text/html", b"<html><body>camera settings</body></html>")
        elif path in ("/stream", "/stream-nolength"):
            self._stream(with_length=path == "/stream")
        elif path == "/stall":
            self._stream(with_length=True, stall=True)
        else:
            self._answer(404, "text/plain", b"not found")

    def _answer(
        self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, *, with_length: bool, stall: bool = False) -> None:
        camera = self.camera
        with camera.lock:
            stall = stall and not camera.stalled_once
            camera.stalled_once = camera.stalled_once or stall
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace;boundary={BOUNDARY}")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        sent = 0
        try:
            while not camera.stop.is_set():
                frame = camera.next_frame()
                head = "Content-Type: image/jpeg\r\n"
                if with_length:
                    head += f"Content-Length: {len(frame)}\r\nX-Timestamp: {sent}.000000\r\n"
                part = f"\r\n--{BOUNDARY}\r\n{head}\r\n".encode() + frame
                if stall and sent == 1:
                    self.wfile.write(part[: len(part) // 2])
                    self.wfile.flush()
                    camera.stop.wait()  # the camera hangs mid-frame until the test ends
                    return
                self.wfile.write(part)
                self.wfile.flush()
                sent += 1
                camera.stop.wait(camera.stream_pace_s)  # the camera's own frame rate
        except (BrokenPipeError, ConnectionResetError):
            return

    def _authorized(self, camera: CameraState) -> bool:
        assert camera.credentials is not None
        user, password = camera.credentials
        header = self.headers.get("Authorization", "")
        if not camera.digest:
            expected = base64.b64encode(f"{user}:{password}".encode()).decode()
            return header == f"Basic {expected}"
        if not header.startswith("Digest "):
            return False
        fields = dict(_digest_fields(header[len("Digest ") :]))

        def md5(text: str) -> str:
            return hashlib.md5(text.encode()).hexdigest()

        ha1 = md5(f"{user}:{REALM}:{password}")
        ha2 = md5(f"GET:{fields.get('uri', '')}")
        expected = md5(
            f"{ha1}:{camera.nonce}:{fields.get('nc', '')}:{fields.get('cnonce', '')}:auth:{ha2}"
        )
        return fields.get("username") == user and fields.get("response") == expected


def _digest_fields(text: str) -> Iterator[tuple[str, str]]:
    for item in text.split(","):
        name, _, value = item.strip().partition("=")
        yield name.strip(), value.strip().strip('"')


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, camera: CameraState) -> None:
        self.camera = camera
        super().__init__(("127.0.0.1", port), _Handler)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(camera: CameraState, port: int | None = None) -> Iterator[str]:
    """Serve the camera on 127.0.0.1 (on ``port`` if given); yield its base URL. On exit
    the server stops listening and its streams end."""
    server = _Server(port or free_port(), camera)
    thread = threading.Thread(target=server.serve_forever, name="test-camera", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        camera.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        camera.stop.clear()
