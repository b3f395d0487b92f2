"""What one client can hold of the HTTP server: a request's headers and body have a
deadline, connections are capped overall and per address, and running out of open files
is a 503 to retry, not a 500. Real sockets against a real uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import anyio
import httpx
import pytest

from tests.apps import asgi_client, count, files_under, new_device, settings_for
from tests.e2e.live_server import live_server
from tests.jpegs import jpeg

DEADLINE_S = 30.0


def _connect(base: str) -> socket.socket:
    parts = urlsplit(base)
    assert parts.hostname is not None and parts.port is not None
    sock = socket.create_connection((parts.hostname, parts.port), timeout=DEADLINE_S)
    return sock


def _drip_until_closed(sock: socket.socket, lines: Iterator[bytes]) -> bytes:
    """Send a line every 0.2 s (a slow client) until the server closes the connection or
    the deadline passes; return what the server sent."""
    sock.setblocking(False)
    received = b""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
            if not chunk:
                return received
            received += chunk
            continue
        except BlockingIOError:
            pass
        except ConnectionResetError:
            return received
        try:
            sock.sendall(next(lines))
        except (BrokenPipeError, ConnectionResetError):
            return received
        time.sleep(0.2)  # the slow client's pace, not a synchronisation
    raise AssertionError(f"the server kept a slow client for {DEADLINE_S} s")


def _endless_headers() -> Iterator[bytes]:
    yield b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
    number = 0
    while True:
        number += 1
        yield f"X-Slow-{number}: a\r\n".encode()


def test_headers_sent_a_line_at_a_time_are_cut_off(db_url: str, tmp_path: Path) -> None:
    with live_server(db_url, tmp_path, header_timeout_seconds=1) as base:
        with _connect(base) as sock:
            answer = _drip_until_closed(sock, _endless_headers())
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b'"error":"request_timeout"' in answer
        # Quick clients are unaffected.
        assert httpx.get(f"{base}/healthz").status_code == 200
        metrics = httpx.get(f"{base}/metrics").text
        assert 'shelfcam_http_request_timeouts_total{phase="headers"} 1.0' in metrics


def test_a_body_sent_a_byte_at_a_time_is_cut_off_and_nothing_is_kept(
    db_url: str, tmp_path: Path
) -> None:
    token = asyncio.run(new_device(db_url, "cam1"))
    frame = jpeg(seed=5)
    with live_server(db_url, tmp_path / "data", body_timeout_seconds=1) as base:
        head = (
            "POST /api/v1/ingest/frame?seq=1 HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: image/jpeg\r\n"
            f"Content-Length: {len(frame)}\r\n\r\n"
        ).encode()

        def body() -> Iterator[bytes]:
            yield head
            for byte in frame:
                yield bytes([byte])

        with _connect(base) as sock:
            answer = _drip_until_closed(sock, body())
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert 'phase="body"} 1.0' in httpx.get(f"{base}/metrics").text
    assert count(db_url, "SELECT count(*) FROM captures") == 0
    assert files_under(tmp_path / "data" / "staging") == []


def _held(base: str) -> socket.socket:
    """A connection the server has accepted (it answered one request) and that now
    waits, half-way through its next request's headers."""
    sock = _connect(base)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = b""
    while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
        chunk = sock.recv(4096)
        assert chunk, reply
        reply += chunk
    assert reply.startswith(b"HTTP/1.1 200 ")
    sock.sendall(b"GET /healthz HTTP/1.1\r\n")
    return sock


def _refused(base: str) -> bytes:
    with _connect(base) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "limits",
    [{"max_connections": 3}, {"max_connections_per_address": 3}],
    ids=["overall", "per-address"],
)
def test_connections_over_the_cap_get_503_at_once(
    db_url: str, tmp_path: Path, limits: dict[str, int]
) -> None:
    with live_server(db_url, tmp_path, header_timeout_seconds=60, **limits) as base:
        with contextlib.ExitStack() as stack:
            for _ in range(3):
                stack.enter_context(_held(base))
            answer = _refused(base)
            assert answer.startswith(b"HTTP/1.1 503 "), answer
            assert b"retry-after: 5" in answer.lower()
            assert b'"error":"server_busy"' in answer
        # The held connections are closed: there is room again.
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "connections were never freed"
            time.sleep(0.05)  # polling for the server to see the closed connections
        assert "shelfcam_http_connections_refused_total" in httpx.get(f"{base}/metrics").text


@contextlib.contextmanager
def _out_of_files() -> Iterator[None]:
    """Hold every file descriptor this process may still open (EMFILE from now on)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[int] = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 4096), hard))
    try:
        with contextlib.suppress(OSError):
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_out_of_open_files_is_503_and_nothing_is_kept(
    db_url: str, tmp_path: Path, anyio_backend: str
) -> None:
    token = await new_device(db_url, "cam1")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/jpeg"}
    settings = settings_for(db_url, tmp_path / "data")
    async with asgi_client(settings) as (_app, client):
        first = await client.post("/api/v1/ingest/frame?seq=0", content=jpeg(), headers=headers)
        assert first.status_code == 201  # the token is cached, a connection is warm
        with _out_of_files(), anyio.fail_after(DEADLINE_S):
            answer = await client.post(
                "/api/v1/ingest/frame?seq=1", content=jpeg(seed=1), headers=headers
            )
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"] == "server_busy"
    assert answer.headers["retry-after"] == "5"
    assert count(db_url, "SELECT count(*) FROM captures") == 1
    assert len(files_under(tmp_path / "data" / "staging")) == 1
